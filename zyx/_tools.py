"""User tools: plain functions or LangChain tools, converted once and executed safely."""

from __future__ import annotations

import functools
import inspect
import time
import typing
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ValidationError
from pydantic_core import to_json, to_jsonable_python

from zyx import _prompts
from zyx._target import format_validation_error
from zyx.errors import ConfigurationError, describe

RESERVED_NAMES = _prompts.RESERVED_TOOL_NAMES

tool_values: ContextVar[dict[str, Any] | None] = ContextVar("zyx_tool_values", default=None)
"""Per-run side channel: tool outputs as Python values, by call id (graph state keeps their JSON form)."""


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
        raise ConfigurationError("tools", f"cannot turn {describe(bound)} into a tool: {exc}") from None
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


@lru_cache(maxsize=512)
def _function_tool(obj: Callable[..., Any], name: str) -> BaseTool:
    """A function's (or a `functools.partial`'s) tool, built once: pydantic builds a model per
    tool, the costliest part of a new spec."""
    if isinstance(obj, functools.partial):
        obj = _from_partial(obj)
    description = inspect.getdoc(obj) or name.replace("_", " ")
    is_async = inspect.iscoroutinefunction(obj)
    try:
        return StructuredTool.from_function(
            func=None if is_async else obj,
            coroutine=obj if is_async else None,
            name=name,
            description=description,
            parse_docstring=True,
            error_on_invalid_docstring=False,
        )
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigurationError("tools", f"cannot turn {name!r} into a tool: {exc}") from None


def to_tools(tools: Sequence[Any] | None) -> tuple[BaseTool, ...]:
    """Convert and check a `tools=` argument: unique names, none reserved by zyx."""
    if tools is None:
        return ()
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        raise ConfigurationError("tools", f"expected a list of functions or LangChain tools, got {describe(tools)}")
    converted = tuple(to_tool(t) for t in tools)
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


def to_model_text(value: Any) -> str:
    """A tool output as the model sees it: strings as they are, anything else as JSON (else `str()`)."""
    if isinstance(value, str):
        return value
    try:
        return to_json(value).decode()
    except Exception:  # any unserialisable object: its str() is the documented fallback
        return str(value)


def to_state_value(value: Any) -> Any:
    """A tool output in JSON-compatible form, for graph state and checkpoints."""
    try:
        return to_jsonable_python(value)
    except Exception:  # documented fallback for values pydantic cannot serialise
        return str(value)


@dataclass
class ToolOutcome:
    """What one tool call produced: its value or the error text the model will see."""

    output: Any = None
    error: str | None = None
    duration: float = 0.0


def describe_error(exc: BaseException) -> str:
    """Model-readable text for a failed tool call."""
    if isinstance(exc, ValidationError):
        return _prompts.TOOL_BAD_ARGS.format(errors=format_validation_error(exc))
    return _prompts.TOOL_FAILED.format(kind=type(exc).__name__, error=exc)


async def execute_tool(
    tool: BaseTool,
    args: dict[str, Any],
    config: RunnableConfig | None = None,
    *,
    on_error: Callable[[BaseException], str] = describe_error,
) -> ToolOutcome:
    """Run one tool call (sync tools in a worker thread), turning any failure into error text."""
    started = time.perf_counter()
    try:
        output = await tool.ainvoke(args, config)
    except Exception as exc:  # a tool's failure is feedback for the model, not a crash
        return ToolOutcome(error=on_error(exc), duration=time.perf_counter() - started)
    return ToolOutcome(output=output, duration=time.perf_counter() - started)
