"""`ResultPartials`: the partial `result` of a streamed `complete_task` call, chunk by chunk.

Most chunks only add text to the string being streamed; those update that one slot of the live
partial instead of converting again. These tests hold the partials it hands out to exactly what
a fresh conversion of the same prefix gives, for many targets and every way of cutting the stream.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Annotated, Any, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessageChunk
from pydantic import AfterValidator, BaseModel
from typing_extensions import TypedDict

from zyx._target import make_target
from zyx.stream._json import PartialJSONParser
from zyx.stream._partial import PartialTarget
from zyx.stream._results import NOTHING, ResultPartials, _same


class Note(BaseModel):
    title: str
    body: str
    tags: list[str] = []
    author: Optional[str] = None


class Book(BaseModel):
    name: str
    chapters: list[Note]


class Entry(TypedDict):
    key: str
    text: str


@dataclasses.dataclass
class Line:
    speaker: str
    words: str


Shouted = Annotated[str, AfterValidator(str.upper)]

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
CASES: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (list[str], st.lists(TEXT, max_size=5)),
    (str, TEXT),
    (Note, st.builds(lambda t, b, g, a: {"title": t, "body": b, "tags": g, "author": a},
                     TEXT, TEXT, st.lists(TEXT, max_size=3), st.none() | TEXT)),
    (Book, st.builds(lambda n, c: {"name": n, "chapters": c}, TEXT, st.lists(
        st.builds(lambda t, b: {"title": t, "body": b}, TEXT, TEXT), max_size=3))),
    (dict[str, str], st.dictionaries(TEXT, TEXT, max_size=4)),
    (list[Entry], st.lists(st.builds(lambda k, t: {"key": k, "text": t}, TEXT, TEXT), max_size=3)),
    (list[Line], st.lists(st.builds(lambda s, w: {"speaker": s, "words": w}, TEXT, TEXT), max_size=3)),
    (list[Shouted], st.lists(TEXT, max_size=4)),  # validated strings: always converted again
    (list[Optional[str]], st.lists(st.none() | TEXT, max_size=4)),
]


def chunk(args: str) -> AIMessageChunk:
    return AIMessageChunk(content="", id="m1", tool_call_chunks=[
        {"name": None, "args": args, "id": None, "index": 0, "type": "tool_call_chunk"}])


def expected_partials(target: Any, document: str, cuts: list[int]) -> list[Any]:
    """A fresh conversion of each prefix (no state kept between chunks): what the user must see."""
    seen: list[Any] = []
    for end in cuts:
        parser = PartialJSONParser()
        parser.feed(document[:end])
        doc = parser.value
        raw = doc.get("result") if isinstance(doc, dict) else None
        value = PartialTarget(target).convert(raw, parser) if raw is not None else None
        if value is not None and (not seen or not _same(value, seen[-1])):  # the stream's notion of "unchanged"
            seen.append(copy.deepcopy(value))
    return seen


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_partials_equal_a_fresh_conversion_of_each_prefix(data: st.DataObject) -> None:
    target, values = data.draw(st.sampled_from(CASES))
    result = data.draw(values)
    document = json.dumps({"summary": "s", "result": result, "evidence": "e"})
    sizes = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=len(document)))
    cuts, end = [], 0
    while end < len(document):
        end = min(len(document), end + sizes[len(cuts) % len(sizes)])
        cuts.append(end)

    partials = ResultPartials(make_target(target), "complete_task")  # type: ignore[arg-type]
    first = AIMessageChunk(content="", id="m1", tool_call_chunks=[
        {"name": "complete_task", "args": "", "id": "c1", "index": 0, "type": "tool_call_chunk"}])
    assert partials.feed(first) is NOTHING
    got, start = [], 0
    for end in cuts:
        value = partials.feed(chunk(document[start:end]))
        start = end
        if value is not NOTHING:
            got.append(copy.deepcopy(value))
    assert got == expected_partials(target, document, cuts)
