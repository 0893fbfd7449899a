"""Plain-text answers: nudged back to complete_task, or (require_completion=False) a skipped completion."""

from __future__ import annotations

import pytest
from helpers import assert_valid_history, nudges, scripted
from langchain_core.messages import AIMessage, HumanMessage

import zyx
from zyx import TaskNotCompletedError
from zyx.testing import complete, text


def test_plain_text_is_nudged_and_the_model_asked_again() -> None:
    model = scripted(text("The answer is 4."), complete(summary="4", result=4))
    result = zyx.run("What is 2 + 2?", target=int, model=model)
    assert result.output == 4
    assert len(model.calls) == 2
    task, answer, nudge, done, accepted = result.messages
    assert isinstance(answer, AIMessage) and answer.content == "The answer is 4."
    assert isinstance(nudge, HumanMessage)
    assert "complete_task" in nudge.content
    assert model.calls[1].messages[-1] == nudge
    assert accepted.content == "Completion accepted."
    assert result.termination == "completed"
    assert_valid_history(result.messages)


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_nudges_run_out_then_task_not_completed(retries: int) -> None:
    model = scripted(*(text(f"chatting {i}") for i in range(retries + 1)))
    with pytest.raises(TaskNotCompletedError) as info:
        zyx.run("Do it", model=model, max_retries=retries)
    err = info.value
    assert len(model.calls) == retries + 1
    assert len(nudges(err.messages)) == retries
    assert [m.content for m in err.messages if isinstance(m, AIMessage)] == [
        f"chatting {i}" for i in range(retries + 1)]
    assert err.messages[0].content == "Do it"
    assert err.termination == "no_completion"
    assert err.completion is None
    assert isinstance(err, ValueError) and isinstance(err, zyx.RunError)


def test_default_allows_two_nudges() -> None:
    model = scripted(text("a"), text("b"), complete())
    result = zyx.run("Do it", model=model)
    assert result.completion is not None and result.completion.status == "success"
    assert len(nudges(result.messages)) == 2


def test_require_completion_false_plain_text_ends_the_run_skipped() -> None:
    model = scripted(text("Paris is the capital of France."))
    result = zyx.run("Capital of France?", model=model, require_completion=False)
    assert len(model.calls) == 1
    assert result.completion is not None
    assert result.completion.status == "skipped"
    assert result.completion.summary == "No completion tool call was made."
    assert result.output is None
    assert result.termination == "no_completion"
    assert [type(m) for m in result.messages] == [HumanMessage, AIMessage]
    assert result.messages[-1].content == "Paris is the capital of France."
    assert nudges(result.messages) == []


def test_require_completion_false_with_target_gives_no_output() -> None:
    result = zyx.run("n", target=int, model=scripted(text("4")), require_completion=False)
    assert result.output is None
    assert result.completion is not None and result.completion.status == "skipped"


def test_require_completion_false_still_accepts_a_completion() -> None:
    result = zyx.run("n", target=int, model=scripted(complete(result=4)), require_completion=False)
    assert result.output == 4
    assert result.termination == "completed"
