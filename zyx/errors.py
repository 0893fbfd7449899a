"""The zyx error tree.

Every error zyx raises on purpose is a :class:`ZyxError`::

    ZyxError
    ├── ConfigurationError (ValueError)      bad argument, raised before any model call
    └── RunError                             a run ended without an accepted completion
        ├── ModelError                           the chat model failed (auth, bad request, retries spent)
        ├── TaskNotCompletedError (ValueError)   the model kept answering in plain text
        ├── VerificationError (ValueError)       invalid results / failed checks, retries spent
        ├── MaxStepsExceededError (ValueError)   the tool-call budget ran out before completion
        ├── LimitExceededError (ValueError)      another limit (model calls, tokens, per-tool caps)
        ├── RunTimeoutError (ValueError)         the run's `timeout` elapsed
        └── PlanError (ValueError)               plan mode: too many rejected plans in a row

A :class:`RunError` carries everything that happened before it (messages, tool calls,
usage, the last rejected completion), so nothing is lost when a run fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zyx.usage import Usage

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from zyx.result import RunCompletion, ToolCallRecord

__all__ = [
    "ConfigurationError",
    "LimitExceededError",
    "MaxStepsExceededError",
    "ModelError",
    "PlanError",
    "RunError",
    "RunTimeoutError",
    "TaskNotCompletedError",
    "VerificationError",
    "ZyxError",
]


class ZyxError(Exception):
    """Base class of every error zyx raises on purpose."""


class ConfigurationError(ZyxError, ValueError):
    """A bad argument, raised before any model call; names the argument and what was expected.

    The error's text is `"{argument}: {message}"`.

    Args:
        argument: The name of the bad argument or option (kept as the `argument` attribute).
        message: What was wrong and what was expected.
    """

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        self.message = message
        super().__init__(f"{argument}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.argument, self.message), self.__dict__)


class RunError(ZyxError):
    """A run ended without an accepted completion; carries the whole history so far.

    Each argument but `message` is kept as the attribute of the same name.

    Args:
        message: The error text: why the run ended.
        termination: How the run ended, as `RunResult.termination`: `"no_completion"`, the
            limit that ran out (`"max_steps"`, `"timeout"`, ...), or `"cancelled"` (a stream
            closed or cancelled before the run ended).
        messages: The conversation up to the failure.
        tool_calls: The tool calls that ran, as `ToolCallRecord`s.
        usage: What the run spent so far: a `zyx.usage.Usage` (token counts by key or attribute, model
            requests and tool calls by attribute), or token counts by name.
        completion: The last rejected completion, if there was one.
        errors: Why it was rejected: one message per failed check or validation error.
    """

    def __init__(
        self,
        message: str,
        *,
        termination: str = "no_completion",
        messages: Sequence[BaseMessage] = (),
        tool_calls: Sequence[ToolCallRecord] = (),
        usage: Mapping[str, int] | None = None,
        completion: RunCompletion[Any] | None = None,
        errors: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.termination = termination
        self.messages = list(messages)
        self.tool_calls = list(tool_calls)
        self.usage = Usage.of(usage, tool_calls=len(self.tool_calls))
        self.completion = completion
        self.errors = list(errors)


class ModelError(RunError):
    """The chat model failed in a way retrying cannot fix (or retries were spent); names provider and model.

    Args:
        message: The error text: provider, model and the underlying exception.
        provider: The model's integration package (`"openai"` for `langchain_openai`...), if known.
        model: The chat model's name, if known.
        **history: `RunError`'s keyword arguments (`termination`, `messages`, `tool_calls`,
            `usage`, `completion`, `errors`): what the run did before the model failed.
    """

    def __init__(self, message: str, *, provider: str | None = None, model: str | None = None,
                 **history: Any) -> None:
        super().__init__(message, **history)
        self.provider = provider
        self.model = model


class TaskNotCompletedError(RunError, ValueError):
    """The model answered in plain text instead of calling `complete_task`, retries spent."""


class VerificationError(RunError, ValueError):
    """Completions kept failing validation or checks; `completion` is the last one, `errors` why."""


class MaxStepsExceededError(RunError, ValueError):
    """The tool-call budget (`max_steps`) ran out and the wrap-up turn did not complete."""


class LimitExceededError(RunError, ValueError):
    """A limit other than `max_steps` ran out and the wrap-up turn did not complete."""


class RunTimeoutError(RunError, ValueError):
    """The run's `timeout` elapsed before an accepted completion."""


class PlanError(RunError, ValueError):
    """Plan mode: the model's plans were rejected more than `max_retries` times in a row."""


_SECRET = re.compile(r"(?i)(key|token|secret|passw|bearer|auth|credential|dsn|://[^/\s]*@)")
_RANDOM = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-+/=.]{20,}$")


def describe(value: Any) -> str:
    """A bad value as an error message shows it: by type and shape, never a full repr (it may hold secrets).

    Numbers, booleans and None are shown as they are; a short string that does not look like a
    key, token or URL with credentials is quoted; anything else is described, e.g. "a dict with
    keys 'api_key', 'model'" or "a str of 51 characters (hidden)".
    """
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= 40 else f"an {type(value).__name__} of {len(text)} digits"
    if isinstance(value, str):
        if len(value) <= 40 and not _SECRET.search(value) and not _RANDOM.match(value):
            return repr(value)
        return f"a str of {len(value)} characters (hidden)"
    if isinstance(value, type):
        return f"the type {value.__qualname__}"
    if isinstance(value, Mapping):
        keys = [k if isinstance(k, str) and len(k) <= 30 else "…" for k in list(value)[:6]]
        shown = ", ".join(repr(k) for k in keys) + (", …" if len(value) > 6 else "")
        return f"a {type(value).__name__} with keys {shown}" if value else f"an empty {type(value).__name__}"
    if isinstance(value, (list, tuple, set, frozenset)):
        kinds = sorted({type(v).__name__ for v in value})
        return f"a {type(value).__name__} of {len(value)} item(s) ({', '.join(kinds[:4])})" if value else \
            f"an empty {type(value).__name__}"
    if callable(value):
        return f"the callable {getattr(value, '__qualname__', type(value).__name__)}"
    return f"a {type(value).__name__} object"


def redact(text: str, *values: Any) -> str:
    """`text` (a dependency's error message) with each of `values` that `describe` would hide replaced by its
    description: for messages that must quote what they were given."""
    for value in values:
        shown = describe(value)
        if isinstance(value, str) and value and "hidden" in shown:
            text = text.replace(value, "<" + shown + ">")
    return text
