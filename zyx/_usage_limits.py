"""`usage_limits=`: pydantic-ai's `UsageLimits` (what the original zyx took) as zyx's own limit options.

Read by field name (duck typing), so zyx never imports pydantic-ai: a `UsageLimits`, any object with its fields,
or a mapping of them. Each limit that has an equivalent becomes that option; one that has none is refused rather
than silently ignored; and a value that disagrees with the native option given next to it is a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zyx._option_checks import count
from zyx.errors import ConfigurationError, describe

NAME = "usage_limits"

MAPPED = {"request_limit": "max_model_calls", "total_tokens_limit": "max_tokens_total", "tool_calls_limit": "max_steps"}
"""`UsageLimits` field -> the zyx option that bounds the same thing."""

_CHECKS = {"max_model_calls": count(zero=False), "max_tokens_total": count(zero=False), "max_steps": count()}

UNSUPPORTED = {
    "input_tokens_limit": "zyx bounds input and output tokens together (total_tokens_limit / max_tokens_total)",
    "output_tokens_limit": "zyx bounds input and output tokens together (total_tokens_limit / max_tokens_total); "
                           "to cap one reply, set model_settings={'max_tokens': ...}",
    "per_request_input_tokens_limit": "zyx fits each model call's prompt to the model's context window instead",
    "cost_limit": "zyx does not price calls; bound tokens with total_tokens_limit / max_tokens_total",
    "count_tokens_before_request": "zyx does not call a provider's token-counting API",
}
"""`UsageLimits` fields with no equivalent here: refused when set (not None / not False), with why."""

FIELDS = (*MAPPED, *UNSUPPORTED)


def usage_limits(name: str, value: Any) -> dict[str, int] | None:
    """The `usage_limits` option: the zyx limits it sets, by option name (`max_model_calls`, ...); None if not given."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in FIELDS]
        if unknown:
            raise ConfigurationError(name, f"{describe(unknown[0])} is not a UsageLimits field (expected "
                                     f"{', '.join(FIELDS)})")
        fields = dict(value)
    else:
        fields = {f: getattr(value, f) for f in FIELDS if hasattr(value, f)}
        if not any(f in fields for f in MAPPED):
            raise ConfigurationError(name, "expected pydantic-ai's UsageLimits or a mapping of its fields "
                                     f"({', '.join(MAPPED)}), got {describe(value)}")
    for field, why in UNSUPPORTED.items():
        if fields.get(field) not in (None, False):
            raise ConfigurationError(name, f"{field} has no equivalent here: {why}")
    limits: dict[str, int] = {}
    for field, option in MAPPED.items():
        if fields.get(field) is not None:
            limits[option] = _CHECKS[option](f"{name}.{field}", fields[field])
    return limits


def merge(values: dict[str, Any]) -> None:
    """Put the checked `usage_limits` into the checked options it maps onto; a native option given with a
    different value is a conflict (an equal one is not)."""
    limits = values.get(NAME) or {}
    for field, option in MAPPED.items():
        if option not in limits:
            continue
        given, mapped = values.get(option), limits[option]
        if given is not None and given != mapped:
            default = " (UsageLimits' default: pass request_limit=None to leave it to max_model_calls)" \
                if field == "request_limit" and mapped == 50 else ""
            raise ConfigurationError(NAME, f"{field}={mapped}{default} conflicts with {option}={given}: "
                                     "give the limit once")
        values[option] = mapped
