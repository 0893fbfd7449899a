"""Stream iterators with deltas and debouncing, and what a finished stream tells (usage, completion, verified)."""

from __future__ import annotations

import copy
import enum
from typing import Any

import pytest
from pydantic import BaseModel

import zyx
from zyx import ConfigurationError
from zyx.stream import Replace, apply_delta
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


def test_deltas_add_up_to_the_final_value() -> None:
    stream = release_stream()
    deltas = list(stream.partial(delta=True))
    assert len(deltas) > 3
    rebuilt: Any = None
    for delta in deltas:
        rebuilt = apply_delta(rebuilt, delta)
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


def rebuilt(deltas: list[Any]) -> Any:
    value: Any = None
    for delta in deltas:
        value = apply_delta(value, delta)
    return value


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Paint(BaseModel):
    color: Color
    coats: list[list[str]]


@pytest.mark.parametrize("debounce", [None, 0.0005, 3600])
def test_deltas_of_nested_values_and_enums_rebuild_the_result(debounce: float | None) -> None:
    final = {"color": "green", "coats": [["ab", "cd"], [], ["efgh"]]}
    model = ScriptedChatModel(responses=[complete(result=final)], chunk_size=2)
    stream = zyx.run("Paint.", Paint, model=model, stream=True)
    value = rebuilt(list(stream.partial(delta=True, debounce_by=debounce)))
    assert value["color"] is Color.GREEN and value["coats"] == [["ab", "cd"], [], ["efgh"]]


def test_a_restart_after_a_rejected_completion_is_a_replace() -> None:
    replies = iter([complete(result=["nope", "wrong", "third"]), complete(result=["yes"])])
    model = ScriptedChatModel(policy=lambda m, t: next(replies), chunk_size=3)
    stream = zyx.run("Answer.", list[str], model=model, stream=True,
                     verifier=lambda c: c.result == ["yes"] or "not yet")
    deltas = list(stream.partial(delta=True))
    assert any(isinstance(d, Replace) for d in deltas)
    assert rebuilt(deltas) == ["yes"]
    merged = zyx.run("Answer.", list[str], stream=True, verifier=lambda c: c.result == ["yes"] or "not yet",
                     model=ScriptedChatModel(policy=lambda m, t: complete(
                         result=["yes"] if any(getattr(x, "status", "") == "error" for x in m) else ["no", "x"]),
                         chunk_size=3))
    assert rebuilt(list(merged.partial(delta=True, debounce_by=3600))) == ["yes"]
