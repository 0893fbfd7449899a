"""Streamed tool-call chunks -> partial targets: the `result` of `complete_task` (or `final_result`) as it grows."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk

from zyx._partial import PartialTarget
from zyx._partial_json import PartialJSONError, PartialJSONParser
from zyx._target import Target

NOTHING: Any = object()
"""Returned by `feed` when the chunk did not change the partial result."""


class ResultPartials:
    """Follows one tool's streamed arguments per model turn and yields its partial `result`.

    `field` is the argument holding the target (`"result"`), or None when the whole arguments
    object is the target (make()'s object targets). A new message id starts a new attempt.
    """

    def __init__(self, target: Target, tool_name: str, field: str | None = "result") -> None:
        self.target = target
        self.tool_name = tool_name
        self.field = field
        self._message_id: str | None = None
        self._reset()

    def _reset(self) -> None:
        self._parser: PartialJSONParser | None = PartialJSONParser()
        self._converter = PartialTarget(self.target.type)
        self._names: dict[Any, str] = {}
        self._index: Any = NOTHING
        self._seen = -1

    def feed(self, chunk: AIMessageChunk) -> Any:
        """The new partial result after `chunk`, or `NOTHING` when it did not change."""
        if chunk.id != self._message_id:
            self._message_id = chunk.id
            self._reset()
        fed = False
        for piece in chunk.tool_call_chunks:
            index = piece.get("index")
            if piece.get("name"):
                self._names[index] = piece["name"]
            if self._names.get(index) != self.tool_name or self._parser is None or not piece.get("args"):
                continue
            if self._index is NOTHING:
                self._index = index
            if index == self._index:
                try:
                    self._parser.feed(piece["args"])
                    fed = True
                except PartialJSONError:
                    self._parser = None  # malformed arguments: the completion node will reject them
        return self._partial() if fed else NOTHING

    def _partial(self) -> Any:
        parser = self._parser
        if parser is None or parser.value_version == self._seen:
            return NOTHING
        document = parser.value
        if self.field is None:
            raw = document
        elif isinstance(document, dict) and self.field in document:
            raw = document[self.field]
        else:
            return NOTHING
        if self.field is not None and next(reversed(document)) != self.field:
            return NOTHING  # the result is finished and a later argument is streaming
        self._seen = parser.value_version
        value = self._converter.convert(raw, parser)
        return NOTHING if value is None else value
