"""What each `RunStream` iterator shows of the event sequence: events, partials, text or a field,
optionally as deltas and debounced (grouped in time windows, the last value always shown)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

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


def field(name: str, debounce_by: float | None = None) -> Pick:
    if not isinstance(name, str) or not name:
        raise ConfigurationError("name", f"expected the name of a field of the target, got {describe(name)}")
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
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < math.inf:
        raise ConfigurationError("debounce_by", f"expected a number of seconds >= 0 or None, got {describe(seconds)}")
    return Debounced(pick, float(seconds), merge)


# -- deltas: only what changed since the last value shown --------------------------------------------------

def _snapshot(value: Any) -> Any:
    """A cheap copy of a live partial's shape: enough to tell later what was added or changed."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: _snapshot(v) for k, v in vars(value).items()}
    return value


def _delta(old: Any, new: Any) -> Any:
    """What `new` adds to `old`: the appended text of a string, the new or changed trailing items of a
    list (as a dict of index -> delta), the changed fields of a record (field -> delta); SKIP if nothing."""
    if isinstance(new, str) and isinstance(old, str) and new.startswith(old):
        return new[len(old):] or SKIP
    if isinstance(new, list) and isinstance(old, list):
        changed = {i: _delta(old[i] if i < len(old) else None, item) for i, item in enumerate(new)
                   if i >= len(old) or old[i] != _snapshot(item)}
        return {i: d for i, d in changed.items() if d is not SKIP} or SKIP
    fields = new if isinstance(new, dict) else vars(new) if hasattr(new, "__dict__") and not isinstance(new, type) \
        else None
    if fields is not None and isinstance(old, dict):
        changed = {k: _delta(old.get(k), v) for k, v in fields.items() if old.get(k) != _snapshot(v)}
        return {k: d for k, d in changed.items() if d is not SKIP} or SKIP
    return SKIP if old == _snapshot(new) else _snapshot(new)


def _deltas(inner: Pick) -> Callable[[RunEvent], Any]:
    last: list[Any] = [None]

    def show(event: RunEvent) -> Any:
        value = inner(event)
        if value is SKIP:
            return SKIP
        change = _delta(last[0], value)
        last[0] = _snapshot(value)
        return change

    return show


def _merge_deltas(a: Any, b: Any) -> Any:
    """Two deltas in a row as one (for debouncing)."""
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _merge_deltas(a[k], v) if k in a else v for k, v in b.items()}}
    return b
