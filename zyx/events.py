"""Typed progress events a run streams (`RunStream.events()`), so a UI or CLI can show what is happening.

A streamed run yields, in order: `ModelTurnStarted` per model call; while the model streams,
`TextDelta` for plain text and `PartialOutput` for the growing `complete_task` result; around
each tool call `ToolCallStarted` / `ToolCallFinished`; `CompletionRejected` when a completion is
sent back (partials then restart with the next turn); `ContextFitted` when a prompt had to be fitted
to the model's window; `Verified` when the checks pass; and last
`RunFinished` with the result (or the iterator raises the run's error instead).

The graph's nodes tell these progress events as they happen (zyx.graph.progress): a `RunStream` takes
them from its run directly, any other consumer from LangGraph's custom stream mode; `TextDelta`,
`PartialOutput` and `RunFinished` are made by the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from zyx.result import Result

__all__ = [
    "CompletionRejected",
    "ContextFitted",
    "ModelTurnStarted",
    "PartialOutput",
    "RunEvent",
    "RunFinished",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "Verified",
]


@dataclass(frozen=True, slots=True)
class ModelTurnStarted:
    """The model was called (turn 1, 2, ...)."""

    turn: int
    """1 for the first model call of the run, then 2, 3, ..."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the model's plain text as it streams."""

    text: str
    """The new text (not the text so far)."""


@dataclass(frozen=True, slots=True)
class PartialOutput:
    """The partial target after the latest streamed piece of the `complete_task` result.

    `value` is a live object, updated in place when the next event is requested: copy it
    (`copy.deepcopy`) to keep it. Consecutive values are never equal.
    """

    value: Any
    """The partial target: a partial model, a growing list, the text so far, ... (live)."""


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A tool call is about to run."""

    id: str
    """The tool call's id (matches `ToolCallFinished.id`)."""
    name: str
    """The tool's name."""
    args: dict[str, Any]
    """The arguments the model passed."""


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool call ended; `error` is the text the model saw if it failed.

    Calls that never ran (unknown tool, over a limit, refused) also end with one, with
    `duration` 0.0 and the error the model was sent.
    """

    id: str
    """The tool call's id (matches `ToolCallStarted.id`)."""
    name: str
    """The tool's name."""
    duration: float
    """Seconds the call ran."""
    error: str | None = None
    """The error text the model saw, or None when the call succeeded."""


@dataclass(frozen=True, slots=True)
class CompletionRejected:
    """A `complete_task` call was sent back to the model (invalid, or rejected by a check), and why."""

    reason: str
    """What the model was told: the validation errors or the failed checks."""


@dataclass(frozen=True, slots=True)
class ContextFitted:
    """A model call's prompt was fitted to the model's context window: outputs cut (with a way to read on),
    old outputs stubbed or old turns left out. The run's state keeps every message whole."""

    prompt_tokens: int
    """The fitted prompt's tokens, as counted."""
    window: int | None
    """The window it was fitted to (None: unknown, only oversized outputs were cut)."""
    cut: tuple[str, ...] = ()
    """Ids of the texts shown in part (tool_call_ids, or "source")."""
    stubbed: tuple[str, ...] = ()
    """tool_call_ids of the outputs replaced by a stub."""
    dropped: int = 0
    """Old turns left out."""


@dataclass(frozen=True, slots=True)
class Verified:
    """The completion passed every check (only runs with a `verifier` or `final_answer_checks`)."""


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended with this result."""

    result: Result[Any]
    """What `finish()` returns: a `RunResult` for runs, a `Result` for `make()`."""


RunEvent = Union[ModelTurnStarted, TextDelta, PartialOutput, ToolCallStarted, ToolCallFinished,
                 CompletionRejected, ContextFitted, Verified, RunFinished]
"""Any event `RunStream.events()` yields."""
