"""The original zyx's async stream names (`stream_partial`, `stream_text`, `stream_field`, `finish_async`), kept
as documented aliases of `RunStream`'s own so that ported code runs unchanged."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:
    from zyx.result import Result
    from zyx.stream._run_stream import RunStream

T = TypeVar("T")


class OriginalNames(Generic[T]):
    """`RunStream`'s methods under the names the original zyx (on pydantic-ai) gave them."""

    def _stream(self) -> RunStream[T]:
        return cast("RunStream[T]", self)

    def stream_partial(self, *, delta: bool = False,
                       debounce_by: float | None = None) -> AsyncIterator[Any]:
        """`apartial()`, under the original zyx's name.

        Args:
            delta: Show only what changed since the last value (see `apartial()`).
            debounce_by: Show at most one value per this many seconds (see `apartial()`); the original
                debounced by 0.1 s unless told otherwise, this shows every change unless told.
        """
        stream = self._stream()
        return stream.apartial(delta=True, debounce_by=debounce_by) if delta else \
            stream.apartial(debounce_by=debounce_by)

    async def stream_text(self, *, delta: bool = False,
                          debounce_by: float | None = None) -> AsyncIterator[str]:
        """The model's plain text as the original zyx's `stream_text()` gave it: by default the whole text so
        far at each step; with `delta=True`, the new text only (what `atext()` gives).

        Args:
            delta: Yield only the new text (`atext()`), not the whole text so far.
            debounce_by: Group the text of each window of this many seconds into one item.
        """
        text = ""
        deltas = cast("AsyncGenerator[str, None]", self._stream().atext(debounce_by=debounce_by))
        async with aclosing(deltas):
            async for piece in deltas:
                text += piece
                yield piece if delta else text

    def stream_field(self, field_name: str, *,
                     debounce_by: float | None = None) -> AsyncIterator[Any]:
        """`afield()`, under the original zyx's name (and its parameter name).

        Args:
            field_name: The field (attribute of a model, key of a dict target).
            debounce_by: Show at most one value per this many seconds (the latest, and the last one).
        """
        return self._stream().afield(field_name, debounce_by=debounce_by)

    async def finish_async(self) -> Result[T]:
        """`afinish()`, under the original zyx's name: run to the end and return the result; raises the run's
        error."""
        return await self._stream().afinish()
