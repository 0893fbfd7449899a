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
        raise ConfigurationError("approve", f"not tools of this run: {', '.join(map(describe, unknown))}")
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


def _selected(rule: Callable[[PendingToolCall], bool], call: ToolCall) -> bool | str:
    """Whether `rule` selects `call`; the refusal text when the rule itself fails (the call must not run)."""
    try:
        return bool(rule(PendingToolCall(id=call["id"] or "", name=call["name"], args=call["args"])))
    except Exception as exc:  # a broken rule cannot approve anything: refuse the call, keep the run going
        return _prompts.APPROVAL_RULE_FAILED.format(kind=type(exc).__name__)


def review(calls: list[ToolCall], rule: Callable[[PendingToolCall], bool] | None) -> list[tuple[ToolCall, str | None]]:
    """Ask about the calls `rule` selects: per call (in order), the call to run (with edited args) and
    None, or the call and why it must not run."""
    if rule is None:
        return [(call, None) for call in calls]
    selected = [_selected(rule, c) for c in calls]
    decisions = ask([c for c, chosen in zip(calls, selected) if chosen is True])
    reviewed: list[tuple[ToolCall, str | None]] = []
    for call, chosen in zip(calls, selected):
        decision: Any = decisions.get(call["id"] or "", "approve") if chosen is True else "approve"
        if isinstance(chosen, str):
            reviewed.append((call, chosen))
        elif decision == "approve":
            reviewed.append((call, None))
        elif "reject" in decision:
            reviewed.append((call, _prompts.HUMAN_REJECTED.format(reason=decision["reject"])))
        else:
            reviewed.append((ToolCall(name=call["name"], args=dict(decision["edit"]), id=call["id"]), None))
    return reviewed
