"""Coaching (the `coach` option): bounded help where real models predictably go wrong.

- Plan mode's first turn offers `submit_plan` only: a small model otherwise answers from memory at
  once. A plan may hold nothing but a `complete_task` step, so this forces no tool call.
- After a turn whose every tool call failed, the result names the tools not tried, and the next
  turn offers those (and `complete_task`) only: a small model otherwise retries the failed call or
  gives up, where another tool could find the argument it lacked (user -> city -> weather).
- After a turn that only repeated earlier calls (same results), the next turn offers the other tools
  only; after two such turns in a row, the planner gives one turn with only `complete_task`.

Each step still leaves `complete_task` to the model: nothing here forces a tool call.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import ToolCall, ToolMessage

from zyx import _prompts
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState


def first_plan(state: RunState, spec: RunSpec) -> bool:
    """Whether this turn is plan mode's first, which offers `submit_plan` only."""
    return spec.coach and spec.plan and bool(spec.tools and spec.limits.max_steps) and not state.get("plans")

LOOP_TURNS = 2
"""Turns in a row of nothing but repeated calls after which the model gets a turn with only `complete_task`."""


def looks_failed(message: ToolMessage) -> bool:
    """A tool result that reports a failure: an error status, or text that starts with "Error"
    (LangChain's convention for tools that return their errors)."""
    return message.status == "error" or message.text.lstrip().lower().startswith("error")


def after_failures(state: RunState, spec: RunSpec, answers: Sequence[ToolMessage]
                   ) -> tuple[list[ToolMessage], list[str] | None]:
    """A turn's answers, with a hint on the last one when every call failed and some tool is untried,
    and the next turn's tools (the untried ones)."""
    if not spec.coach or not answers or not all(looks_failed(m) for m in answers):
        return list(answers), None
    tried = {m.name for m in answers} | {e["name"] for e in state.get("tool_calls", [])}
    others = [t for t in spec.tools if t.name not in tried]
    if not others or not isinstance(answers[-1].content, str):
        return list(answers), None
    listing = ", ".join(f"{t.name}({', '.join(t.args)})" for t in others)
    last = answers[-1].model_copy(update={"content": _prompts.TRY_OTHER_TOOLS.format(
        result=answers[-1].content, tools=listing)})
    return [*answers[:-1], last], [t.name for t in others]


def after_repeats(spec: RunSpec, calls: Sequence[ToolCall]) -> list[str] | None:
    """The next turn's tools after a turn that only repeated earlier calls (`calls`: those that succeeded):
    the others (None: all)."""
    if not spec.coach or not calls:
        return None
    repeated = {c["name"] for c in calls}
    return [t.name for t in spec.tools if t.name not in repeated] or None
