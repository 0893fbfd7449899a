"""Limits in the units users mean, each checked before the work it would exceed, each with a wrap-up turn.

Every limit (max_steps, max_model_calls, tool_limits, max_tokens_total, timeout) works the same way:
once reached, the model gets one last turn with only `complete_task` bound. If it completes, the run
returns with `termination` naming the limit; if not, the run raises (MaxStepsExceededError,
RunTimeoutError, LimitExceededError), or returns a skipped completion with require_completion=False.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from helpers import assert_valid_history, nudges, tool_messages
from langchain_core.messages import AIMessage
from pydantic import BaseModel

import zyx
from zyx import (
    LimitExceededError,
    MaxStepsExceededError,
    ModelError,
    RunError,
    RunResult,
    RunTimeoutError,
    TaskNotCompletedError,
    VerificationError,
)
from zyx.graph.limits import WRAP_UP_GRACE_MAX
from zyx.testing import ScriptedChatModel, call, calls, complete, text

WRAP_UP_TOOLS = ["complete_task"]
TERMINATIONS = {"completed", "max_steps", "max_model_calls", "tool_limit", "max_tokens", "timeout", "no_completion"}


# -- tools -------------------------------------------------------------------------------------------


def search(query: str) -> str:
    """Search the web."""
    return f"results for {query}"


def fetch(url: str) -> str:
    """Fetch a page."""
    return f"page {url}"


class Answer(BaseModel):
    n: int


def wrapped_up(model: ScriptedChatModel) -> bool:
    """Whether the model's last call was a wrap-up turn: only `complete_task` bound."""
    return model.calls[-1].tools == WRAP_UP_TOOLS


def tool_phase(model_tools: list[dict[str, Any]]) -> bool:
    """Whether more than `complete_task` is bound (i.e. this is not a wrap-up turn)."""
    return len(model_tools) > 1


def keep_searching(*, then: Any = None) -> ScriptedChatModel:
    """A model that calls `search` whenever it may, and answers `then` (default: a completion) in a wrap-up."""
    counter = iter(range(10_000))

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if tool_phase(tools):
            return call("search", query=f"q{next(counter)}")
        return complete(summary="partial") if then is None else then

    return ScriptedChatModel(policy=policy)


def run_limited(model: ScriptedChatModel, **options: Any) -> RunResult[Any]:
    options.setdefault("tools", [search, fetch])
    return zyx.run("Research the topic.", model=model, **options)


# -- max_steps ---------------------------------------------------------------------------------------


def test_max_steps_counts_tool_calls_and_wraps_up() -> None:
    model = keep_searching()
    result = run_limited(model, max_steps=3)
    assert result.termination == "max_steps"
    assert result.completion is not None and result.completion.summary == "partial"
    assert [r.name for r in result.tool_calls] == ["search"] * 3
    # three tool turns, then the wrap-up turn with only complete_task bound
    assert len(model.calls) == 4
    assert all(c.tools == ["search", "fetch", "complete_task"] for c in model.calls[:3])
    assert wrapped_up(model)
    assert len(nudges(result.messages)) == 1 and "max_steps" in nudges(result.messages)[0].content
    assert_valid_history(result.messages)


def test_max_steps_wrap_up_without_completion_raises() -> None:
    model = keep_searching(then=text("I give up"))
    with pytest.raises(MaxStepsExceededError) as info:
        run_limited(model, max_steps=2)
    err = info.value
    assert err.termination == "max_steps"
    assert len(err.tool_calls) == 2
    assert wrapped_up(model) and len(model.calls) == 3
    assert isinstance(err.messages[-1], AIMessage) and err.messages[-1].content == "I give up"


def test_max_steps_wrap_up_without_completion_is_skipped_when_not_required() -> None:
    model = keep_searching(then=text("I give up"))
    result = run_limited(model, max_steps=2, require_completion=False)
    assert result.termination == "max_steps"
    assert result.completion is not None and result.completion.status == "skipped"
    assert len(result.tool_calls) == 2


def test_max_steps_is_checked_before_parallel_calls_run() -> None:
    """A turn asking for more calls than the budget holds runs only what fits; the rest are refused."""
    model = ScriptedChatModel(policy=lambda m, tools: calls(*(call("search", query=str(i)) for i in range(5)))
                              if tool_phase(tools) else complete())
    result = run_limited(model, max_steps=2)
    assert len(result.tool_calls) == 2
    refused = [m for m in tool_messages(result.messages) if m.status == "error"]
    assert len(refused) == 3 and all("max_steps" in m.content for m in refused)
    assert result.termination == "max_steps"
    assert wrapped_up(model) and len(model.calls) == 2
    assert_valid_history(result.messages)


def test_max_steps_zero_never_runs_a_tool() -> None:
    ran: list[str] = []

    def probe(x: int) -> int:
        """Probe."""
        ran.append("probe")
        return x

    # the model ignores the bound tools and calls one anyway
    model = ScriptedChatModel(responses=[call("probe", x=1), complete()])
    result = zyx.run("t", model=model, tools=[probe], max_steps=0)
    assert ran == [] and result.tool_calls == []
    assert all(c.tools == WRAP_UP_TOOLS for c in model.calls)
    assert result.termination == "max_steps"


def test_max_steps_reached_exactly_by_last_call_still_wraps_up() -> None:
    model = ScriptedChatModel(policy=lambda m, tools: calls(call("search", query="a"), call("fetch", url="b"))
                              if tool_phase(tools) else complete())
    result = run_limited(model, max_steps=2)
    assert [r.name for r in result.tool_calls] == ["search", "fetch"]
    assert not any(m.status == "error" for m in tool_messages(result.messages))
    assert result.termination == "max_steps" and wrapped_up(model)


def test_completion_before_any_limit_is_completed() -> None:
    model = ScriptedChatModel(responses=[call("search", query="a"), complete()])
    result = run_limited(model, max_steps=5, max_model_calls=5, tool_limits={"search": 1}, max_tokens_total=10**6,
                         timeout=30)
    assert result.termination == "completed"
    assert model.calls[-1].tools == ["search", "fetch", "complete_task"]


# -- tool_limits -------------------------------------------------------------------------------------


def test_tool_limit_caps_one_tool() -> None:
    model = keep_searching()
    result = run_limited(model, tool_limits={"search": 3})
    assert [r.name for r in result.tool_calls] == ["search"] * 3  # never more often than its cap
    assert result.termination == "tool_limit"
    # the 4th search was refused (answered, not run), then came the wrap-up turn
    refused = [m for m in tool_messages(result.messages) if m.status == "error"]
    assert len(refused) == 1 and "search" in refused[0].content
    assert wrapped_up(model) and len(model.calls) == 5
    assert_valid_history(result.messages)


def test_tool_limit_is_checked_before_parallel_calls_run() -> None:
    model = ScriptedChatModel(policy=lambda m, tools: calls(*(call("search", query=str(i)) for i in range(4)),
                                                            call("fetch", url="u")) if tool_phase(tools) else complete())
    result = run_limited(model, tool_limits={"search": 2})
    assert sorted(r.name for r in result.tool_calls) == ["fetch", "search", "search"]
    assert result.termination == "tool_limit"
    assert wrapped_up(model) and len(model.calls) == 2


def test_tool_limit_leaves_other_tools_alone() -> None:
    replies = [call("search", query="a"), call("fetch", url="1"), call("fetch", url="2"), call("fetch", url="3"),
               complete()]
    model = ScriptedChatModel(responses=replies)
    result = run_limited(model, tool_limits={"search": 1})
    assert result.termination == "completed"
    assert len(result.tool_calls) == 4


def test_tool_limit_zero_never_runs_that_tool() -> None:
    model = keep_searching()
    result = run_limited(model, tool_limits={"search": 0})
    assert result.tool_calls == []
    assert result.termination == "tool_limit" and wrapped_up(model)


def test_tool_limit_wrap_up_without_completion_raises_limit_exceeded() -> None:
    model = keep_searching(then=text("no"))
    with pytest.raises(LimitExceededError) as info:
        run_limited(model, tool_limits={"search": 2})
    assert not isinstance(info.value, MaxStepsExceededError)
    assert info.value.termination == "tool_limit"
    assert len(info.value.tool_calls) == 2


# -- max_model_calls ---------------------------------------------------------------------------------


def test_max_model_calls_last_call_is_the_wrap_up() -> None:
    model = keep_searching()
    result = run_limited(model, max_model_calls=3)
    assert len(model.calls) == 3
    assert result.termination == "max_model_calls"
    assert wrapped_up(model)
    assert len(result.tool_calls) == 2


def test_max_model_calls_one_is_a_single_wrap_up_call() -> None:
    model = keep_searching()
    result = run_limited(model, max_model_calls=1)
    assert len(model.calls) == 1 and wrapped_up(model)
    assert result.termination == "max_model_calls"


def test_max_model_calls_wrap_up_without_completion_raises() -> None:
    model = keep_searching(then=text("no"))
    with pytest.raises(LimitExceededError) as info:
        run_limited(model, max_model_calls=2)
    assert info.value.termination == "max_model_calls"
    assert len(model.calls) == 2


def test_max_model_calls_text_turns_count_too() -> None:
    """Nudged plain-text turns are model calls: they count towards max_model_calls."""
    model = ScriptedChatModel(policy=lambda m, tools: text("thinking...") if tool_phase(tools) else complete())
    result = run_limited(model, max_model_calls=3, max_retries=10)
    assert len(model.calls) == 3 and wrapped_up(model)
    assert result.termination == "max_model_calls"


def test_max_model_calls_skipped_when_not_required() -> None:
    model = keep_searching(then=text("no"))
    result = run_limited(model, max_model_calls=2, require_completion=False)
    assert result.termination == "max_model_calls"
    assert result.completion is not None and result.completion.status == "skipped"


def test_max_model_calls_never_exceeded_even_when_the_wrap_up_completion_is_invalid() -> None:
    counter = iter(range(100))

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if tool_phase(tools):
            return call("search", query="a")
        return complete(result={"n": f"not a number {next(counter)}"})  # invalid, and never the same twice

    model = ScriptedChatModel(policy=policy)
    with pytest.raises((LimitExceededError, VerificationError)) as info:
        zyx.run("t", Answer, model=model, tools=[search], max_model_calls=2, max_retries=3)
    assert info.value.termination == "max_model_calls"
    assert len(model.calls) <= 2


# -- max_tokens_total --------------------------------------------------------------------------------


def costly(reply: Any, tokens: int = 100) -> AIMessage:
    """A reply with a fixed token usage."""
    if isinstance(reply, dict):
        message = AIMessage(content="", tool_calls=[{**reply, "id": None}])
    else:
        message = AIMessage(content=reply)
    message.usage_metadata = {"input_tokens": tokens - 10, "output_tokens": 10, "total_tokens": tokens}
    return message


def token_model(then: Any = None) -> ScriptedChatModel:
    counter = iter(range(10_000))

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if tool_phase(tools):
            return costly(call("search", query=str(next(counter))))
        return costly(complete() if then is None else then)

    return ScriptedChatModel(policy=policy)


def test_max_tokens_total_call_likely_to_cross_becomes_the_wrap_up() -> None:
    model = token_model()
    result = run_limited(model, max_tokens_total=250)
    # 0+0 < 250 -> call 1; 100+100 < 250 -> call 2; 200+100 >= 250 -> call 3 is the wrap-up
    assert len(model.calls) == 3 and wrapped_up(model)
    assert result.termination == "max_tokens"
    assert result.usage["total_tokens"] == 300
    assert len(result.tool_calls) == 2


def test_max_tokens_total_first_call_is_a_normal_one() -> None:
    model = token_model()
    result = run_limited(model, max_tokens_total=1)
    assert model.calls[0].tools == ["search", "fetch", "complete_task"]
    assert len(model.calls) == 2 and wrapped_up(model)
    assert result.termination == "max_tokens"


def test_max_tokens_total_wrap_up_without_completion_raises() -> None:
    model = token_model(then="no")
    with pytest.raises(LimitExceededError) as info:
        run_limited(model, max_tokens_total=250)
    err = info.value
    assert err.termination == "max_tokens"
    assert err.usage["total_tokens"] == 300
    assert len(err.tool_calls) == 2


# -- timeout -----------------------------------------------------------------------------------------


async def hang(seconds: float) -> str:
    """Wait a while."""
    await asyncio.sleep(seconds)
    return "finished"


def test_timeout_cuts_a_running_tool_and_wraps_up() -> None:
    model = ScriptedChatModel(policy=lambda m, tools: call("hang", seconds=30) if tool_phase(tools) else complete())
    started = time.perf_counter()
    result = zyx.run("t", model=model, tools=[hang], timeout=0.5)
    elapsed = time.perf_counter() - started
    assert elapsed < 3
    assert result.termination == "timeout"
    assert wrapped_up(model) and len(model.calls) == 2
    (record,) = result.tool_calls
    assert record.error is not None and "timeout" in record.error
    assert_valid_history(result.messages)


def slow_first_call(first: float, then: float, wrap_up_reply: Any = None) -> ScriptedChatModel:
    async def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if tool_phase(tools):
            await asyncio.sleep(first)
            return call("hang", seconds=0)
        await asyncio.sleep(then)
        return complete() if wrap_up_reply is None else wrap_up_reply

    return ScriptedChatModel(policy=policy)


def test_timeout_cuts_a_slow_model_call_and_the_wrap_up_gets_grace() -> None:
    timeout = 0.5
    grace = min(WRAP_UP_GRACE_MAX, timeout / 5)
    model = slow_first_call(first=30, then=grace / 4)
    started = time.perf_counter()
    result = zyx.run("t", model=model, tools=[hang], timeout=timeout)
    elapsed = time.perf_counter() - started
    assert result.termination == "timeout"
    assert len(model.calls) == 2 and wrapped_up(model)
    assert timeout <= elapsed < timeout + grace + 1


def test_timeout_wrap_up_longer_than_grace_raises() -> None:
    timeout = 0.5
    model = slow_first_call(first=30, then=30)
    started = time.perf_counter()
    with pytest.raises(RunTimeoutError) as info:
        zyx.run("t", model=model, tools=[hang], timeout=timeout)
    elapsed = time.perf_counter() - started
    assert elapsed < timeout + min(WRAP_UP_GRACE_MAX, timeout / 5) + 1
    assert info.value.termination == "timeout"
    assert len(model.calls) == 2 and wrapped_up(model)


def test_timeout_wrap_up_without_completion_raises_run_timeout() -> None:
    model = ScriptedChatModel(policy=lambda m, tools: call("hang", seconds=30) if tool_phase(tools) else text("no"))
    with pytest.raises(RunTimeoutError) as info:
        zyx.run("t", model=model, tools=[hang], timeout=0.3)
    err = info.value
    assert err.termination == "timeout"
    assert len(err.tool_calls) == 1 and err.tool_calls[0].error is not None


def test_timeout_skipped_when_not_required() -> None:
    model = ScriptedChatModel(policy=lambda m, tools: call("hang", seconds=30) if tool_phase(tools) else text("no"))
    result = zyx.run("t", model=model, tools=[hang], timeout=0.3, require_completion=False)
    assert result.termination == "timeout"
    assert result.completion is not None and result.completion.status == "skipped"


# -- tool_timeout ------------------------------------------------------------------------------------


def test_tool_timeout_is_an_error_result_and_cancels_the_tool() -> None:
    events: list[str] = []

    async def stuck(x: int) -> str:
        """Never returns in time."""
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        finally:
            events.append("finally")
        return "late"

    model = ScriptedChatModel(responses=[call("stuck", x=1), complete()])
    started = time.perf_counter()
    result = zyx.run("t", model=model, tools=[stuck], tool_timeout=0.2)
    assert time.perf_counter() - started < 3
    assert events == ["cancelled", "finally"]
    assert result.termination == "completed"  # a timed-out call is feedback, not the end of the run
    (record,) = result.tool_calls
    assert not record.ok and "0.2" in (record.error or "")
    (answer,) = tool_messages(model.calls[1].messages)
    assert answer.status == "error" and answer.tool_call_id == record.id and "cancelled" in answer.content


def test_tool_timeout_applies_per_call_not_per_turn() -> None:
    async def quick(seconds: float) -> str:
        """Quick enough."""
        await asyncio.sleep(seconds)
        return "ok"

    model = ScriptedChatModel(responses=[calls(call("quick", seconds=0.05), call("quick", seconds=5)), complete()])
    result = zyx.run("t", model=model, tools=[quick], tool_timeout=0.5)
    assert [r.ok for r in result.tool_calls] == [True, False]


# -- what every failed run carries -------------------------------------------------------------------


def _text_forever() -> Any:
    return ScriptedChatModel(policy=lambda m, t: text("just text"))


def _invalid_forever() -> Any:
    counter = iter(range(100))
    return ScriptedChatModel(policy=lambda m, t: complete(result={"n": f"x{next(counter)}"}))


def _broken_model() -> Any:
    class AuthenticationError(Exception):
        status_code = 401

    return ScriptedChatModel(responses=[call("search", query="a"), AuthenticationError("bad key")])


FAILURES = {
    "not_completed": (_text_forever, {}, TaskNotCompletedError, "no_completion"),
    "verification": (_invalid_forever, {"target": Answer}, VerificationError, "no_completion"),
    "max_steps": (lambda: keep_searching(then=text("no")), {"max_steps": 1}, MaxStepsExceededError, "max_steps"),
    "max_model_calls": (lambda: keep_searching(then=text("no")), {"max_model_calls": 2}, LimitExceededError,
                        "max_model_calls"),
    "tool_limit": (lambda: keep_searching(then=text("no")), {"tool_limits": {"search": 1}}, LimitExceededError,
                   "tool_limit"),
    "max_tokens": (lambda: token_model(then="no"), {"max_tokens_total": 150}, LimitExceededError, "max_tokens"),
    "timeout": (lambda: ScriptedChatModel(policy=lambda m, t: call("hang", seconds=30) if tool_phase(t) else "no"),
                {"timeout": 0.3}, RunTimeoutError, "timeout"),
    "model": (_broken_model, {}, ModelError, "no_completion"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_errors_carry_termination_and_history(case: str) -> None:
    make_model, options, error_type, termination = FAILURES[case]
    options = dict(options)
    target = options.pop("target", None)
    with pytest.raises(error_type) as info:
        zyx.run("Research the topic.", target, model=make_model(), tools=[search, fetch, hang], max_retries=1,
                **options)
    err = info.value
    assert isinstance(err, RunError) and isinstance(err, zyx.ZyxError)
    assert err.termination == termination and err.termination in TERMINATIONS
    assert err.messages and err.messages[0].content == "Research the topic."
    assert any(isinstance(m, AIMessage) for m in err.messages)
    assert isinstance(err.tool_calls, list)
    assert err.usage.get("total_tokens", 0) > 0
    if case in ("max_steps", "max_model_calls", "tool_limit", "max_tokens", "timeout", "model"):
        assert len(err.tool_calls) >= 1 and err.tool_calls[0].name in ("search", "hang")
    if case == "verification":
        assert err.completion is not None
        assert err.completion.result == {"n": "x1"}  # the last rejected completion, as the model sent it
        assert err.errors and "n" in err.errors[-1]
    else:
        assert err.completion is None


def test_error_history_is_a_valid_conversation() -> None:
    for make_model, options, error_type, _ in FAILURES.values():
        options = dict(options)
        target = options.pop("target", None)
        with pytest.raises(error_type) as info:
            zyx.run("t", target, model=make_model(), tools=[search, fetch, hang], max_retries=1, **options)
        assert_valid_history(info.value.messages)


def test_result_termination_is_always_a_known_value() -> None:
    results = [
        run_limited(ScriptedChatModel(responses=[complete()])),
        run_limited(keep_searching(), max_steps=1),
        run_limited(keep_searching(), max_model_calls=2),
        run_limited(keep_searching(), tool_limits={"search": 1}),
        run_limited(token_model(), max_tokens_total=150),
        run_limited(ScriptedChatModel(responses=["plain text"]), require_completion=False),
    ]
    assert [r.termination for r in results] == [
        "completed", "max_steps", "max_model_calls", "tool_limit", "max_tokens", "no_completion"]
