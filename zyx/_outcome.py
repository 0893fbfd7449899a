"""From a run's final graph state to what the user gets: a `RunResult`, or the matching zyx error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import BaseMessage

from zyx._completion import to_run_completion
from zyx._target import Target
from zyx.errors import ConfigurationError, RunError
from zyx.graph.approval import is_approval, pending_calls
from zyx.graph.records import goal_text, plan_records, run_usage, tool_records
from zyx.graph.spec import RunSpec
from zyx.graph.state import FailureKind, RunState
from zyx.result import ContextUse, PendingToolCall, RunCompletion, RunResult, RunTask, Termination


def _termination(state: RunState, default: Termination) -> Termination:
    """How the run ended, else `default`. The state keeps it as a plain str (JSON, checkpoints); the
    graph's nodes only write `Termination` values."""
    return cast(Termination, state.get("termination") or default)


def _completion(data: dict[str, Any] | None, spec: RunSpec) -> RunCompletion[Any] | None:
    return to_run_completion(data, spec.target) if data else None


def _raw_completion(data: dict[str, Any]) -> RunCompletion[Any]:
    return RunCompletion(status=data.get("status", "success"), summary=str(data.get("summary", "")),
                         result=data.get("result"), evidence=data.get("evidence"),
                         verification=data.get("verification"))


def to_run_result(state: RunState, spec: RunSpec, interrupts: Sequence[Any] = ()) -> RunResult[Any]:
    """The `RunResult` of a run that ended with a completion (accepted, or skipped where allowed), or
    that is paused: for a human decision on `interrupts`' pending tool calls, or by a tool's own `interrupt()`."""
    pending = [PendingToolCall(id=p["id"], name=p["name"], args=p["args"],
                                  may_have_run=bool(p.get("may_have_run"))) for p in pending_calls(interrupts)]
    questions = [i for i in interrupts if not is_approval(i)]
    if pending or questions:
        state = {**state, "completion": None, "termination": "interrupted"}
    completion = _completion(state.get("completion"), spec)
    messages: list[BaseMessage] = list(state.get("messages", []))
    return RunResult(
        output=completion.result if completion else None,
        messages=messages,
        usage=run_usage(state),
        model=spec.model_name,
        completion=completion,
        verified=state.get("verified"),
        verification_error=state.get("verification_error"),
        task=RunTask(goal=goal_text(state), target=spec.target.type if spec.target else None),
        tool_calls=tool_records(state),
        termination=_termination(state, "completed"),
        plans=plan_records(state),
        interrupted=bool(pending or questions),
        pending=pending,
        context=ContextUse.from_state(state.get("context")),
        interrupts=questions,
    )


def unresumable_pause() -> ConfigurationError:
    """The error for a run a tool paused (LangGraph's `interrupt()`) with no checkpointer to resume it from."""
    return ConfigurationError("checkpointer", "a tool called LangGraph's interrupt() to pause the run; pausing "
                              "needs checkpointer=... and thread_id=... so the run can be resumed")


def run_error(state: RunState, target: Target | None) -> RunError | None:
    """The zyx error for a run that failed, carrying everything that happened; None if it did not."""
    error = state.get("error")
    if not error:
        return None
    rejected = state.get("rejected_completion")
    try:
        completion = to_run_completion(rejected, target) if rejected else None
    except (ValueError, KeyError):  # an invalid completion cannot be typed: keep it as the model sent it
        completion = _raw_completion(rejected or {})
    return FailureKind(error["kind"]).error(
        error["message"] + "".join(f"\n{e}" for e in error.get("errors", [])),
        termination=state.get("termination") or "no_completion",
        messages=state.get("messages", []),
        tool_calls=tool_records(state),
        usage=run_usage(state),
        completion=completion,
        errors=error.get("errors", []),
    )
