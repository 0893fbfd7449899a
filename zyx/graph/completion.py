"""The `completion` node: checks a `complete_task` call against the target."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._completion import check_completion
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState, budget_spent, bump, fail, last_ai_message, split_calls


def accept(state: RunState, call_id: str) -> dict[str, Any]:
    """The update that ends a run with its completion accepted."""
    return {"termination": state.get("limit") or "completed",
            "messages": [ToolMessage(_prompts.ACCEPTED, tool_call_id=call_id, name=_prompts.COMPLETE_TASK)]}


async def completion(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Validate the completion; an invalid one goes back to the model as that call's result."""
    _, calls = split_calls(last_ai_message(state["messages"]))
    call, extra = calls[0], calls[1:]
    ignored = [ToolMessage(_prompts.DUPLICATE_COMPLETION, tool_call_id=c["id"] or "", name=c["name"], status="error")
               for c in extra]
    checked = check_completion(call["args"], spec.target)
    if checked.feedback is not None:
        rejections = bump(state, "invalid")
        update: dict[str, Any] = {
            "completion": None, "rejections": rejections, "verification_error": checked.feedback,
            "rejected_completion": call["args"] if isinstance(call["args"], dict) else None,
            "messages": [ToolMessage(checked.feedback, tool_call_id=call["id"] or "", name=call["name"],
                                     status="error"), *ignored],
        }
        update.update(budget_spent(state, spec.max_steps))
        if rejections["invalid"] > spec.max_retries:
            update.update(fail("verification", f"The completion was invalid {rejections['invalid']} times.",
                               [checked.feedback], termination=state.get("limit") or "no_completion"))
        return update
    update = {"completion": checked.completion, "verification_error": None, "messages": ignored}
    if not spec.checks:
        accepted = accept(state, call["id"] or "")
        update.update(accepted, messages=[*accepted["messages"], *ignored])
    return update
