"""Streaming partial targets: what a user sees while iterating `partial()` / `apartial()`.

The scripted model streams `complete_task` arguments in 3-character fragments, so every
partial shape (open strings, half lists, nested models, enums) is exercised. Partials are
live objects, so each one is deep-copied the moment it is received.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import zyx
import zyx.stream._results as result_stream
from zyx.events import PartialOutput, TextDelta
from zyx.testing import ScriptedChatModel, complete

STEPS = ["Run tests", "Build the image", "Deploy"]


def streamed(*replies: Any, chunk_size: int = 3) -> ScriptedChatModel:
    return ScriptedChatModel(responses=list(replies), chunk_size=chunk_size)


def collect(target: Any, *replies: Any, chunk_size: int = 3) -> tuple[list[Any], Any]:
    """Every partial as the user saw it (deep copies), and the finished result."""
    model = streamed(*replies, chunk_size=chunk_size)
    stream = zyx.run("Plan the release.", target=target, model=model, stream=True)
    seen = [copy.deepcopy(p) for p in stream.partial()]
    return seen, stream.finish()


def assert_no_repeats(seen: list[Any]) -> None:
    for before, after in zip(seen, seen[1:]):
        assert before != after, f"{before!r} repeated"


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Step(BaseModel):
    title: str
    priority: Priority
    minutes: int | None = None


class Owner(BaseModel):
    name: str
    team: str


class Plan(BaseModel):
    name: str
    level: Literal["minor", "major"]
    owner: Owner
    steps: list[Step]


PLAN = {"name": "Release 2", "level": "major", "owner": {"name": "Ana", "team": "infra"},
        "steps": [{"title": "Run tests", "priority": "high", "minutes": 15},
                  {"title": "Deploy", "priority": "low", "minutes": 120}]}


def test_list_of_str_grows_item_by_item() -> None:
    seen, result = collect(list[str], complete(result=STEPS))
    assert result.output == STEPS
    assert len(seen) >= 6
    assert seen[0] == ["R"]
    assert ["Run tests"] in seen
    assert ["Run tests", "Bui"] in seen  # the second item while it streams
    assert seen[-1] == STEPS
    for before, after in zip(seen, seen[1:]):  # each partial extends the one before
        assert len(after) >= len(before)
        assert after[: len(before) - 1] == before[:-1]
        assert after[len(before) - 1].startswith(before[-1])
    assert_no_repeats(seen)


def test_every_partial_is_a_list_of_str() -> None:
    seen, _ = collect(list[str], complete(result=STEPS))
    assert all(isinstance(p, list) and all(isinstance(s, str) for s in p) for p in seen)


def test_base_model_partials_have_attribute_access_and_none_for_missing() -> None:
    seen, result = collect(Plan, complete(result=PLAN))
    assert result.output == Plan.model_validate(PLAN)
    first = seen[0]
    assert isinstance(first, BaseModel) and not isinstance(first, Plan)
    assert type(first).__name__ == "PlanPartial"
    assert first.name in (None, "", "R", "Re") and first.steps is None and first.owner is None
    names = [p.name for p in seen if p.name]
    assert names[0] != "Release 2" and names[-1] == "Release 2"  # the name streamed in pieces
    last = seen[-1]
    assert (last.name, last.level, last.owner.name, last.owner.team) == ("Release 2", "major", "Ana", "infra")
    assert [s.title for s in last.steps] == ["Run tests", "Deploy"]
    assert_no_repeats(seen)


def test_nested_partial_models_have_attribute_access() -> None:
    seen, _ = collect(Plan, complete(result=PLAN))
    owners = [p.owner for p in seen if p.owner is not None]
    assert owners and owners[0].name is None and owners[0].team is None  # the nested object just opened
    assert any(o.name == "An" or o.name == "A" for o in owners)  # nested strings grow too
    steps = [p.steps for p in seen if p.steps]
    half = next(s for s in steps if s[0].title and s[0].priority is None)
    assert type(half[0]).__name__ == "StepPartial" and half[0].minutes is None
    assert any(len(s) == 2 and s[1].title == "De" for s in steps) or any(len(s) == 2 for s in steps)


def test_enum_literal_and_numbers_are_never_partial() -> None:
    seen, _ = collect(Plan, complete(result=PLAN))
    for p in seen:
        assert p.level in (None, "minor", "major")
        for step in p.steps or []:
            assert step.priority in (None, Priority.LOW, Priority.HIGH, "low", "high")
            assert step.minutes in (None, 15, 120)  # never 1 or 12 (a cut-off number)
    assert any(p.level == "major" for p in seen)
    assert any(p.steps and p.steps[0].priority is not None for p in seen)


def test_invalid_enum_value_never_shows() -> None:
    bad = {**PLAN, "level": "huge"}
    model = streamed(complete(result=bad), complete(result=PLAN))
    stream = zyx.run("Plan.", target=Plan, model=model, stream=True)
    seen = [copy.deepcopy(p) for p in stream.partial()]
    assert all(p.level != "huge" for p in seen)
    assert stream.finish().output.level == "major"


def test_no_equal_consecutive_partials_when_strings_close() -> None:
    """A string closing changes nothing visible for a str item: no repeated partial."""
    seen, _ = collect(list[str], complete(result=["a", "bb", "ccc", "dddd"]))
    assert_no_repeats(seen)
    assert seen[-1] == ["a", "bb", "ccc", "dddd"]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 1000])
def test_no_repeats_and_same_end_for_any_chunking(chunk_size: int) -> None:
    model = streamed(complete(result=PLAN), chunk_size=chunk_size)
    stream = zyx.run("Plan.", target=Plan, model=model, stream=True)
    seen = [copy.deepcopy(p) for p in stream.partial()]
    assert_no_repeats(seen)
    final = stream.finish().output
    assert seen[-1].model_dump() == final.model_dump(mode="python")


def test_str_target_shows_the_text_so_far() -> None:
    seen, result = collect(str, complete(result="Ship it on Friday."))
    assert result.output == "Ship it on Friday."
    assert seen[-1] == "Ship it on Friday."
    assert all(isinstance(s, str) for s in seen) and len(seen) > 3
    assert all(b.startswith(a) for a, b in zip(seen, seen[1:]))
    assert_no_repeats(seen)


def test_int_target_appears_once_complete() -> None:
    seen, result = collect(int, complete(result=123456))
    assert seen == [123456]
    assert result.output == 123456


def test_result_before_other_arguments_finishes_its_partials() -> None:
    """`result` streamed first, then `summary`: the enum closing just before is still shown."""
    call = {"name": "complete_task", "args": {"result": {"name": "x", "level": "minor"}, "status": "success",
                                              "summary": "a long summary " * 5}, "id": None}
    for size in (1, 3, 7, 100):
        model = streamed(call, chunk_size=size)
        stream = zyx.run("Plan.", target=dict[str, str], model=model, stream=True)
        seen = [copy.deepcopy(p) for p in stream.partial()]
        assert seen[-1] == {"name": "x", "level": "minor"}, size
        assert_no_repeats(seen)
        stream.finish()


def test_partials_are_live_objects_updated_in_place() -> None:
    """The documented contract: the value handed out is updated when the next item is asked for."""
    stream = zyx.run("Plan.", target=list[str], model=streamed(complete(result=STEPS)), stream=True)
    held, snapshots = [], []
    for p in stream.partial():
        held.append(p)
        snapshots.append(copy.deepcopy(p))
    stream.finish()
    assert snapshots[0] == ["R"]
    assert held[0] is held[1]  # one live list, grown in place:
    assert held[0] != snapshots[0] and len(held[0]) == len(STEPS)  # it no longer shows what was received
    assert snapshots[-1] == held[-1] == STEPS


def test_text_deltas_are_plain_text_only() -> None:
    model = streamed("Let me think about it.", complete(result=["a"]))
    stream = zyx.run("Plan.", target=list[str], model=model, stream=True)
    assert "".join(stream.text()).startswith("Let me think about it.")
    assert stream.finish().output == ["a"]


def test_text_and_partials_in_one_event_sequence() -> None:
    model = streamed("Thinking.", complete(result=["a", "b"]))
    events = list(zyx.run("Plan.", target=list[str], model=model, stream=True).events())
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Thinking."
    first_partial = next(i for i, e in enumerate(events) if isinstance(e, PartialOutput))
    last_text = max(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert last_text < first_partial


class Slow(ScriptedChatModel):
    """Streams with a pause per chunk and counts the chunks it produced."""

    produced: int = 0
    total: int = 0

    async def _astream(self, messages: Any, stop: Any = None, run_manager: Any = None,
                       **kwargs: Any) -> AsyncIterator[Any]:
        chunks = [c async for c in super()._astream(messages, stop, run_manager, **kwargs)]
        self.total, self.produced = len(chunks), 0
        for chunk in chunks:
            self.produced += 1
            yield chunk
            await asyncio.sleep(0.002)


async def test_partials_arrive_while_the_model_still_streams() -> None:
    """LangGraph delivers the chunks incrementally: the first partial comes before the model's last chunk."""
    model = Slow(responses=[complete(result=STEPS)], chunk_size=3)
    stream = await zyx.arun("Plan.", target=list[str], model=model, stream=True)
    produced_at_partial = []
    times = []
    async for _ in stream.apartial():
        produced_at_partial.append(model.produced)
        times.append(time.perf_counter())
    await stream.afinish()
    assert produced_at_partial[0] < model.total - 10
    assert produced_at_partial == sorted(produced_at_partial)
    assert len(set(produced_at_partial)) > 4  # spread over the stream, not delivered at the end
    assert times[-1] - times[0] > 0.02


async def test_a_model_that_does_not_stream_gives_one_partial() -> None:
    """Without chunk streaming LangGraph sends the whole message: one partial, the full result."""
    model = ScriptedChatModel(responses=[complete(result=STEPS)], disable_streaming=True)
    stream = await zyx.arun("Plan.", target=list[str], model=model, stream=True)
    seen = [copy.deepcopy(p) async for p in stream.apartial()]
    assert seen == [STEPS]
    assert (await stream.afinish()).output == STEPS


def test_partials_cost_no_deep_comparison_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deciding whether a partial changed compares in full only when the value is a new object."""
    calls, depth = [], [0]
    real = result_stream._same

    def counting(a: Any, b: Any) -> bool:  # counts top-level comparisons, not their recursion
        calls.append(depth[0] == 0)
        depth[0] += 1
        try:
            return real(a, b)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(result_stream, "_same", counting)
    items = [f"item {i}" for i in range(300)]
    seen, result = collect(list[str], complete(result=items), chunk_size=2)
    assert result.output == items and len(seen) > 1000
    assert sum(calls) <= 2  # the first partial and the validated value at the end


def test_changes_follows_in_place_growth() -> None:
    changes = result_stream.Changes()
    value: list[Any] = []
    assert changes.changed(value)
    assert not changes.changed(value)
    value.append("a")
    assert changes.changed(value)
    value[-1] = "ab"
    assert changes.changed(value)
    assert not changes.changed(value)
    assert not changes.changed(["ab"])  # a new, equal object
    assert changes.changed(["ab", "c"])
    assert changes.changed("x") and not changes.changed("x") and changes.changed("xy")
    assert changes.changed(None) and changes.changed(0) and not changes.changed(0)
