"""Invented arguments: a tool call whose every value appears nowhere in what the model has seen.

A small model asked for something no tool can do calls the nearest tool anyway, with made-up values
(`calculate_area(base=10, height=5)` for "find the closest Italian restaurant"). A call that fits the task
takes its values from the task, the context or an earlier result. So, once per run (coaching), a call none of
whose values can be found there is not run: the model is told so, and either finishes with status "failed" or
makes the call again, which then runs. Values that say nothing about where they came from are not judged: flags,
the schema's own choices and default, 0 and 1, text without a word or a number.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolCall

from zyx import _prompts
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState

NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                "sixteen seventeen eighteen nineteen twenty").split()
SCALES = {1e3: ("k", "thousand"), 1e6: ("m", "million", "mn"), 1e9: ("b", "bn", "billion")}
_TOKEN = re.compile(r"[^\W\d_]{3,}|\d+")
_NOT_JUDGED: tuple[Any, ...] = (0, 1)


def seen_text(state: RunState) -> str:
    """Everything the model was given so far, lower-cased: the messages' text (not the model's own calls), the
    source, and the full outputs of earlier calls (a prompt may show a cut version)."""
    parts: list[str] = [str(state.get("task") or "")]
    for message in state.get("messages", []):
        if isinstance(message, BaseMessage):
            parts.append(message.text if isinstance(message, AIMessage) else _content(message.content))
    for value in (state.get("source"), *(e.get("output") for e in state.get("tool_calls", []))):
        if value is not None:
            parts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    return "\n".join(parts).lower().replace(",", "")


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    return json.dumps(content, ensure_ascii=False, default=str)


def invented(args: Any, properties: Mapping[str, Any] | None, seen: str) -> list[str] | None:
    """The call's judged values, when not one of them is found in `seen` (`seen_text`); None when one is, or when
    none can be judged."""
    judged = [value for value, schema in _leaves(args, {"properties": properties or {}}) if _judged(value, schema)]
    if not judged or any(_found(value, seen) for value in judged):
        return None
    return [json.dumps(v, ensure_ascii=False) for v in judged]


def _leaves(value: Any, schema: Any) -> Iterator[tuple[Any, Any]]:
    """The scalar values inside an argument object, each with the schema that describes it (or None)."""
    schema = schema if isinstance(schema, Mapping) else {}
    if isinstance(value, Mapping):
        properties = schema.get("properties") if isinstance(schema.get("properties"), Mapping) else {}
        for key, item in value.items():
            yield from _leaves(item, properties.get(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item, schema.get("items"))
    else:
        yield value, schema


def _judged(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a value tells where it came from: not a flag, not a choice the schema offers, not its default."""
    if value is None or isinstance(value, bool):
        return False
    if value in (schema.get("enum") or ()) or ("default" in schema and schema["default"] == value):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value) and value not in _NOT_JUDGED
    return isinstance(value, str) and bool(_TOKEN.search(value.lower()))


def _found(value: Any, seen: str) -> bool:
    if isinstance(value, (int, float)):
        return _number_found(float(value), seen)
    text = value.lower().strip()
    if text in seen:
        return True
    return any(_digits_found(t, seen) if t.isdigit() else t in seen for t in _TOKEN.findall(text))


def _digits_found(digits: str, seen: str) -> bool:
    """A run of digits inside a text value ("2026-12-06"): as written, or as the number it reads."""
    return bool(re.search(rf"(?<!\d){digits}(?!\d)", seen)) or _number_found(float(digits), seen)


def _number_found(value: float, seen: str) -> bool:
    """A number as written (42, 42.0, 4.2e1 read as 42), as a word ("five"), as a percentage (0.05 for "5%" and
    back), or in thousands, millions or billions ("3 million")."""
    forms = {_plain(value)}
    if value.is_integer() and 0 <= value < len(NUMBER_WORDS):
        forms.add(NUMBER_WORDS[int(value)])
    forms |= {_plain(value * 100), _plain(value / 100)}
    if any(re.search(rf"(?<![\d.]){re.escape(f)}(?!\d|\.\d)", seen) for f in forms):
        return True
    for scale, words in SCALES.items():
        if abs(value) >= scale:
            alternatives = "|".join(words)
            pattern = rf"(?<![\d.]){re.escape(_plain(value / scale))}\s?(?:{alternatives})\b"
            if re.search(pattern, seen):
                return True
    return False


def _plain(value: float) -> str:
    """A number as people write it: 5, 0.05, 2.5 (no trailing zeros, no exponent for ordinary sizes)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return f"{value:.10f}".rstrip("0").rstrip(".")


def unfounded_calls(calls: Sequence[ToolCall], state: RunState, spec: RunSpec) -> dict[int, str]:
    """Coaching, once per run: the calls of the task's own tools (by position) none of whose values the model has
    seen, each with the note that answers it instead of running it."""
    if not spec.looks_for_invented or state.get("grounding_look"):
        return {}
    own = {t.name: t for t in spec.tools}
    seen: str | None = None
    notes: dict[int, str] = {}
    for i, call in enumerate(calls):
        if (tool := own.get(call["name"])) is None:
            continue
        seen = seen_text(state) if seen is None else seen
        if (values := invented(call["args"], tool.args, seen)) is not None:
            notes[i] = _prompts.INVENTED_VALUES.format(name=call["name"], values=", ".join(values))
    return notes
