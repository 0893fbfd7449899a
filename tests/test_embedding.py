"""The run graph as a node of a bigger LangGraph graph."""

from __future__ import annotations

from typing import Any

from helpers import assert_valid_history, turn
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from zyx.graph import build_run_graph
from zyx.testing import ScriptedChatModel, call, complete, last_tool_results


def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


def weather_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if turn(messages) == 0 or not isinstance(messages[-1], ToolMessage) or messages[-1].name == "complete_task":
        return call("get_weather", city="Oslo")
    return complete(summary=f"Oslo: {last_tool_results(messages)[0].content}")


class Parent(MessagesState):
    report: str


def _parent(model: ScriptedChatModel) -> Any:
    run_graph = build_run_graph(model=model, tools=[get_weather])

    def report(state: Parent) -> dict[str, Any]:
        calls = [c["name"] for m in state["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
        results = [m.content for m in state["messages"] if isinstance(m, ToolMessage)]
        return {"report": f"{calls} -> {results}"}

    builder = StateGraph(Parent)
    builder.add_node("agent", run_graph)
    builder.add_node("report", report)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "report")
    builder.add_edge("report", END)
    return builder.compile()


def test_parent_sees_the_runs_conversation() -> None:
    model = ScriptedChatModel(policy=weather_policy)
    final = _parent(model).invoke({"messages": [HumanMessage("Weather in Oslo?")]})
    messages = final["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage, ToolMessage]
    assert messages[0].content == "Weather in Oslo?"
    assert messages[1].tool_calls[0]["name"] == "get_weather"
    assert messages[2].content == "sunny in Oslo"
    assert messages[3].tool_calls[0]["args"]["summary"] == "Oslo: sunny in Oslo"
    assert messages[4].content == "Completion accepted."
    assert not any(isinstance(m, SystemMessage) for m in messages)
    assert_valid_history(messages)
    assert final["report"] == "['get_weather', 'complete_task'] -> ['sunny in Oslo', 'Completion accepted.']"
    assert len(model.calls) == 2


async def test_parent_async() -> None:
    model = ScriptedChatModel(policy=weather_policy)
    final = await _parent(model).ainvoke({"messages": [HumanMessage("Weather in Oslo?")]})
    assert final["report"].startswith("['get_weather', 'complete_task']")
    assert len(final["messages"]) == 5


def test_prior_messages_reach_the_model_and_are_not_duplicated() -> None:
    prior: list[BaseMessage] = [
        HumanMessage("Hi, I am planning a trip."),
        AIMessage("Great, where to?"),
        HumanMessage("Weather in Oslo?"),
    ]
    model = ScriptedChatModel(policy=weather_policy)
    final = _parent(model).invoke({"messages": prior})
    seen = model.calls[0].messages
    assert isinstance(seen[0], SystemMessage)
    assert [m.content for m in seen[1:]] == [m.content for m in prior]
    messages = final["messages"]
    assert [m.content for m in messages[:3]] == [m.content for m in prior]
    assert len(messages) == 3 + 4
    assert len({m.id for m in messages}) == len(messages)
    assert_valid_history(messages)


def test_embedded_run_after_an_earlier_run_in_the_same_conversation() -> None:
    """A second task appended after a finished run: the run graph starts afresh from it."""
    model = ScriptedChatModel(policy=weather_policy)
    parent = _parent(model)
    first = parent.invoke({"messages": [HumanMessage("Weather in Oslo?")]})
    second = parent.invoke({"messages": [*first["messages"], HumanMessage("And again, please.")]})
    messages = second["messages"]
    assert len(messages) == 5 + 1 + 4
    assert messages[5].content == "And again, please."
    assert messages[-1].content == "Completion accepted."
    assert_valid_history(messages)
    assert len(model.calls) == 4


def test_a_long_embedded_run_is_not_cut_by_the_recursion_limit() -> None:
    """40 tool turns (over 80 supersteps) inside a parent that sets no recursion limit: the run
    graph's own limit applies and zyx's counters end the run, not GraphRecursionError."""

    def ping(i: int) -> int:
        """Ping."""
        return i

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        done = sum(isinstance(m, ToolMessage) for m in messages)
        return call("ping", i=done) if done < 40 else complete(summary="pinged")

    run_graph = build_run_graph(model=ScriptedChatModel(policy=policy), tools=[ping])
    builder = StateGraph(MessagesState)
    builder.add_node("agent", run_graph)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    out = builder.compile().invoke({"messages": [HumanMessage("ping 40 times")]})
    assert sum(isinstance(m, ToolMessage) for m in out["messages"]) == 41  # 40 pings + complete_task's answer
    assert run_graph.config["recursion_limit"] > 80
