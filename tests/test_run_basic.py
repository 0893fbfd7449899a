"""run(): the weather example end to end, targets, context/task forms and the system prompt."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pytest
from helpers import ai_messages, assert_valid_history, scripted, turn
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
from pydantic import BaseModel
from typing_extensions import TypedDict

import zyx
from zyx import RunCompletion, RunResult, RunTask, ToolCallRecord
from zyx.testing import ScriptedChatModel, call, complete, last_tool_results


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny, 22C in {city}"


def weather_policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
    if turn(messages) == 0:
        return call("get_weather", city="Paris")
    (result,) = last_tool_results(messages)
    return complete(summary=f"The weather in Paris: {result.content}")


@pytest.fixture
def weather_run() -> tuple[RunResult[Any], ScriptedChatModel]:
    model = ScriptedChatModel(policy=weather_policy)
    result = zyx.run("What is the weather in Paris?", tools=[get_weather], model=model)
    return result, model


def test_weather_completion_and_tool_calls(weather_run: tuple[RunResult[Any], ScriptedChatModel]) -> None:
    result, model = weather_run
    assert isinstance(result, RunResult)
    assert len(model.calls) == 2
    # the tool output reached the model, and so the summary
    assert result.completion == RunCompletion(status="success", summary="The weather in Paris: Sunny, 22C in Paris")
    assert result.output is None
    assert len(result.tool_calls) == 1
    record = result.tool_calls[0]
    assert isinstance(record, ToolCallRecord)
    assert (record.name, record.args, record.output, record.error) == (
        "get_weather", {"city": "Paris"}, "Sunny, 22C in Paris", None)
    assert record.ok and record.duration >= 0
    assert result.termination == "completed"
    assert result.model == "scripted"
    assert result.task == RunTask(goal="What is the weather in Paris?", target=None)
    assert result.verified is None


def test_weather_message_order(weather_run: tuple[RunResult[Any], ScriptedChatModel]) -> None:
    result, _ = weather_run
    kinds = [type(m) for m in result.messages]
    assert kinds == [HumanMessage, AIMessage, ToolMessage, AIMessage, ToolMessage]
    assert_valid_history(result.messages)
    task, ask, answer, done, accepted = result.messages
    assert task.content == "What is the weather in Paris?"
    assert ask.tool_calls[0]["name"] == "get_weather"
    assert answer.tool_call_id == ask.tool_calls[0]["id"]
    assert answer.content == "Sunny, 22C in Paris"
    assert done.tool_calls[0]["name"] == "complete_task"
    assert accepted.tool_call_id == done.tool_calls[0]["id"]
    assert accepted.content == "Completion accepted."
    assert accepted.status == "success"


def test_usage_is_summed_over_model_calls(weather_run: tuple[RunResult[Any], ScriptedChatModel]) -> None:
    result, _ = weather_run
    replies = ai_messages(result.messages)
    assert len(replies) == 2
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        expected = sum(r.usage_metadata[key] for r in replies)
        assert expected > 0
        assert result.usage[key] == expected


def test_repr_is_readable(weather_run: tuple[RunResult[Any], ScriptedChatModel]) -> None:
    result, _ = weather_run
    text = repr(result)
    assert text.startswith("RunResult(")
    for part in ("status='success'", "summary='The weather in Paris", "termination='completed'",
                 "tool_calls=1", "model='scripted'"):
        assert part in text
    assert "HumanMessage" not in text  # the history is not dumped
    assert len(text) < 400
    assert repr(result.completion).startswith("RunCompletion(status='success'")


# -- targets ---------------------------------------------------------------------------


class Todo(BaseModel):
    item: str
    priority: int


class TodoDict(TypedDict):
    item: str
    priority: int


@dataclasses.dataclass
class TodoData:
    item: str
    priority: int


TODO = {"item": "buy milk", "priority": 2}


@pytest.mark.parametrize(
    ("target", "sent", "expected"),
    [
        (Todo, TODO, Todo(item="buy milk", priority=2)),
        (TodoDict, TODO, TODO),
        (TodoData, TODO, TodoData(item="buy milk", priority=2)),
        (int, 42, 42),
        (int, "42", 42),  # lax JSON text is validated like pydantic does
        (str, "hello", "hello"),
        (list[str], ["a", "b"], ["a", "b"]),
        (dict, {"k": [1, 2]}, {"k": [1, 2]}),
        (Literal["red", "green"], "green", "green"),
        (int | Todo, TODO, Todo(item="buy milk", priority=2)),
        (int | Todo, 7, 7),
    ],
    ids=["basemodel", "typeddict", "dataclass", "int", "int-from-text", "str", "list[str]", "dict",
         "literal", "union-model", "union-int"],
)
def test_target_types(target: Any, sent: Any, expected: Any) -> None:
    model = scripted(complete(summary="made it", result=sent))
    result = zyx.run("Make the thing", target=target, model=model)
    assert result.output == expected
    assert type(result.output) is type(expected)
    assert result.completion is not None and result.completion.result == expected
    assert result.task == RunTask(goal="Make the thing", target=target)
    assert len(model.calls) == 1


def test_target_todo_is_a_model_instance() -> None:
    result = zyx.run("Plan my day", target=Todo, model=scripted(complete(result=TODO)))
    assert isinstance(result.output, Todo)
    assert result.output.priority == 2


# -- context and task forms ----------------------------------------------------------


def test_context_forms_reach_the_model_before_the_task() -> None:
    model = scripted(complete())
    context = [
        "plain string context",
        AIMessage("an assistant message"),
        {"role": "user", "content": "an OpenAI-style dict"},
    ]
    zyx.run("the task", context=context, model=model)
    seen = model.calls[0].messages
    assert isinstance(seen[0], SystemMessage)
    assert [type(m) for m in seen[1:]] == [HumanMessage, AIMessage, HumanMessage, HumanMessage]
    assert [m.content for m in seen[1:]] == [
        "plain string context", "an assistant message", "an OpenAI-style dict", "the task"]


@pytest.mark.parametrize(
    "context",
    ["just text", HumanMessage("just text"), {"role": "user", "content": "just text"}],
    ids=["str", "message", "dict"],
)
def test_single_context_item(context: Any) -> None:
    model = scripted(complete())
    result = zyx.run("the task", context=context, model=model)
    seen = model.calls[0].messages
    assert [m.content for m in seen[1:]] == ["just text", "the task"]
    assert [m.content for m in result.messages[:2]] == ["just text", "the task"]
    assert result.task is not None and result.task.goal == "the task"


def test_context_tool_turns_must_pair_up_before_any_model_call() -> None:
    """A provider refuses an unanswered tool call or a stray tool message with a 400; zyx says which, naming the
    argument, before the model is called (run() and make() alike, OpenAI-style dicts too)."""
    asked = AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}])
    answer = ToolMessage("sunny", tool_call_id="c1")
    bad = {"unanswered": [HumanMessage("hi"), asked],
           "answered too late": [asked, HumanMessage("and?"), answer],
           "stray answer": [HumanMessage("hi"), ToolMessage("x", tool_call_id="zz")],
           "dict form": [{"role": "assistant", "content": "", "tool_calls": [
               {"id": "d1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}
    for name, context in bad.items():
        model = scripted(complete())
        with pytest.raises(zyx.ConfigurationError, match="^context: the (AI message's tool call|tool message)"):
            zyx.run("the task", context=context, model=model)
        assert model.calls == [], name
        with pytest.raises(zyx.ConfigurationError, match="^context: "):
            zyx.make(str, context=context, model=scripted(complete()))
    with pytest.raises(zyx.ConfigurationError, match="'c1' \\(get_weather\\) has no tool message answering it"):
        zyx.run("the task", context=bad["unanswered"], model=scripted(complete()))
    with pytest.raises(zyx.ConfigurationError, match="^task: the AI message's tool call 'c1'"):
        zyx.run([HumanMessage("do it"), asked], model=scripted(complete()))
    twice = AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": c}, "id": "r"} for c in ("A", "B")])
    with pytest.raises(zyx.ConfigurationError, match="'r' \\(get_weather\\) has no tool message"):
        zyx.run("the task", context=[twice, ToolMessage("a", tool_call_id="r")], model=scripted(complete()))
    model = scripted(complete())  # a repeated id (providers repeat ids) answered once per call
    zyx.run("the task", context=[twice, ToolMessage("a", tool_call_id="r"), ToolMessage("b", tool_call_id="r")],
            model=model)
    model = scripted(complete())
    zyx.run("the task", context=[HumanMessage("hi"), asked, answer, AIMessage("It is sunny.")], model=model)
    assert [type(m) for m in model.calls[0].messages[1:]] == [HumanMessage, AIMessage, ToolMessage, AIMessage, HumanMessage]


def test_context_accepts_a_runs_history_with_unparseable_tool_calls() -> None:
    """A run answers a call with unparseable arguments (`invalid_tool_calls`) with an error tool message: that
    history, passed back as `context`, is valid; an unanswered unparseable call is not (OpenAI sends it as a call)."""
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    bad = AIMessage("", invalid_tool_calls=[{"name": "add", "args": "{not json", "id": "b1", "error": "bad JSON",
                                             "type": "invalid_tool_call"}])
    first = zyx.run("add 1 and 2", tools=[add], model=scripted(bad, complete()))
    assert any(isinstance(m, ToolMessage) and m.tool_call_id == "b1" for m in first.messages)
    model = scripted(complete())
    zyx.run("and again", context=first.messages, tools=[add], model=model)
    assert len(model.calls) == 1
    with pytest.raises(zyx.ConfigurationError, match="^context: the AI message's tool call 'b1' \\(add\\) has no tool"):
        zyx.run("and again", context=[HumanMessage("add"), bad], model=scripted(complete()))


def test_remove_message_in_context_or_task_is_a_configuration_error() -> None:
    """A RemoveMessage is a graph state update, not a message: zyx names the argument instead of LangGraph's
    "Attempting to delete a message with an ID that doesn't exist" from inside the run."""
    for run in (lambda: zyx.run("the task", context=[RemoveMessage(id="x")], model=scripted(complete())),
                lambda: zyx.run([HumanMessage("do it"), RemoveMessage(id="x")], model=scripted(complete())),
                lambda: zyx.make(str, context=[HumanMessage("hi"), RemoveMessage(id="x")], model=scripted(complete()))):
        with pytest.raises(zyx.ConfigurationError, match="^(context|task): a RemoveMessage \\(id 'x'\\)"):
            run()


def test_tool_dict_without_tool_call_id_says_what_is_missing() -> None:
    """An OpenAI-style tool dict with role and content but no `tool_call_id`: the error says that key is missing
    rather than asking for the role and content it already has."""
    with pytest.raises(zyx.ConfigurationError, match="^context: cannot read .* \\(missing 'tool_call_id'\\): .*tool_call_id"):
        zyx.run("the task", context=[{"role": "tool", "content": "sunny"}], model=scripted(complete()))


def test_task_as_list_of_strings_and_messages() -> None:
    model = scripted(complete())
    result = zyx.run(["first part", HumanMessage("second part")], model=model)
    seen = model.calls[0].messages
    assert [m.content for m in seen[1:]] == ["first part", "second part"]
    assert all(isinstance(m, HumanMessage) for m in seen[1:])
    assert result.task is not None and result.task.goal == "first part\nsecond part"


# -- system prompt -------------------------------------------------------------------


def test_system_prompt_prepended_per_call_but_not_stored() -> None:
    model = ScriptedChatModel(policy=weather_policy)
    result = zyx.run("Weather in Paris?", tools=[get_weather], model=model, instructions="Answer in French.")
    assert len(model.calls) == 2
    for recorded in model.calls:
        assert isinstance(recorded.messages[0], SystemMessage)
        assert "complete_task" in recorded.messages[0].content
        assert "Answer in French." in recorded.messages[0].content
        assert sum(isinstance(m, SystemMessage) for m in recorded.messages) == 1
    # the second call saw exactly the stored history so far, after the system prompt
    assert model.calls[1].messages[1:] == result.messages[:3]
    assert not any(isinstance(m, SystemMessage) for m in result.messages)


def test_system_prompt_mentions_result_only_with_target() -> None:
    with_target = scripted(complete(result=1))
    zyx.run("n", target=int, model=with_target)
    without = scripted(complete())
    zyx.run("n", model=without)
    assert "matching the `result` schema" in with_target.calls[0].messages[0].content
    assert "leave it null" in without.calls[0].messages[0].content
