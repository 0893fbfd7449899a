"""One runner per library: run a task on a chat model, return the outcome and what it cost.

All three libraries drive the same LangChain chat model object (for the local model: zyx's
`ChatLocal`, the envelope adapter), so they see the same weights, sampling and tool-call
format; pydantic-ai reaches it through a `FunctionModel` bridge. Model calls and tokens are
counted by one callback on that chat model, the same way for every library, failures included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import LLMResult
from pydantic import BaseModel, create_model

import zyx
from benchmarks.tasks.suite import CallLog, Outcome, Task, new_log


class Usage(AsyncCallbackHandler):
    """Counts model calls and token usage of every chat-model call it is attached to."""

    def __init__(self) -> None:
        self.calls = self.prompt = self.completion = 0

    async def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.calls += 1
        for generations in response.generations:
            for generation in generations:
                usage = getattr(getattr(generation, "message", None), "usage_metadata", None) or {}
                self.prompt += usage.get("input_tokens", 0)
                self.completion += usage.get("output_tokens", 0)


@dataclass(frozen=True)
class Measured:
    """One task run of one library."""

    task: str
    library: str
    success: bool
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    error: str | None = None


class FinalAnswer(BaseModel):
    """The final answer to the task."""

    answer: str


def peer_target(task: Task) -> Any:
    """The peers' output type: the task's target, or `FinalAnswer` for a text task.

    The envelope adapter turns every tooled turn into a tool call, so a text answer needs a tool
    of its own: the peers' equivalent of zyx's `complete_task`.
    """
    return task.target if task.target is not None else FinalAnswer


def peer_outcome(output: Any, text: str, status: str, log: CallLog, task: Task) -> Outcome:
    if task.target is None and isinstance(output, FinalAnswer):
        return Outcome(output.answer, output.answer, status, log)
    return Outcome(output, text or json.dumps(output, default=str), status, log)


Runner = Callable[[Task, BaseChatModel, int, Usage], Awaitable[Outcome]]


async def measure(library: str, runner: Runner, task: Task, model: BaseChatModel, max_calls: int) -> Measured:
    """Run one task once and check it; any exception is a failure with its type recorded."""
    usage = Usage()
    log = new_log()
    start = time.perf_counter()
    error: str | None = None
    try:
        outcome = await runner(task, model, max_calls, usage)
        success = bool(task.check(outcome))
    except Exception as exc:  # a library's own errors (limits, validation) count as failures
        error, success = f"{type(exc).__name__}: {str(exc)[:160]}", False
        del log
    return Measured(task.name, library, success, usage.calls, usage.prompt, usage.completion,
                    time.perf_counter() - start, error)


# -- zyx ------------------------------------------------------------------------------------------

async def run_zyx(task: Task, model: BaseChatModel, max_calls: int, usage: Usage) -> Outcome:
    from benchmarks.tasks.suite import _log

    log: CallLog = _log.get()
    config = {"callbacks": [usage]}
    if task.prompt is None:
        made = await zyx.amake(task.target, model=model)  # make() takes no config: count from its result
        usage.calls += sum(isinstance(m, AIMessage) for m in made.messages)
        usage.prompt += made.usage.get("input_tokens", 0)
        usage.completion += made.usage.get("output_tokens", 0)
        return Outcome(made.output, str(made.output), "success", log)
    options: dict[str, Any] = dict(model=model, tools=list(task.tools), max_model_calls=max_calls, config=config,
                                   plan=task.plan, require_completion=task.require_completion)
    if task.verifier is not None:
        options["verifier"] = task.verifier
    streamed = 0
    if task.stream:
        stream = await zyx.arun(task.prompt, task.target, stream=True, **options)
        async for _ in stream.apartial():
            streamed += 1
        result = await stream.afinish()
    else:
        result = await zyx.arun(task.prompt, task.target, **options)
    completion = result.completion
    status = completion.status if completion else "none"
    if result.termination == "no_completion":  # require_completion=False: the plain-text answer is the output
        status = "success"
        text = next((m.text for m in reversed(result.messages) if isinstance(m, AIMessage) and m.text), "")
    else:
        text = completion.summary if completion else ""
    return Outcome(result.output if task.target is not None else text, text, status, log, streamed)


# -- langchain.agents.create_agent ------------------------------------------------------------------

def _last_text(messages: list[BaseMessage]) -> str:
    return next((m.text for m in reversed(messages) if isinstance(m, AIMessage) and m.text), "")


async def run_create_agent(task: Task, model: BaseChatModel, max_calls: int, usage: Usage) -> Outcome:
    from langchain.agents import create_agent
    from langchain.agents.middleware import ModelCallLimitMiddleware
    from langchain.agents.structured_output import ToolStrategy

    from benchmarks.tasks.suite import _log

    log: CallLog = _log.get()
    if task.prompt is None:
        raise NotImplementedError("no create_agent equivalent of make()")
    target = peer_target(task)
    wrapped = not (isinstance(target, type) and issubclass(target, BaseModel)) and target is not dict
    if wrapped:  # ToolStrategy takes models, dataclasses and TypedDicts: an int or list[str] goes in a field
        target = create_model("Result", value=(target, ...))
    response_format = ToolStrategy(target)
    agent = create_agent(model, tools=list(task.tools), response_format=response_format,
                         middleware=[ModelCallLimitMiddleware(run_limit=max_calls, exit_behavior="end")])
    config: dict[str, Any] = {"callbacks": [usage], "recursion_limit": 4 * max_calls + 5}
    inputs = {"messages": [HumanMessage(task.prompt)]}
    if task.stream:
        state: dict[str, Any] = {}
        async for mode, chunk in agent.astream(inputs, config, stream_mode=["messages", "values"]):
            if mode == "values":
                state = chunk
    else:
        state = await agent.ainvoke(inputs, config)
    output = state.get("structured_response")
    if wrapped and output is not None:
        output = output.value
    status = "success" if "structured_response" in state else "none"
    return peer_outcome(output, _last_text(state["messages"]), status, log, task)


# -- pydantic-ai, through a FunctionModel that calls the same chat model -------------------------------

def _to_langchain(messages: list[Any]) -> list[BaseMessage]:
    """pydantic-ai's message history as LangChain messages (tool calls and returns matched by id)."""
    from pydantic_ai import messages as pm

    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, pm.ModelResponse):
            calls = [{"name": p.tool_name, "args": p.args_as_dict(), "id": p.tool_call_id}
                     for p in message.parts if isinstance(p, pm.ToolCallPart)]
            text = "".join(p.content for p in message.parts if isinstance(p, pm.TextPart))
            out.append(AIMessage(text, tool_calls=calls))
            continue
        for part in message.parts:
            if isinstance(part, pm.SystemPromptPart):
                out.append(SystemMessage(part.content))
            elif isinstance(part, pm.UserPromptPart):
                out.append(HumanMessage(part.content if isinstance(part.content, str) else str(part.content)))
            elif isinstance(part, pm.ToolReturnPart):
                out.append(ToolMessage(part.model_response_str(), tool_call_id=part.tool_call_id, name=part.tool_name))
            elif isinstance(part, pm.RetryPromptPart):
                if part.tool_name:
                    out.append(ToolMessage(part.model_response(), tool_call_id=part.tool_call_id, name=part.tool_name,
                                           status="error"))
                else:
                    out.append(HumanMessage(part.model_response()))
    if instructions := next((getattr(m, "instructions", None) for m in messages if getattr(m, "instructions", None)),
                            None):
        out.insert(0, SystemMessage(instructions))
    return out


def bridge(model: BaseChatModel, usage: Usage) -> Any:
    """A pydantic-ai `FunctionModel` answering with `model` (tools bound as pydantic-ai lists them)."""
    from pydantic_ai import messages as pm
    from pydantic_ai.models.function import AgentInfo, DeltaToolCall, FunctionModel
    from pydantic_ai.usage import RequestUsage

    async def respond(messages: list[Any], info: AgentInfo) -> Any:
        tools = [{"type": "function", "function": {"name": t.name, "description": t.description or "",
                                                   "parameters": t.parameters_json_schema}}
                 for t in [*info.function_tools, *info.output_tools]]
        bound = model.bind_tools(tools, tool_choice="any" if not info.allow_text_output else None) if tools else model
        reply = await bound.ainvoke(_to_langchain(messages), {"callbacks": [usage]})
        assert isinstance(reply, AIMessage)
        parts: list[Any] = [pm.ToolCallPart(c["name"], c["args"], c["id"]) for c in reply.tool_calls]
        parts += [pm.ToolCallPart(c["name"] or "?", c["args"] or "", c["id"]) for c in reply.invalid_tool_calls]
        if reply.text or not parts:
            parts.insert(0, pm.TextPart(reply.text))
        meta = reply.usage_metadata or {}
        return pm.ModelResponse(parts, usage=RequestUsage(input_tokens=meta.get("input_tokens", 0),
                                                          output_tokens=meta.get("output_tokens", 0)))

    async def stream(messages: list[Any], info: AgentInfo) -> Any:
        """The same answer, delivered as one streamed delta (text or tool calls)."""
        response = await respond(messages, info)
        calls = {i: DeltaToolCall(name=p.tool_name, json_args=p.args if isinstance(p.args, str) else json.dumps(p.args),
                                  tool_call_id=p.tool_call_id)
                 for i, p in enumerate(response.parts) if isinstance(p, pm.ToolCallPart)}
        if calls:
            yield calls
        else:
            yield "".join(p.content for p in response.parts if isinstance(p, pm.TextPart))

    return FunctionModel(respond, stream_function=stream)


async def run_pydantic_ai(task: Task, model: BaseChatModel, max_calls: int, usage: Usage) -> Outcome:
    from pydantic_ai import Agent, ModelRetry
    from pydantic_ai.usage import UsageLimits

    from benchmarks.tasks.suite import _log

    log: CallLog = _log.get()
    if task.prompt is None:
        raise NotImplementedError("no pydantic-ai equivalent of make()")
    agent: Any = Agent(bridge(model, usage), output_type=peer_target(task), tools=list(task.tools))
    if task.verifier is not None and task.target is not None:
        verifier = task.verifier

        @agent.output_validator
        def _validate(output: Any) -> Any:
            class Done:  # the verifier sees what zyx's would: a completion with .result and .summary
                result, summary = output, str(output)
            if isinstance(message := verifier(Done()), str):
                raise ModelRetry(message)
            return output

    limits = UsageLimits(request_limit=max_calls)
    if task.stream:
        async with agent.run_stream(task.prompt, usage_limits=limits) as stream:
            async for _ in stream.stream_output():
                pass
            output = await stream.get_output()
    else:
        output = (await agent.run(task.prompt, usage_limits=limits)).output
    return peer_outcome(output, "", "success", log, task)


RUNNERS: dict[str, Runner] = {"zyx": run_zyx, "create_agent": run_create_agent, "pydantic_ai": run_pydantic_ai}
