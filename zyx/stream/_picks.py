"""What each `RunStream` iterator shows of the event sequence: events, partials, text or a field,
optionally as deltas and debounced (grouped in time windows, the last value always shown)."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from zyx.errors import ConfigurationError, describe
from zyx.events import PartialOutput, RunEvent, TextDelta
from zyx.stream._results import Changes

SKIP: Any = object()
"""Returned by a pick for an event its iterator does not show (yet)."""


class Pick:
    """Shows some events as values; a debounced pick may hold a value back until its window ends."""

    def __init__(self, show: Callable[[RunEvent], Any]) -> None:
        self.show = show

    def __call__(self, event: RunEvent) -> Any:
        return self.show(event)

    def due(self) -> Any:
        """A held value whose window has ended, else SKIP."""
        return SKIP

    def flush(self) -> Any:
        """At the end of the stream: the value still held, else SKIP."""
        return SKIP

    def wait_limit(self) -> float | None:
        """Seconds the consumer may wait for the next event before a held value is due (None: no limit)."""
        return None


class Debounced(Pick):
    """At most one value per `seconds`; values in between are grouped by `merge` (text) or replaced (partials)."""

    def __init__(self, inner: Pick, seconds: float, merge: Callable[[Any, Any], Any] | None = None) -> None:
        super().__init__(inner.show)
        self.inner, self.seconds, self.merge = inner, seconds, merge
        self.held: Any = SKIP
        self.shown_at = -math.inf

    def __call__(self, event: RunEvent) -> Any:
        value = self.inner(event)
        if value is SKIP:
            return self.due()
        self.held = value if self.held is SKIP or self.merge is None else self.merge(self.held, value)
        return self.due()

    def due(self) -> Any:
        if self.held is SKIP or time.monotonic() - self.shown_at < self.seconds:
            return SKIP
        return self._release()

    def flush(self) -> Any:
        return self._release() if self.held is not SKIP else SKIP

    def wait_limit(self) -> float | None:
        if self.held is SKIP:
            return None
        return max(self.shown_at + self.seconds - time.monotonic(), 0.0)

    def _release(self) -> Any:
        value, self.held = self.held, SKIP
        self.shown_at = time.monotonic()
        return value


def events() -> Pick:
    return Pick(lambda event: event)


def text(debounce_by: float | None = None) -> Pick:
    pick = Pick(lambda event: event.text if type(event) is TextDelta else SKIP)
    return _debounced(pick, debounce_by, merge=lambda a, b: a + b)


def partial(delta: bool = False, debounce_by: float | None = None) -> Pick:
    if not isinstance(delta, bool):
        raise ConfigurationError("delta", f"expected True or False, got {describe(delta)}")
    pick = Pick(lambda event: event.value if type(event) is PartialOutput else SKIP)
    if delta:
        pick = Pick(_deltas(pick))
    return _debounced(pick, debounce_by, merge=_merge_deltas if delta else None)


def field(name: str, debounce_by: float | None = None, fields: frozenset[str] | None = None) -> Pick:
    """The partials' field `name`; `fields`: the target's field names when known (a name not among them,
    a typo, would otherwise show nothing at all)."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError("name", f"expected the name of a field of the target, got {describe(name)}")
    if fields is not None and name not in fields:
        known = ", ".join(sorted(fields)) if fields else "none: the target is not a record"
        raise ConfigurationError("name", f"{name!r} is not a field of the target (its fields: {known})")
    changes = Changes()

    def show(event: RunEvent) -> Any:
        if type(event) is not PartialOutput:
            return SKIP
        value = event.value
        found = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
        return SKIP if found is None or not changes.changed(found) else found

    return _debounced(Pick(show), debounce_by)


def _debounced(pick: Pick, seconds: float | None, merge: Callable[[Any, Any], Any] | None = None) -> Pick:
    if seconds is None:
        return pick
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10**9:
        raise ConfigurationError("debounce_by", f"expected a number of seconds >= 0 or None, got {describe(seconds)}")
    return Debounced(pick, float(seconds), merge)


# -- deltas: only what changed since the last value shown --------------------------------------------------

@dataclass(frozen=True)
class Replace:
    """A delta that replaces the value so far (after a rejected completion the result restarts; a validator
    may rewrite the final value): use `value` instead of what the earlier deltas built."""

    value: Any


def _fields(value: Any) -> dict[str, Any] | None:
    """The top-level fields of a record (dict, pydantic model, dataclass), or None for anything else."""
    if isinstance(value, dict):
        return value
    if isinstance(value, BaseModel):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return None


def _delta(old: Any, new: Any) -> Any:
    """What `new` adds to `old` (see `apartial(delta=True)`); SKIP if nothing."""
    if isinstance(new, str):
        if isinstance(old, str) and new.startswith(old):
            return new[len(old):] or SKIP
        return new if old is None else Replace(new)
    if isinstance(new, list):
        if not isinstance(old, list) or len(new) < len(old):
            return new if old is None else Replace(new)
        changed = {i: item for i, item in enumerate(new) if i >= len(old) or old[i] != item}
        return changed or SKIP
    fields, before = _fields(new), _fields(old)
    if fields is not None:
        if before is None or not set(before) <= set(fields):
            return fields if old is None else Replace(fields)
        return {k: v for k, v in fields.items() if k not in before or before[k] != v} or SKIP
    return SKIP if old == new else new if old is None else Replace(new)


def apply_delta(value: Any, delta: Any) -> Any:
    """The value after one delta from `partial(delta=True)` (start from None): appended text, changed items by
    index, changed fields by name, or a `Replace`. Records come back as dicts."""
    if isinstance(delta, Replace):
        return copy.deepcopy(delta.value)
    if value is None:
        return copy.deepcopy(delta)
    if isinstance(value, str) and isinstance(delta, str):
        return value + delta
    if isinstance(value, list) and isinstance(delta, dict):
        items = list(value)
        for index in sorted(delta):
            if index < len(items):
                items[index] = copy.deepcopy(delta[index])
            else:
                items.append(copy.deepcopy(delta[index]))
        return items
    fields = _fields(value)
    if fields is not None and isinstance(delta, dict):
        return {**fields, **copy.deepcopy(delta)}
    return copy.deepcopy(delta)


def _deltas(inner: Pick) -> Callable[[RunEvent], Any]:
    last: list[Any] = [None]

    def show(event: RunEvent) -> Any:
        value = inner(event)
        if value is SKIP:
            return SKIP
        change = _delta(last[0], value)
        if change is not SKIP:
            last[0] = copy.deepcopy(value)  # the partial is live: keep what it was when this delta was made
            change = copy.deepcopy(change)
        return change

    return show


def _merge_deltas(a: Any, b: Any) -> Any:
    """Two deltas in a row as one (for debouncing): what applying both does."""
    if isinstance(b, Replace):
        return b
    if isinstance(a, Replace):
        return Replace(apply_delta(a.value, b))
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    return Replace(apply_delta(a, b))
