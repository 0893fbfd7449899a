"""Streamed tool-call chunks -> partial targets: the `result` of `complete_task` (or `final_result`) as it grows.

Each argument chunk is fed once to an incremental JSON parser (`PartialJSONParser`), and the
partial `result` is converted to the target's partial shape by `PartialTarget`, which keeps
live outputs and converts only what changed. Both work in time proportional to the chunk, so
the whole stream costs time linear in its length; `Changes` keeps it that way when deciding
whether a partial differs from the one last handed out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage
from pydantic import BaseModel

from zyx._target import Target
from zyx.events import PartialOutput, RunEvent, TextDelta
from zyx.stream._json import PartialJSONError, PartialJSONParser
from zyx.stream._partial import PartialTarget

NOTHING: Any = object()
"""Returned by `feed` when the chunk did not change the partial result."""
_NONE: tuple[RunEvent, ...] = ()


def chunk_events(message: AIMessage, partials: ResultPartials | None) -> Sequence[RunEvent]:
    """The events one model chunk (or unstreamed reply) shows: its text, then the partial result if it changed."""
    content = message.content
    text = content if type(content) is str else message.text
    value = partials.feed(message) if partials is not None else NOTHING
    if value is NOTHING:
        return (TextDelta(text),) if text else _NONE
    return (TextDelta(text), PartialOutput(value)) if text else (PartialOutput(value),)


def _mark(value: Any) -> Any:
    """A cheap fingerprint of a live partial value, for telling whether it changed in place.

    Partial values only change at their growing end (finished items are converted once and
    never touched again), so the fingerprint follows the last item of lists and dicts and every
    field of records: its cost depends on the target's schema, not on the size of the value.
    A loop, not recursion, down the growing end: a deeply nested value cannot exhaust the stack.
    """
    marks: list[Any] = []
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        t = type(item)
        if t is str:
            marks.append((len(item),))  # a tuple: never equal to a scalar's fingerprint
        elif t is list:
            marks.append(("list", len(item)))
            if item:
                pending.append(item[-1])
        elif t is dict:
            marks.append(("dict", len(item)))
            if item:
                key = next(reversed(item))
                marks.append(key)
                pending.append(item[key])
        elif item is None or t is int or t is float or t is bool:
            marks.append(item)
        elif isinstance(item, BaseModel) or hasattr(item, "__dataclass_fields__"):
            fields = list(item.__dict__.values())
            marks.append(("record", len(fields)))
            pending.extend(reversed(fields))
        else:
            marks.append(item)  # any other finished value: replaced, never changed in place
    return tuple(marks)


def _same(a: Any, b: Any) -> bool:
    """Whether two partial values show the same thing (a partial model and the validated
    target model with the same fields do); a full comparison, used only when the value is a
    new object rather than the live one updated in place. A loop over pairs, not recursion."""
    pairs: list[tuple[Any, Any]] = [(a, b)]
    while pairs:
        a, b = pairs.pop()
        if a is b:
            continue
        if (isinstance(a, BaseModel) and isinstance(b, BaseModel)) or (
                hasattr(a, "__dataclass_fields__") and hasattr(b, "__dataclass_fields__")):
            da, db = a.__dict__, b.__dict__
            if da.keys() != db.keys():
                return False
            pairs.extend((v, db[k]) for k, v in da.items())
            continue
        ta, tb = type(a), type(b)
        if ta in (list, tuple) and tb in (list, tuple):
            if len(a) != len(b):
                return False
            pairs.extend(zip(a, b))
        elif ta is dict and tb is dict:
            if a.keys() != b.keys():
                return False
            pairs.extend((v, b[k]) for k, v in a.items())
        else:
            try:
                if not (ta is tb and a == b):
                    return False
            except Exception:  # an odd __eq__ (or one too deep to compare): count it as a change
                return False
    return True


class Changes:
    """Tells whether a partial value differs from the one seen last, without a deep comparison
    per chunk: the live object updated in place is compared by fingerprint (`_mark`); a new
    object (the first value, the validated one at the end, a str) is compared in full once."""

    __slots__ = ("_value", "_mark")

    def __init__(self) -> None:
        self._value: Any = NOTHING
        self._mark: Any = None

    def changed(self, value: Any) -> bool:
        mark = _mark(value)
        if value is self._value:
            if mark == self._mark:
                return False
        elif self._value is not NOTHING and _same(value, self._value):
            self._value, self._mark = value, mark  # follow the new object from now on
            return False
        self._value, self._mark = value, mark
        return True


class ResultPartials:
    """Follows one tool's streamed arguments per model turn and yields its partial `result`.

    `field` is the argument holding the target (`"result"`), or None when the whole arguments
    object is the target (make()'s object targets). A new message id starts a new attempt;
    partials equal to the one returned last are not returned again.
    """

    def __init__(self, target: Target, tool_name: str, field: str | None = "result") -> None:
        self.target = target
        self.tool_name = tool_name
        self.field = field
        self._message_id: Any = NOTHING
        self._changes = Changes()
        self._reset()

    def _reset(self) -> None:
        self._parser: PartialJSONParser | None = PartialJSONParser()
        self._converter = PartialTarget(self.target.type)
        self._names: dict[Any, str] = {}
        self._index: Any = NOTHING
        self._seen = -1
        self._shape = -1  # the parser's shape_version at the last conversion
        self._live: Any = None  # the partial result made by that conversion (updated in place)
        self._finished: Any = NOTHING  # the raw `result` once a later argument followed it

    def feed(self, chunk: AIMessage) -> Any:
        """The new partial result after streamed `chunk`, or `NOTHING` when it did not change.

        A whole (not streamed) message is taken as one chunk holding all of its arguments.
        """
        if chunk.id != self._message_id:
            self._message_id = chunk.id
            self._reset()
        pieces = getattr(chunk, "tool_call_chunks", None)
        if pieces is None:  # a model that does not stream: the complete message at once
            try:
                pieces = [{"index": i, "name": c["name"], "args": json.dumps(c["args"])}
                          for i, c in enumerate(chunk.tool_calls)]
            except (TypeError, ValueError, RecursionError):  # arguments no partial can show: the run checks them
                return NOTHING
        parser = self._parser
        if parser is None or not pieces:
            return NOTHING
        fed = False
        names = self._names
        for piece in pieces:
            index = piece.get("index")
            name = piece.get("name")
            if name:
                names[index] = name
            args = piece.get("args")
            if not args or names.get(index) != self.tool_name:
                continue
            if self._index is NOTHING:
                self._index = index
            elif index != self._index:
                continue  # a second call of the tool: only the first one counts
            try:
                parser.feed(args)
            except PartialJSONError:  # malformed (or too deeply nested) arguments: the run checks them whole,
                self._parser = None  # and the next attempt restarts
                return NOTHING
            fed = True
        return self._partial(parser) if fed else NOTHING

    def _partial(self, parser: PartialJSONParser) -> Any:
        if parser.value_version == self._seen:
            return NOTHING
        self._seen = parser.value_version
        live = self._live
        if parser.shape_version == self._shape and live is not None and self._converter.grow_open_text(parser.open_text):
            # the common chunk: more text for the open string, whose slot is all that changes
            return live if self._changes.changed(live) else NOTHING
        self._shape, self._live = parser.shape_version, None
        document = parser.value
        if self.field is None:
            raw = document
        elif type(document) is dict and self.field in document:
            raw = document[self.field]
            if parser.done or next(reversed(document)) != self.field:
                # `result` is finished (a later argument is streaming): convert it one last time
                if raw is self._finished:
                    return NOTHING
                self._finished = raw
        else:
            return NOTHING
        value = self._converter.convert(raw, parser)
        if value is None:
            return NOTHING
        self._live = value
        return value if self._changes.changed(value) else NOTHING
