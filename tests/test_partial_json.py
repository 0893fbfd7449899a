"""Tests for the incremental partial JSON parser."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zyx.stream._json import PartialJSONError, PartialJSONParser

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)


@st.composite
def json_docs(draw: st.DrawFn) -> str:
    value = draw(json_values)
    indent = draw(st.sampled_from([None, 0, 2]))
    ascii_only = draw(st.booleans())
    return json.dumps(value, indent=indent, ensure_ascii=ascii_only)


def assert_prefix_consistent(partial: Any, final: Any) -> None:
    """`partial` shows a prefix of `final`: only its last item at each level may differ,
    an open string is a prefix, and every scalar is complete."""
    if isinstance(partial, dict):
        assert isinstance(final, dict)
        keys = list(partial)
        assert keys == list(final)[: len(keys)]
        for k in keys[:-1]:
            assert partial[k] == final[k]
        if keys:
            assert_prefix_consistent(partial[keys[-1]], final[keys[-1]])
    elif isinstance(partial, list):
        assert isinstance(final, list) and len(partial) <= len(final)
        if partial:
            assert partial[:-1] == final[: len(partial) - 1]
            assert_prefix_consistent(partial[-1], final[len(partial) - 1])
    elif isinstance(partial, str):
        assert isinstance(final, str) and final.startswith(partial)
    else:  # numbers and literals appear only complete
        assert type(partial) is type(final) and partial == final


def feed_all(parts: list[str]) -> PartialJSONParser:
    parser = PartialJSONParser()
    for part in parts:
        parser.feed(part)
    parser.close()
    return parser


def check_stream(doc: str, parts: list[str]) -> None:
    final = json.loads(doc)
    parser = PartialJSONParser()
    prev_version, prev = parser.value_version, copy.deepcopy(parser.value)
    for part in parts:
        parser.feed(part)
        current = copy.deepcopy(parser.value)
        if current is not None or parser.done:
            assert_prefix_consistent(current, final)
        if parser.value_version == prev_version:
            assert current == prev
        prev_version, prev = parser.value_version, current
    assert parser.close() == final
    assert parser.done


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_docs(), st.data())
def test_random_documents_random_splits(doc: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(doc)), max_size=12)))
    parts = [doc[a:b] for a, b in zip([0, *cuts], [*cuts, len(doc)])]
    check_stream(doc, parts)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(json_docs())
def test_random_documents_char_by_char(doc: str) -> None:
    check_stream(doc, list(doc))


@pytest.mark.parametrize(
    "text",
    [
        'a\u00e9\U0001f600\n"\\/b\t\x01',
        "\ud800",  # lone high surrogate
        "\ud800x",
        "\ud800\u0041",
        "\udc00\ud800",
        "\\ud800",  # escaped backslash, then plain text that looks like an escape
        "\\\ud83d\ude00",
        "",
    ],
)
def test_escapes_split_across_chunks(text: str) -> None:
    doc = json.dumps({"k": [text, text]}, ensure_ascii=True)
    check_stream(doc, list(doc))
    for size in (2, 3, 5, 7):
        check_stream(doc, [doc[i : i + size] for i in range(0, len(doc), size)])


def test_open_string_never_shows_half_escape() -> None:
    parser = PartialJSONParser()
    seen = []
    for ch in '["ab\\u00e9\\n\\ud83d\\ude00c"]':
        parser.feed(ch)
        if parser.value:
            seen.append(parser.value[0])
    assert seen == ["", "a", "ab", "ab", "ab", "ab", "ab", "ab", "abé", "abé", "abé\n"] + ["abé\n"] * 11 + [
        "abé\n😀",
        "abé\n😀c",
        "abé\n😀c",
        "abé\n😀c",
    ]


def test_numbers_and_literals_appear_only_when_complete() -> None:
    parser = PartialJSONParser()
    values = []
    for ch in '{"n": -12.5e3, "t": true, "z": null, "m": 0}':
        parser.feed(ch)
        values.append(copy.deepcopy(parser.value))
    assert {"n": -12500.0} in values
    assert not any(v and v.get("n") not in (None, -12500.0) for v in values)
    assert not any(v and "t" in v and v["t"] is not True for v in values)
    assert values[-1] == {"n": -12500.0, "t": True, "z": None, "m": 0}


def test_keys_appear_when_their_value_starts() -> None:
    parser = PartialJSONParser()
    parser.feed('{"summary": "Do it", "resu')
    assert parser.value == {"summary": "Do it"}
    parser.feed('lt": ')
    assert parser.value == {"summary": "Do it"}
    parser.feed("[")
    assert parser.value == {"summary": "Do it", "result": []}
    parser.feed('"Run tests", "Build the ima')
    assert parser.value == {"summary": "Do it", "result": ["Run tests", "Build the ima"]}
    assert parser.string_open and not parser.done
    assert parser.open_containers == [parser.value, parser.value["result"]]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("123", 123),
        ("-0.5", -0.5),
        ("1e3", 1000.0),
        ("true", True),
        ("null", None),
        ('"x"', "x"),
        ("[]", []),
        ("{}", {}),
        (" [[], {}] ", [[], {}]),
    ],
)
def test_top_level_values(doc: str, expected: Any) -> None:
    assert feed_all([doc]).value == expected
    assert feed_all(list(doc)).value == expected


def test_top_level_number_needs_terminator() -> None:
    parser = PartialJSONParser()
    parser.feed("12")
    assert parser.value is None and not parser.done
    parser.feed("3")
    assert parser.close() == 123 and parser.done


def test_value_is_live_and_version_tracks_changes() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": [1, ')
    value, version = parser.value, parser.value_version
    parser.feed("   ")
    assert parser.value_version == version
    parser.feed("2,")
    assert parser.value is value and value == {"a": [1, 2]} and parser.value_version > version


def test_duplicate_keys_match_json_loads() -> None:
    doc = '{"a": 1, "b": 2, "a": {"c": 3}}'
    parser = feed_all(list(doc))
    assert parser.value == json.loads(doc)
    assert list(parser.value)[-1] == "a" and parser.duplicate_keys == 1


@pytest.mark.parametrize(
    ("doc", "offset"),
    [
        ('{"a" 1}', 5),
        ("[1,]", 3),
        ("[1 2]", 3),
        ("01", 0),
        ("[01]", 1),
        ('"\\x"', 1),
        ('["\\u12g4"]', 2),
        ("tru e", 0),
        ("{]", 1),
        ("[}", 1),
        ("1 2", 2),
        ('"a\x01"', 2),
        ("-", 0),
        ("1.", 0),
        (".5", 0),
        ("+1", 0),
        ('{"a":1,}', 7),
        ("nul", 0),
        ('{"a"}', 4),
        ("{1:2}", 1),
        ("[", 1),
        ('"abc', 4),
        ('""x', 2),
    ],
)
def test_invalid_json_raises_with_offset(doc: str, offset: int) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(doc)
    for parts in ([doc], list(doc)):
        with pytest.raises(PartialJSONError) as info:
            feed_all(parts)
        assert info.value.offset == offset
        assert isinstance(info.value, ValueError)


def test_error_offset_is_absolute_across_chunks() -> None:
    parser = PartialJSONParser()
    parser.feed("[1, 2,")
    with pytest.raises(PartialJSONError) as info:
        parser.feed(" x]")
    assert info.value.offset == 7
