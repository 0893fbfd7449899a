"""Driving async code from sync callers, in one place: event loops lent one call at a time.

A sync call (`run()`, `make()`, a sync stream, a graph node invoked synchronously) borrows an event
loop from a process-wide pool and is the only thing on it until it gives it back:

- so a paused sync stream, which keeps its loop until it ends, never advances while another call
  runs, and an interrupted call can be cleaned up by cancelling everything on its loop;
- idle loops are reused by the next call, from any thread (model clients that pool connections
  per loop keep them), so short-lived threads leave no loop, worker thread or file descriptor
  behind; at most `IDLE_LOOPS` idle loops are kept, the others are closed;
- Ctrl-C cancels the call's task and waits until it has stopped, then raises KeyboardInterrupt,
  as `asyncio.run()` does; a second Ctrl-C stops waiting (that loop is then discarded).

Tasks a call leaves behind on its loop are cancelled when it ends, as `asyncio.run()` does.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import inspect
import os
import signal
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

IDLE_LOOPS = min(32, (os.cpu_count() or 1) + 4)  # like ThreadPoolExecutor's default size
EXIT_GRACE = 2.0  # seconds a run still lent at exit (a stream never closed) gets to finish cancelling

_lock = threading.RLock()  # re-entrant: a finalizer may give a loop back while this thread holds it
_idle: list[asyncio.AbstractEventLoop] = []  # ready to lend; one given back unsettled is settled first
# Borrowed, not given back yet; weak, so a stream dropped unclosed does not pin its loop (and run).
_lent: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """Whether calling `fn` gives a coroutine (an async function, or an object with an async `__call__`)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


async def call_user(fn: Callable[..., Any], *args: Any, is_async: bool | None = None) -> Any:
    """Call user code from the event loop: an async callable is awaited, a sync one runs in a worker thread
    (so blocking code never stops the loop); an awaitable a sync callable returns is awaited too."""
    is_async = is_async_callable(fn) if is_async is None else is_async
    outcome = fn(*args) if is_async else await asyncio.to_thread(fn, *args)
    return await outcome if inspect.isawaitable(outcome) else outcome


def in_running_loop() -> bool:
    """Whether this thread is already running an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def borrow() -> asyncio.AbstractEventLoop:
    """An event loop for one sync call, nothing else on it; give it back with `give_back()`."""
    with _lock:
        loop = _idle.pop() if _idle else asyncio.new_event_loop()
        _lent.add(loop)
    try:
        _settle(loop)  # one handed back by a finalizer may still hold its cancelled tasks
    except BaseException:
        _discard(loop)
        raise
    return loop


def give_back(loop: asyncio.AbstractEventLoop) -> None:
    """End a sync call's use of `loop`: cancel what it left there, wait for that, and pool the loop."""
    if loop.is_closed():  # discarded by a second Ctrl-C
        _discard(loop)
        return
    try:
        _settle(loop)
    except BaseException:  # interrupted while cleaning up: the loop is never run again
        _discard(loop)
        raise
    with _lock:
        _lent.discard(loop)
        if len(_idle) < IDLE_LOOPS:
            _idle.append(loop)
            return
    _close(loop)


def give_back_later(loop: asyncio.AbstractEventLoop) -> None:
    """`give_back()` where the loop cannot be run now (a finalizer, inside another running loop):
    its tasks are cancelled, and run to their end before the loop is lent again."""
    for task in asyncio.all_tasks(loop):
        task.cancel()
    with _lock:
        _lent.discard(loop)
        _idle.append(loop)


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel every task on `loop` and run it until they have all finished (new ones included)."""
    while tasks := asyncio.all_tasks(loop):
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _discard(loop: asyncio.AbstractEventLoop) -> None:
    """Drop a loop whose tasks could not be stopped: it is closed, so they never run again."""
    with _lock:
        _lent.discard(loop)
    if not loop.is_closed() and not loop.is_running():
        loop.close()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    if not loop.is_closed() and not loop.is_running():
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@atexit.register
def _close_loops() -> None:
    """At exit: close the pooled loops, and those still lent (a stream never closed) once their
    tasks are cancelled and have had `EXIT_GRACE` to stop: none of their run but its cancellation runs."""
    with _lock:
        idle, lent = list(_idle), [loop for loop in _lent if not loop.is_running()]
        _idle.clear()
    for loop in lent:
        if tasks := asyncio.all_tasks(loop):
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.wait(tasks, timeout=EXIT_GRACE))
    for loop in [*idle, *lent]:
        _close(loop)


def drive(loop: asyncio.AbstractEventLoop, awaitable: asyncio.Future[T], task: asyncio.Task[Any]) -> T:
    """Run a borrowed `loop` until `awaitable` is done, Ctrl-C cancelling `task` (the call's own).

    On the main thread, with Python's default SIGINT handler in place, Ctrl-C cancels `task`
    (a second one raises at once); once `awaitable` is done, KeyboardInterrupt is raised. Anything
    else raised out of the loop (a KeyboardInterrupt of the user's own handler, SystemExit) first
    cancels everything on the loop and waits for it, so nothing of the call runs later.
    """
    interrupted = forced = False

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted, forced
        if interrupted or task.done():
            forced = True
            raise KeyboardInterrupt
        interrupted = True
        task.cancel()
        loop.call_soon_threadsafe(lambda: None)  # wake the loop if it is waiting in select()

    installed = threading.current_thread() is threading.main_thread() and _install(on_sigint)
    try:
        try:
            result = loop.run_until_complete(awaitable)
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        except BaseException:
            if forced:  # the user will not wait: the loop is dropped with whatever is left on it
                _discard(loop)
                raise
            try:  # raised out of the loop mid-step: the call's tasks are still there
                _settle(loop)
            except BaseException:
                _discard(loop)
                raise
            raise
        if interrupted:
            raise KeyboardInterrupt
        return result
    finally:
        if installed and (current := signal.signal(signal.SIGINT, signal.default_int_handler)) is not on_sigint:
            signal.signal(signal.SIGINT, current)  # replaced meanwhile (by a tool): left as it was set


def _install(handler: Callable[[int, FrameType | None], None]) -> bool:
    """Put `handler` in place for SIGINT if Python's default one is there (one system call each way:
    a sync stream does this per item it waits for)."""
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # an embedded interpreter whose main thread takes no signals
        return False
    if previous is signal.default_int_handler:
        return True
    signal.signal(signal.SIGINT, previous)  # the user's own handler: keep it
    return False


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code on a borrowed loop (with the caller's context
    variables: LangGraph's config lives there); under a running loop, from a helper thread."""
    if in_running_loop():
        return _in_helper_thread(coro)
    loop = borrow()
    try:
        task = loop.create_task(coro)
        return drive(loop, task, task)
    finally:
        give_back(loop)


def _in_helper_thread(coro: Coroutine[Any, Any, T]) -> T:
    """`run_sync` for a caller whose thread runs a loop (a sync graph node called from async code)."""
    context = contextvars.copy_context()
    box: dict[str, Any] = {}
    lock = threading.Lock()  # guards "cancel" / "stop": the caller may ask to stop at any time

    def target() -> None:
        try:
            loop = borrow()
        except BaseException as exc:  # re-raised in the caller's thread below
            coro.close()
            box["error"] = exc
            return
        try:
            task = loop.create_task(coro, context=context)
            with lock:
                box["cancel"] = lambda: loop.call_soon_threadsafe(task.cancel)
                if "stop" in box:
                    task.cancel()
            box["value"] = drive(loop, task, task)
        except BaseException as exc:
            box["error"] = exc
        finally:
            with lock:
                box.pop("cancel", None)
            give_back(loop)

    thread = threading.Thread(target=target, name="zyx-sync", daemon=True)
    thread.start()
    try:
        thread.join()
    except BaseException:  # Ctrl-C in the caller: stop the call and wait for it
        with lock:
            box["stop"] = True
            if (cancel := box.get("cancel")) is not None:
                cancel()
        thread.join()
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


_DONE: Any = object()


async def bounded(items: Iterator[T], work: Callable[[T], Awaitable[R]], concurrency: int) -> AsyncGenerator[R, None]:
    """`work` on each item, `concurrency` at a time, items read lazily; each result yielded as it ends (flat memory:
    only the calls in flight are held). A worker's own failure (reading `items`) is raised once the others end;
    leaving early cancels the calls in flight."""
    done: asyncio.Queue[Any] = asyncio.Queue()

    async def worker() -> None:
        try:
            for item in items:  # shared: each worker takes the next item
                await done.put(await work(item))
        finally:
            await done.put(_DONE)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    running = len(workers)
    try:
        while running:
            entry = await done.get()
            if entry is _DONE:
                running -= 1
            else:
                yield entry
        for w in workers:
            w.result()
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
