"""Progress events the nodes tell as they happen (`zyx.events`), on LangGraph's custom stream.

A node writes each event it causes at the moment it happens: the model call its `ModelTurnStarted` (and
`ContextFitted`), the tool executor each call's `ToolCallStarted` / `ToolCallFinished`, the completion and
verifier nodes `CompletionRejected` / `Verified`. Any `graph.stream(..., stream_mode="custom")` consumer
(Studio, an Agent Server client) gets them on LangGraph's custom stream; `run(stream=True)` takes them at
once from its run scope's sink (the same events, without a wake-up of LangGraph's stream loop per event).
With no one streaming, LangGraph's writer does nothing.

An event is told once: a node run again on a resumed thread does not tell again what the run before it told
(a tool call with a record in the call journal was announced by the execution that started it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig

from zyx._scope import RunScope
from zyx.events import (
    CompletionRejected,
    ContextFitted,
    ModelTurnStarted,
    RunEvent,
    ToolCallFinished,
    ToolCallStarted,
    Verified,
)
from zyx.graph.records import langgraph_runtime

NODE_EVENTS = (ModelTurnStarted, ToolCallStarted, ToolCallFinished, CompletionRejected, ContextFitted, Verified)
"""The events nodes tell (the others, `TextDelta`, `PartialOutput` and `RunFinished`, are made by the stream)."""


def tell(config: RunnableConfig, *events: RunEvent) -> None:
    """Hand events to the run's own `RunStream` (its scope's sink), and write them to the invocation's custom
    stream (LangGraph's stream writer, a no-op when no one streams that mode)."""
    scope = RunScope.found(config)
    if scope is not None and scope.sink is not None:
        for event in events:
            scope.sink(event)
    writer = getattr(langgraph_runtime(config), "stream_writer", None)
    if callable(writer):
        for event in events:
            writer(event)


def started(call: Mapping[str, Any]) -> ToolCallStarted:
    """The event for a tool call about to run (with the arguments the model passed)."""
    return ToolCallStarted(id=call.get("id") or "", name=call.get("name") or "", args=call.get("args") or {})


def finished(call: Mapping[str, Any], duration: float, error: str | None) -> ToolCallFinished:
    """The event for a tool call that ended (or was refused: duration 0 and the error the model was sent)."""
    return ToolCallFinished(id=call.get("id") or "", name=call.get("name") or "", duration=round(duration, 6),
                            error=error)
