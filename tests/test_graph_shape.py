"""The compiled run graph: its nodes, invoke/ainvoke, serialisable state, where the model runs, caching."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from helpers import assert_valid_history, scripted
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph

import zyx
import zyx.graph._cache as graph_cache
from zyx.graph import build_run_graph, compile_run_graph
from zyx.testing import call, complete

NODES = {"planner", "tool_executor", "completion", "verifier"}


class Opaque:
    def __str__(self) -> str:
        return "opaque!"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def opaque() -> Opaque:
    """Returns something that is not JSON."""
    return Opaque()


class NodeRecorder(BaseCallbackHandler):
    """Records the LangGraph node each chat-model call runs in."""

    def __init__(self) -> None:
        self.nodes: list[str | None] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any, parent_run_id: Any = None,
                            tags: Any = None, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.nodes.append((metadata or {}).get("langgraph_node"))


def _model() -> Any:
    return scripted(call("add", a=1, b=2), call("opaque"), complete(summary="3", result=3))


def test_build_run_graph_nodes() -> None:
    graph = build_run_graph(model=_model(), tools=[add])
    assert isinstance(graph, CompiledStateGraph)
    assert set(graph.nodes) == NODES | {"__start__"}
    assert set(graph.get_graph().nodes) == NODES | {"__start__", "__end__"}


def _check_final_state(state: dict[str, Any]) -> None:
    assert state["termination"] == "completed"
    assert state["completion"] == {"status": "success", "summary": "3", "result": 3,
                                   "evidence": None, "verification": None}
    assert [(c["name"], c["args"], c["output"]) for c in state["tool_calls"]] == [
        ("add", {"a": 1, "b": 2}, 3), ("opaque", {}, "opaque!")]
    rest = {k: v for k, v in state.items() if k != "messages"}
    assert json.loads(json.dumps(rest)) == rest
    messages = state["messages"]
    assert messages[0] == HumanMessage("1 + 2?", id=messages[0].id)
    assert not any(isinstance(m, SystemMessage) for m in messages)
    assert_valid_history(messages)


def test_invoke() -> None:
    model = _model()
    graph = build_run_graph(model=model, tools=[add, opaque], target=int)
    state = graph.invoke({"messages": [HumanMessage("1 + 2?")]})
    _check_final_state(state)
    assert len(model.calls) == 3


async def test_ainvoke() -> None:
    model = _model()
    graph = build_run_graph(model=model, tools=[add, opaque], target=int)
    state = await graph.ainvoke({"messages": [HumanMessage("1 + 2?")]})
    _check_final_state(state)
    assert len(model.calls) == 3


def test_invoke_with_verifier_goes_through_the_verifier_node() -> None:
    model = scripted(complete(result=1), complete(result=2))
    graph = build_run_graph(model=model, target=int, verifier=lambda c: c.result == 2 or "not two")
    visited = [node for update in graph.stream({"messages": [HumanMessage("two")]}, stream_mode="updates")
               for node in update]
    assert visited == ["planner", "completion", "verifier", "planner", "completion", "verifier"]


def test_failed_run_state_holds_the_error() -> None:
    model = scripted(complete(result="x"))
    graph = build_run_graph(model=model, target=int, max_retries=0)
    state = graph.invoke({"messages": [HumanMessage("n")]})
    assert state["error"]["kind"] == "verification"
    assert state.get("completion") is None
    json.dumps({k: v for k, v in state.items() if k != "messages"})


# -- the model runs only in the planner -----------------------------------------------


def test_model_called_only_in_planner_by_callbacks() -> None:
    model = _model()
    recorder = NodeRecorder()
    graph = build_run_graph(model=model, tools=[add, opaque], target=int)
    graph.invoke({"messages": [HumanMessage("1 + 2?")]}, {"callbacks": [recorder]})
    assert recorder.nodes == ["planner", "planner", "planner"]


def test_model_called_only_in_planner_through_run() -> None:
    model = _model()
    recorder = NodeRecorder()
    zyx.run("1 + 2?", target=int, tools=[add, opaque], model=model, config={"callbacks": [recorder]})
    assert recorder.nodes == ["planner"] * 3


def test_model_messages_only_in_planner_updates() -> None:
    graph = build_run_graph(model=_model(), tools=[add, opaque], target=int)
    by_node: dict[str, list[type]] = {}
    for update in graph.stream({"messages": [HumanMessage("1 + 2?")]}, stream_mode="updates"):
        for node, change in update.items():
            by_node.setdefault(node, []).extend(type(m) for m in (change or {}).get("messages", []))
    ai_nodes = {node for node, kinds in by_node.items() if AIMessage in kinds}
    assert ai_nodes == {"planner"}
    assert ToolMessage in by_node["tool_executor"]
    assert set(by_node) <= NODES


# -- compiled graphs are reused ----------------------------------------------------------


@pytest.fixture
def compile_spy() -> Any:
    with mock.patch.object(graph_cache, "compile_run_graph", wraps=compile_run_graph) as spy:
        yield spy


def test_identical_runs_reuse_the_compiled_graph(compile_spy: Any) -> None:
    model = scripted(complete(result=1), complete(result=2), complete(summary="untyped"))
    tools = [add]
    assert zyx.run("a", target=int, tools=tools, model=model, max_steps=7).output == 1
    assert zyx.run("b", target=int, tools=tools, model=model, max_steps=7).output == 2
    assert compile_spy.call_count == 1
    zyx.run("c", tools=tools, model=model, max_steps=7)  # different target: a new graph
    assert compile_spy.call_count == 2


def test_different_options_build_new_graphs(compile_spy: Any) -> None:
    model = scripted(*(complete(result=1) for _ in range(3)))
    zyx.run("a", target=int, model=model, max_retries=1)
    zyx.run("a", target=int, model=model, max_retries=2)
    zyx.run("a", target=int, model=model, max_retries=2, instructions="be brief")
    assert compile_spy.call_count == 3


def test_cached_graph_does_not_skip_option_checks() -> None:
    model = scripted(complete(), complete())
    zyx.run("a", model=model, max_steps=1)
    with pytest.raises(zyx.ConfigurationError):
        zyx.run("a", model=model, max_steps=True)
    with pytest.raises(zyx.ConfigurationError):
        zyx.run("a", model=model, max_steps=1.0)


def test_node_modules_are_not_shadowed_by_their_functions() -> None:
    """`import zyx.graph.tool_executor` gives the module (monkeypatching a module attribute works)."""
    import importlib
    import types

    import zyx.graph

    for name in ("model_call", "tool_executor", "plan_executor", "completion", "verifier"):
        module = importlib.import_module(f"zyx.graph.{name}")
        assert isinstance(getattr(zyx.graph, name), types.ModuleType) and getattr(zyx.graph, name) is module
    compiled = build_run_graph()
    assert {"planner", "tool_executor", "completion", "verifier"} <= set(compiled.get_graph().nodes)
