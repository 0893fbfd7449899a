"""The `planner` node: the only place the model is called."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState, bump, fail, split_calls


def add_usage(total: dict[str, int] | None, reply: AIMessage) -> dict[str, int]:
    """Summed token usage after one more model reply."""
    summed = dict(total or {})
    for key, value in (reply.usage_metadata or {}).items():
        if isinstance(value, int):
            summed[key] = summed.get(key, 0) + value
    return summed


def skipped_completion() -> dict[str, Any]:
    """The completion recorded when a run may end without `complete_task`."""
    return {"status": "skipped", "summary": _prompts.NO_COMPLETION_SUMMARY, "result": None,
            "evidence": None, "verification": None}


def _no_completion(state: RunState, spec: RunSpec, reply: AIMessage) -> dict[str, Any]:
    """The turn ended without `complete_task`: nudge, end as skipped, or fail."""
    limit = state.get("limit")
    if not spec.require_completion:
        return {"completion": skipped_completion(), "termination": limit or "no_completion"}
    if limit:
        kind = "max_steps" if limit == "max_steps" else "limit"
        return fail(kind, f"The {limit} limit was reached and the model did not call complete_task "
                    "in its wrap-up turn.", termination=limit)
    rejections = bump(state, "text")
    if rejections["text"] > spec.max_retries:
        return {"rejections": rejections, **fail(
            "not_completed", f"The model answered without calling complete_task {rejections['text']} times.",
            [reply.text])}
    return {"rejections": rejections, "messages": [HumanMessage(_prompts.NUDGE, name="zyx")]}


async def planner(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Ask the model for its next move: tool calls, `complete_task`, or (to be nudged) plain text."""
    model = spec.wrap_up_model if state.get("limit") else spec.bound_model
    reply = await model.ainvoke([SystemMessage(spec.system_prompt), *state["messages"]], config)
    if not isinstance(reply, AIMessage):
        reply = AIMessage(content=str(reply))
    update: dict[str, Any] = {
        "messages": [reply],
        "model_calls": state.get("model_calls", 0) + 1,
        "usage": add_usage(state.get("usage"), reply),
    }
    others, completions = split_calls(reply)
    if state.get("limit") and (others or reply.invalid_tool_calls):
        refused = [ToolMessage(_prompts.BUDGET_SPENT.format(limit=state["limit"]), tool_call_id=c["id"] or "",
                               name=c["name"], status="error")
                   for c in [*others, *reply.invalid_tool_calls]]
        update["messages"] = [reply, *refused]
        return update if completions else {**update, **_no_completion(state, spec, reply), "messages": [reply, *refused]}
    if others or completions or reply.invalid_tool_calls:
        return update
    result = _no_completion(state, spec, reply)
    return {**update, **result, "messages": [reply, *result.get("messages", [])]}
