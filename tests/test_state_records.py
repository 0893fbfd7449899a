"""Kinds and records in the run state: enums in the code, plain JSON strings in the state and its checkpoints."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from helpers import scripted
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from zyx import (
    LimitExceededError,
    MaxStepsExceededError,
    PlanError,
    RunError,
    RunTimeoutError,
    TaskNotCompletedError,
    VerificationError,
)
from zyx._outcome import run_error
from zyx.graph import build_run_graph
from zyx.graph.state import FailureKind, Rejection, fail, is_unparsed, unparsed_completion
from zyx.testing import call


def count(items: list) -> int:
    """Count items."""
    return len(items)


def _plain(value: Any) -> None:
    """Every key and string in `value` is a plain `str` (no enum member: checkpoints would store its class)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, key
            _plain(item)
    elif isinstance(value, list):
        for item in value:
            _plain(item)
    elif isinstance(value, str):
        assert type(value) is str, value


@pytest.mark.parametrize(("kind", "error"), [
    (FailureKind.NOT_COMPLETED, TaskNotCompletedError), (FailureKind.VERIFICATION, VerificationError),
    (FailureKind.MAX_STEPS, MaxStepsExceededError), (FailureKind.LIMIT, LimitExceededError),
    (FailureKind.TIMEOUT, RunTimeoutError), (FailureKind.PLAN, PlanError),
])
def test_every_failure_kind_raises_its_error(kind: FailureKind, error: type[RunError]) -> None:
    update = fail(kind, "why", ["detail"])
    _plain(update)
    raised = run_error({"messages": [], **update}, None)  # type: ignore[typeddict-item]
    assert type(raised) is error and str(raised) == "why\ndetail" and raised.errors == ["detail"]


def test_a_checkpoint_from_before_the_enums_still_loads() -> None:
    """Old states hold the same strings the enums stand for."""
    for kind in ("not_completed", "verification", "max_steps", "limit", "timeout", "plan"):
        assert run_error({"error": {"kind": kind, "message": "m", "errors": []}}, None) is not None
    assert {r.value for r in Rejection} == {"invalid", "check", "text", "malformed", "plan"}


@pytest.mark.parametrize(("limit", "kind"), [("max_steps", FailureKind.MAX_STEPS), ("timeout", FailureKind.TIMEOUT),
                                             ("max_model_calls", FailureKind.LIMIT), ("tool_limit", FailureKind.LIMIT),
                                             ("max_tokens", FailureKind.LIMIT)])
def test_a_limit_fails_with_its_own_kind(limit: str, kind: FailureKind) -> None:
    assert FailureKind.of_limit(limit) is kind


def test_unparsed_completion_is_recognised_where_it_is_read() -> None:
    assert is_unparsed(unparsed_completion("{not json"))
    assert not is_unparsed({"summary": "done"}) and not is_unparsed(None)


def test_failed_plan_run_checkpoints_plain_strings() -> None:
    """A run that ends with PlanError: its error, rejection counters and plan records are JSON strings, and
    the checkpoint loads without LangGraph's warning about unregistered types."""
    bad = call("submit_plan", steps=[{"id": "s1", "tool": "nope", "args": {}}])
    graph = build_run_graph(model=scripted(bad, bad), tools=[count], target=int, plan=True, max_retries=1,
                            checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    for update in graph.stream({"messages": [HumanMessage("count")]}, config, stream_mode="updates"):
        _plain({k: v for node in update.values() for k, v in (node or {}).items() if k != "messages"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state = graph.get_state(config).values
    assert state["error"]["kind"] == "plan" and state["rejections"] == {"plan": 2}
    assert [p["status"] for p in state["plans"]] == ["rejected", "rejected"]
    fields = {k: v for k, v in state.items() if k != "messages"}
    _plain(fields)
    json.dumps(fields)


def test_unparsed_completion_and_settled_plan_stay_plain() -> None:
    broken = {"name": "complete_task", "args": "{oops", "id": "c1", "error": "not JSON"}
    model = scripted(AIMessage("", invalid_tool_calls=[{**broken, "type": "invalid_tool_call"}]),
                     call("submit_plan", steps=[{"id": "s1", "tool": "count", "args": {"items": [1, 2]}},
                                                {"id": "done", "tool": "complete_task",
                                                 "args": {"summary": "done", "result": "$s1"}}]))
    graph = build_run_graph(model=model, tools=[count], target=int, plan=True, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    updates = list(graph.stream({"messages": [HumanMessage("count")]}, config, stream_mode="updates"))
    assert any(is_unparsed((u.get("tool_executor") or {}).get("rejected_completion")) for u in updates)
    for update in updates:
        _plain({k: v for node in update.values() for k, v in (node or {}).items() if k != "messages"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state = graph.get_state(config).values
    assert state["plan"]["completion"]["status"] == "accepted" and state["rejections"] == {"invalid": 1, "plan": 0}
    _plain({k: v for k, v in state.items() if k != "messages"})
