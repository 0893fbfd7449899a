"""User tools: plain functions or LangChain tools, converted once and executed safely."""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.messages.tool import ToolOutputMixin
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.errors import GraphBubbleUp
from pydantic import ValidationError

from zyx import _prompts
from zyx._prompts import INVALID_ARGUMENTS, UNSUPPORTED_OUTPUT
from zyx._target import format_validation_error
from zyx._tool_args import ArgumentCheck
from zyx._tool_output import Content, content_text, model_content, reported, reporting, safe_text
from zyx._tool_output import to_model_text as to_model_text
from zyx._tool_output import to_state_value as to_state_value
from zyx.errors import ConfigurationError, describe

RESERVED_NAMES = _prompts.RESERVED_TOOL_NAMES

def to_tool(obj: Any) -> BaseTool:
    """A `BaseTool` from a LangChain tool or a typed function (sync or async; docstring = description)."""
    if isinstance(obj, BaseTool):
        return obj
    if not callable(obj) or isinstance(obj, type):
        raise ConfigurationError("tools", f"expected functions or LangChain tools, got {describe(obj)}")
    name = getattr(obj.func if isinstance(obj, functools.partial) else obj, "__name__", None)
    if not name or name == "<lambda>":
        raise ConfigurationError("tools", f"a tool needs a name: use a `def` function, not {describe(obj)}")
    try:
        return _function_tool(obj, name)
    except TypeError:  # an unhashable callable object: convert it uncached
        return _function_tool.__wrapped__(obj, name)


def _from_partial(bound: functools.partial[Any]) -> Callable[..., Any]:
    """A function standing for `bound`: the wrapped function's name, docstring and type hints, with
    only the parameters left to fill in its signature (those bound by keyword are not shown to the model)."""
    func = bound.func
    try:
        signature = inspect.signature(bound)
        hints = typing.get_type_hints(func, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigurationError("tools", f"cannot turn {describe(bound)} into a tool ({type(exc).__name__}: "
                                 "it binds arguments its function does not take, or cannot be inspected)") from None
    params = [p for name, p in signature.parameters.items() if name not in bound.keywords]

    async def call_async(**kwargs: Any) -> Any:
        return await bound(**kwargs)

    def call(**kwargs: Any) -> Any:
        return bound(**kwargs)

    tool: Callable[..., Any] = call_async if inspect.iscoroutinefunction(func) else call
    tool.__name__ = tool.__qualname__ = func.__name__
    tool.__doc__, tool.__module__ = func.__doc__, getattr(func, "__module__", None) or __name__
    tool.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    tool.__annotations__ = hints  # all of them: the docstring may describe a bound parameter too
    return tool


UNSUPPORTED_KINDS = {
    inspect.Parameter.VAR_POSITIONAL: "*{name} (the model can only pass named arguments)",
    inspect.Parameter.VAR_KEYWORD: "**{name} (the model would not be shown which arguments it takes)",
    inspect.Parameter.POSITIONAL_ONLY: "the positional-only parameter {name!r} (the model passes arguments by name)",
}


def _check_signature(obj: Callable[..., Any], name: str) -> None:
    """Refuse what a tool cannot be: a generator, or parameters the model cannot fill by name."""
    target = obj.func if isinstance(obj, functools.partial) else obj
    if inspect.isasyncgenfunction(target) or inspect.isgeneratorfunction(target):
        kind = "an async generator" if inspect.isasyncgenfunction(target) else "a generator"
        raise ConfigurationError("tools", f"{name!r} is {kind} function: a tool must return its result "
                                 "(collect the items into a list and return it)")
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return  # no signature to check: StructuredTool reports what it cannot use
    for param in parameters:
        if param.kind in UNSUPPORTED_KINDS:
            raise ConfigurationError("tools", f"{name!r} takes {UNSUPPORTED_KINDS[param.kind].format(name=param.name)}; "
                                     "give it named parameters with type hints")


_ARGS_SECTION = re.compile(r"Args:\s*")  # the header LangChain's parse_docstring reads
_ARG_ENTRY = re.compile(r"\s+(\w+)\s*(\([^)]*\))?\s*:")


def _without_args_section(doc: str, fields: Mapping[str, Any]) -> str:
    """A (dedented) docstring minus its Google-style `Args:` section when the schema's fields already
    carry it (LangChain parsed it into their descriptions): sent once, not twice. The docstring stays
    whole where the parse fell short: an argument named there left without a description, or text
    of the section past a blank line (where LangChain stops reading)."""
    kept: list[str] = []
    section: list[str] = []
    skipping = False
    for line in doc.splitlines():
        if _ARGS_SECTION.fullmatch(line):
            skipping = True
        elif skipping and line and not line[0].isspace():
            skipping = False
        (section if skipping else kept).append(line)
    named = [m.group(1) for line in section if (m := _ARG_ENTRY.match(line))]
    read = next((i for i, line in enumerate(section) if not line.strip()), len(section))  # LangChain stops there
    if not named or any(line.strip() for line in section[read:]) or \
            any(name in fields and not fields[name].description for name in named):
        return doc
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() or doc


@lru_cache(maxsize=512)
def _function_tool(obj: Callable[..., Any], name: str) -> BaseTool:
    """A function's (or a `functools.partial`'s) tool, built once: pydantic builds a model per
    tool, the costliest part of a new spec."""
    _check_signature(obj, name)
    if isinstance(obj, functools.partial):
        obj = _from_partial(obj)
    description = inspect.getdoc(obj) or name.replace("_", " ")
    is_async = inspect.iscoroutinefunction(obj)
    try:
        tool = StructuredTool.from_function(
            func=None if is_async else obj,
            coroutine=obj if is_async else None,
            name=name,
            description=description,
            parse_docstring=True,
            error_on_invalid_docstring=False,
        )
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigurationError("tools", f"cannot turn {name!r} into a tool: {exc}") from None
    tool.description = _without_args_section(description, getattr(tool.args_schema, "model_fields", {}))
    return tool


def to_tools(tools: Sequence[Any] | None, *, report: bool = True) -> tuple[BaseTool, ...]:
    """Convert and check a `tools=` argument: unique names, none reserved by zyx. Cheap to repeat
    (function tools are built once), so callers may check `tools=` before anything costly;
    `report=False` skips making the copies that report their Python outputs (`reporting`)."""
    if tools is None:
        return ()
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        raise ConfigurationError("tools", f"expected a list of functions or LangChain tools, got {describe(tools)}")
    converted = tuple(reporting(to_tool(t)) if report else to_tool(t) for t in tools)
    seen: set[str] = set()
    for tool in converted:
        if tool.name in RESERVED_NAMES:
            raise ConfigurationError("tools", f"the tool name {tool.name!r} is reserved by zyx")
        if tool.name in seen:
            raise ConfigurationError("tools", f"two tools are named {tool.name!r}")
        seen.add(tool.name)
    return converted


def openai_schemas(tools: Sequence[BaseTool]) -> list[dict[str, Any]]:
    """The tools as OpenAI-format dicts, converted once per spec rather than per model call."""
    return [convert_to_openai_tool(t) for t in tools]


@dataclass
class ToolOutcome:
    """What one tool call produced: its value (and artifact), or the error text the model sees.

    `content` is the ToolMessage content the model is sent (text or content blocks); None for an
    outcome made by zyx itself (a timeout, a refusal), whose `error` is the text.
    """

    output: Any = None
    error: str | None = None
    duration: float = 0.0
    content: Content | None = None
    artifact: Any = None
    still_running: bool = False
    """A sync tool cut by a timeout: its thread could not be stopped, so it may still take effect."""
    run_timed_out: bool = False
    """The call was cut by the run's `timeout` (not by `tool_timeout`)."""
    may_have_run: bool = False
    """The call had started before the run was interrupted and its result was lost; it was not run again."""

    def to_json(self) -> dict[str, Any]:
        """The outcome in JSON form, as a checkpointer saves it (Python values become their JSON form)."""
        return {"output": to_state_value(self.output) if self.error is None else None, "error": self.error,
                "duration": self.duration, "content": to_state_value(self.content),
                "artifact": to_state_value(self.artifact), "still_running": self.still_running,
                "run_timed_out": self.run_timed_out, "may_have_run": self.may_have_run}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToolOutcome:
        """An outcome back from its JSON form (a finished call's saved result, on resume)."""
        return cls(**{k: data.get(k) for k in ("output", "error", "content", "artifact")},
                   duration=float(data.get("duration") or 0.0), still_running=bool(data.get("still_running")),
                   run_timed_out=bool(data.get("run_timed_out")), may_have_run=bool(data.get("may_have_run")))

    def message(self, call: Mapping[str, Any]) -> ToolMessage:
        """The ToolMessage answering `call`, as LangGraph's ToolNode would send it."""
        content: Content = self.content if self.content is not None else (
            self.error if self.error is not None else model_content(self.output))
        return ToolMessage(content, tool_call_id=call.get("id") or "", name=call.get("name") or "",
                           status="error" if self.error is not None else "success", artifact=self.artifact)


def describe_error(exc: BaseException) -> str:
    """Model-readable text for a failed tool call."""
    if isinstance(exc, ValidationError):
        return _prompts.TOOL_BAD_ARGS.format(errors=format_validation_error(exc))
    return _prompts.TOOL_FAILED.format(kind=type(exc).__name__, error=safe_text(exc))


def _outcome(result: Any, values: list[Any], duration: float) -> ToolOutcome:
    """A tool's answer as an outcome: a ToolMessage keeps its status, content and artifact."""
    if isinstance(result, ToolMessage):
        output = values[0] if values else result.content
        if result.status == "error":
            return ToolOutcome(error=content_text(result.content), duration=duration, content=result.content,
                               artifact=result.artifact)
        return ToolOutcome(output=output, duration=duration, content=result.content, artifact=result.artifact)
    if isinstance(result, ToolOutputMixin) or isinstance(result, list) and result and all(
            isinstance(r, ToolOutputMixin) for r in result):
        return ToolOutcome(error=UNSUPPORTED_OUTPUT.format(kind=type(result).__name__), duration=duration)
    return ToolOutcome(output=result, duration=duration)


def runs_in_thread(tool: BaseTool) -> bool:
    """Whether the tool's async path runs its sync function in a worker thread (which cannot be stopped)."""
    if isinstance(tool, StructuredTool):
        return tool.coroutine is None
    return type(tool)._arun is BaseTool._arun


async def execute_tool(
    tool: BaseTool,
    call: ToolCall,
    config: RunnableConfig | None = None,
    *,
    check: ArgumentCheck | None = None,
    inject: Mapping[str, Any] | None = None,
    on_error: Callable[[BaseException], str] = describe_error,
) -> ToolOutcome:
    """Run one tool call as LangGraph's ToolNode does (invoked with the ToolCall; sync tools in a worker
    thread), with its arguments checked first and any failure turned into error text. `inject` adds
    arguments the model does not see (a `ToolRuntime`), after the check.

    A real cancellation (the task is being cancelled), KeyboardInterrupt and LangGraph's `interrupt()`
    propagate; anything else a tool raises, a `SystemExit` or a `CancelledError` it raised itself
    included, is the model's feedback.
    """
    started = time.perf_counter()
    if check is not None:
        call = ToolCall(name=call["name"], args=check.repaired(call["args"]), id=call.get("id"), type="tool_call")
    if check is not None and (problems := check.problems(call["args"])):
        return ToolOutcome(error=INVALID_ARGUMENTS.format(problems="\n".join(f"- {p}" for p in problems)))
    values: list[Any] = []
    token = reported.set(values)
    try:
        args = {**call["args"], **inject} if inject else call["args"]
        result = await tool.ainvoke(ToolCall(name=call["name"], args=args, id=call.get("id") or "",
                                             type="tool_call"), config)
    except (KeyboardInterrupt, GraphBubbleUp):  # Ctrl-C; a LangGraph interrupt() inside the tool, as in ToolNode
        raise
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        return ToolOutcome(error=on_error(exc), duration=time.perf_counter() - started)
    except BaseException as exc:  # a tool's failure is feedback for the model, not a crash
        return ToolOutcome(error=on_error(exc), duration=time.perf_counter() - started)
    finally:
        reported.reset(token)
    return _outcome(result, values, time.perf_counter() - started)
