"""zyx.batch / abatch: many runs, `concurrency` at a time; one entry per task, in order, failures as values."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

import zyx
from zyx.testing import ScriptedChatModel, complete


def _length_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """Completes with the length of the task text; a task saying 'fail' makes the model fail."""
    text = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage) and m.name != "zyx")
    if "fail" in text:
        raise PermissionError("model refused")
    return complete(summary=text, result=len(text))


def test_results_come_in_order_with_failures_as_values() -> None:
    model = ScriptedChatModel(policy=_length_policy)
    results = zyx.batch(["a", {"task": "bbb"}, "please fail", {"task": "cc", "context": "earlier"}], int,
                        model=model, concurrency=2)
    assert [r.output if isinstance(r, zyx.RunResult) else type(r) for r in results] == [1, 3, zyx.ModelError, 2]


async def test_abatch_keeps_to_its_concurrency() -> None:
    running, peak = 0, 0

    async def work() -> str:
        """Do some work."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return "ok"

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        from zyx.testing import call

        return complete(summary="done") if len(messages) > 2 else call("work")

    results = await zyx.abatch([f"task {i}" for i in range(12)], model=ScriptedChatModel(policy=policy),
                               tools=[work], concurrency=3)
    assert len(results) == 12 and all(isinstance(r, zyx.RunResult) for r in results)
    assert peak == 3


def test_bad_input_is_refused_before_any_run() -> None:
    model = ScriptedChatModel(policy=_length_policy)
    with pytest.raises(zyx.ConfigurationError, match=r"tasks\[1\].*'task'"):
        zyx.batch(["a", {"context": "no task"}], model=model)
    with pytest.raises(zyx.ConfigurationError, match=r"tasks\[0\].*unknown key 'tsk'"):
        zyx.batch([{"tsk": "a"}], model=model)
    with pytest.raises(zyx.ConfigurationError, match="per task"):
        zyx.batch(["a"], model=model, thread_id="t")
    with pytest.raises(zyx.ConfigurationError, match="concurrency"):
        zyx.batch(["a"], model=model, concurrency=0)
    with pytest.raises(zyx.ConfigurationError, match="tasks"):
        zyx.batch("a single string", model=model)
    with pytest.raises(zyx.ConfigurationError, match="stream"):
        zyx.batch(["a"], model=model, stream=True)  # type: ignore[call-arg]
    assert model.calls == []


def test_a_per_task_option_error_is_that_tasks_entry() -> None:
    results = zyx.batch(["a", {"task": "b", "attachments": "not a list"}], int,
                        model=ScriptedChatModel(policy=_length_policy))
    assert isinstance(results[0], zyx.RunResult) and isinstance(results[1], zyx.ConfigurationError)


def test_with_a_checkpointer_a_batch_run_again_does_not_run_finished_tasks() -> None:
    saver, model = InMemorySaver(), ScriptedChatModel(policy=_length_policy)
    first = zyx.batch(["a", "bb", {"task": "ccc", "thread_id": "mine"}], int, model=model, checkpointer=saver)
    calls = len(model.calls)
    again = zyx.batch(["a", "bb", {"task": "ccc", "thread_id": "mine"}], int, model=model, checkpointer=saver)
    assert [r.output for r in again] == [r.output for r in first] == [1, 2, 3]  # type: ignore[union-attr]
    assert len(model.calls) == calls  # nothing ran again
    assert saver.get_tuple({"configurable": {"thread_id": "mine"}}) is not None
    assert saver.get_tuple({"configurable": {"thread_id": "task-1"}}) is not None


def test_batch_inside_an_event_loop_says_to_await_abatch() -> None:
    async def inside() -> None:
        with pytest.raises(RuntimeError, match="abatch"):
            zyx.batch(["a"], model=ScriptedChatModel(policy=_length_policy))

    asyncio.run(inside())
