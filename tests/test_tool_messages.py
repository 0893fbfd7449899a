"""Tool results follow LangGraph's ToolNode: status, content blocks, artifacts; records keyed by position;
arguments checked against the schema the model was shown."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import assert_valid_history, tool_messages, turn
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool, ToolException, tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel

import zyx
from zyx.testing import ScriptedChatModel, call, calls, complete

IMAGE = {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"}


def once(*first: dict[str, Any]) -> ScriptedChatModel:
    """A model that makes `first` calls, then completes."""
    return ScriptedChatModel(policy=lambda messages, tools: calls(*first) if turn(messages) == 0 else complete())


def answers(result: zyx.RunResult[Any]) -> list[ToolMessage]:
    return [m for m in tool_messages(result.messages) if m.name != "complete_task"]


async def toolnode_answer(tool_: Any, name: str, args: dict[str, Any]) -> ToolMessage:
    """What LangGraph's own ToolNode answers for one call (in a one-node graph, as agents run it)."""
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([tool_]))
    graph.add_edge(START, "tools")
    out = await graph.compile().ainvoke({"messages": [AIMessage("", tool_calls=[
        {"name": name, "args": args, "id": "c1", "type": "tool_call"}])]})
    message: ToolMessage = out["messages"][-1]
    return message


@tool
def flaky(city: str) -> str:
    """Weather for a city."""
    raise ToolException(f"no station in {city}")


flaky.handle_tool_error = True


async def test_a_handled_tool_exception_is_an_error_as_in_toolnode() -> None:
    result = await zyx.arun("x", tools=[flaky], model=once(call("flaky", city="Oslo")))
    sent = answers(result)[0]
    expected = await toolnode_answer(flaky, "flaky", {"city": "Oslo"})
    assert (sent.status, sent.content) == (expected.status, expected.content) == ("error", "no station in Oslo")
    assert result.tool_calls[0].error == "no station in Oslo" and not result.tool_calls[0].ok


def blocks() -> list[dict[str, Any]]:
    """A chart and its caption."""
    return [{"type": "text", "text": "12 sales"}, IMAGE]


async def test_content_blocks_reach_the_model_as_blocks() -> None:
    result = await zyx.arun("x", tools=[blocks], model=once(call("blocks")))
    sent = answers(result)[0]
    assert sent.content == [{"type": "text", "text": "12 sales"}, IMAGE]
    assert sent.content == (await toolnode_answer(StructuredTool.from_function(blocks), "blocks", {})).content
    assert result.tool_calls[0].output == [{"type": "text", "text": "12 sales"}, IMAGE]
    assert_valid_history(result.messages)


@tool(response_format="content_and_artifact")
def search(query: str) -> tuple[str, dict[str, Any]]:
    """Search the index."""
    return f"2 hits for {query}", {"ids": [4, 9]}


async def test_artifacts_are_kept_on_the_message_and_in_the_record() -> None:
    result = await zyx.arun("x", tools=[search], model=once(call("search", query="rain")))
    sent = answers(result)[0]
    expected = await toolnode_answer(search, "search", {"query": "rain"})
    assert (sent.content, sent.artifact) == (expected.content, expected.artifact) == ("2 hits for rain", {"ids": [4, 9]})
    record = result.tool_calls[0]
    assert (record.output, record.artifact) == ("2 hits for rain", {"ids": [4, 9]})


class Forecast(BaseModel):
    city: str
    rain: bool


def forecast(city: str) -> Forecast:
    """The forecast."""
    return Forecast(city=city, rain=True)


def test_a_pydantic_output_is_json_for_the_model_and_python_for_the_caller() -> None:
    result = zyx.run("x", tools=[forecast], model=once(call("forecast", city="Oslo")))
    assert answers(result)[0].content == '{"city":"Oslo","rain":true}'
    assert result.tool_calls[0].output == Forecast(city="Oslo", rain=True)


# -- records keyed by position, not by the provider's id (issue 15, item 7) ----------------------

def test_repeated_call_ids_in_one_turn_keep_every_output() -> None:
    def number(n: int) -> int:
        """Echo n."""
        return n

    result = zyx.run("x", tools=[number], model=once({**call("number", n=1), "id": "dup"},
                                                       {**call("number", n=2), "id": "dup"}))
    assert [r.output for r in result.tool_calls] == [1, 2]
    assert [m.content for m in answers(result)] == ["1", "2"]


def test_a_call_id_reused_every_turn_keeps_every_output() -> None:
    def number(n: int) -> int:
        """Echo n."""
        return n

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) < 3:
            return {**call("number", n=turn(messages) + 1), "id": "call_0"}
        return {**complete(), "id": "call_0"}

    result = zyx.run("x", tools=[number], model=ScriptedChatModel(policy=policy))
    assert [r.output for r in result.tool_calls] == [1, 2, 3]


def test_a_plan_id_reused_every_turn_keeps_every_plan() -> None:
    def number(n: int) -> int:
        """Echo n."""
        return n

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) < 2:
            step = {"id": "s", "tool": "number", "args": {"n": turn(messages) + 1}}
            return {**call("submit_plan", steps=[step]), "id": "call_0"}
        return {**complete(), "id": "call_0"}

    result = zyx.run("x", tools=[number], plan=True, model=ScriptedChatModel(policy=policy))
    assert [[s["output"] for s in p["steps"]] for p in result.plans] == [[1], [2]]
    assert [r.output for r in result.tool_calls] == [1, 2]


# -- arguments checked against the schema the model was shown (issue 15, item 9) -----------------

LOOKUP_SCHEMA = {"type": "object", "properties": {"user_id": {"type": "integer", "minimum": 1}},
                 "required": ["user_id"]}


def test_a_json_schema_tool_gets_only_valid_arguments() -> None:
    seen: list[dict[str, Any]] = []
    lookup = StructuredTool(name="lookup_user", description="Look a user up.", args_schema=LOOKUP_SCHEMA,
                            func=lambda **kwargs: seen.append(kwargs) or "found")
    result = zyx.run("x", tools=[lookup], model=once(call("lookup_user", user_id="../../etc"),
                                                     call("lookup_user", user_id=0),
                                                     call("lookup_user", user_id=7, admin=True),
                                                     call("lookup_user"),
                                                     call("lookup_user", user_id=7)))
    assert seen == [{"user_id": 7}]
    errors = [r.error for r in result.tool_calls]
    assert errors[4] is None and all(errors[:4])
    assert "user_id" in errors[0] and "type" in errors[0] and "../../etc" not in errors[0]
    assert "minimum" in errors[1]
    assert "'admin': not an argument of this tool" in errors[2]
    assert "required" in errors[3]
    assert [m.status for m in answers(result)] == ["error"] * 4 + ["success"]


def test_unknown_keys_are_refused_for_function_tools() -> None:
    ran: list[int] = []

    def add(a: int, b: int) -> int:
        """Add."""
        ran.append(a + b)
        return a + b

    result = zyx.run("x", tools=[add], model=once(call("add", a=1, b=2, c=3)))
    assert ran == []
    assert result.tool_calls[0].error is not None and "'c': not an argument" in result.tool_calls[0].error


def test_a_tool_with_a_broken_json_schema_is_a_configuration_error() -> None:
    broken = StructuredTool(name="broken", description="Broken.", args_schema={"type": "object", "properties": 5},
                            func=lambda **kwargs: "x")
    with pytest.raises(zyx.ConfigurationError, match="tools"):
        zyx.run("x", tools=[broken], model=ScriptedChatModel(responses=[complete()]))
