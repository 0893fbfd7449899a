"""Faults: a flaky model is retried, a broken one fails fast, malformed output and failing tools are feedback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from helpers import answers, assert_valid_history, nudges, tool_messages
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

import zyx
import zyx._faults
from zyx import ModelError, TaskNotCompletedError, VerificationError
from zyx.testing import ScriptedChatModel, call, calls, complete, text


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zyx._faults, "BACKOFF_BASE", 0.001)


def search(query: str) -> str:
    """Search the web."""
    return f"results for {query}"


class Answer(BaseModel):
    n: int


# -- model errors ------------------------------------------------------------------------------------


class StatusError(Exception):
    """An SDK error with an HTTP status, like openai.APIStatusError."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class ResponseError(Exception):
    """An SDK error whose status sits on its response, like httpx.HTTPStatusError."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.response = type("Response", (), {"status_code": status_code})()


def named(name: str) -> type[Exception]:
    """An exception class named like a provider SDK's (no status code)."""
    return type(name, (Exception,), {})


TRANSIENT = [
    StatusError(429), StatusError(500), StatusError(503), ResponseError(429), ResponseError(503),
    named("RateLimitError")("slow down"), named("APITimeoutError")("timed out"),
    named("APIConnectionError")("connection reset"), TimeoutError("read timed out"),
    ConnectionError("connection refused"), ConnectionResetError("reset by peer"),
]
PERMANENT = [
    StatusError(401), StatusError(400), ResponseError(401), named("AuthenticationError")("bad key"),
    ValueError("bad request"), KeyError("missing"), RuntimeError("boom"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: f"{type(e).__name__}-{e}")
def test_transient_model_errors_are_retried(error: Exception) -> None:
    model = ScriptedChatModel(responses=[call("search", query="a"), error, complete(summary="ok")])
    result = zyx.run("t", model=model, tools=[search])
    assert result.termination == "completed" and result.completion is not None
    assert result.completion.summary == "ok"
    assert len(model.calls) == 3
    # the retry sees the same conversation; the failed attempt leaves no trace in the history
    assert model.calls[2].messages == model.calls[1].messages
    assert_valid_history(result.messages)


def test_transient_errors_several_in_a_row_within_the_attempts() -> None:
    replies = [StatusError(503)] * (zyx._faults.MODEL_ATTEMPTS - 1) + [complete()]
    model = ScriptedChatModel(responses=replies)
    assert zyx.run("t", model=model).termination == "completed"
    assert len(model.calls) == zyx._faults.MODEL_ATTEMPTS


def test_transient_retries_exhausted_raise_model_error() -> None:
    model = ScriptedChatModel(policy=lambda m, t: StatusError(429))
    with pytest.raises(ModelError) as info:
        zyx.run("t", model=model)
    err = info.value
    assert len(model.calls) == zyx._faults.MODEL_ATTEMPTS  # bounded
    assert f"{zyx._faults.MODEL_ATTEMPTS} attempts" in str(err)
    assert isinstance(err.__cause__, StatusError)
    assert err.model == "scripted" and "scripted" in str(err)


def test_retries_back_off_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[int] = []
    monkeypatch.setattr(zyx._faults, "backoff", lambda attempt: waits.append(attempt) or 0.0)
    model = ScriptedChatModel(policy=lambda m, t: StatusError(500))
    with pytest.raises(ModelError):
        zyx.run("t", model=model)
    assert waits == list(range(zyx._faults.MODEL_ATTEMPTS - 1))  # a wait before each retry, none after the last


def test_backoff_is_bounded_exponential_jitter() -> None:
    for attempt in range(12):
        cap = min(zyx._faults.BACKOFF_MAX, zyx._faults.BACKOFF_BASE * 2**attempt)
        for _ in range(20):
            assert 0 <= zyx._faults.backoff(attempt) <= cap


@pytest.mark.parametrize("error", PERMANENT, ids=lambda e: f"{type(e).__name__}-{e}")
def test_permanent_model_errors_fail_fast(error: Exception) -> None:
    model = ScriptedChatModel(responses=[error, complete()])
    with pytest.raises(ModelError) as info:
        zyx.run("Find it.", model=model)
    err = info.value
    assert len(model.calls) == 1  # not retried
    assert err.__cause__ is error
    assert err.provider == "zyx" and err.model == "scripted"  # names the provider and the model
    assert "zyx" in str(err) and "'scripted'" in str(err) and type(error).__name__ in str(err)
    assert [m.content for m in err.messages] == ["Find it."]  # the messages so far
    assert err.termination == "no_completion"


def test_model_error_mid_run_carries_the_history_so_far() -> None:
    model = ScriptedChatModel(responses=[call("search", query="a"), StatusError(401)])
    with pytest.raises(ModelError) as info:
        zyx.run("Find it.", model=model, tools=[search])
    err = info.value
    assert [type(m) for m in err.messages] == [HumanMessage, AIMessage, ToolMessage]
    assert err.messages[-1].content == "results for a"
    assert [(r.name, r.output) for r in err.tool_calls] == [("search", "results for a")]
    assert err.usage["total_tokens"] > 0
    assert err.completion is None
    assert_valid_history(err.messages)


def test_model_error_is_a_zyx_run_error() -> None:
    model = ScriptedChatModel(responses=[ValueError("nope")])
    with pytest.raises(zyx.RunError):
        zyx.run("t", model=model)


async def test_model_errors_in_arun_too() -> None:
    model = ScriptedChatModel(responses=[StatusError(503), StatusError(400)])
    with pytest.raises(ModelError) as info:
        await zyx.arun("t", model=model)
    assert len(model.calls) == 2 and "400" in str(info.value)


def test_permanent_error_in_the_wrap_up_turn_is_a_model_error() -> None:
    model = ScriptedChatModel(responses=[call("search", query="a"), StatusError(401)])
    with pytest.raises(ModelError) as info:
        zyx.run("t", model=model, tools=[search], max_steps=1)
    assert model.calls[-1].tools == ["complete_task"]
    assert len(info.value.tool_calls) == 1


# -- malformed model output --------------------------------------------------------------------------


def bad_json(name: str, call_id: str, args: str = '{"query": "unterminated') -> AIMessage:
    """A turn whose only tool call has arguments that are not JSON."""
    return AIMessage(content="", invalid_tool_calls=[
        {"name": name, "args": args, "id": call_id, "error": "Expecting ',' delimiter", "type": "invalid_tool_call"}])


def test_arguments_that_are_not_json_are_feedback() -> None:
    model = ScriptedChatModel(responses=[bad_json("search", "bad_1"), call("search", query="a"), complete()])
    result = zyx.run("t", model=model, tools=[search])
    assert result.termination == "completed"
    feedback = answers(result.messages)["bad_1"]
    assert feedback.status == "error" and "JSON" in feedback.content and "delimiter" in feedback.content
    # the model saw the feedback as the answer to its call
    assert model.calls[1].messages[-1] == feedback
    assert [r.name for r in result.tool_calls] == ["search"]  # the bad call never ran
    assert_valid_history(result.messages)


def test_call_to_an_unknown_tool_is_feedback() -> None:
    model = ScriptedChatModel(responses=[call("serach", query="a"), complete()])
    result = zyx.run("t", model=model, tools=[search])
    assert result.termination == "completed" and result.tool_calls == []
    (feedback,) = tool_messages(result.messages)[:1]
    assert feedback.status == "error" and "serach" in feedback.content and "search" in feedback.content
    assert feedback.tool_call_id == result.messages[1].tool_calls[0]["id"]


def test_unknown_and_known_calls_in_one_turn() -> None:
    model = ScriptedChatModel(responses=[calls(call("nope"), call("search", query="a")), complete()])
    result = zyx.run("t", model=model, tools=[search])
    assert [r.name for r in result.tool_calls] == ["search"]
    assert [m.status for m in tool_messages(result.messages)[:2]] == ["error", "success"]
    assert_valid_history(result.messages)


def test_complete_task_with_missing_fields_is_feedback() -> None:
    model = ScriptedChatModel(responses=[
        call("complete_task", status="success"),  # no summary, no result
        complete(summary="done", result={"n": 3}),
    ])
    result = zyx.run("t", Answer, model=model)
    assert result.output == Answer(n=3)
    first = tool_messages(result.messages)[0]
    assert first.status == "error" and first.tool_call_id == result.messages[1].tool_calls[0]["id"]
    assert "summary" in first.content


def test_complete_task_with_missing_result_is_feedback() -> None:
    model = ScriptedChatModel(responses=[complete(summary="done"), complete(summary="done", result={"n": 3})])
    result = zyx.run("t", Answer, model=model)
    assert result.output == Answer(n=3)
    assert "result" in tool_messages(result.messages)[0].content


def test_complete_task_arguments_not_json_are_feedback() -> None:
    model = ScriptedChatModel(responses=[bad_json("complete_task", "bad_c", '{"summary": "do'), complete()])
    result = zyx.run("t", model=model)
    assert result.termination == "completed"
    assert answers(result.messages)["bad_c"].status == "error"


def malformed_turn(kind: str, i: int) -> AIMessage:
    """A turn the model got wrong: arguments that are not JSON, an unknown tool, or both at once."""
    invalid = bad_json("search", f"bad_{i}").invalid_tool_calls
    unknown = [{"name": "no_such_tool", "args": {"x": i}, "id": f"unknown_{i}", "type": "tool_call"}]
    if kind == "not_json":
        return AIMessage(content="", invalid_tool_calls=invalid)
    if kind == "unknown_tool":
        return AIMessage(content="", tool_calls=unknown)
    return AIMessage(content="", tool_calls=unknown, invalid_tool_calls=invalid)


@pytest.mark.parametrize("kind", ["not_json", "unknown_tool", "both"])
def test_malformed_calls_count_against_max_retries_not_max_steps(kind: str) -> None:
    def make(i: int) -> AIMessage:
        return malformed_turn(kind, i)

    # max_retries=2: two malformed turns are fine, and do not use the single step
    model = ScriptedChatModel(responses=[make(0), make(1), call("search", query="a"), complete()])
    result = zyx.run("t", model=model, tools=[search], max_steps=1, max_retries=2)
    assert [r.name for r in result.tool_calls] == ["search"]
    assert result.termination == "max_steps"  # only the one real call used the budget
    assert [c.tools for c in model.calls[:3]] == [["search", "complete_task"]] * 3
    # a third malformed turn is one too many
    model = ScriptedChatModel(policy=lambda m, t: make(len(m)))
    with pytest.raises(zyx.RunError) as info:
        zyx.run("t", model=model, tools=[search], max_steps=1, max_retries=2)
    assert isinstance(info.value, TaskNotCompletedError)
    assert len(model.calls) == 3 and info.value.tool_calls == []
    assert_valid_history(info.value.messages)


@pytest.mark.parametrize("kind", ["unknown_tool", "not_json"])
def test_malformed_call_beside_a_completion_leaves_a_valid_conversation(kind: str) -> None:
    turn = malformed_turn(kind, 0)
    turn.tool_calls.append({"name": "complete_task", "args": {"summary": "done"}, "id": "done_0",
                            "type": "tool_call"})
    model = ScriptedChatModel(responses=[turn, complete()])
    try:
        outcome: Any = zyx.run("t", model=model, tools=[search], max_retries=0)
    except zyx.RunError as exc:
        outcome = exc
    assert_valid_history(outcome.messages)
    assert "done_0" in answers(outcome.messages)


def test_invalid_completions_count_against_max_retries() -> None:
    counter = iter(range(100))
    model = ScriptedChatModel(policy=lambda m, t: complete(summary=f"try {next(counter)}", result={"n": "x"}))
    with pytest.raises(VerificationError) as info:
        zyx.run("t", Answer, model=model, max_retries=3)
    err = info.value
    assert len(model.calls) == 4  # distinct invalid completions: all retries are used
    assert err.completion is not None and err.completion.summary == "try 3"
    assert err.completion.result == {"n": "x"}  # kept as the model sent it
    assert err.termination == "no_completion"
    assert err.errors


def test_same_invalid_completion_twice_in_a_row_ends_retries_early() -> None:
    model = ScriptedChatModel(policy=lambda m, t: complete(summary="same", result={"n": "x"}))
    with pytest.raises(VerificationError) as info:
        zyx.run("t", Answer, model=model, max_retries=5)
    assert len(model.calls) == 2
    message = str(info.value).lower()
    assert "same" in message and "twice" in message  # says clearly why it stopped early
    assert info.value.completion is not None and info.value.completion.summary == "same"


def test_same_invalid_completion_not_in_a_row_does_not_end_early() -> None:
    replies = [complete(summary="a", result={"n": "x"}), complete(summary="b", result={"n": "x"}),
               complete(summary="a", result={"n": "x"}), complete(summary="ok", result={"n": 1})]
    result = zyx.run("t", Answer, model=ScriptedChatModel(responses=replies), max_retries=5)
    assert result.output == Answer(n=1)


def test_same_unparseable_completion_twice_in_a_row_ends_retries_early() -> None:
    model = ScriptedChatModel(policy=lambda m, t: bad_json("complete_task", f"c{len(m)}", '{"summary": "do'))
    with pytest.raises(VerificationError) as info:
        zyx.run("t", model=model, max_retries=5)
    assert len(model.calls) == 2
    assert "same" in str(info.value).lower()


def test_text_turns_are_nudged_and_count_against_max_retries() -> None:
    model = ScriptedChatModel(policy=lambda m, t: text("here is my answer"))
    with pytest.raises(TaskNotCompletedError) as info:
        zyx.run("t", model=model, max_retries=1)
    assert len(model.calls) == 2
    assert len(nudges(info.value.messages)) == 1
    assert info.value.termination == "no_completion"


# -- failing tools -----------------------------------------------------------------------------------


def test_tools_that_raise_are_reported_not_fatal() -> None:
    def flaky(x: int) -> int:
        """Fails."""
        raise RuntimeError(f"disk full at {x}")

    async def aflaky(x: int) -> int:
        """Fails too."""
        await asyncio.sleep(0)
        raise KeyError("gone")

    model = ScriptedChatModel(responses=[calls(call("flaky", x=1), call("aflaky", x=2)), complete()])
    result = zyx.run("t", model=model, tools=[flaky, aflaky])
    assert result.termination == "completed"
    sync_rec, async_rec = result.tool_calls
    assert not sync_rec.ok and "RuntimeError" in (sync_rec.error or "") and "disk full at 1" in (sync_rec.error or "")
    assert not async_rec.ok and "KeyError" in (async_rec.error or "")
    seen = tool_messages(model.calls[1].messages)
    assert [m.status for m in seen] == ["error", "error"]
    assert "disk full" in seen[0].content


def test_tool_called_with_wrong_argument_types_is_reported() -> None:
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    model = ScriptedChatModel(responses=[call("add", a="one", c=2), call("add", a=1, b=2), complete()])
    result = zyx.run("t", model=model, tools=[add])
    bad, good = result.tool_calls
    assert not bad.ok and "a" in (bad.error or "") and "b" in (bad.error or "")
    assert good.output == 3


class Opaque:
    def __str__(self) -> str:
        return "<opaque thing>"


def test_tool_returning_something_not_json_serialisable_still_works() -> None:
    thing = Opaque()

    def make_thing() -> Any:
        """Returns an object JSON cannot hold."""
        return thing

    def make_mixed() -> Any:
        """A dict holding such an object."""
        return {"thing": thing, "tags": {"a"}}

    model = ScriptedChatModel(responses=[calls(call("make_thing"), call("make_mixed")), complete()])
    result = zyx.run("t", model=model, tools=[make_thing, make_mixed])
    assert result.termination == "completed"
    first, second = result.tool_calls
    assert first.ok and first.output is thing  # the Python value, as the tool returned it
    assert second.ok and second.output["thing"] is thing
    seen = tool_messages(model.calls[1].messages)
    assert "<opaque thing>" in seen[0].content
    assert all(isinstance(m.content, str) and m.status == "success" for m in seen)


def test_failed_checks_raise_verification_error_with_the_last_completion() -> None:
    def must_be_positive(completion: zyx.RunCompletion[Any]) -> str | None:
        return None if completion.result.n > 0 else f"n must be positive, got {completion.result.n}"

    model = ScriptedChatModel(policy=lambda m, t: complete(summary="s", result={"n": -len(m)}))
    with pytest.raises(VerificationError) as info:
        zyx.run("t", Answer, model=model, verifier=must_be_positive, max_retries=1)
    err = info.value
    assert len(model.calls) == 2
    assert err.completion is not None and isinstance(err.completion.result, Answer) and err.completion.result.n < 0
    assert "positive" in err.errors[-1] and err.termination == "no_completion"


def test_model_retries_never_outlive_the_run_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zyx._faults, "backoff", lambda attempt: 30.0)
    model = ScriptedChatModel(policy=lambda m, t: StatusError(503))
    started = time.perf_counter()
    with pytest.raises(zyx.RunTimeoutError) as info:
        zyx.run("t", model=model, timeout=0.3)
    assert time.perf_counter() - started < 2
    assert info.value.termination == "timeout"
    assert model.calls[-1].tools == ["complete_task"]  # the wrap-up turn was tried, within its grace
