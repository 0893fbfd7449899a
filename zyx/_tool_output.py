"""Tool outputs as LangGraph's `ToolNode` hands them to the model, with the Python value kept for zyx.

A tool is invoked with its `ToolCall` and answers with a `ToolMessage` (status, content, artifact),
as in LangGraph. Two things zyx adds, for the `StructuredTool`s it runs (plain functions, `@tool`,
MCP tools): the value the function returned is reported to the executor (`RunResult.tool_calls`,
plan references get Python values), and a value that is not message content reaches the model as
JSON text (pydantic's serialiser: models, dataclasses, dates) instead of `str()`'s repr.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from langchain_core.messages.tool import ToolOutputMixin
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.tools.base import TOOL_MESSAGE_BLOCK_TYPES
from pydantic_core import to_json, to_jsonable_python

from zyx import _prompts

reported: ContextVar[list[Any] | None] = ContextVar("zyx_reported_output", default=None)
"""Per tool call: where a reporting tool puts the Python value its function returned."""

Content = str | list[str | dict[str, Any]]


def is_content_blocks(value: Any) -> bool:
    """A non-empty list of message content blocks (dicts of a ToolMessage block type; strings beside them)."""
    return (isinstance(value, list) and any(isinstance(v, dict) for v in value) and all(
        isinstance(v, str) or (isinstance(v, dict) and v.get("type") in TOOL_MESSAGE_BLOCK_TYPES) for v in value))


def to_model_text(value: Any) -> str:
    """A tool output as text: strings as they are, anything else as JSON (else `str()`)."""
    if isinstance(value, str):
        return value
    try:
        return to_json(value).decode()
    except Exception:  # any unserialisable object: its str() is the documented fallback
        return str(value)


def model_content(value: Any) -> Content:
    """What the model is sent for a tool's value: text, or content blocks passed through as blocks."""
    return list(value) if is_content_blocks(value) else to_model_text(value)


def content_text(content: Any) -> str:
    """The text of a message's content (error text, logs): text blocks joined, other blocks named by type."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part if isinstance(part, str) else str(part.get("text", f"[{part.get('type')}]"))
                         for part in content if isinstance(part, (str, dict)))
    return to_model_text(content)


def to_state_value(value: Any) -> Any:
    """A tool output in JSON-compatible form, for graph state and checkpoints."""
    try:
        return to_jsonable_python(value)
    except Exception:  # documented fallback for values pydantic cannot serialise
        return safe_text(value)


def safe_text(value: Any) -> str:
    """`str(value)`, or a description by type when its `__str__` fails."""
    try:
        return str(value)
    except Exception:  # a user object's broken __str__ must not break the run
        return _prompts.UNPRINTABLE.format(type=type(value).__name__)


def _report(value: Any, response_format: str) -> Any:
    """Hand the function's value to the executor; return it shaped for the ToolMessage."""
    if isinstance(value, ToolOutputMixin) or (isinstance(value, list) and value and all(
            isinstance(v, ToolOutputMixin) for v in value)):
        return value
    box = reported.get()
    if response_format == "content_and_artifact" and isinstance(value, tuple) and len(value) == 2:
        if box is not None:
            box.append(value[0])
        return model_content(value[0]), value[1]
    if box is not None:
        box.append(value)
    return model_content(value)


def _reporting_function(fn: Callable[..., Any], response_format: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        return _report(fn(*args, **kwargs), response_format)
    return call


def _reporting_coroutine(fn: Callable[..., Any], response_format: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> Any:
        return _report(await fn(*args, **kwargs), response_format)
    return call


def reporting(tool: BaseTool) -> BaseTool:
    """A copy of a `StructuredTool` whose function reports its value (other tools are used as they are)."""
    if not isinstance(tool, StructuredTool):
        return tool
    fmt = tool.response_format
    return tool.model_copy(update={
        "func": _reporting_function(tool.func, fmt) if tool.func is not None else None,
        "coroutine": _reporting_coroutine(tool.coroutine, fmt) if tool.coroutine is not None else None,
    })
