"""`make()` / `amake()`: one structured answer from the model, validated, with bounded retries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolCall, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from zyx._aio import in_running_loop, run_sync
from zyx._faults import call_with_retries
from zyx._messages import MessageLike, to_messages
from zyx._models import model_name, resolve_model
from zyx._prompts import UNKNOWN_TOOL
from zyx._target import Target, format_validation_error, make_target
from zyx._tool_args import argument_check
from zyx._tools import ToolOutcome, execute_tool, openai_schemas, to_tools
from zyx.errors import ConfigurationError, MaxStepsExceededError, VerificationError
from zyx.graph.planner import add_usage
from zyx.graph.spec import DEFAULT_MAX_STEPS, bind
from zyx.result import Result

if TYPE_CHECKING:
    from zyx.stream import RunStream

T = TypeVar("T")

ANSWER_TOOL = "final_result"
SYSTEM = "Answer with a value of type {name} by calling the `final_result` tool. Use the other tools first if you need them."
DEFAULT_PROMPT = "Generate a {name}."
DUPLICATE_ANSWER = "Ignored: only one `final_result` call is handled per turn."
RETRY = "Invalid answer:\n{errors}\nCall `final_result` again with a valid value."


def answer_tool(target: Target) -> dict[str, Any]:
    """The tool the model answers through: the target's own schema when it is an object, else `{result}`."""
    schema = dict(target.schema)
    if schema.get("type") != "object":
        defs = schema.pop("$defs", None)
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        if defs:
            schema["$defs"] = defs
    return {"type": "function", "function": {"name": ANSWER_TOOL, "description": f"Answer with a {target.name}.",
                                             "parameters": schema}}


def _answer_value(target: Target, args: dict[str, Any]) -> Any:
    wrapped = target.schema.get("type") != "object"
    return target.validate(args.get("result") if wrapped else args)


def _plain_text(target: Target) -> bool:
    return target.type is str


Invoke = Callable[[Runnable[Any, Any], list[BaseMessage]], Awaitable[AIMessage]]


async def _invoke(bound: Runnable[Any, Any], messages: list[BaseMessage]) -> AIMessage:
    return await bound.ainvoke(messages)


async def _run_tools(calls: list[ToolCall], tools: Sequence[BaseTool]) -> list[ToolMessage]:
    """Run a turn's tool calls concurrently; unknown tools get an error result."""
    by_name = {t.name: t for t in tools}
    outcomes = await asyncio.gather(*(
        execute_tool(by_name[c["name"]], c, check=argument_check(by_name[c["name"]])) if c["name"] in by_name
        else _unknown(c["name"], by_name) for c in calls))
    return [o.message(c) for c, o in zip(calls, outcomes)]


async def _unknown(name: str, by_name: dict[str, BaseTool]) -> ToolOutcome:
    return ToolOutcome(error=UNKNOWN_TOOL.format(name=name, available=", ".join(by_name) or "(none)"))


async def _answer(model: BaseChatModel, target: Target, system: list[BaseMessage], messages: list[BaseMessage],
                  tools: Sequence[BaseTool], max_retries: int, invoke: Invoke = _invoke,
                  ) -> tuple[Any, list[BaseMessage], dict[str, int]]:
    """Ask until the answer validates: tool calls run in between, invalid answers are retried."""
    schemas = [*openai_schemas(tools)] + ([] if _plain_text(target) else [answer_tool(target)])
    bound = bind(model, schemas) if schemas else model
    usage: dict[str, int] = {}
    retries = steps = 0
    name = model_name(model)
    while True:
        reply = await call_with_retries(lambda: invoke(bound, [*system, *messages]), model=model, model_name=name)
        messages.append(reply)
        usage = add_usage(usage, reply)
        answers = [c for c in reply.tool_calls if c["name"] == ANSWER_TOOL]
        others = [c for c in reply.tool_calls if c["name"] != ANSWER_TOOL]
        steps += len(others)
        if steps > DEFAULT_MAX_STEPS:
            raise MaxStepsExceededError(f"make() ran more than {DEFAULT_MAX_STEPS} tool calls",
                                        termination="max_steps", messages=messages, usage=usage)
        messages.extend(await _run_tools(others, tools))
        messages.extend(ToolMessage(DUPLICATE_ANSWER, tool_call_id=c["id"] or "", name=ANSWER_TOOL, status="error")
                        for c in answers[1:])
        if answers:
            try:
                value = _answer_value(target, answers[0]["args"])
            except ValidationError as exc:
                errors = format_validation_error(exc)
            else:
                messages.append(ToolMessage("Answer accepted.", tool_call_id=answers[0]["id"] or "", name=ANSWER_TOOL))
                return value, messages, usage
        elif others:
            continue
        elif _plain_text(target):
            return reply.text, messages, usage
        else:
            errors = "- answered in plain text instead of calling `final_result`"
        retries += 1
        if retries > max_retries:
            raise VerificationError(f"make() got no valid {target.name} after {retries} tries:\n{errors}",
                                    messages=messages, usage=usage, errors=[errors])
        feedback = RETRY.format(errors=errors)
        messages.append(ToolMessage(feedback, tool_call_id=answers[0]["id"] or "", name=ANSWER_TOOL, status="error")
                        if answers else HumanMessage(feedback, name="zyx"))


@overload
async def amake(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                model: str | BaseChatModel | None = None, instructions: str | None = None,
                tools: Sequence[Any] | None = None, max_retries: int = 2,
                stream: Literal[False] = False) -> Result[T]: ...
@overload
async def amake(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                model: str | BaseChatModel | None = None, instructions: str | None = None,
                tools: Sequence[Any] | None = None, max_retries: int = 2,
                stream: Literal[True]) -> RunStream[T]: ...
async def amake(target: Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                model: str | BaseChatModel | None = None, instructions: str | None = None,
                tools: Sequence[Any] | None = None, max_retries: int = 2, stream: bool = False) -> Any:
    """Generate one value of `target` (plain structured generation, no task loop).

    Args:
        target: The type to produce (anything pydantic validates); `str` (or None) for plain text.
        context: What to generate from: a string, message, OpenAI-style dict, or a list; None
            asks for "Generate a <target name>.".
        model: A LangChain chat model, or a `"provider:name"` string; None picks the default
            (`ZYX_MODEL`, else OpenAI when `OPENAI_API_KEY` is set, else the local model).
        instructions: Extra system instructions.
        tools: Functions or LangChain tools the model may call before answering (at most 50
            calls in all).
        max_retries: How many invalid answers are sent back to the model for another try.
        stream: Return a `RunStream` of partial values instead of waiting; `VerificationError`,
            `MaxStepsExceededError` and `ModelError` are then raised while it is consumed.

    Returns:
        A `Result` with the validated `output`; with `stream=True`, a `RunStream`.

    Raises:
        ConfigurationError: An argument is invalid; raised before the model is called.
        VerificationError: No valid value after `max_retries` retries.
        MaxStepsExceededError: The model made more than 50 tool calls without a valid answer.
        ModelError: The chat model failed in a way retrying cannot fix, or transient errors
            outlasted the retries.
    """
    tgt = make_target(str if target is None else target)
    if tgt is None:  # unreachable: make_target only returns None for None
        raise ConfigurationError("target", "expected a type")
    if not isinstance(stream, bool):
        raise ConfigurationError("stream", f"expected True or False, got {stream!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError("max_retries", f"expected a non-negative integer, got {max_retries!r}")
    chat = resolve_model(model)
    tool_list = to_tools(tools)
    text = SYSTEM.format(name=tgt.name) if not _plain_text(tgt) else ""
    if instructions:
        text = f"{text}\n\n{instructions}".strip()
    system: list[BaseMessage] = [SystemMessage(text)] if text else []
    messages = to_messages(context, "context") or [HumanMessage(DEFAULT_PROMPT.format(name=tgt.name))]
    if stream:
        from zyx._make_events import make_events
        from zyx.stream import RunStream

        return RunStream(lambda: make_events(
            lambda invoke: _answer(chat, tgt, system, messages, tool_list, max_retries, invoke), tgt, model_name(chat)))
    output, history, usage = await _answer(chat, tgt, system, messages, tool_list, max_retries)
    return Result(output=output, messages=history, usage=usage, model=model_name(chat))


def make(target: Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
         model: str | BaseChatModel | None = None, instructions: str | None = None,
         tools: Sequence[Any] | None = None, max_retries: int = 2, stream: bool = False) -> Any:
    """Blocking `amake()`: same arguments, same result. Inside a running event loop, `await amake(...)`.

    Args:
        target: The type to produce (anything pydantic validates); `str` (or None) for plain text.
        context: What to generate from: a string, message, OpenAI-style dict, or a list; None
            asks for "Generate a <target name>.".
        model: A LangChain chat model, or a `"provider:name"` string; None picks the default
            (`ZYX_MODEL`, else OpenAI when `OPENAI_API_KEY` is set, else the local model).
        instructions: Extra system instructions.
        tools: Functions or LangChain tools the model may call before answering (at most 50
            calls in all).
        max_retries: How many invalid answers are sent back to the model for another try.
        stream: Return a `RunStream` of partial values, to iterate synchronously, instead of
            waiting; `VerificationError`, `MaxStepsExceededError` and `ModelError` are then
            raised while it is consumed.

    Returns:
        A `Result` with the validated `output`; with `stream=True`, a `RunStream`.

    Raises:
        RuntimeError: Called inside a running event loop.
        ConfigurationError: An argument is invalid; raised before the model is called.
        VerificationError: No valid value after `max_retries` retries.
        MaxStepsExceededError: The model made more than 50 tool calls without a valid answer.
        ModelError: The chat model failed in a way retrying cannot fix, or transient errors
            outlasted the retries.
    """
    if in_running_loop():
        raise RuntimeError("zyx.make() cannot be called inside a running event loop; use `await zyx.amake(...)`")
    if stream:  # `stream` is forwarded as is (amake checks it), typed Literal[True] / Literal[False] per branch
        from zyx.stream import sync_stream

        return sync_stream(amake(target, context, model=model, instructions=instructions, tools=tools,
                                 max_retries=max_retries, stream=stream))
    return run_sync(amake(target, context, model=model, instructions=instructions, tools=tools,
                          max_retries=max_retries, stream=stream))
