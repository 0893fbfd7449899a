"""Edge functions: where a run goes next, decided from state alone."""

from __future__ import annotations

from typing import Literal, cast

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END

from zyx._prompts import COMPLETE_TASK
from zyx.graph.state import RunState, pending_plan_completion

_END = cast(Literal["__end__"], END)
"""LangGraph's END node, whose value is "__end__" (LangGraph types it as a plain str)."""


def _unanswered(state: RunState, answer: str) -> tuple[bool, bool]:
    """Whether the model's last turn has (other tool calls, a call of the answer tool) not yet answered."""
    messages = state["messages"]
    answered: set[str | None] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
            continue
        if not isinstance(message, AIMessage):
            return False, False
        calls = [*message.tool_calls, *message.invalid_tool_calls]
        others = any(c["name"] != answer and c["id"] not in answered for c in calls)
        completion = any(c["name"] == answer and c["id"] not in answered for c in message.tool_calls)
        invalid_completion = any(c["name"] == answer and c["id"] not in answered for c in message.invalid_tool_calls)
        return others or invalid_completion, completion
    return False, False


def _ended(state: RunState) -> bool:
    return bool(state.get("error") or state.get("termination"))


def after_planner(state: RunState, answer: str = COMPLETE_TASK
                  ) -> Literal["tool_executor", "completion", "planner", "__end__"]:
    """Tools first, then the completion (`answer`: the answer tool's name); a nudged plain-text turn goes back
    to the planner."""
    if _ended(state):
        return _END
    tools, completion = _unanswered(state, answer)
    if tools:
        return "tool_executor"
    return "completion" if completion else "planner"


def after_tools(state: RunState, answer: str = COMPLETE_TASK) -> Literal["completion", "planner", "__end__"]:
    """A `complete_task` in the same turn (or a plan's completion step) is handled once the tools have run."""
    if _ended(state):
        return _END
    return "completion" if _unanswered(state, answer)[1] or pending_plan_completion(state) else "planner"


def after_completion(state: RunState) -> Literal["verifier", "planner", "__end__"]:
    """A valid completion with checks goes to the verifier; a rejected one back to the model."""
    if _ended(state):
        return _END
    return "verifier" if state.get("completion") else "planner"


def after_verifier(state: RunState) -> Literal["planner", "__end__"]:
    """Accepted ends the run; rejected goes back to the model."""
    return _END if _ended(state) else "planner"
