"""RunState: the JSON-serialisable state of a run, shared by the nodes and shown in Studio."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal, cast

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolCall
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from zyx._prompts import COMPLETE_TASK
from zyx.errors import (
    LimitExceededError,
    MaxStepsExceededError,
    PlanError,
    RunError,
    RunTimeoutError,
    TaskNotCompletedError,
    VerificationError,
)


class FailureKind(StrEnum):
    """Why a run failed, as `RunState.error["kind"]` keeps it (a plain string); `error` is the zyx error it raises."""

    NOT_COMPLETED = "not_completed"
    VERIFICATION = "verification"
    MAX_STEPS = "max_steps"
    LIMIT = "limit"
    TIMEOUT = "timeout"
    PLAN = "plan"

    @classmethod
    def of_limit(cls, limit: str) -> FailureKind:
        """The kind of a run that ended at `limit`: `max_steps` and `timeout` have their own, every other limit
        raises `LimitExceededError`."""
        return cls(limit) if limit in (cls.MAX_STEPS, cls.TIMEOUT) else cls.LIMIT

    @property
    def error(self) -> type[RunError]:
        """The zyx error a run that failed this way raises."""
        return _ERRORS[self]


_ERRORS: dict[FailureKind, type[RunError]] = {
    FailureKind.NOT_COMPLETED: TaskNotCompletedError,
    FailureKind.VERIFICATION: VerificationError,
    FailureKind.MAX_STEPS: MaxStepsExceededError,
    FailureKind.LIMIT: LimitExceededError,
    FailureKind.TIMEOUT: RunTimeoutError,
    FailureKind.PLAN: PlanError,
}


class Rejection(StrEnum):
    """What a rejection counted in `RunState.rejections` was (the counters `max_retries` bounds)."""

    INVALID = "invalid"
    """A `complete_task` call whose arguments or result did not validate (or were not JSON)."""
    CHECK = "check"
    """A completion a verifier or final-answer check rejected."""
    TEXT = "text"
    """A plain-text answer where `complete_task` was required."""
    MALFORMED = "malformed"
    """A turn with unknown tools or tool-call arguments that are not JSON."""
    PLAN = "plan"
    """A rejected plan (plan mode): counted in a row, back to zero once a plan runs."""


class RunFailure(TypedDict):
    """Why a run failed (`RunState.error`); `run()` raises `FailureKind(kind).error` with it."""

    kind: str
    """A `FailureKind` value, kept as a plain string (JSON, checkpoints of any version)."""
    message: str
    errors: list[str]


UNPARSED = "unparsed"
"""The key of a `rejected_completion` whose `complete_task` arguments were not JSON: {UNPARSED: the raw text}."""


def unparsed_completion(raw: Any) -> dict[str, Any]:
    """The `rejected_completion` for `complete_task` arguments that could not be parsed (`raw` is their text)."""
    return {UNPARSED: raw}


def is_unparsed(rejected: Any) -> bool:
    """Whether a `rejected_completion` holds arguments that were not JSON (see `unparsed_completion`)."""
    return isinstance(rejected, dict) and UNPARSED in rejected


PlanStatus = Literal["rejected", "executed"]
StepStatus = Literal["ok", "error", "skipped"]
CompletionStatus = Literal["pending", "accepted", "rejected"]


class PlanStepRecord(TypedDict):
    """One step of an executed plan, JSON form (`output` only for an "ok" step)."""

    id: str
    tool: str
    args: Any
    status: StepStatus
    output: Any
    error: str | None
    duration: float


class PlanCompletionRecord(TypedDict):
    """A plan's `complete_task` step: its resolved arguments and where its verdict stands."""

    args: Any
    status: CompletionStatus
    error: str | None


class PlanRecord(TypedDict):
    """A plan as kept in state (`RunState.plan` / `plans`) and listed in `RunResult.plans`.

    A "rejected" plan ran nothing (`problems` say why; `steps` are as submitted); an "executed" one has a
    `PlanStepRecord` per step, the `report` the model is sent, and its `completion` step, if any.
    """

    call_id: str
    status: PlanStatus
    problems: list[str]
    steps: list[Any]
    completion: PlanCompletionRecord | None
    report: str | None


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
    second_look: bool
    """Coaching: a give-up (status failed or skipped) was sent back once because tools were left untried."""
    grounding_look: bool
    """Coaching: calls whose values appear nowhere in what the model has seen were answered once, not run."""
    pending_call: dict[str, Any] | None
    """Coaching: the call the last retry note asked for ({"tools", "call"}) while it is not made: a give-up then
    is sent back once, naming it."""
    rejections: dict[str, int]
    """Rejections by kind (`Rejection` values: "invalid", "check", "text", "malformed", "plan"), for `max_retries`."""
    limit: str | None
    """The limit that put the run into its wrap-up turn (only `complete_task` bound)."""
    termination: str | None
    error: RunFailure | None
    """Why a run failed: {"kind", "message", "errors"}; `run()` raises the matching zyx error."""
    usage: dict[str, int]
    context: dict[str, Any] | None
    """How the latest prompt fitted the model's window (zyx.graph.prompt.context_record): its tokens, the most
    of any call, what was cut (id -> characters shown), stubbed or left out, and one output's share."""
    deadline: float | None
    """Wall-clock time (epoch seconds) when the run's `timeout` elapses."""
    plan: PlanRecord | None
    """Plan mode: the latest submitted plan (JSON), see `PlanRecord`; None before the first."""
    plans: list[PlanRecord]
    """Plan mode: every submitted plan of the run, oldest first (the last one is `plan`)."""


def append_messages(left: list[AnyMessage], right: list[AnyMessage] | AnyMessage) -> list[AnyMessage]:
    """make()'s conversation: messages appended as they are, the caller's own objects (no ids stamped on them)."""
    return [*left, *(right if isinstance(right, list) else [right])]


class MakeState(RunState, total=False):
    """make()'s state: a run's, its messages appended as given (`append_messages`): make() has no checkpoint or
    thread that would need their ids, and hands the caller back its own messages."""

    messages: Annotated[list[AnyMessage], append_messages]  # type: ignore[misc]


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


def split_calls(message: AIMessage | None, answer: str = COMPLETE_TASK) -> tuple[list[ToolCall], list[ToolCall]]:
    """A turn's tool calls, split into (other tools, calls of the answer tool: `complete_task`, make()'s
    `final_result`)."""
    if message is None:
        return [], []
    others = [c for c in message.tool_calls if c["name"] != answer]
    completions = [c for c in message.tool_calls if c["name"] == answer]
    return others, completions


def fail(kind: FailureKind, message: str, errors: list[str] | None = None,
         termination: str = "no_completion") -> dict[str, Any]:
    """A state update that ends the run with the zyx error of `kind`."""
    failure = RunFailure(kind=FailureKind(kind).value, message=message, errors=errors or [])
    return {"error": failure, "termination": termination}


def bump(state: RunState, kind: Rejection) -> dict[str, int]:
    """The rejection counters with one more of `kind` (keys stay plain strings)."""
    counts = dict(state.get("rejections") or {})
    counts[kind.value] = counts.get(kind.value, 0) + 1
    return counts


def budget_spent(state: RunState, max_steps: int) -> dict[str, Any]:
    """Marks the wrap-up turn when a rejected completion leaves the step budget spent."""
    if max_steps and state.get("steps", 0) >= max_steps and not state.get("limit"):
        return {"limit": "max_steps"}
    return {}


def plan_record(call_id: str, status: PlanStatus, steps: list[Any], *, problems: list[str] | None = None,
                completion: PlanCompletionRecord | None = None, report: str | None = None) -> PlanRecord:
    """A plan as kept in state: what was submitted or run, and where its completion step stands (`PlanRecord`)."""
    return PlanRecord(call_id=call_id, status=status, problems=problems or [], steps=steps,
                      completion=completion, report=report)


def store_plan(state: RunState, plan: PlanRecord, *, new: bool = False) -> dict[str, Any]:
    """The update that makes `plan` current: a `new` round's plan is added to `plans`, else it replaces
    the current one (its completion step settled). Not by call id: providers may reuse one every turn."""
    plans = list(state.get("plans") or [])
    if plans and not new:
        plans[-1] = plan
    else:
        plans.append(plan)
    return {"plan": plan, "plans": plans}


def pending_plan_completion(state: RunState) -> PlanCompletionRecord | None:
    """The current plan's completion step, while it waits for the completion and verifier nodes."""
    plan = state.get("plan")
    completion = plan.get("completion") if plan else None
    return completion if completion and completion.get("status") == "pending" else None


def settle_plan_completion(state: RunState, status: CompletionStatus, error: str | None = None) -> dict[str, Any]:
    """The update recording the verdict ("accepted" / "rejected") on the current plan's completion step."""
    plan = cast(PlanRecord, dict(state.get("plan") or {}))
    plan["completion"] = cast(PlanCompletionRecord, {**cast(dict, plan["completion"]), "status": status, "error": error})
    return store_plan(state, plan)
