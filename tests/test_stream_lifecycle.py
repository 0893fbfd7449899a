"""A stream's run is cancelled when the stream is abandoned, and nothing is left behind:
no asyncio tasks, no threads, no open event loops, no hang at interpreter exit."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, ToolMessage

import zyx
from zyx import RunError, _aio
from zyx.events import ToolCallStarted
from zyx.testing import ScriptedChatModel, call, complete

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["Run tests", "Build the image", "Deploy"]
log: list[str] = []


@pytest.fixture(autouse=True)
def clear_log() -> None:
    log.clear()


async def slow_build(target: str) -> str:
    """A build that takes a long time."""
    log.append("started")
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    return "built"


def sync_tool(x: int) -> int:
    """A plain function tool (runs in the loop's executor)."""
    return x + 1


def build_then_complete(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if not any(isinstance(m, ToolMessage) for m in messages):
        return call("slow_build", target="image")
    return complete(result=STEPS)


def tool_then_complete(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if not any(isinstance(m, ToolMessage) for m in messages):
        return call("sync_tool", x=1)
    return complete(result=STEPS)


class Dripping(ScriptedChatModel):
    """Streams a chunk every 10 ms and logs when its stream is cancelled or closed early."""

    async def _astream(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk
                await asyncio.sleep(0.01)
        except (asyncio.CancelledError, GeneratorExit):
            log.append("model stream cancelled")
            raise
        log.append("model stream done")


async def until_no_other_tasks() -> None:
    """Wait (by condition, with a wide margin) until only this test's task is left: LangChain's
    shielded callback tasks of a cancelled run finish a few loop turns after the run itself."""
    deadline = asyncio.get_running_loop().time() + 10
    while other_tasks() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.005)


async def until_started() -> None:
    for _ in range(500):
        if "started" in log:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the tool never started")


def other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


async def test_cancelling_the_consuming_task_cancels_the_run() -> None:
    model = ScriptedChatModel(policy=build_then_complete, chunk_size=3)
    stream = await zyx.arun("Build.", target=list[str], model=model, tools=[slow_build], stream=True)
    started = asyncio.Event()

    async def consume() -> None:
        async for event in stream.aevents():
            if isinstance(event, ToolCallStarted):
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    await until_started()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["started", "cancelled"]
    assert other_tasks() == set()
    with pytest.raises(RunError, match="closed before the run finished") as info:
        await stream.afinish()
    assert info.value.termination == "cancelled"
    assert len(model.calls) == 1


async def test_cancelling_afinish_cancels_the_run() -> None:
    model = ScriptedChatModel(policy=build_then_complete, chunk_size=3)
    stream = await zyx.arun("Build.", target=list[str], model=model, tools=[slow_build], stream=True)
    task = asyncio.create_task(stream.afinish())
    await until_started()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["started", "cancelled"] and other_tasks() == set()


async def test_aclose_of_the_iterator_cancels_the_run() -> None:
    model = ScriptedChatModel(policy=build_then_complete, chunk_size=3)
    stream = await zyx.arun("Build.", target=list[str], model=model, tools=[slow_build], stream=True)
    events = stream.aevents()
    async for event in events:
        if isinstance(event, ToolCallStarted):
            break
    await until_started()
    await events.aclose()  # type: ignore[attr-defined]
    assert log == ["started", "cancelled"] and other_tasks() == set()


async def test_async_with_cancels_on_exit() -> None:
    model = ScriptedChatModel(policy=build_then_complete, chunk_size=3)
    async with await zyx.arun("Build.", target=list[str], model=model, tools=[slow_build], stream=True) as stream:
        async for event in stream.aevents():
            if isinstance(event, ToolCallStarted):
                break
        await until_started()
    assert log == ["started", "cancelled"] and other_tasks() == set()


async def test_breaking_out_cancels_the_run_soon() -> None:
    """Without aclose, the abandoned iterator is finalized by the loop, which cancels the run."""
    model = ScriptedChatModel(policy=build_then_complete, chunk_size=3)
    stream = await zyx.arun("Build.", target=list[str], model=model, tools=[slow_build], stream=True)
    async for event in stream.aevents():
        if isinstance(event, ToolCallStarted):
            break
    for _ in range(500):
        await asyncio.sleep(0.01)
        if "cancelled" in log:
            break
    assert log == ["started", "cancelled"]
    await until_no_other_tasks()
    assert other_tasks() == set()


async def test_a_finished_stream_leaves_no_tasks() -> None:
    model = ScriptedChatModel(policy=tool_then_complete, chunk_size=3)
    stream = await zyx.arun("x", target=list[str], model=model, tools=[sync_tool], stream=True)
    async for _ in stream.apartial():
        pass
    assert (await stream.afinish()).output == STEPS
    assert other_tasks() == set()


async def test_an_unused_stream_runs_nothing() -> None:
    model = ScriptedChatModel(policy=tool_then_complete, chunk_size=3)
    stream = await zyx.arun("x", target=list[str], model=model, stream=True)
    await asyncio.sleep(0.01)
    assert model.calls == [] and other_tasks() == set()
    await stream.aclose()
    with pytest.raises(RunError):
        await stream.afinish()
    assert model.calls == []


# -- sync ---------------------------------------------------------------------------------------


def sync_slow_stream() -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(policy=build_then_complete, chunk_size=3)
    return zyx.run("Build.", target=list[str], model=model, tools=[slow_build], stream=True), model


@pytest.fixture
def threads() -> int:
    """The thread count once the pooled loop for sync calls has run a sync tool (its executor
    thread, shared with plain `run()` calls, exists from then on)."""
    model = ScriptedChatModel(policy=tool_then_complete, chunk_size=3)
    zyx.run("warm up", target=list[str], model=model, tools=[sync_tool])
    return threading.active_count()


def settled() -> bool:
    """Nothing left running: every loop for sync calls is back in the pool, with no task on it."""
    return not _aio._lent and all(asyncio.all_tasks(loop) == set() for loop in _aio._idle)


def test_sync_stream_needs_no_event_loop_and_leaves_no_thread_or_task(threads: int) -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    for _ in range(3):
        model = ScriptedChatModel(policy=tool_then_complete, chunk_size=3)
        stream = zyx.run("x", target=list[str], model=model, tools=[sync_tool], stream=True)
        seen = list(stream.partial())
        assert seen[-1] == STEPS
        assert settled()
        assert stream.finish().output == STEPS
    assert threading.active_count() == threads and settled()


def test_sync_stream_shares_the_loop_of_sync_runs() -> None:
    """Model clients pool connections per event loop: a sync stream reuses the loop a sync run gave back."""
    zyx.run("x", target=list[str], model=ScriptedChatModel(responses=[complete(result=STEPS)]))
    used = _aio._idle[-1]
    model = ScriptedChatModel(responses=[complete(result=STEPS)], chunk_size=3)
    stream = zyx.run("x", target=list[str], model=model, stream=True)
    assert stream._loop is used
    assert stream.finish().output == STEPS


def test_sync_finish_first_leaves_no_thread_or_task(threads: int) -> None:
    model = ScriptedChatModel(policy=tool_then_complete, chunk_size=3)
    stream = zyx.run("x", target=list[str], model=model, tools=[sync_tool], stream=True)
    assert stream.finish().output == STEPS
    assert settled() and threading.active_count() == threads


def test_sync_break_then_close_cancels_the_run(threads: int) -> None:
    stream, model = sync_slow_stream()
    for event in stream.events():
        if isinstance(event, ToolCallStarted):
            break
    stream.close()
    assert settled() and threading.active_count() == threads
    assert log in (["started", "cancelled"], [])  # the tool had started, or not yet: either way it is over
    with pytest.raises(RunError, match="closed"):
        stream.finish()
    zyx.run("x", target=list[str], model=ScriptedChatModel(responses=[complete(result=["y"])]))
    assert "started" not in log or log == ["started", "cancelled"]  # a later run on the loop does not revive it


def test_sync_break_out_of_partial_loop_cancels_the_model_stream(threads: int) -> None:
    """Breaking out of `for p in stream.partial()` closes the iterator, which cancels the run."""
    model = Dripping(responses=[complete(result=STEPS)], chunk_size=2)
    stream = zyx.run("x", target=list[str], model=model, stream=True)
    for p in stream.partial():
        if len(p) == 2:
            break
    assert log == ["model stream cancelled"]
    assert settled() and threading.active_count() == threads
    with pytest.raises(RunError, match="closed"):
        stream.finish()
    stream.close()  # idempotent


def test_sync_iterator_kept_then_close_cancels_the_model_stream(threads: int) -> None:
    model = Dripping(responses=[complete(result=STEPS)], chunk_size=2)
    stream = zyx.run("x", target=list[str], model=model, stream=True)
    partials = stream.partial()
    assert next(partials) is not None
    stream.close()
    assert log == ["model stream cancelled"]
    assert settled() and threading.active_count() == threads
    assert list(partials) == []


def test_sync_stream_to_the_end_finishes_the_model_stream() -> None:
    model = Dripping(responses=[complete(result=STEPS)], chunk_size=8)
    stream = zyx.run("x", target=list[str], model=model, stream=True)
    assert list(stream.partial())[-1] == STEPS
    assert log == ["model stream done"] and settled()


async def test_async_break_then_aclose_cancels_the_model_stream() -> None:
    model = Dripping(responses=[complete(result=STEPS)], chunk_size=2)
    stream = await zyx.arun("x", target=list[str], model=model, stream=True)
    async for p in stream.apartial():
        if len(p) == 2:
            break
    await stream.aclose()
    assert log == ["model stream cancelled"]
    await until_no_other_tasks()  # the abandoned iterator's own aclose(), scheduled by the loop's finalizer
    assert other_tasks() == set()


def test_sync_with_block_closes(threads: int) -> None:
    with sync_slow_stream()[0] as stream:
        for event in stream.events():
            if isinstance(event, ToolCallStarted):
                break
    assert settled() and threading.active_count() == threads


def test_sync_error_leaves_nothing_running(threads: int) -> None:
    model = ScriptedChatModel(policy=lambda m, t: complete(result=["x"]), chunk_size=3)
    stream = zyx.run("x", target=list[str], model=model, verifier=lambda c: "no", max_retries=0, stream=True)
    with pytest.raises(zyx.VerificationError):
        list(stream.partial())
    assert settled() and threading.active_count() == threads


def test_dropped_iterator_cancels_the_run(threads: int) -> None:
    model = Dripping(responses=[complete(result=STEPS)], chunk_size=2)
    stream = zyx.run("x", target=list[str], model=model, stream=True)
    events = stream.events()
    next(events)
    next(events)
    del events  # the iterator is finalized: the run is cancelled
    gc.collect()
    assert log == ["model stream cancelled"]
    assert settled() and threading.active_count() == threads


def test_configuration_error_leaves_nothing_running(threads: int) -> None:
    with pytest.raises(zyx.ConfigurationError):
        zyx.run("x", target=list[str], model=ScriptedChatModel(responses=[]), stream=True, max_retries=-1)
    assert settled() and threading.active_count() == threads


def test_interpreter_exits_promptly_with_an_abandoned_stream() -> None:
    script = textwrap.dedent("""
        import zyx
        from zyx.testing import ScriptedChatModel, complete
        model = ScriptedChatModel(responses=[complete(result=["a", "b"])], chunk_size=2)
        stream = zyx.run("x", target=list[str], model=model, stream=True)
        it = stream.partial()
        print(next(it))
        done = zyx.run("x", target=list[str], model=ScriptedChatModel(responses=[complete(result=["c"])]),
                       stream=True)
        for event in done.events():
            pass
        print("end")
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "end"] or proc.stdout.splitlines()[-1] == "end"
