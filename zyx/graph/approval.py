"""Human approval: pause before chosen tool calls (or a whole plan) with LangGraph's `interrupt()`.

The interrupt's value is `{"pending": [{"id", "name", "args"}, ...]}`; the run resumes with
`Command(resume={tool_call_id: decision})`, a decision being `"approve"`, `{"reject": "reason"}`
or `{"edit": {...new args...}}`. Keyed by tool-call id, so parallel calls are never mixed up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import ToolCall
from langgraph.types import interrupt

from zyx import _prompts
from zyx.errors import ConfigurationError, describe
from zyx.result import PendingToolCall

Approve = bool | Sequence[str] | Callable[[PendingToolCall], bool] | None


def approval_rule(approve: Approve, tool_names: Sequence[str]) -> Callable[[PendingToolCall], bool] | None:
    """The `approve=` option as a predicate over pending calls (None: never pause)."""
    if approve is None or approve is False:
        return None
    if approve is True:
        return lambda call: True
    if callable(approve):
        return approve
    if isinstance(approve, (str, bytes)) or not isinstance(approve, Sequence):
        raise ConfigurationError("approve", f"expected True, a list of tool names or a predicate, got {describe(approve)}")
    unknown = [name for name in approve if name not in tool_names]
    if unknown:
        raise ConfigurationError("approve", f"not tools of this run: {', '.join(map(repr, unknown))}")
    names = frozenset(approve)
    return lambda call: call.name in names


def pending_calls(interrupts: Sequence[Any]) -> list[dict[str, Any]]:
    """The tool calls waiting for a human decision, from a thread's (or a result's) interrupts."""
    return [call for item in interrupts if isinstance(item.value, Mapping)
            for call in item.value.get("pending", [])]


def check_decisions(decisions: Any, pending_ids: Sequence[str]) -> dict[str, Any]:
    """Every pending call needs exactly one well-formed decision; anything else is a clear error."""
    if not isinstance(decisions, Mapping):
        raise ConfigurationError("decisions", f"expected a dict of tool_call_id -> decision, got {describe(decisions)}")
    missing = [i for i in pending_ids if i not in decisions]
    unknown = [i for i in decisions if i not in pending_ids]
    if missing or unknown:
        raise ConfigurationError("decisions", f"pending calls are {list(pending_ids)}; missing {missing}, "
                                 f"unknown {unknown}")
    for call_id, decision in decisions.items():
        ok = decision == "approve" or (isinstance(decision, Mapping) and len(decision) == 1 and (
            isinstance(decision.get("reject"), str) or isinstance(decision.get("edit"), Mapping)))
        if not ok:
            raise ConfigurationError("decisions", f"{call_id}: expected \"approve\", {{\"reject\": reason}} or "
                                     f"{{\"edit\": {{...args...}}}}, got {describe(decision)}")
    return dict(decisions)


def ask(calls: Sequence[ToolCall]) -> dict[str, Any]:
    """Pause the run for a decision on each call (a no-op for none); returns the checked decisions."""
    if not calls:
        return {}
    pending: list[dict[str, Any]] = [{"id": c["id"] or "", "name": c["name"], "args": c["args"]} for c in calls]
    return check_decisions(interrupt({"pending": pending}), [p["id"] for p in pending])


def review(calls: list[ToolCall], rule: Callable[[PendingToolCall], bool] | None) -> tuple[list[ToolCall], dict[str, str]]:
    """Ask about the calls `rule` selects: the calls to run (with edited args) and the rejected ones' reasons."""
    if rule is None:
        return calls, {}
    chosen = [c for c in calls if rule(PendingToolCall(id=c["id"] or "", name=c["name"], args=c["args"]))]
    decisions = ask(chosen)
    to_run: list[ToolCall] = []
    rejected: dict[str, str] = {}
    for call in calls:
        decision = decisions.get(call["id"] or "", "approve")
        if decision == "approve":
            to_run.append(call)
        elif "reject" in decision:
            rejected[call["id"] or ""] = _prompts.HUMAN_REJECTED.format(reason=decision["reject"])
        else:
            to_run.append(ToolCall(name=call["name"], args=dict(decision["edit"]), id=call["id"]))
    return to_run, rejected
