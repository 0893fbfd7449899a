"""What a run returns: the completion the model made, the validated output, and its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, cast

from langchain_core.messages import BaseMessage
from pydantic import TypeAdapter

from zyx.usage import Usage

T = TypeVar("T")

CompletionStatus = Literal["success", "failed", "skipped"]
Termination = Literal[
    "completed",
    "max_steps",
    "max_model_calls",
    "tool_limit",
    "max_tokens",
    "timeout",
    "no_completion",
    "interrupted",
    "cancelled",
]

__all__ = [
    "CompletionStatus",
    "ContextUse",
    "PendingToolCall",
    "Result",
    "RunCompletion",
    "RunContext",
    "RunResult",
    "RunTask",
    "RunVerificationContext",
    "Termination",
    "ToolCallRecord",
]


_DUMP: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
"""Dumps a completion's fields as pydantic would (models and dataclasses inside become dicts)."""


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, kw_only=True)
class RunCompletion(Generic[T]):
    """The model's `complete_task` call: how it says it finished, and its validated `result`.

    Made with keywords only (as the original zyx's pydantic model was); `model_dump()` and
    `model_dump_json()` give its plain form, as pydantic models do.

    Attributes:
        status: `"success"` (the default, as the model's `complete_task` has it), `"failed"` (the
            model says it could not do the task) or `"skipped"` (it should not, or it answered in
            plain text with `require_completion=False`).
        summary: The model's account of what it did (`"Completed."` when it sent a blank one).
        result: The result validated into the run's target; None without a target, or when the
            model left it out.
        evidence: Optional: what the model says supports the result, as it gave it.
        verification: Optional: how the model says it checked the result, as it gave it.
    """

    status: CompletionStatus = "success"
    summary: str
    result: T | None = None
    evidence: Any = None
    verification: Any = None

    def __repr__(self) -> str:
        return f"RunCompletion(status={self.status!r}, summary={_short(self.summary)}, result={_short(self.result)})"

    def model_dump(self, *, mode: Literal["python", "json"] = "python", exclude_none: bool = False) -> dict[str, Any]:
        """The completion as a dict, `result` (a pydantic model, a dataclass...) turned into plain data, as
        pydantic's `BaseModel.model_dump()` does.

        Args:
            mode: `"python"` keeps Python values (dates, sets...); `"json"` makes everything JSON-compatible.
            exclude_none: Leave out the fields that are None.
        """
        return cast("dict[str, Any]", _DUMP.dump_python(self._fields(exclude_none), mode=mode))

    def model_dump_json(self, *, indent: int | None = None, exclude_none: bool = False) -> str:
        """The completion as a JSON string (see `model_dump()`); values JSON cannot hold are shown as text.

        Args:
            indent: Indent the JSON by this many spaces; None writes it on one line.
            exclude_none: Leave out the fields that are None.
        """
        return _DUMP.dump_json(self._fields(exclude_none), indent=indent, fallback=str).decode()

    def _fields(self, exclude_none: bool = False) -> dict[str, Any]:
        fields = {"status": self.status, "summary": self.summary, "result": self.result, "evidence": self.evidence,
                  "verification": self.verification}
        return {k: v for k, v in fields.items() if v is not None} if exclude_none else fields


@dataclass(frozen=True)
class ToolCallRecord:
    """One executed tool call: its arguments and Python output, or the error the model saw.

    Attributes:
        id: The tool call's id (`tool_call_id`), as the model sent it.
        name: The tool's name.
        args: The arguments the model called it with.
        output: What the tool returned, as a Python value where this process still has it (else
            its JSON form from the graph state); None if it failed.
        error: The error text the model was sent, or None if the call succeeded.
        duration: How long the call took, in seconds.
        artifact: The artifact of a tool with `response_format="content_and_artifact"` (kept on its
            `ToolMessage` too, not sent to the model), as a Python value where this process still has
            it (else its JSON form); None for other tools.
        still_running: True for a sync tool cut by `tool_timeout` or the run's `timeout`: Python
            cannot stop its thread, so it may have finished (and taken effect) after the model was
            told it did not finish. Tools made with `zyx.process_tool` are killed instead.
        may_have_run: True for a call that had started when its run was interrupted (the process was
            killed, the run cancelled) and whose result was lost: it was not run again, and the model
            (or a human, under `approve=`) was told it may or may not have taken effect.
    """

    id: str
    name: str
    args: dict[str, Any]
    output: Any = None
    error: str | None = None
    duration: float = 0.0
    artifact: Any = None
    still_running: bool = False
    may_have_run: bool = False

    @property
    def ok(self) -> bool:
        """Whether the call returned without error."""
        return self.error is None


@dataclass(frozen=True)
class PendingToolCall:
    """A tool call waiting for a human decision (approvals).

    Attributes:
        id: The tool call's id: the key of its entry in `decisions=` when the run is resumed.
        name: The tool's name.
        args: The arguments the model wants to call it with.
        may_have_run: True when this call had already started before the run was interrupted (process
            killed, run cancelled) and its result was lost: it may or may not have taken effect, and
            approving it runs it again.
    """

    id: str
    name: str
    args: dict[str, Any]
    may_have_run: bool = False


@dataclass(frozen=True)
class RunTask:
    """What the run was asked: the goal text and the target type.

    Attributes:
        goal: The goal text: the text of every human message of the task, joined by newlines (the
            task's last message when it has no human message; for a thread continued without a
            task, its latest human message).
        target: The target type the result is validated into, or None.
    """

    goal: str
    target: Any = None


@dataclass(frozen=True)
class RunContext:
    """What dynamic instructions (`instructions=f`, called before each model call) see: the run so far.

    Attributes:
        task: What the run was asked.
        deps: The run's `deps` (its LangGraph runtime context), or None.
        source: The run's `source` (as given, or its JSON form when a thread is resumed by a later call), or None.
        messages: The conversation so far.
        tool_calls: The tool calls that ran so far.
        model_calls: Model calls made so far in the run.
    """

    task: RunTask
    deps: Any
    source: Any
    messages: list[BaseMessage]
    tool_calls: list[ToolCallRecord]
    model_calls: int


@dataclass(frozen=True)
class RunVerificationContext(Generic[T]):
    """Second argument of a two-argument verifier or check: the run so far.

    Attributes:
        task: What the run was asked.
        completion: The completion being checked (its `result` already validated).
        messages: The conversation so far.
        tool_calls: The tool calls that ran so far.
        attempt: 1 for the first completion checked, plus one per rejection so far (of any kind).
        target: The target type (as `task.target`), or None.
        deps: The run's `deps` (its LangGraph runtime context), or None.
        source: The run's `source` (as given, or its JSON form when a thread is resumed by a later call), or None.
        attachments: The task's attachments, as the content blocks the model was sent.
    """

    task: RunTask
    completion: RunCompletion[T]
    messages: list[BaseMessage]
    tool_calls: list[ToolCallRecord]
    attempt: int
    target: Any = None
    deps: Any = None
    source: Any = None
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(repr=False)
class Result(Generic[T]):
    """The result of `make()`: a validated `output` plus the conversation that produced it.

    Attributes:
        output: The answer, validated into the target.
        messages: The whole conversation as LangChain messages, without the system prompt.
        usage: What the run spent (a frozen `zyx.usage.Usage`): token counts summed over every model
            call, by attribute (`usage.input_tokens`, as pydantic-ai's `RunUsage`) or by key
            (`usage["input_tokens"]`); model `requests` and `tool_calls` by attribute. A dict of
            token counts given here is made into one.
        model: The name of the chat model that answered.
    """

    output: T
    messages: list[BaseMessage] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str | None = None

    def __post_init__(self) -> None:
        self.usage = Usage.of(self.usage)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output={_short(self.output)}, model={self.model!r})"


@dataclass(frozen=True)
class ContextUse:
    """How a run's prompts fitted the model's context window (docs/run.md#the-context-window).

    The run's `messages` are always whole; these say what the model was shown instead.
    """

    window: int | None
    """The input window prompts were fitted to, in tokens (None: unknown; only oversized outputs were cut)."""
    prompt_tokens: int
    """The last model call's prompt, as counted."""
    max_prompt_tokens: int
    """The biggest prompt of the run, as counted."""
    fitted_calls: int
    """Model calls whose prompt was not the history as it is (something cut, stubbed or left out)."""
    cut: tuple[str, ...] = ()
    """In the last prompt: ids of the texts shown in part (tool_call_ids, or "source")."""
    stubbed: tuple[str, ...] = ()
    """In the last prompt: tool_call_ids of the outputs replaced by a stub."""
    dropped: int = 0
    """In the last prompt: old turns left out."""

    @classmethod
    def from_state(cls, data: dict[str, Any] | None) -> ContextUse | None:
        """From the run state's `context` field.

        Args:
            data: The state's `context` field (None before any model call, then None is returned).
        """
        if not data:
            return None
        return cls(window=data.get("window"), prompt_tokens=int(data.get("prompt_tokens") or 0),
                   max_prompt_tokens=int(data.get("max_prompt_tokens") or 0),
                   fitted_calls=int(data.get("fitted_calls") or 0), cut=tuple(data.get("cut") or ()),
                   stubbed=tuple(data.get("stubbed") or ()), dropped=int(data.get("dropped") or 0))


@dataclass(repr=False)
class RunResult(Result[T]):
    """The result of `run()`: the accepted completion, its output, and the run's history.

    Besides these, it has `Result`'s `output` (the completion's validated `result`; None without a
    target, or when a `"failed"` / `"skipped"` completion left it out), `messages`, `usage`, `model`.

    Attributes:
        completion: The accepted completion; None when the run is paused (`interrupted`).
        verified: True when a `verifier` or `final_answer_checks` passed; None when there was
            nothing to check (a failed check never reaches a result: it raises).
        verification_error: The last rejection's feedback as the graph state holds it; normally
            None, since a completion that passes validation clears it.
        task: What the run was asked: the goal text and the target type.
        tool_calls: One record per executed tool call, in order.
        termination: How the run ended: `"completed"`, the limit that forced the wrap-up turn
            (`"max_steps"`, `"max_model_calls"`, `"tool_limit"`, `"max_tokens"`, `"timeout"`),
            `"no_completion"` (a plain-text answer with `require_completion=False`), or
            `"interrupted"` (paused for a human decision).
        plans: Plan mode only: every submitted plan (JSON form, step outputs as Python values
            where this process has them), oldest first.
        interrupted: Whether the run is paused: for a human decision on the calls in `pending`, or by a
            tool that called LangGraph's `interrupt()` (see `interrupts`).
        pending: The tool calls waiting for a decision (resume with `decisions=` by their `id`).
        context: How the prompts fitted the model's context window (`ContextUse`); None before any model call.
        interrupts: The `langgraph.types.Interrupt`s raised by tools themselves (`interrupt(value)`):
            resume with `decisions={interrupt.id: answer}`, and `interrupt()` returns the answer.
    """

    completion: RunCompletion[T] | None = None
    verified: bool | None = None
    verification_error: str | None = None
    task: RunTask | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    termination: Termination = "completed"
    plans: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    pending: list[PendingToolCall] = field(default_factory=list)
    context: ContextUse | None = None
    interrupts: list[Any] = field(default_factory=list)

    def __repr__(self) -> str:
        status = self.completion.status if self.completion else None
        summary = self.completion.summary if self.completion else None
        return (
            f"RunResult(output={_short(self.output)}, status={status!r}, summary={_short(summary)}, "
            f"verified={self.verified!r}, termination={self.termination!r}, "
            f"tool_calls={len(self.tool_calls)}, model={self.model!r})"
        )
