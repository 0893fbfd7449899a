"""Driving async code from sync callers, in one place.

Sync calls reuse one event loop per thread rather than a new loop per call: clients that pool
connections (httpx, under langchain-openai) bind them to the loop that opened them, so a second
`run()` on a fresh loop would find its model's connections tied to a closed one.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()
_loops: list[asyncio.AbstractEventLoop] = []
_loops_lock = threading.Lock()


def in_running_loop() -> bool:
    """Whether this thread is already running an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop for sync callers, made on first use and closed at exit."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
        with _loops_lock:
            _loops.append(loop)
    return loop


@atexit.register
def _close_loops() -> None:
    with _loops_lock:
        loops, _loops[:] = list(_loops), []
    for loop in loops:
        if not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code: on this thread's loop, or, under a running loop, on a
    helper thread's (which keeps the caller's context variables: LangGraph's config lives there)."""
    if not in_running_loop():
        return thread_loop().run_until_complete(coro)
    context = contextvars.copy_context()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = context.run(asyncio.run, coro)
        except BaseException as exc:  # re-raised in the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=target, name="zyx-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
