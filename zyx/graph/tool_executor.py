"""The `tool_executor` node: runs the model's tool calls concurrently, within the step budget."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from langchain_core.messages import HumanMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._tools import ToolOutcome, execute_tool, to_model_text, to_state_value
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState, bump, fail, last_ai_message, split_calls

tool_values: ContextVar[dict[str, Any] | None] = ContextVar("zyx_tool_values", default=None)
"""Per-run side channel: tool outputs as Python values, by call id (state keeps their JSON form)."""


async def _run_call(call: ToolCall, spec: RunSpec, config: RunnableConfig) -> ToolOutcome:
    tool = spec.tools_by_name.get(call["name"])
    if tool is None:
        available = ", ".join(spec.tools_by_name) or "(none)"
        return ToolOutcome(error=_prompts.UNKNOWN_TOOL.format(name=call["name"], available=available))
    return await execute_tool(tool, call["args"], config)


def _log_entry(call: ToolCall, outcome: ToolOutcome) -> dict[str, Any]:
    return {"id": call["id"], "name": call["name"], "args": call["args"],
            "output": to_state_value(outcome.output) if outcome.error is None else None,
            "error": outcome.error, "duration": round(outcome.duration, 6)}


def _tool_message(call: ToolCall, outcome: ToolOutcome) -> ToolMessage:
    if outcome.error is not None:
        return ToolMessage(outcome.error, tool_call_id=call["id"] or "", name=call["name"], status="error")
    return ToolMessage(to_model_text(outcome.output), tool_call_id=call["id"] or "", name=call["name"])


async def tool_executor(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Run this turn's tool calls (not `complete_task`) at once; refuse those past `max_steps`."""
    message = last_ai_message(state["messages"])
    calls, completions = split_calls(message)
    steps = state.get("steps", 0)
    budget = max(spec.max_steps - steps, 0)
    run_now, refused = calls[:budget], calls[budget:]
    outcomes = await asyncio.gather(*(_run_call(c, spec, config) for c in run_now))
    values = tool_values.get()
    if values is not None:
        values.update((c["id"], o.output) for c, o in zip(run_now, outcomes) if o.error is None)

    messages: list[Any] = [_tool_message(c, o) for c, o in zip(run_now, outcomes)]
    messages += [ToolMessage(_prompts.BUDGET_SPENT.format(limit="max_steps"), tool_call_id=c["id"] or "",
                             name=c["name"], status="error") for c in refused]
    update: dict[str, Any] = {
        "steps": steps + len(run_now),
        "tool_calls": [*state.get("tool_calls", []), *(_log_entry(c, o) for c, o in zip(run_now, outcomes))],
    }
    invalid = message.invalid_tool_calls if message is not None else []
    messages += [ToolMessage(_prompts.BAD_ARGUMENTS.format(error=c.get("error") or c.get("args")),
                             tool_call_id=c["id"] or "", name=c["name"] or "", status="error") for c in invalid]
    if any(c["name"] == _prompts.COMPLETE_TASK for c in invalid):
        update["rejections"] = bump(state, "invalid")
        if update["rejections"]["invalid"] > spec.max_retries:
            update.update(fail("verification", "The model's complete_task arguments were not valid JSON.",
                               [str(c.get("error")) for c in invalid]))
    if update["steps"] >= spec.max_steps and not completions and not state.get("limit"):
        update["limit"] = "max_steps"
        messages.append(HumanMessage(_prompts.WRAP_UP.format(limit="max_steps"), name="zyx"))
    update["messages"] = messages
    return update
