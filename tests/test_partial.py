"""Tests for partial targets: typed partial values of a streamed JSON document."""

from __future__ import annotations

import copy
import dataclasses
import enum
import json
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from pydantic import AfterValidator, BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict

from zyx.stream._json import PartialJSONParser
from zyx.stream._partial import PartialTarget


class Step(BaseModel):
    name: str
    status: Literal["todo", "done"]
    priority: int = 0


class Plan(BaseModel):
    title: str
    steps: list[Step]
    owner: Optional[str] = None


class Inner(BaseModel):
    count: int
    label: str


class Outer(BaseModel):
    inner: Inner
    tags: list[str] = []


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Movie(TypedDict):
    title: str
    year: int


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str = ""


class Aliased(BaseModel):
    full_name: str = Field(alias="fullName")


def stream(target: Any, doc: str, key: str | None = "result", size: int = 1) -> list[Any]:
    """Feed `doc` in `size`-character chunks; return a snapshot of the partial after each."""
    parser, conv, out = PartialJSONParser(), PartialTarget(target), []
    for i in range(0, len(doc), size):
        parser.feed(doc[i : i + size])
        value = parser.value
        if key is not None:
            value = value.get(key) if isinstance(value, dict) else None
        out.append(copy.deepcopy(conv.convert(value, parser)))
    return out


def wrap(result: Any) -> str:
    return json.dumps({"summary": "Two steps", "result": result})


def test_list_of_str_grows() -> None:
    partials = stream(list[str], wrap(["Run tests", "Build the image"]))
    seen = [p for p in partials if p is not None]
    assert seen[0] == []
    assert ["Run tests", "Build the ima"] in seen
    for p in seen:
        assert len(p) <= 2 and all(isinstance(s, str) for s in p)
        assert p[:-1] == ["Run tests", "Build the image"][: max(len(p) - 1, 0)]
    assert seen[-1] == ["Run tests", "Build the image"]


def test_model_missing_fields_are_none() -> None:
    parser, conv = PartialTarget(Plan), PartialJSONParser()
    conv.feed('{"title": "Ship it", "steps": [{"name": "Bu')
    partial = parser.convert(conv.value, conv)
    assert type(partial).__name__ == "PlanPartial" and type(partial) is parser.partial_type
    assert partial.title == "Ship it" and partial.owner is None
    assert partial.steps[0].name == "Bu" and partial.steps[0].status is None
    assert type(partial.steps[0]).__name__ == "StepPartial"


def test_nested_model() -> None:
    doc = json.dumps({"inner": {"count": 12345, "label": "abc"}, "tags": ["x"]})
    partials = stream(Outer, doc, key=None)
    assert all(p is None or p.inner is None or p.inner.count in (None, 12345) for p in partials)
    assert any(p is not None and p.inner is not None and p.inner.label == "ab" for p in partials)
    assert partials[-1] == Outer(inner=Inner(count=12345, label="abc"), tags=["x"])


def test_list_of_models_attribute_access_and_caching() -> None:
    steps = [{"name": f"step {i}", "status": "done" if i % 2 else "todo", "priority": i} for i in range(30)]
    doc = wrap(steps)
    parser, conv = PartialJSONParser(), PartialTarget(list[Step])
    first = None
    for i in range(0, len(doc), 7):
        parser.feed(doc[i : i + 7])
        partial = conv.convert(parser.value.get("result") if isinstance(parser.value, dict) else None, parser)
        if partial and len(partial) > 1 and type(partial[0]) is not Step:  # Step: result closed, validated
            first = first or partial[0]
            assert partial[0] is first  # a finished item is converted once, then reused
            assert partial[0].name == "step 0"
    assert [s.model_dump() for s in partial] == steps  # type: ignore[union-attr]
    assert all(type(s) is Step for s in partial)  # type: ignore[union-attr]


def test_literal_never_partial() -> None:
    doc = wrap({"title": "t", "steps": [{"name": "a", "status": "done"}, {"name": "b", "status": "todo"}]})
    for p in stream(Plan, doc):
        for step in (p.steps or []) if p else []:
            assert step.status in (None, "todo", "done")
    for p in stream(list[Literal["alpha", "alphabet"]], wrap(["alphabet", "alpha"])):
        assert p is None or p in ([], ["alphabet"], ["alphabet", "alpha"])


def test_enum_appears_only_when_complete() -> None:
    for p in stream(list[Color], wrap(["green", "red"])):
        assert p is None or p in ([], [Color.GREEN], [Color.GREEN, Color.RED])


def test_int_never_cut() -> None:
    assert {repr(p) for p in stream(int, wrap(12345))} == {"None", "12345"}
    for p in stream(Inner, wrap({"count": 987654, "label": "x"})):
        assert p is None or p.count in (None, 987654)


def test_str_target() -> None:
    partials = stream(str, wrap("Hello world"))
    assert [p for p in partials if p is not None][:3] == ["", "H", "He"]
    assert partials[-1] == "Hello world"
    assert stream(str, '"abc"', key=None)[-2:] == ["abc", "abc"]


TARGETS: list[tuple[Any, Any]] = [
    (list[str], ["a", "b\u00e9\n"]),
    (Plan, {"title": "t", "steps": [{"name": "n", "status": "done", "priority": 2}], "owner": "me"}),
    (Outer, {"inner": {"count": 1, "label": "l"}, "tags": []}),
    (Tree, {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}),
    (list[Union[Cat, Dog]], [{"kind": "dog", "good": True}, {"kind": "cat", "lives": 9}]),
    (Annotated[Union[Cat, Dog], Field(discriminator="kind")], {"kind": "cat", "lives": 7}),
    (dict[str, int], {"a": 1, "b": 2}),
    (Movie, {"title": "Alien", "year": 1979}),
    (Point, {"x": 1, "y": 2, "label": "p"}),
    (Optional[int], None),
    (Union[int, str], "x"),
    (Literal["a", "b"], "b"),
    (Color, "red"),
    (float, 3),
    (Aliased, {"fullName": "Ada"}),
    (tuple[int, ...], [1, 2]),
    (Any, {"x": [1, "y"]}),
]


@pytest.mark.parametrize(("target", "value"), TARGETS, ids=[str(i) for i in range(len(TARGETS))])
def test_final_equals_type_adapter_validation(target: Any, value: Any) -> None:
    expected = TypeAdapter(target).validate_python(value)
    for size in (1, 4, 1000):
        assert stream(target, wrap(value), size=size)[-1] == expected
    assert PartialTarget(target).convert(value) == expected


def test_union_members_follow_the_discriminator() -> None:
    partials = stream(list[Union[Cat, Dog]], wrap([{"kind": "dog", "good": True}, {"kind": "cat", "lives": 9}]))
    assert any(p and len(p) == 2 and type(p[1]).__name__ == "CatPartial" for p in partials)
    assert all(type(p[0]).__name__ in ("DogPartial", "Dog") for p in partials if p and p[0].kind)


def test_typeddict_dataclass_and_dict_partials() -> None:
    movie = stream(Movie, wrap({"title": "Alien", "year": 1979}))
    assert {"title": "Ali"} in movie and {"title": "Alien"} in movie
    point = stream(Point, wrap({"x": 1, "y": 22}))
    assert any(p is not None and p.x == 1 and p.y is None for p in point)
    counts = stream(dict[str, int], wrap({"a": 1, "bb": 22}))
    assert {"a": 1} in counts and counts[-1] == {"a": 1, "bb": 22}


def test_invalid_fields_are_dropped_not_raised() -> None:
    partials = stream(Inner, wrap({"count": "many", "label": "x"}))
    assert partials[-1] is not None and partials[-1].count is None and partials[-1].label == "x"
    assert stream(list[int], wrap([1, "two", 3]))[-1] == [1, 3]


def test_nothing_usable_is_none() -> None:
    conv = PartialTarget(Plan)
    assert conv.convert(None) is None
    assert stream(int, wrap(5))[0] is None
    assert stream(Literal["yes"], wrap("yes"))[-3] is None  # still open


def test_aliases_and_optional_fields() -> None:
    partials = stream(Aliased, wrap({"fullName": "Ada Lovelace"}))
    assert any(p is not None and p.full_name == "Ada" for p in partials)
    assert stream(Optional[Plan], wrap(None))[-1] is None
    assert stream(Optional[Plan], wrap({"title": "x"}))[-2].title == "x"


def test_finished_items_are_validated_once() -> None:
    calls = []

    def count(v: str) -> str:
        calls.append(v)
        return v

    items = [f"item number {i}" for i in range(200)]
    doc = wrap(items)
    partials = stream(list[Annotated[str, AfterValidator(count)]], doc, size=5)
    assert partials[-1] == items
    n_chunks = len(partials)
    # Once per finished item, once per chunk for the open item, once more for the final validation.
    assert len(calls) <= 2 * len(items) + n_chunks
