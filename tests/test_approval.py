"""Human approval: `approve=` pauses chosen tool calls, `approve_plan=` a whole plan, via LangGraph interrupts."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import zyx
from zyx.graph import build_run_graph
from zyx.result import PendingToolCall
from zyx.testing import ScriptedChatModel, call, complete

deleted: list[str] = []


def delete(path: str) -> str:
    """Delete a file."""
    deleted.append(path)
    return f"deleted {path}"


def look(path: str) -> str:
    """Look at a file."""
    return f"saw {path}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    deleted.clear()


def graph_for(responses: list[Any], **options: Any) -> tuple[Any, dict[str, Any], ScriptedChatModel]:
    model = ScriptedChatModel(responses=responses)
    graph = build_run_graph(model=model, tools=[delete, look], checkpointer=InMemorySaver(), **options)
    return graph, {"configurable": {"thread_id": "t"}}, model


def tool_results(messages: list[Any]) -> dict[str, str]:
    return {m.tool_call_id: m.content for m in messages if isinstance(m, ToolMessage)}


def test_pauses_before_the_chosen_calls_only_and_runs_nothing_until_decided() -> None:
    graph, config, _ = graph_for([[call("delete", path="a"), call("look", path="b")], complete()], approve=["delete"])
    out = graph.invoke({"messages": [HumanMessage("go")]}, config)
    (interrupt,) = out["__interrupt__"]
    assert interrupt.value == {"pending": [{"id": "call_1", "name": "delete", "args": {"path": "a"}}]}
    assert deleted == [] and out.get("steps", 0) == 0


def test_decisions_keyed_by_call_id_approve_reject_edit() -> None:
    graph, config, model = graph_for(
        [[call("delete", path="a"), call("delete", path="b"), call("delete", path="c")], complete()], approve=True)
    graph.invoke({"messages": [HumanMessage("go")]}, config)
    out = graph.invoke(Command(resume={"call_1": "approve", "call_2": {"reject": "keep b"},
                                       "call_3": {"edit": {"path": "c2"}}}), config)
    assert deleted == ["a", "c2"]
    results = tool_results(out["messages"])
    assert results["call_1"] == "deleted a"
    assert results["call_2"] == "Rejected by a human reviewer: keep b"
    assert results["call_3"] == "deleted c2"
    assert [e["args"] for e in out["tool_calls"]] == [{"path": "a"}, {"path": "c2"}]
    assert out["termination"] == "completed" and len(model.calls) == 2
    assert "Rejected by a human reviewer: keep b" in str(model.calls[1].messages[-2:])


def test_predicate_selects_calls() -> None:
    rule = lambda pending: isinstance(pending, PendingToolCall) and pending.args["path"].startswith("/")  # noqa: E731
    graph, config, _ = graph_for([[call("look", path="/etc"), call("look", path="here")], complete()], approve=rule)
    out = graph.invoke({"messages": [HumanMessage("go")]}, config)
    assert [p["id"] for p in out["__interrupt__"][0].value["pending"]] == ["call_1"]


@pytest.mark.parametrize("decisions", [{"call_1": "approve", "nope": "approve"}, {"call_1": "yes"},
                                       {"call_1": {"edit": "x"}}, "approve"])
def test_bad_decisions_are_a_clear_error(decisions: Any) -> None:
    graph, config, _ = graph_for([[call("delete", path="a")], complete()], approve=["delete"])
    graph.invoke({"messages": [HumanMessage("go")]}, config)
    with pytest.raises(zyx.ConfigurationError, match="decisions"):
        graph.invoke(Command(resume=decisions), config)
    assert deleted == []


def test_plan_approval_pauses_once_with_the_whole_plan() -> None:
    plan = {"name": "submit_plan", "args": {"steps": [
        {"id": "s1", "tool": "delete", "args": {"path": "a"}},
        {"id": "s2", "tool": "look", "args": {"path": "$s1"}},
        {"id": "done", "tool": "complete_task", "args": {"summary": "ok"}}]}}
    graph, config, model = graph_for([plan], plan=True, approve_plan=True)
    out = graph.invoke({"messages": [HumanMessage("go")]}, config)
    (pending,) = out["__interrupt__"][0].value["pending"]
    assert pending["name"] == "submit_plan" and [s["id"] for s in pending["args"]["steps"]] == ["s1", "s2", "done"]
    assert deleted == []
    out = graph.invoke(Command(resume={pending["id"]: "approve"}), config)
    assert deleted == ["a"] and out["termination"] == "completed" and len(model.calls) == 1


def test_plan_rejected_by_a_human_goes_back_to_the_model() -> None:
    plan = {"name": "submit_plan", "args": {"steps": [{"id": "s1", "tool": "delete", "args": {"path": "a"}}]}}
    graph, config, model = graph_for([plan, complete(status="failed", summary="not allowed")],
                                     plan=True, approve_plan=True)
    out = graph.invoke({"messages": [HumanMessage("go")]}, config)
    call_id = out["__interrupt__"][0].value["pending"][0]["id"]
    out = graph.invoke(Command(resume={call_id: {"reject": "never delete"}}), config)
    assert deleted == [] and "never delete" in tool_results(out["messages"])[call_id]
    assert out["completion"]["status"] == "failed"


def test_option_errors() -> None:
    model = ScriptedChatModel(responses=[])
    with pytest.raises(zyx.ConfigurationError, match="approve"):
        build_run_graph(model=model, tools=[delete], approve=["nope"])
    with pytest.raises(zyx.ConfigurationError, match="approve_plan"):
        build_run_graph(model=model, tools=[delete], approve_plan=True)
    with pytest.raises(zyx.ConfigurationError, match="approve"):
        build_run_graph(model=model, tools=[delete], plan=True, approve=True)
    assert isinstance(AIMessage(""), AIMessage)


def test_run_returns_an_interrupted_result_then_resumes_with_decisions() -> None:
    saver = InMemorySaver()
    model = ScriptedChatModel(responses=[[call("delete", path="a"), call("look", path="b")], complete(summary="ok")])
    options: dict[str, Any] = {"model": model, "tools": [delete, look], "approve": ["delete"],
                               "checkpointer": saver, "thread_id": "th"}
    paused = zyx.run("clean up", **options)
    assert paused.interrupted and paused.termination == "interrupted" and paused.completion is None
    assert paused.pending == [PendingToolCall(id="call_1", name="delete", args={"path": "a"})]
    assert deleted == []
    with pytest.raises(zyx.ConfigurationError, match="decisions"):
        zyx.run(**options)  # still waiting: decisions are required
    with pytest.raises(zyx.ConfigurationError, match="missing"):
        zyx.run(**options, decisions={})
    with pytest.raises(zyx.ConfigurationError, match="unknown"):
        zyx.run(**options, decisions={"call_1": "approve", "call_9": "approve"})
    done = zyx.run(**options, decisions={"call_1": {"reject": "keep it"}})
    assert not done.interrupted and done.termination == "completed" and deleted == []
    assert "keep it" in tool_results(done.messages)["call_1"]
    assert [c.name for c in done.tool_calls] == ["look"]


def test_run_refuses_approvals_without_a_checkpointer_or_while_streaming() -> None:
    model = ScriptedChatModel(responses=[])
    with pytest.raises(zyx.ConfigurationError, match="checkpointer"):
        zyx.run("x", model=model, tools=[delete], approve=True)
    with pytest.raises(zyx.ConfigurationError, match="stream"):
        zyx.run("x", int, model=model, tools=[delete], approve=True, checkpointer=InMemorySaver(),
                thread_id="t", stream=True)
    with pytest.raises(zyx.ConfigurationError, match="no tool calls waiting"):
        zyx.run("x", model=ScriptedChatModel(responses=[complete()]), checkpointer=InMemorySaver(),
                thread_id="t", decisions={"a": "approve"})
    assert model.calls == []
