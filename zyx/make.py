"""`make()` / `amake()`: one structured answer from the model, validated, with bounded retries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolRuntime
from pydantic import ValidationError
from typing_extensions import Unpack

from zyx import _prompts
from zyx._aio import in_running_loop, run_sync
from zyx._faults import call_with_retries
from zyx._inputs import check_model_takes, instructions_text, source_text, with_attachments
from zyx._messages import MessageLike, to_messages
from zyx._models import add_usage, bind, model_name, resolve_model
from zyx._option_rules import check_make
from zyx._options import DEFAULT_MAX_STEPS, MAKE_OPTIONS, MakeOptions, check_keywords, checked
from zyx._prompts import FINAL_RESULT, UNKNOWN_TOOL
from zyx._target import Target, field_names, format_validation_error, make_target
from zyx._tokens import TokenCounter
from zyx._tool_args import argument_check, runtime_parameter
from zyx._tools import ToolOutcome, execute_tool, openai_schemas
from zyx.errors import ConfigurationError, MaxStepsExceededError, VerificationError
from zyx.graph.context import Fitted, resolve_window
from zyx.graph.prompt import Fitter
from zyx.graph.reader import reader_tool
from zyx.result import Result, RunContext, RunTask
from zyx.stream._make import Invoke, make_events
from zyx.usage import Usage

if TYPE_CHECKING:
    from zyx.stream import RunStream

T = TypeVar("T")



def answer_tool(target: Target) -> dict[str, Any]:
    """The tool the model answers through: the target's own schema when it is an object, else `{result}`."""
    schema = dict(target.schema)
    if schema.get("type") != "object":
        defs = schema.pop("$defs", None)
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        if defs:
            schema["$defs"] = defs
    return {"type": "function", "function": {"name": FINAL_RESULT, "description": _prompts.MAKE_ANSWER_DESCRIPTION.format(name=target.name),
                                             "parameters": schema}}


def _answer_value(target: Target, args: dict[str, Any]) -> Any:
    wrapped = target.schema.get("type") != "object"
    return target.validate(args.get("result") if wrapped else args)


def _plain_text(target: Target) -> bool:
    return target.type is str


async def _invoke(bound: Runnable[Any, Any], messages: list[BaseMessage]) -> AIMessage:
    return await bound.ainvoke(messages)


async def _run_tools(calls: list[ToolCall], tools: Sequence[BaseTool], messages: list[BaseMessage],
                     deps: Any, fitted: Fitted | None = None, source: str | None = None) -> list[ToolMessage]:
    """Run a turn's tool calls concurrently; unknown tools get an error result; a tool taking a
    `ToolRuntime` gets make()'s conversation (and source) as its state and `deps` as its context."""
    by_name = {t.name: t for t in tools}
    state: dict[str, Any] = {"messages": messages, "source": source}
    if fitted is not None:  # for read_tool_output: what the model was shown, one output's share
        state["context"] = {"cut": dict(fitted.cut), "stubbed": list(fitted.stubbed), "share": fitted.share}

    def inject(call: ToolCall) -> dict[str, Any] | None:
        parameter = runtime_parameter(by_name[call["name"]])
        return {parameter: ToolRuntime(state=state, context=deps, config={},
                                       stream_writer=lambda chunk: None, tool_call_id=call.get("id"), store=None,
                                       tools=list(tools))} if parameter else None

    outcomes = await asyncio.gather(*(
        execute_tool(by_name[c["name"]], c, check=argument_check(by_name[c["name"]]), inject=inject(c))
        if c["name"] in by_name else _unknown(c["name"], by_name) for c in calls))
    return [o.message(c) for c, o in zip(calls, outcomes)]


def _bound(model: BaseChatModel, schemas: list[dict[str, Any]], settings: Mapping[str, Any]) -> Runnable[Any, Any]:
    return bind(model, schemas, settings) if schemas else model.bind(**settings) if settings else model


async def _unknown(name: str, by_name: dict[str, BaseTool]) -> ToolOutcome:
    return ToolOutcome(error=UNKNOWN_TOOL.format(name=name, available=", ".join(by_name) or _prompts.NO_TOOLS))


@dataclass(frozen=True)
class _Prompt:
    """make()'s fixed prompt parts: the system text, the source (cut to fit when big), the window to fit into."""

    system: str
    source: str | None
    window: int | None


async def _answer(model: BaseChatModel, target: Target, prompt: _Prompt, messages: list[BaseMessage],
                  tools: Sequence[BaseTool], max_retries: int, invoke: Invoke = _invoke,
                  settings: Mapping[str, Any] | None = None, deps: Any = None,
                  ) -> tuple[Any, list[BaseMessage], Usage]:
    """Ask until the answer validates: tool calls run in between, invalid answers are retried. Each prompt
    is fitted to the model's window, as a run's are (zyx.graph.context)."""
    settings = settings or {}
    answer = [] if _plain_text(target) else [answer_tool(target)]
    counter = TokenCounter(model)
    reader = reader_tool(counter)
    fitter = Fitter(resolve_window(prompt.window, model, settings), counter,
                    [*openai_schemas([*tools, reader]), *answer])
    bound = {reading: _bound(model, [*openai_schemas([*tools, *([reader] if reading else [])]), *answer], settings)
             for reading in (False, True)}
    tokens: dict[str, int] = {}
    retries = steps = calls = 0
    name = model_name(model)
    fitted: Fitted | None = None
    while True:
        fitted = await fitter.fit(prompt.system, messages, prompt.source, earlier=fitted.compacted if fitted else None)
        sent = [fitted.system, *fitted.messages] if fitted.system.text else fitted.messages
        turn = bound[fitted.changed]
        reply = await call_with_retries(lambda t=turn, s=sent: invoke(t, s),  # type: ignore[misc]
                                        model=model, model_name=name)
        messages.append(reply)
        tokens, calls = add_usage(tokens, reply), calls + 1
        answers = [c for c in reply.tool_calls if c["name"] == FINAL_RESULT]
        others = [c for c in reply.tool_calls if c["name"] != FINAL_RESULT]
        steps += len(others)
        usage = Usage(tokens, requests=calls, tool_calls=steps)
        if steps > DEFAULT_MAX_STEPS:
            raise MaxStepsExceededError(f"make() ran more than {DEFAULT_MAX_STEPS} tool calls",
                                        termination="max_steps", messages=messages, usage=usage)
        messages.extend(await _run_tools(others, [*tools, reader], messages, deps, fitted, prompt.source))
        messages.extend(ToolMessage(_prompts.MAKE_DUPLICATE_ANSWER, tool_call_id=c["id"] or "", name=FINAL_RESULT, status="error")
                        for c in answers[1:])
        if answers:
            try:
                value = _answer_value(target, answers[0]["args"])
            except ValidationError as exc:
                errors = format_validation_error(exc)
            else:
                messages.append(ToolMessage(_prompts.MAKE_ACCEPTED, tool_call_id=answers[0]["id"] or "", name=FINAL_RESULT))
                return value, messages, usage
        elif others:
            continue
        elif _plain_text(target):
            return reply.text, messages, usage
        else:
            errors = _prompts.MAKE_PLAIN_TEXT
        retries += 1
        if retries > max_retries:
            raise VerificationError(f"make() got no valid {target.name} after {retries} tries:\n{errors}",
                                    messages=messages, usage=usage, errors=[errors])
        feedback = _prompts.MAKE_RETRY.format(errors=errors)
        messages.append(ToolMessage(feedback, tool_call_id=answers[0]["id"] or "", name=FINAL_RESULT, status="error")
                        if answers else HumanMessage(feedback, name="zyx"))


@overload
async def amake(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                stream: Literal[False] = False, **options: Unpack[MakeOptions]) -> Result[T]: ...
@overload
async def amake(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                stream: Literal[True], **options: Unpack[MakeOptions]) -> RunStream[T]: ...
async def amake(target: Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
                stream: bool = False, **options: Unpack[MakeOptions]) -> Any:
    """Generate one value of `target` (plain structured generation, no task loop).

    Args:
        target: The type to produce (anything pydantic validates); `str` (or None) for plain text.
        context: What to generate from: a string, message, OpenAI-style dict, or a list; None
            asks for "Generate a <target name>.".
        stream: Return a `RunStream` of partial values instead of waiting; `VerificationError`,
            `MaxStepsExceededError` and `ModelError` are then raised while it is consumed.
        **options: The options of `MakeOptions`: model, instructions, tools (at most 50 calls in
            all) and max_retries (invalid answers sent back for another try); see docs/run.md.

    Returns:
        A `Result` with the validated `output`; with `stream=True`, a `RunStream`.

    Raises:
        ConfigurationError: An argument is invalid; raised before the model is called.
        VerificationError: No valid value after `max_retries` retries.
        MaxStepsExceededError: The model made more than 50 tool calls without a valid answer.
        ModelError: The chat model failed in a way retrying cannot fix, or transient errors
            outlasted the retries.
    """
    check_keywords(options, MAKE_OPTIONS, "amake")
    tgt = make_target(str if target is None else target)
    if tgt is None:  # unreachable: make_target only returns None for None
        raise ConfigurationError("target", "expected a type")
    values = checked(options, MakeOptions)
    check_make(stream, values)
    values["given_source"] = options.get("source")  # as given, for instructions (the JSON form is shown)
    tool_list, max_retries, settings = values["tools"], values["max_retries"], values["model_settings"]
    chat = resolve_model(values["model"])
    check_model_takes(chat, values["attachments"])
    messages = to_messages(context, "context") or [HumanMessage(_prompts.MAKE_DEFAULT_PROMPT.format(name=tgt.name))]
    messages = with_attachments(messages, values["attachments"])
    source = None if values["source"] is None else source_text(values["source"])
    prompt = _Prompt(await _system(tgt, values, messages), source, values["context_window"])
    if stream:
        from zyx.stream import RunStream

        return RunStream(lambda: make_events(lambda invoke: _answer(
            chat, tgt, prompt, messages, tool_list, max_retries, invoke, settings, values["deps"]), tgt, model_name(chat)),
            fields=field_names(tgt))
    output, history, usage = await _answer(chat, tgt, prompt, messages, tool_list, max_retries, settings=settings,
                                           deps=values["deps"])
    return Result(output=output, messages=history, usage=usage, model=model_name(chat))


async def _system(target: Target, values: dict[str, Any], messages: list[BaseMessage]) -> str:
    """make()'s system prompt: how to answer and the instructions (called now if a function); the source
    section is added when each prompt is fitted."""
    text = _prompts.MAKE_SYSTEM.format(name=target.name) if not _plain_text(target) else ""
    instructions = values["instructions"]
    if instructions is not None and not isinstance(instructions, str):
        goal = "\n".join(m.text for m in messages if isinstance(m, HumanMessage))
        instructions = await instructions_text(instructions, RunContext(
            task=RunTask(goal=goal, target=target.type), deps=values["deps"], source=values["given_source"],
            messages=list(messages), tool_calls=[], model_calls=0))
    if instructions:
        text = f"{text}\n\n{instructions}".strip()
    return text


@overload
def make(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
         stream: Literal[False] = False, **options: Unpack[MakeOptions]) -> Result[T]: ...
@overload
def make(target: type[T] | Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
         stream: Literal[True], **options: Unpack[MakeOptions]) -> RunStream[T]: ...
def make(target: Any = str, context: MessageLike | Sequence[MessageLike] | None = None, *,
         stream: bool = False, **options: Unpack[MakeOptions]) -> Any:
    """Blocking `amake()`: same arguments, same result. Inside a running event loop, `await amake(...)`.

    Args:
        target: The type to produce (anything pydantic validates); `str` (or None) for plain text.
        context: What to generate from: a string, message, OpenAI-style dict, or a list; None
            asks for "Generate a <target name>.".
        stream: Return a `RunStream` of partial values, to iterate synchronously, instead of
            waiting; `VerificationError`, `MaxStepsExceededError` and `ModelError` are then
            raised while it is consumed.
        **options: The options of `MakeOptions`, as for `amake()`.

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
        from zyx.stream._run_stream import sync_stream

        return sync_stream(amake(target, context, stream=stream, **options))
    return run_sync(amake(target, context, stream=stream, **options))
