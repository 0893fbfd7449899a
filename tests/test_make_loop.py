"""make() runs the run graph's agent loop: its tool options (max_steps, max_model_calls, tool_limits, usage_limits,
timeout, tool_timeout) mean what they mean in run(); approvals are refused with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

import zyx
from zyx import ConfigurationError, LimitExceededError, MaxStepsExceededError, Result
from zyx.events import RunFinished, ToolCallFinished, ToolCallStarted
from zyx.testing import ScriptedChatModel, call

pytestmark = pytest.mark.timeout(60)


class Todo(BaseModel):
    item: str
    priority: int


GOOD = {"item": "milk", "priority": 3}


def lookup(name: str) -> int:
    """Priority of an item."""
    return 3


def tool_results(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage) and m.name != "final_result"]


def keeps_calling(tool: str = "lookup") -> ScriptedChatModel:
    """A model that calls `tool` whenever it may, and answers only when `final_result` is all it is offered."""

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        names = [t["function"]["name"] for t in tools]
        if tool in names:
            return call(tool, name="milk")
        return call("final_result", **GOOD)

    return ScriptedChatModel(policy=policy)


def test_max_steps_bounds_the_tool_loop_then_a_wrap_up_turn_answers() -> None:
    model = keeps_calling()
    result = zyx.make(Todo, "milk", model=model, tools=[lookup], max_steps=2)
    assert type(result) is Result and result.output == Todo(**GOOD)
    assert len(tool_results(result.messages)) == 2 and result.usage.tool_calls == 2
    assert [c.tools for c in model.calls] == [["lookup", "final_result"]] * 2 + [["final_result"]]
    wrap_up = model.calls[-1].messages[-1]
    assert isinstance(wrap_up, HumanMessage) and "max_steps" in wrap_up.text and "final_result" in wrap_up.text


def test_max_steps_reached_without_an_answer_is_max_steps_exceeded() -> None:
    model = ScriptedChatModel(policy=lambda m, t: call("lookup", name="milk"))
    with pytest.raises(MaxStepsExceededError) as info:
        zyx.make(Todo, "milk", model=model, tools=[lookup], max_steps=3)
    assert info.value.termination == "max_steps"
    assert len(model.calls) == 4  # 3 tool turns, then the wrap-up turn, whose call is refused
    refused = tool_results(info.value.messages)[-1]
    assert refused.status == "error" and "max_steps" in refused.text


def test_max_steps_zero_offers_only_the_answer() -> None:
    model = keeps_calling()
    assert zyx.make(Todo, "milk", model=model, tools=[lookup], max_steps=0).output == Todo(**GOOD)
    assert model.calls[0].tools == ["final_result"]


def test_a_str_target_wraps_up_in_plain_text() -> None:
    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        return call("lookup", name="milk") if tools else "priority 3"

    model = ScriptedChatModel(policy=policy)
    result = zyx.make(str, "milk", model=model, tools=[lookup], max_steps=1)
    assert result.output == "priority 3" and model.calls[-1].tools == []
    assert "plain text" in model.calls[-1].messages[-1].text


def test_max_model_calls_bounds_make() -> None:
    model = ScriptedChatModel(policy=lambda m, t: call("lookup", name="milk"))
    with pytest.raises(LimitExceededError) as info:
        zyx.make(Todo, "milk", model=model, tools=[lookup], max_model_calls=2)
    assert len(model.calls) == 2 and info.value.termination == "max_model_calls"


def test_tool_limits_and_usage_limits_apply_to_make() -> None:
    def helper(name: str) -> str:
        """Another lookup."""
        return "ok"

    model = keeps_calling()
    result = zyx.make(Todo, "milk", model=model, tools=[lookup, helper], tool_limits={"lookup": 1}, max_steps=3)
    answers = tool_results(result.messages)
    assert answers[0].status == "success" and answers[1].status == "error" and "lookup tool" in answers[1].text
    assert zyx.make(Todo, "milk", model=keeps_calling(), tools=[lookup],
                    usage_limits={"tool_calls_limit": 1}).usage.tool_calls == 1


def test_tool_timeout_cuts_a_tool_call_in_make() -> None:
    async def stuck(name: str) -> str:
        """Never answers."""
        await asyncio.Event().wait()
        return "never"

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        return call("final_result", **GOOD) if tool_results(messages) else call("stuck", name="milk")

    result = zyx.make(Todo, "milk", model=ScriptedChatModel(policy=policy), tools=[stuck], tool_timeout=0.05)
    answer = tool_results(result.messages)[0]
    assert answer.status == "error" and "did not finish within 0.05 s" in answer.text
    assert result.output == Todo(**GOOD)


def test_timeout_bounds_the_whole_make() -> None:
    async def stuck(name: str) -> str:
        """Never answers."""
        await asyncio.Event().wait()
        return "never"

    model = keeps_calling("stuck")
    result = zyx.make(Todo, "milk", model=model, tools=[stuck], timeout=0.2)
    assert "timeout" in tool_results(result.messages)[0].text
    assert model.calls[-1].tools == ["final_result"] and result.output == Todo(**GOOD)


@pytest.mark.parametrize("option", ["approve", "approve_plan", "decisions"])
def test_approvals_are_refused_by_make_with_the_reason(option: str) -> None:
    model = keeps_calling()
    with pytest.raises(ConfigurationError, match=f"^{option}: make\\(\\) cannot pause for a human"):
        zyx.make(Todo, "milk", model=model, tools=[lookup], **{option: True})  # type: ignore[arg-type]
    assert model.calls == []


def test_the_durable_options_stay_run_only() -> None:
    with pytest.raises(ConfigurationError, match=r"^checkpointer: amake\(\) got an unexpected keyword.*option of run"):
        zyx.make(Todo, "milk", model=keeps_calling(), checkpointer=None)  # type: ignore[call-arg]


def test_run_without_a_task_points_loop_limits_to_make() -> None:
    with pytest.raises(ConfigurationError, match=r"^tool_timeout: only applies when a task is given.*make\(\) itself"):
        zyx.run(None, Todo, "milk", model=keeps_calling(), tool_timeout=1)


def test_bad_loop_options_of_make_are_named() -> None:
    for options, argument in (({"max_steps": -1}, "max_steps"), ({"tool_timeout": 0}, "tool_timeout"),
                              ({"tool_limits": {"nope": 1}}, "tool_limits")):
        with pytest.raises(ConfigurationError) as info:
            zyx.make(Todo, "milk", model=keeps_calling(), tools=[lookup], **options)  # type: ignore[arg-type]
        assert info.value.argument == argument


def test_make_streams_its_tool_calls_like_a_run() -> None:
    model = ScriptedChatModel(policy=lambda m, t: call("final_result", **GOOD) if tool_results(m)
                              else call("lookup", name="milk"), chunk_size=4)
    events = list(zyx.make(Todo, "milk", model=model, tools=[lookup], stream=True).events())
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [e.name for e in started] == ["lookup"] and finished[0].error is None
    assert isinstance(events[-1], RunFinished) and events[-1].result.output == Todo(**GOOD)


def test_an_unparseable_answer_is_answered_and_sent_back() -> None:
    from langchain_core.messages import AIMessage

    broken = AIMessage(content="", invalid_tool_calls=[
        {"type": "invalid_tool_call", "id": "c1", "name": "final_result", "args": '{"item": "milk", ', "error": "bad"}])
    model = ScriptedChatModel(responses=[broken, call("final_result", **GOOD)])
    result = zyx.make(Todo, "milk", model=model)
    assert result.output == Todo(**GOOD)
    answer = next(m for m in result.messages if isinstance(m, ToolMessage) and m.tool_call_id == "c1")
    assert answer.status == "error" and "not valid JSON" in answer.text
