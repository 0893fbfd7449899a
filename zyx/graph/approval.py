"""Human approval: pause before chosen tool calls (or a whole plan) with LangGraph's `interrupt()`.

The interrupt's value is `{"pending": [{"id", "name", "args"}, ...]}`; the run resumes with
`Command(resume={id: decision})`, a decision being `"approve"`, `{"reject": "reason"}` or
`{"edit": {...new args...}}`. Keyed by tool-call id, so parallel calls are never mixed up; where a turn
repeats an id (providers do), each of those calls is keyed `<id>#<n>` (n counting that id's calls from 1).

Which calls were asked about is fixed when the run pauses: `run()` resuming a paused turn passes the asked
keys (`ASKED` in the config), so the decisions are applied to those calls whatever `approve=` says now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import ToolCall
from langchain_core.runnables import RunnableConfig
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


def is_approval(item: Any) -> bool:
    """Whether a LangGraph `Interrupt` is an approval request (else a tool's own `interrupt()`)."""
    return isinstance(item.value, Mapping) and set(item.value) == {"pending"} and isinstance(item.value["pending"], list)


def pending_calls(interrupts: Sequence[Any]) -> list[dict[str, Any]]:
    """The tool calls waiting for a human decision, from a thread's (or a result's) interrupts."""
    return [call for item in interrupts if is_approval(item) for call in item.value["pending"]]


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


ASKED = "zyx_asked"
"""Config key (`configurable`) under which a resuming `run()` names the paused turn (its AI message id) and
the keys of the calls that were asked about: `{"message": id, "keys": [...]}`."""


PAUSED = "zyx_paused"
"""Config key (`configurable`) under which a resuming `run()` names the paused turn (its AI message id) and
how long the run waited for a human: `{"message": id, "seconds": s}`."""


def resumed_deadline(state: Mapping[str, Any], config: RunnableConfig | None, message_id: str | None) -> float | None:
    """The run's deadline moved on by the time it waited for a human, when this resumes the paused turn of
    `message_id` (the run's `timeout` bounds its own work, not a human's answer); else None."""
    paused = ((config or {}).get("configurable") or {}).get(PAUSED)
    deadline = state.get("deadline")
    if not isinstance(paused, Mapping) or deadline is None or message_id is None or paused.get("message") != message_id:
        return None
    return float(deadline) + max(float(paused.get("seconds") or 0.0), 0.0)


def call_keys(calls: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each call's decision key: its id, or `<id>#<n>` where the turn repeats that id."""
    ids = [c.get("id") or "" for c in calls]
    counts, seen = Counter(ids), Counter[str]()
    keys = []
    for call_id in ids:
        seen[call_id] += 1
        keys.append(call_id if counts[call_id] == 1 else f"{call_id}#{seen[call_id]}")
    return keys


def asked_keys(config: RunnableConfig | None, message_id: str | None) -> frozenset[str] | None:
    """The keys asked about when the turn of `message_id` paused, when a resume names that turn; else None."""
    asked = ((config or {}).get("configurable") or {}).get(ASKED)
    if isinstance(asked, Mapping) and message_id is not None and asked.get("message") == message_id:
        return frozenset(asked.get("keys") or ())
    return None


TAGGED = "zyx_decisions"
"""How `run()` hands decisions to the graph: `{TAGGED: decisions, "interrupt_id": id}`, naming the question
they answer (so a thread can tell decisions waiting to be acted on from an earlier question's answer)."""


def tagged(decisions: dict[str, Any], interrupt_id: str | None) -> dict[str, Any]:
    """Decisions as `run()` resumes a thread with them."""
    return {TAGGED: decisions, "interrupt_id": interrupt_id}


def untagged(value: Any) -> Any:
    """The decisions in a resume value: tagged by `run()`, or plain (Studio, an Agent Server client)."""
    return value[TAGGED] if isinstance(value, Mapping) and TAGGED in value else value


def ask(calls: Sequence[ToolCall], keys: Sequence[str] | None = None, *, may_have_run: bool = False) -> dict[str, Any]:
    """Pause the run for a decision on each call (a no-op for none), keyed by `keys` (default: the
    calls' ids); returns the checked decisions. `may_have_run` flags calls that had started before the run
    was interrupted (approving one runs it again)."""
    if not calls:
        return {}
    keys = list(keys) if keys is not None else [c["id"] or "" for c in calls]
    flag = {"may_have_run": True} if may_have_run else {}
    pending: list[dict[str, Any]] = [{"id": k, "name": c["name"], "args": c["args"], **flag}
                                     for k, c in zip(keys, calls)]
    return check_decisions(untagged(interrupt({"pending": pending})), keys)


def _selected(rule: Callable[[PendingToolCall], bool], call: ToolCall) -> bool | str:
    """Whether `rule` selects `call`; the refusal text when the rule itself fails (the call must not run)."""
    try:
        return bool(rule(PendingToolCall(id=call["id"] or "", name=call["name"], args=call["args"])))
    except Exception as exc:  # a broken rule cannot approve anything: refuse the call, keep the run going
        return _prompts.APPROVAL_RULE_FAILED.format(kind=type(exc).__name__)


def review(calls: list[ToolCall], keys: Sequence[str], rule: Callable[[PendingToolCall], bool] | None,
           asked: frozenset[str] | None = None) -> list[tuple[ToolCall, str | None]]:
    """Ask about the calls `rule` selects (or, resuming a paused turn, the `asked` keys: a decision once
    given is applied whatever the rule is now): per call (in order), the call to run (with edited args)
    and None, or the call and why it must not run."""
    if rule is None and asked is None:
        return [(call, None) for call in calls]
    selected: list[bool | str] = ([k in asked for k in keys] if asked is not None else
                                  [_selected(rule, c) for c in calls] if rule is not None else [False] * len(calls))
    if asked is not None and rule is not None:  # the resume's approve= may not skip a call it wants asked about
        unasked = [k for k, c in zip(keys, calls) if k not in asked and _selected(rule, c) is True]
        if unasked:
            raise ConfigurationError("approve", f"the paused turn asked about {sorted(asked)} only; this approve= "
                                     f"also selects {unasked}: resume with the approve= the run paused with")
    chosen_keys = [k for k, chosen in zip(keys, selected) if chosen is True]
    decisions = ask([c for c, chosen in zip(calls, selected) if chosen is True], chosen_keys)
    reviewed: list[tuple[ToolCall, str | None]] = []
    for call, key, chosen in zip(calls, keys, selected):
        decision: Any = decisions.get(key, "approve") if chosen is True else "approve"
        reviewed.append((call, chosen) if isinstance(chosen, str) else decided(call, decision))
    return reviewed


def decided(call: ToolCall, decision: Any, rejected: str = _prompts.HUMAN_REJECTED) -> tuple[ToolCall, str | None]:
    """A checked decision applied: the call to run (args edited) and None, or the call and the refusal text."""
    if decision == "approve":
        return call, None
    if "reject" in decision:
        return call, rejected.format(reason=decision["reject"])
    return ToolCall(name=call["name"], args=dict(decision["edit"]), id=call["id"]), None
