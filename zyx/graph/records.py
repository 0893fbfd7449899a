"""A run's state read as records: its goal, its tool-call log and plans (with this process's Python
outputs), and the history attached to an error raised mid-run."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage

from zyx._tools import tool_values
from zyx.errors import RunError
from zyx.graph.state import RunState
from zyx.result import ToolCallRecord


def goal_text(state: RunState) -> str:
    """The run's goal: the `task` field, else the latest human message."""
    if state.get("task"):
        return state["task"]
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage) and message.name != "zyx":
            return message.text
    return ""


def tool_records(state: RunState) -> list[ToolCallRecord]:
    """The tool-call log, with Python outputs where this process still has them."""
    values = tool_values.get() or {}
    return [
        ToolCallRecord(id=e["id"], name=e["name"], args=e["args"], output=values.get(e["id"], e["output"]),
                       error=e["error"], duration=e["duration"])
        for e in state.get("tool_calls", [])
    ]


def plan_records(state: RunState) -> list[dict[str, Any]]:
    """The run's plans (JSON form from state), with step outputs as Python values where this process has them."""
    values = tool_values.get() or {}
    plans = []
    for plan in state.get("plans") or []:
        steps = [{**step, "output": values.get(f"{plan['call_id']}/{step['id']}", step["output"])}
                 if isinstance(step, dict) and step.get("status") == "ok" else step for step in plan["steps"]]
        plans.append({**plan, "steps": steps})
    return plans


def with_history(error: RunError, state: RunState) -> RunError:
    """Attach what the run did so far to an error raised mid-run (e.g. a `ModelError`)."""
    error.messages = list(state.get("messages", []))
    error.tool_calls = tool_records(state)
    error.usage = dict(state.get("usage") or {})
    return error
