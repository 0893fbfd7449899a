"""make() / amake(): one validated value; run(task=None) falls back to it."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import scripted, tool_schema
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

import zyx
from zyx import ConfigurationError, Result, RunResult, VerificationError
from zyx.testing import ScriptedChatModel, call, calls, text


class Todo(BaseModel):
    item: str
    priority: int


GOOD = {"item": "buy milk", "priority": 1}


def answer(**args: Any) -> dict[str, Any]:
    return call("final_result", **args)


def test_make_model_target() -> None:
    model = scripted(answer(**GOOD))
    result = zyx.make(Todo, "I need milk, not urgent", model=model)
    assert type(result) is Result
    assert result.output == Todo(**GOOD)
    assert isinstance(result.output, Todo)
    assert result.model == "scripted"
    assert len(model.calls) == 1
    seen = model.calls[0].messages
    assert isinstance(seen[0], SystemMessage)
    assert seen[1] == HumanMessage("I need milk, not urgent")
    assert model.calls[0].tools == ["final_result"]
    assert result.usage["total_tokens"] == result.messages[1].usage_metadata["total_tokens"]


def test_make_answer_tool_schema_is_the_target_schema() -> None:
    captured: list[list[dict[str, Any]]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        captured.append(tools)
        return answer(**GOOD)

    zyx.make(Todo, "x", model=ScriptedChatModel(policy=policy))
    schema = tool_schema(captured[0], "final_result")
    assert set(schema["properties"]) == {"item", "priority"}
    assert set(schema["required"]) == {"item", "priority"}


def test_make_scalar_target_is_wrapped_in_result() -> None:
    captured: list[list[dict[str, Any]]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        captured.append(tools)
        return answer(result=[1, 2, 3])

    result = zyx.make(list[int], "three numbers", model=ScriptedChatModel(policy=policy))
    assert result.output == [1, 2, 3]
    schema = tool_schema(captured[0], "final_result")
    assert schema["required"] == ["result"]
    assert schema["properties"]["result"]["type"] == "array"


def test_make_invalid_output_is_retried() -> None:
    model = scripted(answer(item="milk", priority="soon"), answer(**GOOD))
    result = zyx.make(Todo, "milk", model=model)
    assert result.output == Todo(**GOOD)
    assert len(model.calls) == 2
    feedback = model.calls[1].messages[-1]
    assert isinstance(feedback, ToolMessage)
    assert feedback.status == "error"
    assert "priority" in feedback.content
    assert feedback.tool_call_id == model.calls[1].messages[-2].tool_calls[0]["id"]


def test_make_invalid_output_exhausts_retries() -> None:
    model = scripted(*(answer(item="milk", priority=f"p{i}") for i in range(2)))
    with pytest.raises(VerificationError) as info:
        zyx.make(Todo, "milk", model=model, max_retries=1)
    assert len(model.calls) == 2
    err = info.value
    assert err.errors and "priority" in err.errors[0]
    assert sum(isinstance(m, AIMessage) for m in err.messages) == 2


def test_make_plain_text_for_structured_target_is_retried() -> None:
    model = scripted(text("milk, priority 1"), answer(**GOOD))
    result = zyx.make(Todo, "milk", model=model)
    assert result.output == Todo(**GOOD)
    assert isinstance(model.calls[1].messages[-1], HumanMessage)


def test_make_str_returns_the_text() -> None:
    model = scripted(text("A haiku about tea."))
    result = zyx.make(str, "Write a haiku", model=model)
    assert result.output == "A haiku about tea."
    assert model.calls[0].tools == []
    assert not any(isinstance(m, SystemMessage) for m in model.calls[0].messages)


def test_make_default_target_is_str_with_default_prompt() -> None:
    model = scripted(text("hello"))
    result = zyx.make(model=model)
    assert result.output == "hello"
    assert model.calls[0].messages[-1].content == "Generate a str."


def test_make_with_tools_runs_them_first() -> None:
    def lookup(name: str) -> int:
        """Priority of an item."""
        return {"milk": 3}[name]

    model = scripted(call("lookup", name="milk"), answer(item="milk", priority=3))
    result = zyx.make(Todo, "milk", model=model, tools=[lookup])
    assert result.output == Todo(item="milk", priority=3)
    assert model.calls[0].tools == ["lookup", "final_result"]
    tool_result = model.calls[1].messages[-1]
    assert isinstance(tool_result, ToolMessage) and tool_result.content == "3"


async def test_amake() -> None:
    result = await zyx.amake(int, "a number", model=scripted(answer(result=7)))
    assert result.output == 7


# -- run(task=None) --------------------------------------------------------------------


def test_run_without_task_is_make() -> None:
    model = scripted(answer(**GOOD))
    result = zyx.run(target=Todo, context="milk", model=model)
    assert type(result) is Result
    assert not isinstance(result, RunResult)
    assert result.output == Todo(**GOOD)
    assert model.calls[0].tools == ["final_result"]


def test_run_without_task_or_target_makes_text() -> None:
    model = scripted(text("just text"))
    result = zyx.run(context="say something", model=model)
    assert type(result) is Result
    assert result.output == "just text"


@pytest.mark.parametrize(
    ("option", "value"),
    [("verifier", lambda c: True), ("final_answer_checks", []), ("max_steps", 3),
     ("require_completion", False), ("plan", True)],
)
def test_run_without_task_refuses_task_only_options(option: str, value: Any) -> None:
    model = scripted(answer(**GOOD))
    with pytest.raises(ConfigurationError) as info:
        zyx.run(target=Todo, context="x", model=model, **{option: value})
    assert info.value.argument == option
    assert model.calls == []


def test_make_two_answers_in_one_turn_leave_a_valid_history() -> None:
    from helpers import assert_valid_history
    from langchain_core.messages import SystemMessage as System

    model = scripted(calls(answer(result=1), answer(result=2)))
    result = zyx.make(int, "a number", model=model)
    assert result.output == 1
    assert_valid_history([m for m in result.messages if not isinstance(m, System)])
