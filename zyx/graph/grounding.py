"""Invented arguments: tool calls whose values appear nowhere in what the model has seen.

A small model asked for something no tool can do calls the nearest tool anyway, with made-up values
(`calculate_area(base=10, height=5)` for "find the closest Italian restaurant"). A call that fits the task
takes its values from the task, the context, the instructions or an earlier result, or works a number out from
them. So, once per run (the `check_invented` option), a turn whose every call has none of its values there, and a
number among them, is not run: the model is told so, and its next turn offers only `complete_task`. A name or code
alone is not judged (the model may know the capital of Japan), nor are flags, the schema's own choices and
default, 0 and 1, or text without a word or a number.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage

from zyx import _prompts
from zyx.graph.seen import TOKEN, Seen
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState, last_ai_message

_NOT_JUDGED: tuple[Any, ...] = (0, 1)
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+[^,]{0,100};base64,")


def seen_in(state: RunState, instructions: str) -> Seen:
    """Everything the model was given so far, lower-cased: the instructions, the messages' text (not the model's
    own calls, nor the text of the turn being judged), the source, and the full outputs of earlier calls (a prompt
    may show a cut version)."""
    parts: list[str] = [instructions, str(state.get("task") or "")]
    logged = state.get("tool_calls", [])
    texts = {(e.get("id"), e["output"]) for e in logged if isinstance(e.get("output"), str)}
    judged = last_ai_message(state.get("messages", []))
    for message in state.get("messages", []):
        if not isinstance(message, BaseMessage) or _is_note(message) or message is judged:
            continue  # the turn being judged: its text may spell out the very guess
        if isinstance(message, ToolMessage) and isinstance(message.content, str) \
                and (message.tool_call_id, message.content) in texts:
            continue  # this run's output, read from the call log below: once
        parts.extend([message.text] if isinstance(message, AIMessage) else _texts(message.content))
    for value in (state.get("source"), *(e.get("output") for e in logged)):
        parts.extend(_texts(value))
    return Seen.of("\n".join(parts))


_NOTE_START = _prompts.INVENTED_VALUES.split("{", 1)[0]


def _is_note(message: BaseMessage) -> bool:
    """Whether a message is this look's own answer to a refused call (of an earlier run on the thread): the values
    it names are the model's guesses, not something it was given."""
    return isinstance(message, ToolMessage) and message.status == "error" and message.text.startswith(_NOTE_START)


def _texts(value: Any) -> Iterator[str]:
    """The strings and numbers inside a message's content or a JSON value, keys included, as the model reads them
    (not JSON-escaped: "\\n42" would hide the 42); not the data of an image or file."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not _DATA_URI.match(item):
                yield item
        elif isinstance(item, Mapping):
            for key, child in reversed(list(item.items())):
                if not _encoded(item, key, child):
                    stack.extend((child, key))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            yield str(item)


def _encoded(block: Mapping[Any, Any], key: Any, value: Any) -> bool:
    """Whether a content block's entry holds a file's or image's encoded bytes: LangChain's `base64`, or `data`
    beside the block's format (LangChain's older blocks, OpenAI's audio)."""
    return key == "base64" or (key == "data" and isinstance(value, str) and not {"mime_type", "source_type",
                                                                                  "format"}.isdisjoint(block))


def invented(args: Any, properties: Mapping[str, Any] | None, seen: Seen) -> list[str] | None:
    """The call's judged values, when not one of them is found in what was seen and one is a number; None when one
    is found, none is a number, or none can be judged. A name or a code may come from what the model knows (the
    capital of Japan, the code of the pound); a quantity the task and results do not give is a guess."""
    judged = judged_values(args, properties)
    if not judged or any(_found(value, seen) for value in judged):
        return None
    return [_quoted(v) for v in judged]


def _quoted(value: Any) -> str:
    """A value as the note names it: JSON, a long text cut (the note is not the place to read it back)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= QUOTED else text[:QUOTED - 4] + '..."'


QUOTED = 60
"""The most characters of a value the note quotes."""


def judged_values(args: Any, properties: Mapping[str, Any] | None) -> list[Any]:
    """The values of a call that say where they came from, when one of them is a number; else none."""
    judged = [value for value, schema in _leaves(args, {"properties": properties or {}}) if _judged(value, schema)]
    return judged if any(isinstance(v, (int, float)) for v in judged) else []


def _leaves(value: Any, schema: Any) -> Iterator[tuple[Any, Mapping[str, Any]]]:
    """The scalar values inside an argument object, each with the schema that describes it (or {}); without
    recursion, so arguments nested however deep cannot overflow the stack."""
    stack = [(value, schema)]
    while stack:
        item, described = stack.pop()
        described = described if isinstance(described, Mapping) else {}
        if isinstance(item, Mapping):
            properties = described.get("properties")
            properties = properties if isinstance(properties, Mapping) else {}
            stack.extend((child, properties.get(key)) for key, child in reversed(list(item.items())))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, described.get("items")) for child in reversed(item))
        else:
            yield item, described


def _judged(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a value tells where it came from: not a flag, not a choice the schema offers, not its default."""
    if value is None or isinstance(value, bool):
        return False
    if value in _choices(schema) or ("default" in schema and schema["default"] == value):
        return False
    if isinstance(value, (int, float)):
        return _finite(value) and value not in _NOT_JUDGED
    return isinstance(value, str) and bool(TOKEN.search(value.lower()))


def _choices(schema: Mapping[str, Any]) -> list[Any]:
    """The values a schema offers: its `enum` or `const`, and those of its `anyOf` / `oneOf` branches (an optional
    parameter's choices: `Literal[10, 20] | None`)."""
    choices: list[Any] = []
    for option in (schema, *(b for key in ("anyOf", "oneOf") if isinstance(schema.get(key), list)
                             for b in schema[key] if isinstance(b, Mapping))):
        enum = option.get("enum")
        choices += enum if isinstance(enum, list) else []
        choices += [option["const"]] if "const" in option else []
    return choices


def _finite(value: float) -> bool:
    """Whether a number is one anyone writes down: not inf or NaN, nor an integer beyond any float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _found(value: Any, seen: Seen) -> bool:
    if isinstance(value, (int, float)):
        return seen.has_number(float(value))
    text = value.lower().strip()
    if text in seen.text:
        return True
    tokens = list(dict.fromkeys(TOKEN.findall(text)))
    if any(seen.has_number(float(t)) if t.isdigit() else t in seen.words for t in tokens):
        return True  # a word or number as written
    return any(t in seen.text for t in tokens[:SEARCHEDTOKENS] if not t.isdigit())  # or inside a longer word


SEARCHEDTOKENS = 20
"""How many words of a text value are also looked for inside longer words of what was seen ("york" in "newyork"):
each such search reads all of it, so a long text is judged by its whole words beyond these."""


def unfounded_calls(calls: Sequence[ToolCall], state: RunState, spec: RunSpec) -> dict[int, str]:
    """Coaching, once per run: when every call of the turn is one of the task's own tools with made-up values
    (`invented`), the note answering each (by position) instead of running it; else nothing."""
    instructions = spec.instructions or ""
    if not calls or not spec.looks_for_invented or state.get("grounding_look") or not isinstance(instructions, str):
        return {}  # instructions made per call (functions of the run's context) may hold any value: no look
    own = {t.name: t for t in spec.tools}
    judged = [judged_values(c["args"], own[c["name"]].args) if c["name"] in own else [] for c in calls]
    if not all(judged):
        return {}  # a call with no number to judge, or not the task's tool: the turn runs (and nothing is read)
    seen = seen_in(state, instructions)
    if any(_found(value, seen) for values in judged for value in values):
        return {}  # a call that fits: the turn runs as usual
    return {i: _prompts.INVENTED_VALUES.format(name=call["name"], values=", ".join(map(_quoted, values)))
            for i, (call, values) in enumerate(zip(calls, judged))}
