"""Drive one BFCL entry through a library on a chat model, recording every model turn.

Every library gets the same chat model object (but `create_agent_native`, which serves that model's
GGUF through llama.cpp's native tool calling: benchmarks/bfcl/native.py), the same tools (BFCL's function docs as OpenAI
schemas) and one callback that records each model reply: the first reply is the turn BFCL's AST
checker scores. The tools zyx and the peers add to finish a run (zyx's `complete_task`,
`create_agent`'s `FinalAnswer` structured-output tool, pydantic-ai's `final_result`) are not
calls of BFCL functions and are left out of what is scored.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import LLMResult
from langchain_core.tools import BaseTool, StructuredTool

from benchmarks.bfcl.data import Entry, openai_tool
from benchmarks.tasks.runners import FinalAnswer, Usage, bridge

FINISH_TOOLS = frozenset({"complete_task", "submit_plan", "FinalAnswer", "final_result"})
"""The libraries' own finishing tools: not BFCL function calls."""


class Enough(Exception):
    """Raised from the callback once the replies to score are in: it ends the run right there."""


class Turns(Usage):
    """Counts calls and tokens like the task benchmark, and keeps every model reply in order.

    With `stop_after`, the run is ended (by raising `Enough` from the callback, which every library
    propagates) once that many replies are in: a library's own call limit would change the scored turn
    (zyx turns its last allowed call into a wrap-up). With `stop_once_acted`, it is ended before the model
    call that follows a reply whose calls ran (`acted`, told by the tools): that reply is the one scored.
    """

    raise_error = True  # LangChain re-raises a callback's exception only for handlers that ask for it

    def __init__(self, stop_after: int | None = None, *, stop_once_acted: bool = False) -> None:
        super().__init__()
        self.replies: list[AIMessage] = []
        self.stop_after = stop_after
        self.stop_once_acted = stop_once_acted
        self.acted: list[int] = []  # per executed call, the index of the reply that made it

    def ran_call(self) -> None:
        """Told by a tool as it runs: the latest reply's calls are being acted on."""
        self.acted.append(len(self.replies) - 1)

    async def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
        if self.stop_once_acted and self.acted:
            raise Enough

    async def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        await super().on_llm_end(response, **kwargs)
        for generations in response.generations:
            for generation in generations[:1]:
                message = getattr(generation, "message", None)
                if isinstance(message, AIMessage):
                    self.replies.append(message)
        if self.stop_after is not None and len(self.replies) >= self.stop_after:
            raise Enough


def bfcl_calls(reply: AIMessage) -> list[dict[str, Any]]:
    """A reply's calls of BFCL functions, as the AST checker reads them: [{name: args}, ...]."""
    return [{c["name"]: c["args"]} for c in reply.tool_calls if c["name"] not in FINISH_TOOLS]


def finish_status(reply: AIMessage) -> str | None:
    """The status of a `complete_task` call in a reply ("success" when left out), else None."""
    for call in reply.tool_calls:
        if call["name"] == "complete_task":
            return str(call["args"].get("status", "success"))
        if call["name"] in FINISH_TOOLS:
            return "answer"  # a peer's final-answer tool: no status to read
    return None


Execute = Callable[[str, dict[str, Any]], str]


def make_tools(entry: Entry, execute: Execute) -> list[BaseTool]:
    """LangChain tools for an entry's functions; each call goes to `execute(name, args)`."""
    tools = []
    for function in entry.functions:
        spec = openai_tool(function)["function"]

        def run(_name: str = spec["name"], **kwargs: Any) -> str:
            return execute(_name, kwargs)

        tools.append(StructuredTool.from_function(run, name=spec["name"], description=spec["description"] or spec["name"],
                                                  args_schema=spec["parameters"], infer_schema=False))
    return tools


def pydantic_ai_tools(entry: Entry, execute: Execute) -> list[Any]:
    from pydantic_ai import Tool

    out = []
    for function in entry.functions:
        spec = openai_tool(function)["function"]

        def run(_name: str = spec["name"], **kwargs: Any) -> str:
            return execute(_name, kwargs)

        out.append(Tool.from_schema(run, spec["name"], spec["description"], spec["parameters"]))
    return out


def not_executed(name: str, args: dict[str, Any]) -> str:
    """The AST categories have no backend: BFCL scores the call, not its result."""
    return f"{name} was called (this benchmark scores calls only; no result is available)."


@dataclass
class Conversation:
    """A library's handle on one entry: call `turn(messages)` once per user turn."""

    turn: Callable[[list[dict[str, str]]], Awaitable[Any]]
    errors: list[str] = field(default_factory=list)


Starter = Callable[[BaseChatModel, list[BaseTool], list[Any], int, Turns], Conversation]


def zyx_conversation(model: BaseChatModel, tools: list[BaseTool], _: list[Any], max_calls: int,
                     turns: Turns) -> Conversation:
    """One `zyx.arun` per user turn, on one checkpointed thread."""
    import uuid

    from langgraph.checkpoint.memory import InMemorySaver

    import zyx

    saver, thread = InMemorySaver(), uuid.uuid4().hex

    async def turn(messages: list[dict[str, str]]) -> Any:
        return await zyx.arun(messages, model=model, tools=tools, max_model_calls=max_calls, checkpointer=saver,
                              thread_id=thread, config={"callbacks": [turns]})

    return Conversation(turn)


def create_agent_conversation(model: BaseChatModel, tools: list[BaseTool], _: list[Any], max_calls: int,
                              turns: Turns) -> Conversation:
    """`create_agent` with a `FinalAnswer` structured-output tool, one invoke per user turn on one thread."""
    import uuid

    from langchain.agents import create_agent
    from langchain.agents.middleware import ModelCallLimitMiddleware
    from langchain.agents.structured_output import ToolStrategy
    from langgraph.checkpoint.memory import InMemorySaver

    agent = create_agent(model, tools=tools, response_format=ToolStrategy(FinalAnswer), checkpointer=InMemorySaver(),
                         middleware=[ModelCallLimitMiddleware(run_limit=max_calls, exit_behavior="end")])
    config: dict[str, Any] = {"callbacks": [turns], "recursion_limit": 4 * max_calls + 5,
                              "configurable": {"thread_id": uuid.uuid4().hex}}

    async def turn(messages: list[dict[str, str]]) -> Any:
        return await agent.ainvoke({"messages": messages}, config)

    return Conversation(turn)


def create_agent_native_conversation(model: BaseChatModel, tools: list[BaseTool], pydantic_tools: list[Any],
                                     max_calls: int, turns: Turns) -> Conversation:
    """`create_agent` as above, on the same GGUF through llama.cpp's native tool calling (benchmarks/bfcl/native.py)."""
    from benchmarks.bfcl.native import native_model

    return create_agent_conversation(native_model(model), tools, pydantic_tools, max_calls, turns)


def pydantic_ai_conversation(model: BaseChatModel, _: list[BaseTool], tools: list[Any], max_calls: int,
                             turns: Turns) -> Conversation:
    """pydantic-ai through the `FunctionModel` bridge, the message history carried from turn to turn."""
    from pydantic_ai import Agent
    from pydantic_ai.usage import UsageLimits

    agent: Any = Agent(bridge(model, turns), output_type=FinalAnswer, tools=tools)
    history: list[Any] = []

    async def turn(messages: list[dict[str, str]]) -> Any:
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        prompt = "\n".join(m["content"] for m in messages if m["role"] != "system")
        result = await agent.run(prompt, message_history=list(history), instructions=system or None,
                                 usage_limits=UsageLimits(request_limit=max_calls))
        history[:] = result.all_messages()
        return result

    return Conversation(turn)


LIBRARIES: dict[str, Starter] = {"zyx": zyx_conversation, "create_agent": create_agent_conversation,
                                 "create_agent_native": create_agent_native_conversation,
                                 "pydantic_ai": pydantic_ai_conversation}


async def converse(conversation: Conversation, turn: list[dict[str, str]]) -> float:
    """One user turn; a library's own errors (limits, validation) are recorded, not raised. Returns seconds."""
    start = time.perf_counter()
    try:
        await conversation.turn(turn)
    except Exception as exc:
        if _caused_by_enough(exc):
            return time.perf_counter() - start  # the turn's calls are already recorded; the error is kept for the report
        conversation.errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
    return time.perf_counter() - start


def _caused_by_enough(exc: BaseException | None) -> bool:
    """Whether an exception is (or wraps, as a library's own error) the `Enough` stop."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, Enough):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
