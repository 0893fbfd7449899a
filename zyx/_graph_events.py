"""The run graph's own LangGraph stream -> zyx's typed run events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from zyx._outcome import run_error, to_run_result
from zyx._prompts import COMPLETE_TASK
from zyx._result_stream import NOTHING, ResultPartials
from zyx.events import (
    CompletionRejected,
    ModelTurnStarted,
    PartialOutput,
    RunEvent,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Verified,
)
from zyx.graph.spec import RunSpec
from zyx.graph.state import last_ai_message, split_calls

STREAM_MODES = ["messages", "tasks", "values"]


def _task_started(task: dict[str, Any], turns: int) -> list[RunEvent]:
    if task["name"] == "planner":
        return [ModelTurnStarted(turn=turns + 1)]
    if task["name"] == "tool_executor":
        calls, _ = split_calls(last_ai_message(task["input"].get("messages", [])))
        return [ToolCallStarted(id=c["id"] or "", name=c["name"], args=c["args"]) for c in calls]
    return []


def _task_finished(task: dict[str, Any], logged: int) -> list[RunEvent]:
    update = task.get("result") or {}
    if task["name"] == "tool_executor":
        return [ToolCallFinished(id=e["id"], name=e["name"], duration=e["duration"], error=e["error"])
                for e in update.get("tool_calls", [])[logged:]]
    if task["name"] in ("completion", "verifier"):
        if update.get("verified"):
            return [Verified()]
        if update.get("verification_error") and update.get("completion", 1) is None:
            return [CompletionRejected(reason=update["verification_error"])]
    return []


async def graph_events(graph: CompiledStateGraph[Any, Any, Any, Any], spec: RunSpec, run_input: dict[str, Any],
                       config: RunnableConfig | None) -> AsyncIterator[RunEvent]:
    """Drive the run graph with `astream` and translate what it streams; raises the run's zyx error."""
    partials = ResultPartials(spec.target, COMPLETE_TASK) if spec.target is not None else None
    state: dict[str, Any] = {}
    turns = logged = 0
    async for mode, payload in graph.astream(run_input, config, stream_mode=STREAM_MODES):
        if mode == "messages":
            chunk, metadata = payload
            if not isinstance(chunk, AIMessageChunk) or metadata.get("langgraph_node") != "planner":
                continue
            if text := chunk.text:
                yield TextDelta(text)
            if partials is not None and (value := partials.feed(chunk)) is not NOTHING:
                yield PartialOutput(value)
        elif mode == "tasks":
            events = _task_started(payload, turns) if "result" not in payload else _task_finished(payload, logged)
            for event in events:
                turns += isinstance(event, ModelTurnStarted)
                logged += isinstance(event, ToolCallFinished)
                yield event
        else:
            state = payload
    error = run_error(state, spec)  # type: ignore[arg-type]
    if error is not None:
        raise error
    yield RunFinished(to_run_result(state, spec))  # type: ignore[arg-type]
