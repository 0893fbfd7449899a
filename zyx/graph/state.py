"""RunState: the JSON-serialisable state of a run, shared by the nodes and shown in Studio."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolCall
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from zyx._prompts import COMPLETE_TASK


class RunState(TypedDict, total=False):
    """A run's state. Only `messages` has a reducer, so a caller can reset any other field."""

    messages: Annotated[list[AnyMessage], add_messages]
    task: str
    """The goal text (for results and verifier context)."""
    source: Any
    """The material the task is about (JSON form), shown to the model in a delimited section of its system prompt."""
    completion: dict[str, Any] | None
    """The current valid completion (JSON form), or None."""
    rejected_completion: dict[str, Any] | None
    """The last completion that failed a check, kept for the error a failed run raises."""
    verified: bool | None
    verification_error: str | None
    tool_calls: list[dict[str, Any]]
    """Executed tool calls, in order: id, name, args, output and artifact (JSON form), error, duration,
    and `still_running` for a sync tool cut by a timeout."""
    steps: int
    model_calls: int
    repeats: int
    """Consecutive turns whose tool calls all repeated earlier calls and got the same results."""
    retry: list[str] | None
    """Coaching: the tools whose calls all failed, offered alone once an untried tool has succeeded."""
    focus: list[str] | None
    """The tools (`complete_task` among them, or not) offered in the model's next turn only: set by coaching."""
    rejections: dict[str, int]
    """Rejections by kind ("invalid", "check", "text", "plan"), for `max_retries`."""
    limit: str | None
    """The limit that put the run into its wrap-up turn (only `complete_task` bound)."""
    termination: str | None
    error: dict[str, Any] | None
    """Why a run failed: {"kind", "message", "errors"}; `run()` raises the matching zyx error."""
    usage: dict[str, int]
    context: dict[str, Any] | None
    """How the latest prompt fitted the model's window (zyx.graph.prompt.context_record): its tokens, the most
    of any call, what was cut (id -> characters shown), stubbed or left out, and one output's share."""
    deadline: float | None
    """Wall-clock time (epoch seconds) when the run's `timeout` elapses."""
    plan: dict[str, Any] | None
    """Plan mode: the latest submitted plan (JSON), see `plan_record`; None before the first."""
    plans: list[dict[str, Any]]
    """Plan mode: every submitted plan of the run, oldest first (the last one is `plan`)."""


class RunInput(TypedDict, total=False):
    """What a caller passes to start a run: the conversation (and optionally the goal text and source)."""

    messages: Annotated[list[AnyMessage], add_messages]
    task: str
    source: Any


def last_ai_message(messages: Sequence[BaseMessage]) -> AIMessage | None:
    """The model's latest turn."""
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            return message
    return None


def split_calls(message: AIMessage | None) -> tuple[list[ToolCall], list[ToolCall]]:
    """A turn's tool calls, split into (other tools, `complete_task` calls)."""
    if message is None:
        return [], []
    others = [c for c in message.tool_calls if c["name"] != COMPLETE_TASK]
    completions = [c for c in message.tool_calls if c["name"] == COMPLETE_TASK]
    return others, completions


def fail(kind: str, message: str, errors: list[str] | None = None, termination: str = "no_completion") -> dict[str, Any]:
    """A state update that ends the run with a zyx error of `kind`."""
    return {"error": {"kind": kind, "message": message, "errors": errors or []}, "termination": termination}


def bump(state: RunState, kind: str) -> dict[str, int]:
    """The rejection counters with one more of `kind`."""
    counts = dict(state.get("rejections") or {})
    counts[kind] = counts.get(kind, 0) + 1
    return counts


def budget_spent(state: RunState, max_steps: int) -> dict[str, Any]:
    """Marks the wrap-up turn when a rejected completion leaves the step budget spent."""
    if max_steps and state.get("steps", 0) >= max_steps and not state.get("limit"):
        return {"limit": "max_steps"}
    return {}


def plan_record(call_id: str, status: str, steps: list[Any], *, problems: list[str] | None = None,
                completion: dict[str, Any] | None = None, report: str | None = None) -> dict[str, Any]:
    """A plan as kept in state: what was submitted or run, and where its completion step stands.

    `status` is "rejected" (nothing ran; `problems` say why) or "executed" (`steps` carry status,
    output, error, duration). `completion` is None, or {"args", "status": "pending" | "accepted" |
    "rejected", "error"} for a completion step; `report` is the step results the model is sent.
    """
    return {"call_id": call_id, "status": status, "problems": problems or [], "steps": steps,
            "completion": completion, "report": report}


def store_plan(state: RunState, plan: dict[str, Any], *, new: bool = False) -> dict[str, Any]:
    """The update that makes `plan` current: a `new` round's plan is added to `plans`, else it replaces
    the current one (its completion step settled). Not by call id: providers may reuse one every turn."""
    plans = list(state.get("plans") or [])
    if plans and not new:
        plans[-1] = plan
    else:
        plans.append(plan)
    return {"plan": plan, "plans": plans}


def pending_plan_completion(state: RunState) -> dict[str, Any] | None:
    """The current plan's completion step, while it waits for the completion and verifier nodes."""
    plan = state.get("plan") or {}
    completion = plan.get("completion")
    return completion if completion and completion.get("status") == "pending" else None


def settle_plan_completion(state: RunState, status: str, error: str | None = None) -> dict[str, Any]:
    """The update recording the verdict ("accepted" / "rejected") on the current plan's completion step."""
    plan = dict(state.get("plan") or {})
    plan["completion"] = {**plan["completion"], "status": status, "error": error}
    return store_plan(state, plan)
