"""Stream iterators with deltas and debouncing, and what a finished stream tells (usage, completion, verified)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel

import zyx
from zyx import ConfigurationError
from zyx.stream._picks import SKIP, Debounced, Pick
from zyx.testing import ScriptedChatModel, complete

STEPS = ["Run the tests", "Build the image", "Deploy it"]


class Release(BaseModel):
    version: str
    steps: list[str]


def release_stream(**options: Any) -> zyx.RunStream[Release]:
    model = ScriptedChatModel(responses=["Planning. ", complete(result={"version": "2.0", "steps": STEPS})],
                              chunk_size=3)
    return zyx.run("Plan release 2.0.", Release, model=model, stream=True, **options)


def apply(value: Any, delta: Any) -> Any:
    """Rebuild a value from the deltas `partial(delta=True)` shows."""
    if isinstance(delta, str) and (value is None or isinstance(value, str)):
        return (value or "") + delta
    if isinstance(delta, dict):
        if isinstance(value, list) or (value is None and all(isinstance(k, int) for k in delta)):
            items = list(value or [])
            for index, part in sorted(delta.items()):
                if index < len(items):
                    items[index] = apply(items[index], part)
                else:
                    items.append(apply(None, part))
            return items
        fields = dict(value or {})
        for key, part in delta.items():
            fields[key] = apply(fields.get(key), part)
        return fields
    return copy.deepcopy(delta)


def test_deltas_add_up_to_the_final_value() -> None:
    stream = release_stream()
    deltas = list(stream.partial(delta=True))
    assert len(deltas) > 3
    rebuilt: Any = None
    for delta in deltas:
        rebuilt = apply(rebuilt, delta)
    assert rebuilt == {"version": "2.0", "steps": STEPS}
    assert stream.finish().output == Release(version="2.0", steps=STEPS)


def test_deltas_of_a_string_target_are_its_new_text() -> None:
    model = ScriptedChatModel(responses=[complete(result="hello streaming world")], chunk_size=2)
    stream = zyx.run("Greet.", str, model=model, stream=True)
    deltas = list(stream.partial(delta=True))
    assert "".join(deltas) == "hello streaming world" and len(deltas) > 2


def test_a_long_debounce_shows_the_first_and_the_last_value() -> None:
    stream = release_stream()
    values = [copy.deepcopy(v) for v in stream.partial(debounce_by=3600)]
    assert len(values) == 2 and (values[-1].version, values[-1].steps) == ("2.0", STEPS)
    text = release_stream()
    pieces = list(text.text(debounce_by=3600))
    assert len(pieces) == 2 and "".join(pieces) == "".join(release_stream().text())


def test_no_debounce_and_zero_debounce_show_the_same() -> None:
    plain = [copy.deepcopy(v) for v in release_stream().partial()]
    zero = [copy.deepcopy(v) for v in release_stream().partial(debounce_by=0)]
    assert plain == zero and len(plain) > 3


async def test_async_field_debounced() -> None:
    model = ScriptedChatModel(responses=[complete(result={"version": "2.0", "steps": STEPS})], chunk_size=3)
    stream = await zyx.arun("Plan.", Release, model=model, stream=True)
    steps = [copy.deepcopy(s) async for s in stream.afield("steps", debounce_by=3600)]
    assert steps[-1] == STEPS and len(steps) <= 2


def test_a_held_value_falls_due_when_its_window_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("zyx.stream._picks.time.monotonic", lambda: now[0])
    pick = Debounced(Pick(lambda event: event), 1.0, merge=lambda a, b: a + b)
    assert pick("a") == "a"  # the first value at once
    assert pick("b") is SKIP and pick("c") is SKIP  # held, and grouped
    assert pick.wait_limit() == pytest.approx(1.0)
    now[0] += 0.4
    assert pick.due() is SKIP and pick.wait_limit() == pytest.approx(0.6)
    now[0] += 0.7
    assert pick.due() == "bc" and pick.flush() is SKIP
    assert pick("d") is SKIP and pick.flush() == "d"  # the last value is always shown


def test_bad_stream_arguments() -> None:
    stream = release_stream()
    with pytest.raises(ConfigurationError, match="^debounce_by:"):
        stream.partial(debounce_by=-1)
    with pytest.raises(ConfigurationError, match="^delta:"):
        stream.partial(delta="yes")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="^debounce_by:"):
        stream.text(debounce_by="1")  # type: ignore[arg-type]
    stream.close()


def test_a_finished_stream_tells_usage_completion_and_verification() -> None:
    stream = release_stream(verifier=lambda c: len(c.result.steps) == 3)
    assert stream.is_streaming and stream.completion is None and stream.verified is None and stream.usage == {}
    result = stream.finish()
    assert not stream.is_streaming
    assert stream.result is result and stream.completion == result.completion and stream.verified is True
    assert stream.usage == result.usage and stream.usage.get("total_tokens", 0) > 0
