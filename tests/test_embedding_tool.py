"""The run graph as a tool of a supervisor agent, and streamed from a parent graph with `subgraphs=True`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import assert_valid_history
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import START, MessagesState, StateGraph
from pydantic import BaseModel

import zyx
from zyx.embed import SubRunFailed, as_tool
from zyx.graph import build_run_graph
from zyx.testing import ScriptedChatModel, call, complete, last_tool_results


class Weather(BaseModel):
    city: str
    forecast: str


class Trip(BaseModel):
    destination: str
    pack_umbrella: bool


def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"rain in {city}"


def researcher_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """The sub-agent: one weather lookup, then a typed completion."""
    results = last_tool_results(messages)
    if not results or results[-1].name == "complete_task":
        return call("get_weather", city="Oslo")
    return complete(summary="Looked it up", result={"city": "Oslo", "forecast": results[0].content})


def supervisor_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """The supervisor: delegates once, then completes from the delegated result."""
    results = last_tool_results(messages)
    if not results:
        return call("research_weather", task="Find the weather in Oslo.")
    weather = json.loads(results[0].content)
    return complete(summary="Trip planned", result={"destination": weather["city"],
                                                    "pack_umbrella": "rain" in weather["forecast"]})


def test_as_tool_is_a_langchain_tool_with_one_task_argument() -> None:
    tool = as_tool(name="research_weather", description="Research weather.", target=Weather,
                   model=ScriptedChatModel(policy=researcher_policy), tools=[get_weather])
    assert isinstance(tool, BaseTool)
    assert tool.name == "research_weather"
    assert tool.description == "Research weather."
    assert list(tool.args) == ["task"]


def test_supervisor_delegates_to_a_sub_run_and_gets_its_typed_result() -> None:
    sub_model = ScriptedChatModel(policy=researcher_policy)
    researcher = as_tool(name="research_weather", description="Research the weather of a city.",
                         target=Weather, model=sub_model, tools=[get_weather])
    supervisor = ScriptedChatModel(policy=supervisor_policy)

    result = zyx.run("Plan a trip to Oslo.", Trip, model=supervisor, tools=[researcher])

    assert result.output == Trip(destination="Oslo", pack_umbrella=True)
    assert [c.name for c in result.tool_calls] == ["research_weather"]
    # the model read JSON text; the typed value is the call's artifact
    assert json.loads(result.tool_calls[0].output) == {"city": "Oslo", "forecast": "rain in Oslo"}
    assert result.tool_calls[0].artifact == Weather(city="Oslo", forecast="rain in Oslo")
    assert "research_weather" in supervisor.calls[0].tools
    # the sub-agent saw the delegated task only, and had its own tools
    first = sub_model.calls[0]
    assert [m.content for m in first.messages if isinstance(m, HumanMessage)] == ["Find the weather in Oslo."]
    assert "get_weather" in first.tools and "research_weather" not in first.tools
    assert len(sub_model.calls) == 2 and len(supervisor.calls) == 2
    assert_valid_history(result.messages)


async def test_a_compiled_graph_as_a_tool_async() -> None:
    graph = build_run_graph(model=ScriptedChatModel(policy=researcher_policy), tools=[get_weather], target=Weather)
    researcher = as_tool(graph, name="research_weather", description="Research weather.", target=Weather)
    value = await researcher.ainvoke({"task": "Weather in Oslo?"})
    assert value == Weather(city="Oslo", forecast="rain in Oslo")
    result = await zyx.arun("Plan a trip to Oslo.", Trip, model=ScriptedChatModel(policy=supervisor_policy),
                            tools=[researcher])
    assert result.output.pack_umbrella is True


def test_without_target_the_tool_returns_the_summary_and_sync_invoke_works() -> None:
    tool = as_tool(name="helper", description="Helps.", model=ScriptedChatModel(responses=[complete("All set")]))
    assert tool.invoke({"task": "Do it."}) == "All set"


def test_a_failed_completion_comes_back_as_text() -> None:
    tool = as_tool(name="helper", description="Helps.", target=Weather,
                   model=ScriptedChatModel(responses=[complete("No data for that city", status="failed")]))
    assert tool.invoke({"task": "Weather on Mars?"}) == "Task failed: No data for that city"


def test_a_failed_sub_run_is_an_error_the_supervisor_sees() -> None:
    failing = as_tool(name="helper", description="Helps.", max_retries=0,
                      model=ScriptedChatModel(policy=lambda messages, tools: "just text, no completion"))
    with pytest.raises(zyx.TaskNotCompletedError):
        failing.invoke({"task": "Do it."})

    def supervisor(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        results = last_tool_results(messages)
        if not results:
            return call("helper", task="Do it.")
        return complete(summary=f"helper said: {results[0].content}")

    result = zyx.run("Delegate.", model=ScriptedChatModel(policy=supervisor), tools=[failing])
    assert result.tool_calls[0].error is not None and "TaskNotCompletedError" in result.tool_calls[0].error
    assert "TaskNotCompletedError" in result.completion.summary


def test_as_tool_checks_its_arguments_at_once() -> None:
    model = ScriptedChatModel(responses=[])
    with pytest.raises(zyx.ConfigurationError, match="name"):
        as_tool(name="bad name", description="x", model=model)
    with pytest.raises(zyx.ConfigurationError, match="description"):
        as_tool(name="ok", description=" ", model=model)
    with pytest.raises(zyx.ConfigurationError, match="max_steps"):
        as_tool(name="ok", description="x", model=model, max_steps=-1)
    with pytest.raises(zyx.ConfigurationError, match="thread_id"):
        as_tool(name="ok", description="x", model=model, thread_id="t")  # type: ignore[call-arg]
    with pytest.raises(zyx.ConfigurationError, match="max_steps"):
        as_tool(build_run_graph(model=model), name="ok", description="x", max_steps=3)
    with pytest.raises(zyx.ConfigurationError, match="graph"):
        as_tool("not a graph", name="ok", description="x")  # type: ignore[arg-type]


async def test_parent_streams_the_runs_node_updates_with_subgraphs() -> None:
    run_graph = build_run_graph(model=ScriptedChatModel(policy=researcher_policy), tools=[get_weather], target=Weather)
    parent = StateGraph(MessagesState)
    parent.add_node("agent", run_graph)
    parent.add_edge(START, "agent")
    app = parent.compile()

    seen: list[tuple[tuple[str, ...], str]] = []
    async for namespace, update in app.astream({"messages": [HumanMessage("Weather in Oslo?")]},
                                               stream_mode="updates", subgraphs=True):
        seen.extend((namespace, node) for node in update)

    inner = [node for namespace, node in seen if namespace and namespace[0].startswith("agent:")]
    assert inner[:4] == ["planner", "tool_executor", "planner", "completion"]
    assert seen[-1] == ((), "agent")  # and the parent's own update once the run is done


def test_sync_stream_of_a_parent_sees_tool_calls_of_the_run() -> None:
    run_graph = build_run_graph(model=ScriptedChatModel(policy=researcher_policy), tools=[get_weather], target=Weather)
    parent = StateGraph(MessagesState)
    parent.add_node("agent", run_graph)
    parent.add_edge(START, "agent")
    updates = [(ns, u) for ns, u in parent.compile().stream(
        {"messages": [HumanMessage("Weather in Oslo?")]}, stream_mode="updates", subgraphs=True)]
    executed = [u["tool_executor"] for ns, u in updates if ns and "tool_executor" in u]
    assert executed and executed[0]["tool_calls"][0]["name"] == "get_weather"
    messages = updates[-1][1]["agent"]["messages"]
    assert isinstance(messages[-1], ToolMessage) and isinstance(messages[-2], AIMessage)


# -- inside LangChain's create_agent (LangGraph's ToolNode runs the tool) -------------------------

def _agent(tool: BaseTool, policy: Any) -> Any:
    agents = pytest.importorskip("langchain.agents", reason='needs the bench extra: pip install -e ".[bench]"')
    return agents.create_agent(ScriptedChatModel(policy=policy), tools=[tool])


def _delegate_then_answer(name: str, task: str) -> Any:
    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if not any(isinstance(m, ToolMessage) for m in messages):
            return call(name, task=task)
        return f"done: {messages[-1].content}"
    return policy


def test_a_failing_sub_run_shows_the_create_agent_supervisor_the_error() -> None:
    failing = as_tool(name="helper", description="Helps.", max_retries=0,
                      model=ScriptedChatModel(policy=lambda messages, tools: "just text, no completion"))
    agent = _agent(failing, _delegate_then_answer("helper", "Do it."))

    out = agent.invoke({"messages": [HumanMessage("Delegate.")]})  # the supervisor does not crash

    answer = next(m for m in out["messages"] if isinstance(m, ToolMessage))
    assert answer.status == "error" and str(answer.content).startswith("TaskNotCompletedError: ")
    assert out["messages"][-1].content.startswith("done: TaskNotCompletedError")


def test_a_typed_result_reaches_a_create_agent_supervisor_as_json() -> None:
    researcher = as_tool(name="research_weather", description="Research weather.", target=Weather,
                         model=ScriptedChatModel(policy=researcher_policy), tools=[get_weather])
    agent = _agent(researcher, _delegate_then_answer("research_weather", "Weather in Oslo?"))

    out = agent.invoke({"messages": [HumanMessage("Weather?")]})

    answer = next(m for m in out["messages"] if isinstance(m, ToolMessage))
    assert answer.status == "success"
    assert json.loads(answer.content) == {"city": "Oslo", "forecast": "rain in Oslo"}  # type: ignore[arg-type]
    assert answer.artifact == Weather(city="Oslo", forecast="rain in Oslo")


def test_called_directly_a_failing_sub_run_raises_its_zyx_error_with_the_tool_exception_around_it() -> None:
    failing = as_tool(name="helper", description="Helps.", max_retries=0,
                      model=ScriptedChatModel(policy=lambda messages, tools: "just text, no completion"))
    failing.handle_tool_error = False  # LangChain's switch: the ToolException itself propagates
    with pytest.raises(SubRunFailed) as caught:
        failing.invoke({"task": "Do it."})
    assert isinstance(caught.value.error, zyx.TaskNotCompletedError)
    assert caught.value.__cause__ is caught.value.error
