"""`Usage`: what a run spent, read by attribute (as pydantic-ai's `RunUsage`) or by key (as the dict it was).

The graph state keeps usage as a plain dict of token counts (JSON, checkpoints, Studio); `Usage` is how results,
errors and streams show it. It *is* that dict, made read-only (a `dict` subclass whose mutating methods raise),
so everything written against the dict keeps working: `usage["total_tokens"]`, `usage.get(...)`,
`usage == {"input_tokens": ...}`, `isinstance(usage, dict)`, `json.dumps(usage)`. The model requests and tool
calls are attributes only, since they count calls, not tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage

__all__ = ["Usage"]

TOKEN_COUNTS = ("input_tokens", "output_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens",
                "reasoning_tokens", "input_audio_tokens", "output_audio_tokens")
"""The token counts a `Usage` can hold, in the order it shows them."""

_DETAILS = {
    "input_token_details": {"cache_read": "cache_read_tokens", "cache_creation": "cache_write_tokens",
                            "audio": "input_audio_tokens"},
    "output_token_details": {"reasoning": "reasoning_tokens", "audio": "output_audio_tokens"},
}
"""LangChain's `UsageMetadata` details -> the flat names a `Usage` (and pydantic-ai's `RunUsage`) uses."""


def add_usage(total: Mapping[str, int] | None, reply: AIMessage) -> dict[str, int]:
    """Summed token counts after one more model reply (the JSON form the graph state keeps).

    LangChain's top-level counts are summed as they come; the cache, reasoning and audio details a provider
    reports are summed under flat names (`cache_read_tokens`, ...) when they are not zero.
    """
    summed = dict(total or {})
    metadata: Mapping[str, Any] = reply.usage_metadata or {}
    for key, value in metadata.items():
        if isinstance(value, int) and not isinstance(value, bool):
            summed[key] = summed.get(key, 0) + value
        elif key in _DETAILS and isinstance(value, Mapping):
            for detail, name in _DETAILS[key].items():
                count = value.get(detail)
                if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                    summed[name] = summed.get(name, 0) + count
    return summed


class Usage(dict[str, int]):
    """What a run spent: token counts summed over every model call, and how many calls it made. Frozen.

    Read it by attribute, as pydantic-ai's `RunUsage` (`usage.input_tokens`, `usage.requests`), or by key, as
    the dict of token counts it used to be (`usage["input_tokens"]`, `dict(usage)`, `usage == {...}`): the
    keys are the token counts the provider reported; an attribute whose count was not reported reads 0.
    It is a read-only `dict`: changing it raises `TypeError`.

    Attributes:
        input_tokens: Input (prompt) tokens.
        output_tokens: Output (completion) tokens.
        total_tokens: Input plus output tokens (as the provider reported it, else their sum).
        cache_read_tokens: Input tokens read from the provider's prompt cache (part of `input_tokens`).
        cache_write_tokens: Input tokens written to the provider's prompt cache (part of `input_tokens`).
        reasoning_tokens: Output tokens the model spent reasoning (part of `output_tokens`).
        input_audio_tokens: Audio input tokens (part of `input_tokens`).
        output_audio_tokens: Audio output tokens (part of `output_tokens`).
        requests: Model calls made (pydantic-ai's name; `run()`'s `max_model_calls` bounds them).
        tool_calls: Tool calls executed (not counting `complete_task`).

    Args:
        counts: Token counts by name (the keys of `TOKEN_COUNTS`; other integer keys are kept as given).
        requests: Model calls made.
        tool_calls: Tool calls executed.
    """

    __slots__ = ("_requests", "_tool_calls")
    _requests: int
    _tool_calls: int

    def __init__(self, counts: Mapping[str, int] | None = None, requests: int = 0, tool_calls: int = 0) -> None:
        dict.__init__(self, {k: v for k, v in (counts or {}).items() if isinstance(v, int) and not isinstance(v, bool)})
        object.__setattr__(self, "_requests", int(requests))
        object.__setattr__(self, "_tool_calls", int(tool_calls))

    @classmethod
    def of(cls, value: Mapping[str, int] | None, *, requests: int = 0, tool_calls: int = 0) -> Usage:
        """`value` if it already is a `Usage`, else one with these counts.

        Args:
            value: A `Usage`, or token counts by name (None: none).
            requests: Model calls made, when `value` is not a `Usage`.
            tool_calls: Tool calls executed, when `value` is not a `Usage`.
        """
        return value if isinstance(value, Usage) else cls(value, requests, tool_calls)

    def _count(self, name: str) -> int:
        return dict.get(self, name, 0)

    @property
    def input_tokens(self) -> int:
        """Input (prompt) tokens."""
        return self._count("input_tokens")

    @property
    def output_tokens(self) -> int:
        """Output (completion) tokens."""
        return self._count("output_tokens")

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens (as the provider reported it, else their sum)."""
        return dict.get(self, "total_tokens", self.input_tokens + self.output_tokens)

    @property
    def cache_read_tokens(self) -> int:
        """Input tokens read from the provider's prompt cache."""
        return self._count("cache_read_tokens")

    @property
    def cache_write_tokens(self) -> int:
        """Input tokens written to the provider's prompt cache."""
        return self._count("cache_write_tokens")

    @property
    def reasoning_tokens(self) -> int:
        """Output tokens the model spent reasoning."""
        return self._count("reasoning_tokens")

    @property
    def input_audio_tokens(self) -> int:
        """Audio input tokens."""
        return self._count("input_audio_tokens")

    @property
    def output_audio_tokens(self) -> int:
        """Audio output tokens."""
        return self._count("output_audio_tokens")

    @property
    def requests(self) -> int:
        """Model calls made."""
        return self._requests

    @property
    def tool_calls(self) -> int:
        """Tool calls executed (not counting `complete_task`)."""
        return self._tool_calls

    # -- a read-only dict of the token counts that were reported --------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Usage):
            return dict.__eq__(self, other) and (self._requests, self._tool_calls) == (other._requests,
                                                                                        other._tool_calls)
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:  # type: ignore[override]
        return hash((tuple(sorted(self.items())), self._requests, self._tool_calls))

    def _frozen(self, *args: Any, **kwargs: Any) -> Any:
        """What each of dict's mutating methods does on a `Usage` (set below the class): refuse."""
        raise TypeError("Usage is read-only: copy it with dict(usage) to change the counts")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Usage is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Usage is frozen: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Usage, (dict(self), self._requests, self._tool_calls))

    def __copy__(self) -> Usage:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Usage:
        return self

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.model_dump().items() if v or k in self)
        return f"Usage({shown})"

    def model_dump(self) -> dict[str, int]:
        """Every count as a plain dict (zeros included), e.g. for logging or JSON."""
        return {**{name: getattr(self, name) for name in TOKEN_COUNTS},
                **{k: v for k, v in self.items() if k not in TOKEN_COUNTS},
                "requests": self._requests, "tool_calls": self._tool_calls}

    def model_dump_json(self) -> str:
        """`model_dump()` as a JSON string."""
        return json.dumps(self.model_dump())


for _method in ("__setitem__", "__delitem__", "__ior__", "clear", "pop", "popitem", "setdefault", "update"):
    setattr(Usage, _method, Usage._frozen)  # dict's mutators: a Usage is read-only (see its docstring)
del _method
