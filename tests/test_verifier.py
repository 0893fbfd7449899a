"""Verifier and final_answer_checks: signatures, outcomes, order, retries and what the model sees."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from helpers import assert_valid_history, scripted, tool_messages
from langchain_core.messages import ToolMessage

import zyx
import zyx._aio
from zyx import RunCompletion, RunTask, RunVerificationContext, VerificationError
from zyx.testing import call, complete


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _answer_run(check: Any, *, answers: tuple[int, ...] = (5, 4), **options: Any) -> Any:
    """The model answers `answers` in turn; returns (result or error, model)."""
    model = scripted(*(complete(summary=f"answer {a}", result=a) for a in answers))
    try:
        return zyx.run("What is 2 + 2?", target=int, model=model, verifier=check, **options), model
    except VerificationError as exc:
        return exc, model


def is_four(completion: RunCompletion[int]) -> bool:
    return completion.result == 4


async def ais_four(completion: RunCompletion[int]) -> bool:
    await asyncio.sleep(0)
    return completion.result == 4


def is_four_ctx(completion: RunCompletion[int], ctx: RunVerificationContext[int]) -> bool:
    return completion.result == 4


async def ais_four_ctx(completion: RunCompletion[int], ctx: RunVerificationContext[int]) -> bool:
    await asyncio.sleep(0)
    return completion.result == 4


@pytest.mark.parametrize("check", [is_four, ais_four, is_four_ctx, ais_four_ctx],
                         ids=["sync-1", "async-1", "sync-2", "async-2"])
def test_check_signatures_reject_then_accept(check: Any) -> None:
    result, model = _answer_run(check)
    assert result.output == 4
    assert result.verified is True
    assert len(model.calls) == 2
    rejection = tool_messages(result.messages)[0]
    assert rejection.status == "error"
    assert rejection.tool_call_id == result.messages[1].tool_calls[0]["id"]
    assert check.__name__ in rejection.content  # generic "returned False" message names the check
    assert model.calls[1].messages[-1] == rejection
    assert_valid_history(result.messages)


def test_context_holds_the_run_so_far() -> None:
    seen: list[RunVerificationContext[Any]] = []

    def check(completion: RunCompletion[Any], ctx: RunVerificationContext[Any]) -> bool:
        seen.append(ctx)
        return len(seen) > 1

    model = scripted(call("add", a=2, b=2), complete(summary="first", result=4), complete(summary="second", result=4))
    result = zyx.run("What is 2 + 2?", target=int, tools=[add], model=model, verifier=check)
    assert result.output == 4
    first, second = seen
    assert first.task == RunTask(goal="What is 2 + 2?", target=int)
    assert first.completion == RunCompletion(status="success", summary="first", result=4)
    assert second.completion.summary == "second"
    assert [(r.name, r.args, r.output) for r in first.tool_calls] == [("add", {"a": 2, "b": 2}, 4)]
    assert (first.attempt, second.attempt) == (1, 2)
    # the messages up to and including the complete_task call being checked
    assert first.messages[0].content == "What is 2 + 2?"
    assert first.messages[-1].tool_calls[0]["name"] == "complete_task"
    assert len(second.messages) == len(first.messages) + 2


@pytest.mark.parametrize("outcome", [True, None])
def test_true_or_none_passes(outcome: Any) -> None:
    result, model = _answer_run(lambda c: outcome, answers=(5,))
    assert result.output == 5 and result.verified is True
    assert len(model.calls) == 1


def test_string_fails_with_that_message() -> None:
    def check(completion: RunCompletion[int]) -> str | None:
        return None if completion.result == 4 else f"{completion.result} is not 2 + 2"

    result, _ = _answer_run(check)
    rejection = tool_messages(result.messages)[0]
    assert "5 is not 2 + 2" in rejection.content
    assert result.output == 4


def test_raising_fails_with_the_exception_text() -> None:
    def check(completion: RunCompletion[int]) -> None:
        if completion.result != 4:
            raise ValueError("arithmetic is off by one")

    result, _ = _answer_run(check)
    rejection = tool_messages(result.messages)[0]
    assert "arithmetic is off by one" in rejection.content
    assert result.output == 4


def test_false_fails_with_generic_message() -> None:
    def never(completion: RunCompletion[int]) -> bool:
        return False

    err, model = _answer_run(never, answers=(3, 4, 5))
    assert isinstance(err, VerificationError)
    assert len(model.calls) == 3  # max_retries defaults to 2
    rejection = tool_messages(err.messages)[0]
    assert "never" in rejection.content and "False" in rejection.content


def test_checks_run_in_order_verifier_first() -> None:
    order: list[str] = []

    def verifier(c: RunCompletion[int]) -> bool:
        order.append("verifier")
        return True

    def first(c: RunCompletion[int]) -> bool:
        order.append("first")
        return True

    async def second(c: RunCompletion[int], ctx: RunVerificationContext[int]) -> bool:
        order.append("second")
        return True

    result, _ = _answer_run(verifier, answers=(4,), final_answer_checks=[first, second])
    assert order == ["verifier", "first", "second"]
    assert result.verified is True


def test_final_answer_checks_alone_reject_then_accept() -> None:
    def positive(c: RunCompletion[int]) -> str | None:
        return None if c.result and c.result > 0 else "must be positive"

    model = scripted(complete(result=-1), complete(result=3))
    result = zyx.run("n", target=int, model=model, final_answer_checks=[positive])
    assert result.output == 3
    assert result.verified is True
    assert "must be positive" in tool_messages(result.messages)[0].content


def test_every_failure_is_reported_together() -> None:
    model = scripted(complete(result=1), complete(result=2))
    result = zyx.run("n", target=int, model=model, verifier=lambda c: c.result == 2 or "verifier says no",
                     final_answer_checks=[lambda c: c.result == 2 or "check says no"])
    rejection = tool_messages(result.messages)[0]
    assert "verifier says no" in rejection.content and "check says no" in rejection.content


def test_exhausting_retries_raises_with_last_completion() -> None:
    model = scripted(*(complete(summary=f"attempt {i}", result=i) for i in range(3)))
    with pytest.raises(VerificationError) as info:
        zyx.run("n", target=int, model=model, max_retries=2,
                verifier=lambda c: f"{c.result} rejected")
    err = info.value
    assert len(model.calls) == 3
    assert err.completion == RunCompletion(status="success", summary="attempt 2", result=2)
    assert err.errors == ["2 rejected"]
    assert "2 rejected" in str(err)
    rejections = tool_messages(err.messages)
    assert [m.content.count("rejected") >= 1 for m in rejections] == [True, True, True]
    assert all(m.status == "error" for m in rejections)
    assert_valid_history(err.messages)


def test_zero_retries_fails_on_first_rejection() -> None:
    model = scripted(complete(result=1))
    with pytest.raises(VerificationError) as info:
        zyx.run("n", target=int, model=model, max_retries=0, verifier=lambda c: False)
    assert len(model.calls) == 1
    assert info.value.completion is not None and info.value.completion.result == 1


def test_verified_is_none_without_checks_true_with() -> None:
    plain = zyx.run("n", target=int, model=scripted(complete(result=1)))
    assert plain.verified is None
    checked = zyx.run("n", target=int, model=scripted(complete(result=1)), verifier=lambda c: True)
    assert checked.verified is True
    assert checked.verification_error is None


def test_verifier_sees_validated_target_instance() -> None:
    from pydantic import BaseModel

    class Point(BaseModel):
        x: int
        y: int

    seen: list[Any] = []
    zyx.run("p", target=Point, model=scripted(complete(result={"x": "1", "y": 2})),
            verifier=lambda c: seen.append(c.result))
    assert seen == [Point(x=1, y=2)]
    assert isinstance(seen[0], Point)


def test_invalid_result_never_reaches_the_verifier() -> None:
    seen: list[Any] = []
    model = scripted(complete(result="not a number"), complete(result=3))
    result = zyx.run("n", target=int, model=model, verifier=lambda c: seen.append(c.result))
    assert seen == [3]
    assert result.output == 3
    assert isinstance(result.messages[2], ToolMessage) and result.messages[2].status == "error"


# -- checks run inside the run's timeout ----------------------------------------------------------


def test_a_hanging_async_verifier_ends_the_run_at_its_timeout() -> None:
    seen: list[str] = []

    async def hangs(completion: RunCompletion[int]) -> bool:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return True

    model = scripted(complete(result=4))
    began = time.monotonic()
    with pytest.raises(zyx.RunTimeoutError) as info:
        zyx.run("What is 2 + 2?", target=int, model=model, verifier=hangs, timeout=0.3)
    assert time.monotonic() - began < 10 and seen == ["cancelled"]
    assert info.value.termination == "timeout" and info.value.completion is not None
    assert info.value.completion.result == 4
    assert_valid_history(info.value.messages)  # the complete_task call is answered
    assert "timeout" in tool_messages(info.value.messages)[-1].content


def test_a_blocking_sync_verifier_runs_off_the_loop_and_ends_the_run_at_its_timeout() -> None:
    release = threading.Event()
    loop_threads: list[bool] = []

    def blocks(completion: RunCompletion[int]) -> bool:
        loop_threads.append(zyx._aio.in_running_loop())
        release.wait(30)  # a verifier that blocks (time.sleep, a slow request)
        return True

    try:
        began = time.monotonic()
        with pytest.raises(zyx.RunTimeoutError):
            zyx.run("What is 2 + 2?", target=int, model=scripted(complete(result=4)), verifier=blocks,
                    final_answer_checks=[is_four], timeout=0.3)
        assert time.monotonic() - began < 10 and loop_threads == [False]
    finally:
        release.set()


async def test_checks_within_the_timeout_pass_as_before() -> None:
    def slow_sync(completion: RunCompletion[int]) -> bool:
        time.sleep(0.01)
        return completion.result == 4

    result = await zyx.arun("What is 2 + 2?", target=int, model=scripted(complete(result=4)), verifier=slow_sync,
                            final_answer_checks=[ais_four], timeout=30)
    assert result.verified is True and result.output == 4
