"""One run scope per graph invocation: the graph run on its own (invoke, ainvoke, stream, a parent graph)
gives checks the same Python values as `run()` does (the source as given, tool outputs, the result
validated once)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.graph import START, MessagesState, StateGraph
from pydantic import BaseModel, model_validator

import zyx
from zyx._scope import RunGraph, RunScope
from zyx.graph import build_run_graph
from zyx.testing import ScriptedChatModel, call, complete

VALIDATIONS: list[int] = []


class Forecast(BaseModel):
    city: str
    high: int

    @model_validator(mode="after")
    def counted(self) -> Forecast:
        VALIDATIONS.append(1)
        return self


class Place(BaseModel):
    city: str


@dataclass
class Reading:
    """Not JSON: a checkpoint keeps its dump, the run's scope the object."""

    city: str
    high: int


def weather(city: str) -> Reading:
    """The day's reading for a city."""
    return Reading(city, 21)


SOURCE = Place(city="Oslo")


def model() -> ScriptedChatModel:
    return ScriptedChatModel(responses=[call("weather", city="Oslo"),
                                        complete("Oslo: 21", result={"city": "Oslo", "high": 21})])


def recorder() -> tuple[list[dict[str, Any]], Any]:
    seen: list[dict[str, Any]] = []

    def check(completion: zyx.RunCompletion[Forecast], ctx: zyx.RunVerificationContext) -> None:
        seen.append({"result": completion.result, "source": ctx.source, "outputs": [t.output for t in ctx.tool_calls],
                     "validations": len(VALIDATIONS)})
        return None

    return seen, check


def assert_python_values(seen: list[dict[str, Any]]) -> None:
    [what] = seen
    assert isinstance(what["result"], Forecast) and what["result"].high == 21
    assert what["source"] is SOURCE  # as given, not its JSON form
    assert what["outputs"] == [Reading("Oslo", 21)]  # the tool's object, not its dump
    assert what["validations"] == 1  # validated once, when the completion was checked


def graph_input() -> dict[str, Any]:
    return {"messages": [HumanMessage("Forecast for the source's city.")], "source": SOURCE}


def test_run_sees_python_values() -> None:
    VALIDATIONS.clear()
    seen, check = recorder()
    result = zyx.run("Forecast for the source's city.", Forecast, model=model(), tools=[weather], verifier=check,
                     source=SOURCE)
    assert_python_values(seen)
    assert result.output is seen[0]["result"] and result.tool_calls[0].output == Reading("Oslo", 21)


def test_graph_invoke_sees_the_same_values_as_run() -> None:
    VALIDATIONS.clear()
    seen, check = recorder()
    graph = build_run_graph(target=Forecast, model=model(), tools=[weather], verifier=check)
    assert isinstance(graph, RunGraph)
    state = graph.invoke(graph_input())
    assert_python_values(seen)
    assert state["verified"] is True and state["tool_calls"][0]["output"] == {"city": "Oslo", "high": 21}  # JSON


async def test_graph_ainvoke_and_astream_see_the_same_values_as_run() -> None:
    for drive in ("ainvoke", "astream"):
        VALIDATIONS.clear()
        seen, check = recorder()
        graph = build_run_graph(target=Forecast, model=model(), tools=[weather], verifier=check)
        if drive == "ainvoke":
            await graph.ainvoke(graph_input())
        else:
            async for _ in graph.astream(graph_input(), stream_mode="updates"):
                pass
        assert_python_values(seen)


def test_run_graph_as_a_node_of_a_parent_graph_sees_the_same_values() -> None:
    VALIDATIONS.clear()
    seen, check = recorder()
    agent = build_run_graph(target=Forecast, model=model(), tools=[weather], verifier=check)

    class Parent(MessagesState):
        source: Any

    parent = StateGraph(Parent)
    parent.add_node("agent", agent)
    parent.add_edge(START, "agent")
    parent.compile().invoke(graph_input())
    assert_python_values(seen)


async def test_concurrent_graph_invocations_keep_their_own_values() -> None:
    async def tagged(tag: str) -> Reading:
        """A reading tagged by its run."""
        await asyncio.sleep(0.01)
        return Reading(tag, 0)

    seen: dict[str, Any] = {}

    def check(completion: zyx.RunCompletion[Any], ctx: zyx.RunVerificationContext) -> None:
        seen[ctx.task.goal] = ctx.tool_calls[0].output

    def graph_for(tag: str) -> Any:
        return build_run_graph(model=ScriptedChatModel(responses=[call("tagged", tag=tag), complete()]),
                               tools=[tagged], verifier=check)

    await asyncio.gather(*(graph_for(t).ainvoke({"messages": [HumanMessage(t)]}) for t in ("a", "b")))
    assert seen == {"a": Reading("a", 0), "b": Reading("b", 0)}


def test_a_scope_is_opened_once_and_a_nested_invocation_opens_its_own() -> None:
    scope = RunScope()
    config = scope.bind({"tags": ["x"]})
    assert RunScope.of(config) is scope and config["tags"] == ["x"]
    from zyx._scope import open_scope

    assert RunScope.of(open_scope(config)) is scope and scope.opened  # the caller's scope, opened
    nested = open_scope(config)  # e.g. a run graph inside a node or tool of this run, given its config
    assert RunScope.of(nested) is not scope
    assert RunScope.of(None).tool_outputs == {}  # outside an invocation: an empty scope


def test_the_scope_is_never_saved_with_a_checkpoint() -> None:
    """Servers copy the configurable into checkpoint metadata, all but the "__" keys (LangGraph's own)."""
    from langgraph.checkpoint.memory import InMemorySaver

    from zyx._scope import SCOPE_KEY

    assert SCOPE_KEY.startswith("__")
    saver = InMemorySaver()
    graph = build_run_graph(target=Forecast, model=model(), tools=[weather], checkpointer=saver)
    graph.invoke(graph_input(), {"configurable": {"thread_id": "t", "setting": 1}})
    metadata = [c.metadata for c in saver.list({"configurable": {"thread_id": "t"}})]
    assert metadata and all(not any(isinstance(v, RunScope) for v in m.values()) for m in metadata)
