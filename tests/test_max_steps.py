"""max_steps: the tool-call budget, the wrap-up turn with only complete_task, and runs that always end."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import assert_valid_history, nudges, scripted, tool_messages, tool_names
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.errors import GraphRecursionError

import zyx
from zyx import MaxStepsExceededError, RunError
from zyx.testing import ScriptedChatModel, call, calls, complete, text

executed: list[int] = []


def ping(n: int = 0) -> str:
    """Ping."""
    executed.append(n)
    return f"pong {n}"


@pytest.fixture(autouse=True)
def _reset() -> None:
    executed.clear()


def test_calls_beyond_the_budget_in_one_turn_are_refused_not_run() -> None:
    model = scripted(calls(*(call("ping", n=i) for i in range(5))), complete(summary="wrapped up"))
    result = zyx.run("x", tools=[ping], model=model, max_steps=3)
    assert executed == [0, 1, 2]
    assert [r.args for r in result.tool_calls] == [{"n": 0}, {"n": 1}, {"n": 2}]
    answers = tool_messages(result.messages)[:5]
    assert [m.status for m in answers] == ["success", "success", "success", "error", "error"]
    assert [m.content for m in answers[:3]] == ["pong 0", "pong 1", "pong 2"]
    assert all("max_steps" in m.content for m in answers[3:])
    assert_valid_history(result.messages)


def test_budget_spent_binds_only_complete_task_and_completing_succeeds() -> None:
    model = scripted(call("ping", n=1), call("ping", n=2), complete(summary="done in time"))
    result = zyx.run("x", tools=[ping], model=model, max_steps=2)
    assert [c.tools for c in model.calls] == [["ping", "complete_task"], ["ping", "complete_task"], ["complete_task"]]
    assert executed == [1, 2]
    assert result.completion is not None
    assert (result.completion.status, result.completion.summary) == ("success", "done in time")
    # the run records that the budget ran out, yet it completed without an error
    assert result.termination == "max_steps"
    wrap_up = nudges(result.messages)
    assert len(wrap_up) == 1 and "max_steps" in wrap_up[0].content
    assert model.calls[-1].messages[-1] == wrap_up[0]
    assert_valid_history(result.messages)


def test_wrap_up_without_completion_raises_max_steps_exceeded() -> None:
    model = scripted(call("ping", n=1), text("I would like to keep going"))
    with pytest.raises(MaxStepsExceededError) as info:
        zyx.run("x", tools=[ping], model=model, max_steps=1)
    err = info.value
    assert len(model.calls) == 2
    assert model.calls[-1].tools == ["complete_task"]
    assert err.termination == "max_steps"
    assert [r.output for r in err.tool_calls] == ["pong 1"]
    assert isinstance(err.messages[-1], AIMessage) and err.messages[-1].content == "I would like to keep going"


def test_tool_calls_in_the_wrap_up_turn_are_refused() -> None:
    model = scripted(call("ping", n=1), call("ping", n=2))
    with pytest.raises(MaxStepsExceededError) as info:
        zyx.run("x", tools=[ping], model=model, max_steps=1)
    assert executed == [1]
    last = tool_messages(info.value.messages)[-1]
    assert last.status == "error" and "max_steps" in last.content
    assert_valid_history(info.value.messages)


def test_wrap_up_without_completion_and_require_completion_false_is_skipped() -> None:
    model = scripted(call("ping", n=1), text("no more tools, fine"))
    result = zyx.run("x", tools=[ping], model=model, max_steps=1, require_completion=False)
    assert result.completion is not None
    assert result.completion.status == "skipped"
    assert result.completion.summary == "No completion tool call was made."
    assert result.termination == "max_steps"
    assert len(model.calls) == 2


def test_max_steps_zero_binds_only_complete_task_from_the_start() -> None:
    seen_tools: list[list[str]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        seen_tools.append(tool_names(tools))
        return complete(summary="nothing to run")

    model = ScriptedChatModel(policy=policy)
    result = zyx.run("x", tools=[ping], model=model, max_steps=0)
    assert seen_tools == [["complete_task"]]
    assert model.calls[0].tools == ["complete_task"]
    assert result.completion is not None and result.completion.summary == "nothing to run"


def test_max_steps_zero_refuses_a_tool_call_anyway() -> None:
    model = scripted(call("ping", n=1), complete())
    result = zyx.run("x", tools=[ping], model=model, max_steps=0)
    assert executed == []
    assert result.tool_calls == []
    assert tool_messages(result.messages)[0].status == "error"


def test_step_budget_counts_across_turns() -> None:
    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if "ping" in tool_names(tools):
            return calls(call("ping", n=1), call("ping", n=2))
        return complete()

    model = ScriptedChatModel(policy=policy)
    result = zyx.run("x", tools=[ping], model=model, max_steps=5)
    assert len(executed) == 5
    assert len(result.tool_calls) == 5
    assert len(model.calls) == 4  # 2 + 2 + (1 run, 1 refused) + wrap-up


def test_tools_forever_end_by_our_own_counters() -> None:
    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        return call("ping", n=len(messages))

    model = ScriptedChatModel(policy=policy)
    try:
        zyx.run("x", tools=[ping], model=model, max_steps=200)
    except GraphRecursionError:  # pragma: no cover - the failure this test exists for
        pytest.fail("the run hit LangGraph's recursion limit instead of max_steps")
    except MaxStepsExceededError as err:
        assert len(executed) == 200
        assert len(err.tool_calls) == 200
        assert len(model.calls) == 201
        assert model.calls[-1].tools == ["complete_task"]
    else:  # pragma: no cover
        pytest.fail("a model that never completes cannot succeed")


def test_parallel_tools_forever_with_rejected_completions_still_end() -> None:
    """Each turn asks for several tools plus an invalid completion: every counter is exercised."""

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if "ping" in tool_names(tools):
            return calls(call("ping"), call("ping"), call("ping"), complete(result="not an int"))
        return text("still not done")

    model = ScriptedChatModel(policy=policy)
    with pytest.raises(RunError) as info:
        zyx.run("x", target=int, tools=[ping], model=model, max_steps=200, max_retries=500)
    assert not isinstance(info.value, GraphRecursionError)
    assert len(executed) <= 200


def test_text_and_tools_alternating_forever_end() -> None:
    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        return text("thinking...") if len(messages) % 2 else call("ping")

    model = ScriptedChatModel(policy=policy)
    with pytest.raises(RunError):
        zyx.run("x", tools=[ping], model=model, max_steps=200, max_retries=50)
    assert len(executed) <= 200


def test_malformed_tool_calls_forever_end_without_recursion_error() -> None:
    """Arguments that are not JSON arrive as invalid_tool_calls; they must still count toward some limit."""

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        return AIMessage(content="", invalid_tool_calls=[
            {"name": "ping", "args": "{not json", "id": f"bad_{len(messages)}", "error": "bad JSON",
             "type": "invalid_tool_call"}])

    model = ScriptedChatModel(policy=policy)
    try:
        zyx.run("x", tools=[ping], model=model, max_steps=200)
    except GraphRecursionError:  # pragma: no cover
        pytest.fail("malformed tool calls looped until LangGraph's recursion limit")
    except RunError as err:
        assert len(model.calls) <= 10
        assert_valid_history(err.messages)
    assert executed == []


def test_unknown_tools_forever_end_without_recursion_error() -> None:
    model = ScriptedChatModel(policy=lambda messages, tools: call("no_such_tool"))
    try:
        zyx.run("x", tools=[ping], model=model, max_steps=200)
    except GraphRecursionError:  # pragma: no cover
        pytest.fail("unknown tool calls looped until LangGraph's recursion limit")
    except RunError:
        pass
    assert len(model.calls) <= 201


def test_nudge_is_not_a_tool_step() -> None:
    model = scripted(text("hmm"), call("ping", n=1), complete())
    result = zyx.run("x", tools=[ping], model=model, max_steps=1)
    assert isinstance(result.messages[2], HumanMessage)
    assert executed == [1]
    assert result.completion is not None


def test_rejected_completion_after_budget_spent_leads_to_wrap_up_turn() -> None:
    model = scripted(
        calls(call("ping", n=1), call("ping", n=2), complete(result="not an int")),
        calls(call("ping", n=3), complete(result=1)),
    )
    result = zyx.run("x", target=int, tools=[ping], model=model, max_steps=1)
    assert executed == [1]
    assert [c.tools for c in model.calls] == [["ping", "complete_task"], ["complete_task"]]
    assert result.output == 1
    assert result.termination == "max_steps"
    assert_valid_history(result.messages)
