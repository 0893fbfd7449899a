"""Sync calls (`run()`, sync streams) on borrowed event loops: Ctrl-C cancels the interrupted run
before `run()` raises, short-lived threads leave no loops, threads or file descriptors behind, and
a paused sync stream does not advance while anything else runs."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest
from helpers import scripted, turn
from langchain_core.messages import BaseMessage

import zyx
from zyx import _aio
from zyx.events import ToolCallFinished
from zyx.testing import ScriptedChatModel, call, complete

log: list[str] = []


@pytest.fixture(autouse=True)
def clear_log() -> None:
    log.clear()


@pytest.fixture(autouse=True)
def python_handles_ctrl_c() -> Iterator[None]:
    """Python's own SIGINT handler, as in a terminal: a job started in the background (`cmd &` in a
    script, some CI runners) begins with SIGINT ignored, and then Ctrl-C raises nothing at all."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_soon() -> None:
    """Ctrl-C from another thread, a little later: it arrives while the run waits on its event loop
    (or, on a slow machine, inside a step: either must end the run)."""

    def kill() -> None:
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=kill).start()


def interrupt_now() -> None:
    """Ctrl-C handled right here, inside a step of the run's own task."""
    signal.raise_signal(signal.SIGINT)


async def interrupted_tool(send: Callable[[], None]) -> str:
    log.append("started")
    send()
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    log.append("finished")
    return "done"


def slow_run(send: Callable[[], None]) -> ScriptedChatModel:
    async def wait(x: int) -> str:
        """Wait a long time."""
        return await interrupted_tool(send)

    model = scripted(call("wait", x=1), complete())
    with pytest.raises(KeyboardInterrupt):
        zyx.run("wait", model=model, tools=[wait])
    return model


def nothing_left() -> bool:
    """No loop is lent out and no idle loop holds a task."""
    return not _aio._lent and all(not asyncio.all_tasks(loop) for loop in _aio._idle)


@pytest.mark.parametrize("send", [interrupt_soon, interrupt_now], ids=["while-waiting", "inside-a-step"])
def test_ctrl_c_cancels_the_run_before_run_raises(send: Callable[[], None]) -> None:
    model = slow_run(send)
    assert log == ["started", "cancelled"]  # cleaned up before KeyboardInterrupt reached us
    assert nothing_left()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert zyx.run("next", model=scripted(complete(summary="ok"))).completion.summary == "ok"  # type: ignore[union-attr]
    assert log == ["started", "cancelled"] and len(model.calls) == 1  # never revived by a later run


def test_ctrl_c_while_iterating_a_sync_stream_cancels_its_run() -> None:
    async def wait(x: int) -> str:
        """Wait a long time."""
        return await interrupted_tool(interrupt_soon)

    model = ScriptedChatModel(responses=[call("wait", x=1), complete(result=1)], chunk_size=4)
    stream = zyx.run("wait", target=int, model=model, tools=[wait], stream=True)
    with pytest.raises(KeyboardInterrupt):
        for _ in stream.events():
            pass
    assert log == ["started", "cancelled"] and nothing_left()
    with pytest.raises(zyx.RunError) as info:
        stream.finish()
    assert info.value.termination == "cancelled"


@pytest.fixture
def raising_handler() -> Iterator[None]:
    """A SIGINT handler of the user's own that raises KeyboardInterrupt wherever Python is."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("send", [interrupt_soon, interrupt_now], ids=["while-waiting", "inside-a-step"])
def test_keyboard_interrupt_raised_in_the_loop_still_cancels_the_run(raising_handler: None,
                                                                     send: Callable[[], None]) -> None:
    model = slow_run(send)
    assert log in (["started"], ["started", "cancelled"])  # cancelled, or stopped by the exception itself
    assert nothing_left()
    zyx.run("next", model=scripted(complete()))
    assert "finished" not in log and len(model.calls) == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the abandoned run's coroutines,
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # closed unfinished when collected
def test_second_ctrl_c_stops_waiting_for_a_run_that_will_not_stop() -> None:
    async def stubborn(x: int) -> str:
        """Ignores the first cancellation."""
        log.append("started")
        interrupt_soon()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            log.append("cancelled")
            interrupt_soon()  # the user presses Ctrl-C again while the run cleans up
            await asyncio.sleep(30)
        return "done"

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        zyx.run("wait", model=scripted(call("stubborn", x=1), complete()), tools=[stubborn])
    assert time.monotonic() - began < 20 and log == ["started", "cancelled"]
    assert nothing_left()  # its loop was discarded, never lent again
    assert zyx.run("next", model=scripted(complete(summary="ok"))).completion.summary == "ok"  # type: ignore[union-attr]
    gc.collect()  # the abandoned run's coroutines are closed here, not in a later test


# -- short-lived threads -------------------------------------------------------------------------


def add_one(x: int) -> int:
    """A sync tool (it runs in its loop's worker thread)."""
    return x + 1


def one_run() -> None:
    result = zyx.run("x", model=scripted(call("add_one", x=1), complete(summary="ok")), tools=[add_one])
    assert result.tool_calls[0].output == 2


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_short_lived_threads_leave_no_loops_threads_or_fds() -> None:
    def in_a_thread() -> None:
        thread = threading.Thread(target=one_run)
        thread.start()
        thread.join()

    in_a_thread()
    fds, threads = open_fds(), threading.active_count()
    for _ in range(40):
        in_a_thread()
    assert open_fds() - fds < 5  # one leaked loop costs 3
    assert threading.active_count() - threads < 3  # one leaked loop costs its worker thread


def test_concurrent_sync_runs_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(one_run) for _ in range(24)]:
            future.result()
    assert len(_aio._idle) <= _aio.IDLE_LOOPS and nothing_left()


# -- paused sync streams -------------------------------------------------------------------------


def ticking(n: int) -> tuple[ScriptedChatModel, Callable[..., Any]]:
    """A model that calls `tick` `n` times, one turn each, then completes; and the tool."""
    ticks: list[int] = []

    def tick(i: int) -> int:
        """Count a call."""
        ticks.append(i)
        return i

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        t = turn(messages)
        return call("tick", i=t) if t < n else complete(result=len(ticks))

    tick.ticks = ticks  # type: ignore[attr-defined]
    return ScriptedChatModel(policy=policy, chunk_size=4), tick


def test_a_paused_sync_stream_does_not_advance_during_another_run() -> None:
    model, tick = ticking(3)
    stream = zyx.run("tick three times", target=int, model=model, tools=[tick], stream=True)
    events = stream.events()
    next(events)
    ticks, calls = list(tick.ticks), len(model.calls)  # type: ignore[attr-defined]
    assert zyx.run("other", model=scripted(complete(summary="other"))).completion.summary == "other"  # type: ignore[union-attr]
    assert tick.ticks == ticks and len(model.calls) == calls  # type: ignore[attr-defined]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(finished) == 3 and stream.finish().output == 3
    assert nothing_left()


def test_two_paused_streams_advance_only_when_consumed() -> None:
    model_a, tick_a = ticking(2)
    model_b, tick_b = ticking(2)
    a = zyx.run("a", target=int, model=model_a, tools=[tick_a], stream=True)
    b = zyx.run("b", target=int, model=model_b, tools=[tick_b], stream=True)
    events_a = a.events()
    next(events_a)
    assert [type(e) for e in b.events()][-1].__name__ == "RunFinished"  # b runs to its end
    assert tick_b.ticks == [0, 1] and tick_a.ticks == [] and len(model_a.calls) <= 1  # type: ignore[attr-defined]
    assert b.finish().output == 2 and a.finish().output == 2
    assert nothing_left()


def test_a_stream_keeps_its_loop_until_it_ends_then_gives_it_back() -> None:
    model, tick = ticking(1)
    stream = zyx.run("x", target=int, model=model, tools=[tick], stream=True)
    loop = stream._loop
    assert loop in _aio._lent
    assert stream.finish().output == 1
    assert stream._loop is None and loop not in _aio._lent and nothing_left()
    again = zyx.run("y", target=int, model=ticking(0)[0], stream=True)
    assert again._loop is loop  # an idle loop is reused (model clients keep their pooled connections)
    assert again.finish().output == 0


# -- under a running loop ---------------------------------------------------------------------------

caller_var: contextvars.ContextVar[str] = contextvars.ContextVar("caller_var", default="unset")


async def test_a_sync_call_under_a_running_loop_runs_on_a_helper_thread_with_the_callers_context() -> None:
    """What a graph node invoked synchronously from async code gets (LangGraph's config is a context variable)."""
    caller_var.set("caller")

    async def read() -> tuple[str, str]:
        await asyncio.sleep(0)
        return caller_var.get(), threading.current_thread().name

    assert _aio.run_sync(read()) == ("caller", "zyx-sync")
    assert nothing_left()
