"""The checks of zyx's options: each takes (name, value), returns the value to use (possibly normalised)
or raises `ConfigurationError` naming the option and describing (never showing) the bad value."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from zyx._inputs import check_source, to_attachment_blocks
from zyx._tools import to_tools
from zyx.errors import ConfigurationError, describe

MAX_SECONDS = 10.0**9
"""The largest `timeout` / `tool_timeout` accepted (about 31 years): beyond it clocks overflow."""


def count(*, none: bool = True, zero: bool = True) -> Callable[[str, Any], Any]:
    """An integer count; None allowed when `none`, 0 allowed when `zero`."""
    expected = f"a {'non-negative' if zero else 'positive'} integer{' or None' if none else ''}"

    def check(name: str, value: Any) -> Any:
        if value is None and none:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
            raise ConfigurationError(name, f"expected {expected}, got {describe(value)}")
        return value
    return check


def seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if ok:
        try:
            seconds = float(value)
        except OverflowError:
            ok = False
        else:
            ok = math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS
    if not ok:
        raise ConfigurationError(name, f"expected a positive number of seconds (at most {MAX_SECONDS:g}) or None, "
                                 f"got {describe(value)}")
    return float(value)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(name, f"expected True or False, got {describe(value)}")
    return value


def flag_or_auto(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ConfigurationError(name, f"expected True, False or None (zyx decides), got {describe(value)}")
    return value


def text(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(name, f"expected a string or None, got {describe(value)}")
    return value


def instructions(name: str, value: Any) -> Any:
    """A string, a function of the run context, or a list of those: joined into one string when it holds only
    strings."""
    if value is None or isinstance(value, str):
        return value
    if callable(value):
        return _one_argument(name, value)
    if isinstance(value, Sequence) and all(isinstance(v, str) or callable(v) for v in value):
        if all(isinstance(v, str) for v in value):
            return "\n\n".join(value)
        return tuple(v if isinstance(v, str) else _one_argument(name, v) for v in value)
    raise ConfigurationError(name, f"expected a string, a function of the run context, or a list of those, "
                             f"got {describe(value)}")


SETTING_CHECKS: dict[str, Callable[[Any], bool]] = {
    "temperature": lambda v: is_number(v) and 0 <= v <= 2,
    "top_p": lambda v: is_number(v) and 0 <= v <= 1,
    "max_tokens": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
    "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "stop": lambda v: isinstance(v, str) or (isinstance(v, Sequence) and all(isinstance(s, str) for s in v)),
    "timeout": lambda v: is_number(v) and 0 < v <= MAX_SECONDS,
}
"""The common settings and what each must be; any other key is passed to the provider as it is."""


RESERVED_SETTINGS = frozenset({"tools", "tool_choice", "functions", "function_call", "parallel_tool_calls",
                               "response_format", "input", "messages", "config", "callbacks", "tags", "metadata",
                               "run_name", "run_id"})
"""Keys `model_settings` may not hold: what zyx binds for each turn, and the arguments of `invoke()` itself."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _one_argument(name: str, fn: Any) -> Any:
    """A function that can be called with one argument (the run's `RunContext`)."""
    if isinstance(fn, type):
        raise ConfigurationError(name, f"expected a function of the run context, got {describe(fn)}")
    try:
        inspect.signature(fn).bind(None)
    except TypeError:
        raise ConfigurationError(name, f"{describe(fn)} must take one argument (the run's RunContext)") from None
    except ValueError:  # no signature to read (some builtins): it is tried when called
        pass
    return fn


def model_settings(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigurationError(name, f"expected a dict of setting name -> value, got {describe(value)}")
    for key, setting in value.items():
        if key in RESERVED_SETTINGS:
            raise ConfigurationError(name, f"{key}: set by zyx itself (tools and tool choice are bound per turn; "
                                     "callbacks and tags go in config=)")
        if key in SETTING_CHECKS and not SETTING_CHECKS[key](setting):
            raise ConfigurationError(name, f"{key}: not a valid value ({describe(setting)})")
    return dict(value)


def source(name: str, value: Any) -> Any:
    return check_source(value)


def attachments(name: str, value: Any) -> Any:
    return to_attachment_blocks(value)


def model(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, (str, BaseChatModel)):
        raise ConfigurationError(name, 'expected a "provider:name" string, a LangChain chat model or None, '
                                 f"got {describe(value)}")
    return value


def tools(name: str, value: Any) -> Any:
    return to_tools(value)


def check_fn(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise ConfigurationError(name, f"expected a function (completion) or (completion, ctx), got {describe(value)}")
    return value


def check_fns(name: str, value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if callable(value) or isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigurationError(name, f"expected a list of functions, got {describe(value)}")
    for check in value:
        check_fn(name, check)
    return tuple(value)


def tool_limits(name: str, value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(name, f"expected a dict of tool name -> max calls, got {describe(value)}")
    return {key: count(none=False)(name, cap) for key, cap in value.items()}


def approve(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool) or callable(value):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(name, f"expected True, a list of tool names or a predicate, got {describe(value)}")
    return tuple(value)


def idempotent(name: str, value: Any) -> frozenset[str] | bool:
    if value is None or value is False:
        return frozenset()
    if value is True:
        return True
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(name, f"expected True or a list of tool names, got {describe(value)}")
    return frozenset(value)


def config(name: str, value: Any) -> RunnableConfig | None:
    """A LangChain RunnableConfig whose keys zyx or LangGraph read have the types they need."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(name, f"expected a LangChain RunnableConfig dict, got {describe(value)}")
    for key in ("recursion_limit", "max_concurrency"):
        limit = value.get(key)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigurationError(name, f"{key}: expected a positive integer, got {describe(limit)}")
    for key in ("configurable", "metadata"):
        if value.get(key) is not None and not isinstance(value[key], Mapping):
            raise ConfigurationError(name, f"{key}: expected a dict, got {describe(value[key])}")
    tags = value.get("tags")
    if tags is not None and (isinstance(tags, str) or not isinstance(tags, Sequence)):
        raise ConfigurationError(name, f"tags: expected a list of strings, got {describe(tags)}")
    callbacks = value.get("callbacks")
    if callbacks is not None and not (isinstance(callbacks, BaseCallbackManager) or (
            isinstance(callbacks, (list, tuple)) and all(isinstance(c, BaseCallbackHandler) for c in callbacks))):
        raise ConfigurationError(name, f"callbacks: expected a list of callback handlers or a callback manager, "
                                 f"got {describe(callbacks)}")
    return dict(value)  # type: ignore[return-value]


def checkpointer(name: str, value: Any, *, flags: bool = False) -> Any:
    """A LangGraph checkpointer or None; with `flags` (compiling a graph), also LangGraph's True / False."""
    if value is not None and not isinstance(value, BaseCheckpointSaver) and not (flags and isinstance(value, bool)):
        accepted = ", True/False or None" if flags else " or None"
        raise ConfigurationError(name, f"expected a LangGraph BaseCheckpointSaver{accepted}, got {describe(value)}")
    return value
