"""What a run returns: the completion the model made, the validated output, and its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from langchain_core.messages import BaseMessage

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
    "PendingToolCall",
    "Result",
    "RunCompletion",
    "RunResult",
    "RunTask",
    "RunVerificationContext",
    "Termination",
    "ToolCallRecord",
]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class RunCompletion(Generic[T]):
    """The model's `complete_task` call: how it says it finished, and its validated `result`."""

    status: CompletionStatus
    summary: str
    result: T | None = None
    evidence: Any = None
    verification: Any = None

    def __repr__(self) -> str:
        return f"RunCompletion(status={self.status!r}, summary={_short(self.summary)}, result={_short(self.result)})"


@dataclass(frozen=True)
class ToolCallRecord:
    """One executed tool call: its arguments and Python output, or the error the model saw."""

    id: str
    name: str
    args: dict[str, Any]
    output: Any = None
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the call returned without error."""
        return self.error is None


@dataclass(frozen=True)
class PendingToolCall:
    """A tool call waiting for a human decision (approvals)."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class RunTask:
    """What the run was asked: the goal text and the target type."""

    goal: str
    target: Any = None


@dataclass(frozen=True)
class RunVerificationContext(Generic[T]):
    """Second argument of a two-argument verifier or check: the run so far."""

    task: RunTask
    completion: RunCompletion[T]
    messages: list[BaseMessage]
    tool_calls: list[ToolCallRecord]
    attempt: int


@dataclass(repr=False)
class Result(Generic[T]):
    """The result of `make()`: a validated `output` plus the conversation that produced it."""

    output: T
    messages: list[BaseMessage] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    model: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output={_short(self.output)}, model={self.model!r})"


@dataclass(repr=False)
class RunResult(Result[T]):
    """The result of `run()`: the accepted completion, its output, and the run's history."""

    completion: RunCompletion[T] | None = None
    verified: bool | None = None
    verification_error: str | None = None
    task: RunTask | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    termination: Termination = "completed"
    plans: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    pending: list[PendingToolCall] = field(default_factory=list)

    def __repr__(self) -> str:
        status = self.completion.status if self.completion else None
        summary = self.completion.summary if self.completion else None
        return (
            f"RunResult(output={_short(self.output)}, status={status!r}, summary={_short(summary)}, "
            f"verified={self.verified!r}, termination={self.termination!r}, "
            f"tool_calls={len(self.tool_calls)}, model={self.model!r})"
        )
