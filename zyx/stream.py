"""`RunStream[T]`: partial targets, text and progress events of a run while it happens, then its result.

One driver task consumes the run's event source and queues events; the async API awaits the
queue, and the sync API runs the same queue on a private event loop it owns (no thread), so
a sync caller needs no loop of its own and nothing is left behind after `finish()` or `close()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, TypeVar

from zyx._tools import tool_values
from zyx.errors import RunError
from zyx.events import PartialOutput, RunEvent, RunFinished, TextDelta
from zyx.result import Result

T = TypeVar("T")
E = TypeVar("E")

_END = object()
EventSource = Callable[[], AsyncIterator[RunEvent]]


class RunStream(Generic[T]):
    """A run (or `make()`) in progress: iterate partials, text, fields or events; then `finish()`.

    Each stream is consumed once: iterators share one event sequence, so interleaving two of
    them splits the events between them. Closing an iterator before the run ends (breaking
    out of a sync loop, `aclose()`, cancelling the consuming task) cancels the run.
    """

    def __init__(self, source: EventSource) -> None:
        self._source = source
        self._out: asyncio.Queue[Any] = None  # type: ignore[assignment]  # made on the driving loop
        self._ack: asyncio.Queue[None] = None  # type: ignore[assignment]
        self._awaiting_ack = False
        self._driver: asyncio.Task[None] | None = None
        self._result: Result[T] | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # owned by the sync API only

    # -- the one event sequence -------------------------------------------------------------
    # The driver hands over one event at a time and resumes only when the next is asked for:
    # partial values are live objects that the next parsed chunk updates in place.
    async def _drive(self) -> None:
        tool_values.set({})  # this task's own context: the run's Python tool outputs live here
        try:
            async for event in self._source():
                if isinstance(event, RunFinished):
                    self._result = event.result  # type: ignore[assignment]
                await self._handoff(event)
        except Exception as exc:  # the run's own error, delivered to the consumer in order
            await self._handoff(exc)
        finally:
            self._out.put_nowait(_END)

    async def _handoff(self, item: Any) -> None:
        await self._out.put(item)
        await self._ack.get()

    async def _next(self) -> Any:
        if self._driver is None:
            self._out, self._ack = asyncio.Queue(), asyncio.Queue()
            self._driver = asyncio.get_running_loop().create_task(self._drive())
        elif self._awaiting_ack:
            self._ack.put_nowait(None)
        if self._error is not None or (self._driver.done() and self._out.empty()):
            return _END
        item = await self._out.get()
        self._awaiting_ack = item is not _END
        if isinstance(item, BaseException):
            self._error = item
            raise item
        return item

    async def aevents(self) -> AsyncIterator[RunEvent]:
        """Typed progress events, ending with `RunFinished`; the run's error is raised here."""
        finished = False
        try:
            while (event := await self._next()) is not _END:
                yield event
            finished = True
        finally:
            if not finished:
                await self._cancel()

    async def _cancel(self) -> None:
        if self._driver is not None and not self._driver.done():
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)
            self._error = self._error or RunError("The stream was closed before the run finished.",
                                                  termination="cancelled")

    async def _select(self, pick: Callable[[RunEvent], Any]) -> AsyncIterator[Any]:
        async for event in self.aevents():
            if (value := pick(event)) is not _END:
                yield value

    def apartial(self) -> AsyncIterator[T]:
        """Partial targets as the `complete_task` result streams; restarts after a rejected attempt."""
        return self._select(lambda e: e.value if isinstance(e, PartialOutput) else _END)

    def atext(self) -> AsyncIterator[str]:
        """The model's plain-text deltas."""
        return self._select(lambda e: e.text if isinstance(e, TextDelta) else _END)

    def afield(self, name: str) -> AsyncIterator[Any]:
        """One top-level field of the partial target as it grows (equal values not repeated)."""
        last: list[Any] = [_END]

        def pick(event: RunEvent) -> Any:
            if not isinstance(event, PartialOutput):
                return _END
            value = event.value.get(name) if isinstance(event.value, dict) else getattr(event.value, name, None)
            if value is None or value == last[0]:
                return _END
            last[0] = value.copy() if isinstance(value, (list, dict)) else value
            return value

        return self._select(pick)

    async def afinish(self) -> Result[T]:
        """Drain the stream and return the result (a `RunResult` for runs); raises the run's error."""
        async for _ in self.aevents():
            pass
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    async def aclose(self) -> None:
        """Cancel the run if it is still going."""
        await self._cancel()

    async def __aenter__(self) -> RunStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the sync API: the same coroutines on a private loop ------------------------------------
    def _run(self, coro: Coroutine[Any, Any, E]) -> E:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def _iterate(self, source: AsyncIterator[E]) -> Iterator[E]:
        done = False
        try:
            while True:
                try:
                    item = self._run(source.__anext__())  # type: ignore[attr-defined]
                except StopAsyncIteration:
                    done = True
                    return
                yield item
        finally:
            if not done:
                self._run(source.aclose())  # type: ignore[attr-defined]

    def events(self) -> Iterator[RunEvent]:
        """Sync `aevents()`."""
        return self._iterate(self.aevents())

    def partial(self) -> Iterator[T]:
        """Sync `apartial()`."""
        return self._iterate(self.apartial())

    def text(self) -> Iterator[str]:
        """Sync `atext()`."""
        return self._iterate(self.atext())

    def field(self, name: str) -> Iterator[Any]:
        """Sync `afield()`."""
        return self._iterate(self.afield(name))

    def finish(self) -> Result[T]:
        """Sync `afinish()`; closes the private loop."""
        try:
            return self._run(self.afinish())
        finally:
            self.close()

    def close(self) -> None:
        """Cancel the run if it is still going and release the private loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._run(self._cancel())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def __enter__(self) -> RunStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed() and not loop.is_running():
            self.close()


def sync_stream(coro: Coroutine[Any, Any, RunStream[T]]) -> RunStream[T]:
    """A stream for sync callers: argument checks run now (raising at once), the run on first use."""
    loop = asyncio.new_event_loop()
    try:
        stream = loop.run_until_complete(coro)
    except BaseException:
        loop.close()
        raise
    stream._loop = loop
    return stream
