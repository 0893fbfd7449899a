"""Cancelling the task that awaits `zyx.arun()` cancels its tools and model call, and leaves nothing behind."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from helpers import turn

import zyx
import zyx._faults
from zyx.testing import ScriptedChatModel, call, calls, complete

events: list[str] = []


@pytest.fixture(autouse=True)
def clear_events() -> None:
    events.clear()


async def slow_search(query: str) -> str:
    """A search that takes a long time."""
    events.append(f"started {query}")
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        events.append(f"cancelled {query}")
        raise
    finally:
        events.append(f"finally {query}")
    return "late"


def quick(x: int) -> int:
    """A quick sync tool (runs in a worker thread)."""
    return x


async def settle() -> None:
    """Let cancelled tasks finish their handlers and worker threads wind down."""
    for _ in range(10):
        await asyncio.sleep(0.02)


async def warm_up() -> None:
    """One complete run first, so anything created once per event loop (its default executor) exists."""
    model = ScriptedChatModel(responses=[calls(call("quick", x=1), call("slow_search", query="w")), complete()])
    await zyx.arun("warm up", model=model, tools=[quick, slow_search], tool_timeout=0.01)
    events.clear()
    await settle()


async def cancel_after(started: Callable[[], bool], coro: Awaitable[Any], *, limit: float = 5.0) -> float:
    """Start `coro` as a task, cancel it once `started()` holds, and return how long the cancellation took."""
    task = asyncio.ensure_future(coro)
    deadline = time.perf_counter() + limit
    while not started():
        assert not task.done(), f"the run ended before it could be cancelled: {task.result()!r}"
        assert time.perf_counter() < deadline, "the run never reached the point to cancel at"
        await asyncio.sleep(0.01)
    task.cancel()
    began = time.perf_counter()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.perf_counter() - began


async def test_cancel_cancels_running_async_tools() -> None:
    await warm_up()
    tasks_before, threads_before = asyncio.all_tasks(), threading.active_count()
    model = ScriptedChatModel(policy=lambda m, t: calls(call("slow_search", query="a"), call("slow_search", query="b"))
                              if turn(m) == 0 else complete())
    run = zyx.arun("t", model=model, tools=[slow_search])
    took = await cancel_after(lambda: {"started a", "started b"} <= set(events), run)
    assert took < 1
    await settle()
    assert sorted(events) == ["cancelled a", "cancelled b", "finally a", "finally b", "started a", "started b"]
    assert len(model.calls) == 1  # the run did not go on after the cancellation
    assert asyncio.all_tasks() - tasks_before == set()
    assert threading.active_count() <= threads_before


async def test_cancel_cancels_the_model_call() -> None:
    await warm_up()
    tasks_before, threads_before = asyncio.all_tasks(), threading.active_count()
    model = ScriptedChatModel(policy=lambda m, t: complete(), latency=30)
    took = await cancel_after(lambda: len(model.calls) == 1, zyx.arun("t", model=model))
    assert took < 1  # not the model's 30 s latency
    await settle()
    assert asyncio.all_tasks() - tasks_before == set()
    assert threading.active_count() <= threads_before


async def test_cancel_reaches_an_async_policy() -> None:
    """The model call itself is cancelled, not merely abandoned: its coroutine sees CancelledError."""
    await warm_up()
    tasks_before = asyncio.all_tasks()

    async def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        events.append("model called")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append("model cancelled")
            raise
        return complete()

    model = ScriptedChatModel(policy=policy)
    await cancel_after(lambda: "model called" in events, zyx.arun("t", model=model))
    await settle()
    assert events == ["model called", "model cancelled"]
    assert asyncio.all_tasks() - tasks_before == set()


async def test_cancel_during_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zyx._faults, "BACKOFF_BASE", 30.0)
    monkeypatch.setattr(zyx._faults, "backoff", lambda attempt: 30.0)
    await warm_up()
    tasks_before = asyncio.all_tasks()
    model = ScriptedChatModel(responses=[TimeoutError("flaky"), complete()])
    took = await cancel_after(lambda: len(model.calls) == 1, zyx.arun("t", model=model))
    assert took < 1
    await settle()
    assert len(model.calls) == 1  # no retry after the cancellation
    assert asyncio.all_tasks() - tasks_before == set()


async def test_cancel_with_a_timeout_running_leaves_nothing_behind() -> None:
    """A run with `timeout` and `tool_timeout` set, cancelled from outside before either fires."""
    await warm_up()
    tasks_before, threads_before = asyncio.all_tasks(), threading.active_count()
    model = ScriptedChatModel(policy=lambda m, t: call("slow_search", query="a") if turn(m) == 0 else complete())
    run = zyx.arun("t", model=model, tools=[slow_search], timeout=20, tool_timeout=10)
    took = await cancel_after(lambda: "started a" in events, run)
    assert took < 1
    await settle()
    assert "cancelled a" in events
    assert asyncio.all_tasks() - tasks_before == set()
    assert threading.active_count() <= threads_before


async def test_outer_wait_for_timeout_cancels_the_run() -> None:
    await warm_up()
    tasks_before = asyncio.all_tasks()
    model = ScriptedChatModel(policy=lambda m, t: call("slow_search", query="w") if turn(m) == 0 else complete())
    began = time.perf_counter()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(zyx.arun("t", model=model, tools=[slow_search]), 0.3)
    assert time.perf_counter() - began < 1.5
    await settle()
    assert events == ["started w", "cancelled w", "finally w"]
    assert asyncio.all_tasks() - tasks_before == set()


async def test_a_cancelled_run_does_not_disturb_the_next_one() -> None:
    model = ScriptedChatModel(policy=lambda m, t: call("slow_search", query="x") if turn(m) == 0 else complete())
    await cancel_after(lambda: "started x" in events, zyx.arun("t", model=model, tools=[slow_search]))
    assert events == ["started x", "cancelled x", "finally x"]
    result = await zyx.arun("again", model=ScriptedChatModel(responses=[call("quick", x=2), complete()]),
                            tools=[quick, slow_search])
    assert result.termination == "completed"
    assert [r.output for r in result.tool_calls] == [2]
