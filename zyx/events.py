"""Typed progress events a run streams, so a UI or CLI can show what is happening."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from zyx.result import Result

__all__ = [
    "CompletionRejected",
    "ModelTurnStarted",
    "PartialOutput",
    "RunEvent",
    "RunFinished",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "Verified",
]


@dataclass(frozen=True)
class ModelTurnStarted:
    """The model was called (turn 1, 2, ...)."""

    turn: int


@dataclass(frozen=True)
class TextDelta:
    """A piece of the model's plain text as it streams."""

    text: str


@dataclass(frozen=True)
class PartialOutput:
    """The partial target after the latest streamed piece of the `complete_task` result."""

    value: Any


@dataclass(frozen=True)
class ToolCallStarted:
    """A tool call is about to run."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolCallFinished:
    """A tool call ended; `error` is the text the model saw if it failed."""

    id: str
    name: str
    duration: float
    error: str | None = None


@dataclass(frozen=True)
class CompletionRejected:
    """A `complete_task` call was sent back to the model, and why."""

    reason: str


@dataclass(frozen=True)
class Verified:
    """The completion passed every check."""


@dataclass(frozen=True)
class RunFinished:
    """The run ended with this result."""

    result: Result[Any]


RunEvent = Union[ModelTurnStarted, TextDelta, PartialOutput, ToolCallStarted, ToolCallFinished,
                 CompletionRejected, Verified, RunFinished]
