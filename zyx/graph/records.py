"""A run's state read as records: its goal, its tool-call log and plans (with this process's Python
outputs), and the history attached to an error raised mid-run."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from zyx._inputs import attachment_blocks
from zyx._scope import RunScope
from zyx.errors import RunError
from zyx.graph.state import RunState
from zyx.result import RunContext, RunTask, ToolCallRecord
from zyx.usage import Usage


def goal_text(state: RunState) -> str:
    """The run's goal: the `task` field, else the latest human message."""
    if state.get("task"):
        return state["task"]
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage) and message.name != "zyx":
            return message.text
    return ""


def run_usage(state: RunState) -> Usage:
    """What the run spent: the token counts the state keeps, its model calls and its executed tool calls."""
    return Usage(state.get("usage"), requests=state.get("model_calls", 0), tool_calls=len(state.get("tool_calls", [])))


def tool_records(state: RunState, scope: RunScope) -> list[ToolCallRecord]:
    """The tool-call log, with the Python outputs the run's scope holds."""
    records = []
    for i, e in enumerate(state.get("tool_calls", [])):
        output, artifact = scope.tool_value(i, e)
        records.append(ToolCallRecord(id=e["id"], name=e["name"], args=e["args"], output=output, error=e["error"],
                                      duration=e["duration"], artifact=artifact,
                                      still_running=e.get("still_running", False),
                                      may_have_run=e.get("may_have_run", False)))
    return records


def plan_records(state: RunState, scope: RunScope) -> list[dict[str, Any]]:
    """The run's plans (JSON form from state), with the step outputs the run's scope holds as Python values."""
    plans = []
    for index, plan in enumerate(state.get("plans") or []):
        steps = [{**step, "output": scope.step_output(index, step)}
                 if isinstance(step, dict) and step.get("status") == "ok" else step for step in plan["steps"]]
        plans.append({**plan, "steps": steps})
    return plans


def with_history(error: RunError, state: RunState, config: RunnableConfig) -> RunError:
    """Attach what the run did so far to an error a node raises mid-run (e.g. a `ModelError`)."""
    error.messages = list(state.get("messages", []))
    error.tool_calls = tool_records(state, RunScope.of(config))
    error.usage = run_usage(state)
    return error


RUNTIME_KEY = "__pregel_runtime"
"""Where LangGraph puts a run's `Runtime` (context, store, stream writer) in a node's config
(`langgraph._internal._constants`); `langgraph.runtime.get_runtime` reads it from there too."""


def langgraph_runtime(config: RunnableConfig) -> Any:
    """This invocation's LangGraph `Runtime`, read from the node's own config, or None."""
    return (config.get("configurable") or {}).get(RUNTIME_KEY)


def run_deps(config: RunnableConfig) -> Any:
    """The run's `deps`: the LangGraph runtime context of this invocation (what `langgraph.runtime.get_runtime`
    reads, taken from the node's own config), or None."""
    return getattr(langgraph_runtime(config), "context", None)


def run_task(state: RunState, target: Any) -> RunTask:
    """What the run was asked."""
    return RunTask(goal=goal_text(state), target=target)


def run_context(state: RunState, config: RunnableConfig, target: Any) -> RunContext:
    """The run so far, for dynamic instructions."""
    scope = RunScope.of(config)
    return RunContext(task=run_task(state, target), deps=run_deps(config), source=scope.source_for(state.get("source")),
                      messages=list(state.get("messages", [])), tool_calls=tool_records(state, scope),
                      model_calls=state.get("model_calls", 0))


def attachments_of(state: RunState) -> list[dict[str, Any]]:
    """The run's attachments, as the content blocks the model was sent."""
    return attachment_blocks(state.get("messages", []))
