"""`RunStream[T]`: partial targets, text and progress events of a run while it happens, then its result.

How it works: one driver task runs the run (the graph's `astream`, or make()'s answer loop)
and appends what it emits to a buffer, waking the consumer. Progress events are emitted
ready-made; the model's streamed chunks are emitted raw and turned into text and partial
targets only when the consumer asks for the next item, by the consumer. That keeps the
driver free of hand-offs (a chunk costs one append) while partial targets stay stable
while the consumer holds them.

Partial targets are live objects: the partial list / partial model you receive is updated in
place when you ask for the next item (so a partial costs no copy, and a stream costs time
linear in its length). Keep `copy.deepcopy(partial)` if you need a snapshot.

The sync API runs the same code on an event loop the stream borrows from zyx's pool for sync
calls (`zyx._aio`) and keeps to itself until the run ends or the stream is closed: the caller
needs no loop of its own, the run progresses only while the caller waits for the next item
(nothing else runs that loop, not even another `run()` on the same thread), and nothing is left
behind: no task once the run ends or the stream is closed, no extra thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

from zyx._aio import borrow, drive, give_back, give_back_later, in_running_loop
from zyx.errors import RunError, VerificationError
from zyx.events import RunEvent, RunFinished
from zyx.result import Result, RunTask
from zyx.stream import _picks as picks
from zyx.stream._aliases import OriginalNames
from zyx.stream._picks import SKIP, Pick
from zyx.usage import Usage

__all__ = ["EventSource", "RunStream", "sync_stream"]

T = TypeVar("T")

_END: Any = object()  # the sequence is over
_WAIT: Any = object()  # nothing buffered: the run must progress first
CLOSED = "The stream was closed before the run finished."


class EventSource(Protocol):
    """What a stream consumes: `run` drives the run on the driver task, emitting items in
    order (progress events, raw model chunks) and finally `RunFinished`, or raises the run's
    error; `translate` turns one item into the events it shows, on the consumer's side.

    Anything live (a partial value updated in place) must be made in `translate`, never in
    `run`: the driver runs ahead of the consumer. A plain async iterator of events is accepted
    too (each event shown as is), for sources without live values.
    """

    async def run(self, emit: Callable[[Any], None]) -> None: ...

    def translate(self, item: Any) -> Sequence[RunEvent]: ...


class _Events:
    """An event source from a plain async iterator of run events."""

    def __init__(self, events: AsyncIterator[RunEvent]) -> None:
        self.events = events

    async def run(self, emit: Callable[[Any], None]) -> None:
        async for event in self.events:
            emit(event)

    @staticmethod
    def translate(item: Any) -> Sequence[RunEvent]:
        return (item,)


class ReadByAnotherThread(RuntimeError):
    """A sync stream's iterator was advanced while another thread was running it."""


class RunStream(OriginalNames[T], Generic[T]):
    """A run (or `make()`) in progress: iterate partials, text, a field or events; then `finish()`.

    Async: `apartial()`, `atext()`, `afield(name)`, `aevents()`, `afinish()`, `aclose()`, or
    `async with stream:`. Sync (from `run(..., stream=True)` / `make(..., stream=True)`):
    `partial()`, `text()`, `field(name)`, `events()`, `finish()`, `close()`, or `with stream:`.
    The original zyx's async names work too: `stream_partial()`, `stream_text()`,
    `stream_field()`, `finish_async()` (see `zyx.stream._aliases`).

    The stream is one sequence of events consumed once: the iterators share it, so starting a
    second one continues where the first stopped. `finish()` drains what is left and returns
    the result (a `RunResult` for runs, a `Result` for make()), or raises the run's error; it
    works without iterating first. Closing an iterator before the run ends (breaking out of
    a sync `for` loop, `aclose()`, cancelling the consuming task) cancels the run.

    Partial values are live objects updated in place when the next item is requested; copy
    one (`copy.deepcopy`) to keep it.

    Args:
        source: Makes the run's event source when the stream is first consumed (built by
            `arun()` / `amake()`; not meant to be called by users).
        task: What the run was asked, when known before it starts (`task` shows it until the
            result does).
        fields: The target's top-level field names, when known (`field()` refuses any other name).
    """

    def __init__(self, source: Callable[[], EventSource | AsyncIterator[RunEvent]], *,
                 task: RunTask | None = None, fields: frozenset[str] | None = None) -> None:
        self._make_source = source
        self._task = task
        self._fields = fields  # the target's field names, when known: `field()` refuses others
        self._translate: Callable[[Any], Sequence[RunEvent]] = _Events.translate
        self._items: deque[Any] = deque()  # emitted by the driver, not yet translated
        self._ready: deque[RunEvent] = deque()  # translated, not yet handed out
        self._driver: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None  # the consumer waiting for an item
        self._ended = False  # the driver is done (or the stream was closed)
        self._failure: BaseException | None = None  # the run's error, raised after the items before it
        self._error: BaseException | None = None  # the error the consumer got (or the stream closed)
        self._result: Result[T] | None = None
        self._sync = False  # made for sync callers (`sync_stream`)
        self._loop: asyncio.AbstractEventLoop | None = None  # the sync API's borrowed loop, until the run ends
        self._reading = threading.Lock()  # held by the thread running the sync API's loop
        self._closing_readers: set[asyncio.Task[Any]] = set()  # tasks closing an async iterator left early

    # -- the driver ---------------------------------------------------------------------------
    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        source = self._make_source()
        if not callable(getattr(source, "translate", None)):
            source = _Events(source)  # type: ignore[arg-type]
        self._translate = source.translate  # type: ignore[union-attr]
        self._driver = loop.create_task(self._drive(source))  # type: ignore[arg-type]

    async def _drive(self, source: EventSource) -> None:
        try:
            await source.run(self._push)
        except asyncio.CancelledError:
            self._failure = self._failure or RunError("The run was cancelled.", termination="cancelled")
            raise
        except Exception as exc:  # the run's own error, raised to the consumer in order
            self._failure = exc
        finally:
            self._ended = True
            self._wakeup()

    def _push(self, item: Any) -> None:
        self._items.append(item)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _wakeup(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    # -- the consumer ---------------------------------------------------------------------------
    def _poll(self, drain: bool = False) -> Any:
        """The next event, `_END`, or `_WAIT` when nothing is buffered; raises the run's error.

        `drain` skips translating (no partial values are built): for `finish()`.
        """
        if self._ready:
            return self._ready.popleft()
        if self._error is not None:
            return _END
        items = self._items
        while items:
            item = items.popleft()
            if type(item) is RunFinished:
                self._result = item.result
            if drain:
                continue
            try:
                events = self._translate(item)
            except Exception as exc:  # a bug while parsing: the consumer gets it (finish() too), the run stops
                self._error = exc
                raise
            if events:
                if len(events) > 1:
                    self._ready.extend(events[1:])
                return events[0]
        if not self._ended:
            return _WAIT
        if self._failure is not None:
            self._error, self._failure = self._failure, None
            raise self._error
        return _END

    def _next(self, pick: Pick) -> Any:
        """The next value `pick` shows, `_END`, or `_WAIT` when the run must progress first
        (shared by the async and sync iterators, which differ only in how they wait)."""
        while True:
            event = self._poll()
            if event is _END:
                held = pick.flush()
                return _END if held is SKIP else held
            if event is _WAIT:
                due = pick.due()
                return _WAIT if due is SKIP else due
            if (value := pick(event)) is not SKIP:
                return value

    def _outcome(self) -> Result[T]:
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise RunError("The run ended without a result.", termination="cancelled")
        return self._result

    def _mark_closed(self) -> None:
        """Closed before the run ended: drop what is buffered, `finish()` raises. (Closed after
        it ended, `finish()` still returns its result.)"""
        if not self._ended:
            self._error = self._error or RunError(CLOSED, termination="cancelled")
            self._ended = True
            self._items.clear()
            self._ready.clear()

    # -- async API ------------------------------------------------------------------------------
    async def _wait(self, limit: float | None = None) -> None:
        """Until the driver emits or ends (or `limit` seconds pass: a debounced value falls due)."""
        loop = asyncio.get_running_loop()
        if self._driver is None:
            self._start(loop)
        wake = self._wake = loop.create_future()
        timer = None if limit is None else loop.call_later(limit, self._wakeup)
        try:
            await wake
        finally:
            self._wake = None
            if timer is not None:
                timer.cancel()

    async def _aiter(self, pick: Pick) -> AsyncIterator[Any]:
        finished = False
        try:
            while (value := self._next(pick)) is not _END:
                if value is _WAIT:
                    await self._wait(pick.wait_limit())
                else:
                    yield value
            finished = True
        finally:
            if not finished:
                await self._closed_by_reader()

    async def _closed_by_reader(self) -> None:
        """An async iterator left early cancels the run. One abandoned (`break` without closing it) is closed by
        the event loop's finalizer in a task of its own: `aclose()` waits for such tasks too."""
        task = asyncio.current_task()
        if task is None:  # not in a task: nothing to wait for
            await self._cancel_run()
            return
        self._closing_readers.add(task)
        try:
            await self._cancel_run()
        finally:
            self._closing_readers.discard(task)

    def aevents(self) -> AsyncIterator[RunEvent]:
        """Typed progress events (`zyx.events`), ending with `RunFinished`; the run's error is raised here."""
        return self._aiter(picks.events())

    @overload
    def apartial(self, *, delta: Literal[False] = False, debounce_by: float | None = None) -> AsyncIterator[T]: ...
    @overload
    def apartial(self, *, delta: Literal[True], debounce_by: float | None = None) -> AsyncIterator[Any]: ...
    def apartial(self, *, delta: bool = False, debounce_by: float | None = None) -> AsyncIterator[Any]:
        """Partial targets as the completion's `result` streams (live objects, see the class doc);
        equal consecutive values are not repeated; after a rejected completion they restart.

        Args:
            delta: Show only what changed since the last value: appended text for a string, and for
                lists and records a dict of the changed items (by index) or fields, each as a delta.
            debounce_by: Show at most one value per this many seconds (the latest; deltas are
                merged), and the last one when the stream ends; None shows every change.
        """
        return self._aiter(picks.partial(delta, debounce_by))

    def atext(self, *, debounce_by: float | None = None) -> AsyncIterator[str]:
        """The model's plain-text deltas.

        Args:
            debounce_by: Group the deltas of each window of this many seconds into one string.
        """
        return self._aiter(picks.text(debounce_by))

    def afield(self, name: str, *, debounce_by: float | None = None) -> AsyncIterator[Any]:
        """One top-level field of the partial target as it grows (not repeated while unchanged, not None).

        Args:
            name: The field (attribute of a model, key of a dict target).
            debounce_by: Show at most one value per this many seconds (the latest, and the last one).
        """
        return self._aiter(picks.field(name, debounce_by, self._fields))

    async def afinish(self) -> Result[T]:
        """Run to the end and return the result (a `RunResult` for runs); raises the run's error."""
        finished = False
        try:
            while (event := self._poll(drain=True)) is not _END:
                if event is _WAIT:
                    await self._wait()
            finished = True
        finally:
            if not finished:
                await self.aclose()
        return self._outcome()

    async def aclose(self) -> None:
        """Cancel the run if it is still going (and wait until it is cancelled, and until iterators left early
        are closed: nothing of the stream is left running after it)."""
        await self._cancel_run()
        me = asyncio.current_task()
        if readers := [t for t in self._closing_readers if t is not me and not t.done()]:
            await asyncio.wait(readers)

    async def _cancel_run(self) -> None:
        self._mark_closed()
        driver = self._driver
        if driver is not None and not driver.done():
            driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)

    async def __aenter__(self) -> RunStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- sync API: the same consumer, the run on a loop borrowed for this stream ----------------
    def _check_sync(self) -> None:
        if not self._sync:
            raise RuntimeError("This stream came from arun()/amake(): use its async API (apartial(), afinish(), ...).")

    def _sync_wait(self, limit: float | None = None) -> None:
        """Run the stream's own loop until the driver emits or ends, or `limit` seconds pass (Ctrl-C
        cancels the run first)."""
        if not self._reading.acquire(blocking=False):
            raise ReadByAnotherThread("This stream is being read by another thread: read it from one thread at a time.")
        try:
            loop = self._loop
            assert loop is not None
            if self._driver is None:
                self._start(loop)
            assert self._driver is not None
            wake = self._wake = loop.create_future()
            timer = None if limit is None else loop.call_later(limit, self._wakeup)
            try:
                drive(loop, wake, self._driver)
            finally:
                self._wake = None
                if timer is not None:
                    timer.cancel()
        finally:
            self._reading.release()
        if self._ended:
            self.close()  # gives the loop back

    def _iter(self, pick: Pick) -> Iterator[Any]:
        self._check_sync()
        finished = False
        try:
            while (value := self._next(pick)) is not _END:
                if value is _WAIT:
                    self._sync_wait(pick.wait_limit())
                else:
                    yield value
            finished = True
        except ReadByAnotherThread:
            finished = True  # this reader's mistake: the reader that holds the stream goes on
            raise
        finally:
            if not finished:
                self.close()

    def events(self) -> Iterator[RunEvent]:
        """Sync `aevents()`."""
        return self._iter(picks.events())

    @overload
    def partial(self, *, delta: Literal[False] = False, debounce_by: float | None = None) -> Iterator[T]: ...
    @overload
    def partial(self, *, delta: Literal[True], debounce_by: float | None = None) -> Iterator[Any]: ...
    def partial(self, *, delta: bool = False, debounce_by: float | None = None) -> Iterator[Any]:
        """Sync `apartial()`.

        Args:
            delta: Show only what changed since the last value (see `apartial()`).
            debounce_by: Show at most one value per this many seconds (see `apartial()`).
        """
        return self._iter(picks.partial(delta, debounce_by))

    def text(self, *, debounce_by: float | None = None) -> Iterator[str]:
        """Sync `atext()`.

        Args:
            debounce_by: Group the deltas of each window of this many seconds into one string.
        """
        return self._iter(picks.text(debounce_by))

    def field(self, name: str, *, debounce_by: float | None = None) -> Iterator[Any]:
        """Sync `afield()`.

        Args:
            name: The field (attribute of a model, key of a dict target).
            debounce_by: Show at most one value per this many seconds (the latest, and the last one).
        """
        return self._iter(picks.field(name, debounce_by, self._fields))

    # -- what the run left, once it finished ------------------------------------------------------
    @property
    def is_streaming(self) -> bool:
        """Whether the run may still produce events (False once it ended, failed or was closed)."""
        return not (self._ended and not self._items and not self._ready)

    @property
    def result(self) -> Result[T] | None:
        """The run's result once it finished (`finish()` returns it too), else None."""
        return self._result

    @property
    def usage(self) -> Usage:
        """What the run spent (tokens, model requests, tool calls), once it finished or failed (else empty)."""
        if self._result is not None:
            return self._result.usage
        return Usage.of(getattr(self._error, "usage", None))

    @property
    def task(self) -> RunTask | None:
        """What the run was asked (goal text and target type); None for make()."""
        return getattr(self._result, "task", None) or self._task

    @property
    def verification_error(self) -> str | None:
        """The last rejection's feedback: the finished run's `verification_error` (normally None), or why
        the completion of a run that failed with a `VerificationError` was rejected; None before the end."""
        if self._result is not None:
            return getattr(self._result, "verification_error", None)
        if isinstance(self._error, VerificationError) and self._error.errors:
            return "\n".join(self._error.errors)
        return None

    @property
    def completion(self) -> Any:
        """The accepted completion of a finished run (None before, and for make())."""
        return getattr(self._result, "completion", None)

    @property
    def verified(self) -> bool | None:
        """Whether the finished run's completion passed its checks (None before, and for make())."""
        return getattr(self._result, "verified", None)

    def finish(self) -> Result[T]:
        """Sync `afinish()`."""
        self._check_sync()
        finished = False
        try:
            while (event := self._poll(drain=True)) is not _END:
                if event is _WAIT:
                    self._sync_wait()
            finished = True
        finally:
            if not finished:
                self.close()
        return self._outcome()

    def close(self) -> None:
        """Cancel the run if it is still going, and wait until it has stopped (idempotent)."""
        self._mark_closed()
        loop, self._loop = self._loop, None
        if loop is None:
            return
        driver = self._driver
        if driver is not None and not driver.done() and not loop.is_closed():
            driver.cancel()
        if in_running_loop():  # the loop cannot run here: its pool settles it before lending it again
            give_back_later(loop)
        else:
            give_back(loop)  # runs what is left on it (the cancelled run) to its end first

    def __enter__(self) -> RunStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():  # its run is cancelled before the loop is lent again
            give_back_later(loop)
        else:
            driver = getattr(self, "_driver", None)
            if driver is not None and not driver.done() and not driver.get_loop().is_closed():
                driver.cancel()  # an async stream's run: cancelled when its loop next runs


def sync_stream(coro: Coroutine[Any, Any, RunStream[T]]) -> RunStream[T]:
    """A stream for sync callers, on a loop borrowed for it alone until its run ends: argument
    checks run now (raising at once), the run on first use."""
    loop = borrow()
    try:
        task = loop.create_task(coro)
        stream = drive(loop, task, task)
    except BaseException:
        give_back(loop)
        raise
    stream._sync, stream._loop = True, loop
    return stream
