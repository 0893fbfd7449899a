"""The `tool_executor` node: runs the model's tool calls concurrently, within the run's limits."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._tools import ToolOutcome, execute_tool, to_model_text, to_state_value, tool_values
from zyx.graph.approval import review
from zyx.graph.limits import time_left, wrap_up_message
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState, bump, fail, last_ai_message, split_calls

TOOL_TIMED_OUT = "Error: the tool did not finish within {seconds:g} s and was cancelled."
RUN_TIMED_OUT = "Error: cut off: the run's timeout was reached."


async def run_call(call: ToolCall, spec: RunSpec, config: RunnableConfig, run_left: float | None) -> ToolOutcome:
    """One call, cut by `tool_timeout` or by the run's deadline, whichever comes first."""
    limits = [t for t in (spec.tool_timeout, run_left) if t is not None]
    timeout = min(limits) if limits else None
    try:
        return await asyncio.wait_for(execute_tool(spec.tools_by_name[call["name"]], call["args"], config), timeout)
    except TimeoutError:
        if run_left is not None and timeout == run_left:
            return ToolOutcome(error=RUN_TIMED_OUT, duration=timeout)
        return ToolOutcome(error=TOOL_TIMED_OUT.format(seconds=timeout), duration=timeout or 0.0)


def error_message(call: Mapping[str, Any], text: str) -> ToolMessage:
    """An error ToolMessage answering `call`."""
    return ToolMessage(text, tool_call_id=call.get("id") or "", name=call.get("name") or "", status="error")


def _log_entry(call: ToolCall, outcome: ToolOutcome) -> dict[str, Any]:
    return {"id": call["id"], "name": call["name"], "args": call["args"],
            "output": to_state_value(outcome.output) if outcome.error is None else None,
            "error": outcome.error, "duration": round(outcome.duration, 6)}


def _answer_text(call: ToolCall, outcome: ToolOutcome, state: RunState) -> str:
    """The result for the model; a repeat of an earlier call that gave the same output says so.

    The call still runs (a tool may legitimately change between calls); only an identical answer
    gets the note, which breaks the loop small models fall into when they miss the earlier result.
    """
    text = to_model_text(outcome.output)
    value = to_state_value(outcome.output)
    for entry in state.get("tool_calls", []):
        if entry["name"] == call["name"] and entry["args"] == call["args"] and entry["error"] is None \
                and entry["output"] == value:
            return _prompts.REPEATED_CALL.format(result=text, name=call["name"])
    return text


def admit(calls: list[ToolCall], state: RunState, spec: RunSpec) -> tuple[list[ToolCall], dict[str, str], str | None]:
    """Which known calls run now, which are refused (by id, with the reason), and the limit that refused them."""
    used = Counter(entry["name"] for entry in state.get("tool_calls", []))
    budget = max(spec.max_steps - state.get("steps", 0), 0)
    admitted: list[ToolCall] = []
    refused: dict[str, str] = {}
    limit: str | None = None
    for call in calls:
        cap = spec.tool_limits.get(call["name"])
        if len(admitted) >= budget:
            refused[call["id"] or ""], limit = _prompts.BUDGET_SPENT.format(limit="max_steps"), limit or "max_steps"
        elif cap is not None and used[call["name"]] >= cap:
            refused[call["id"] or ""] = _prompts.BUDGET_SPENT.format(limit=f"{call['name']} tool")
            limit = limit or "tool_limit"
        else:
            admitted.append(call)
            used[call["name"]] += 1
    return admitted, refused, limit


def bad_arguments(message: AIMessage | None) -> tuple[list[Any], list[ToolMessage]]:
    """The turn's unparseable calls and the error answering each."""
    invalid = message.invalid_tool_calls if message is not None else []
    return invalid, [error_message(c, _prompts.BAD_ARGUMENTS.format(error=c.get("error") or c.get("args")))
                     for c in invalid]


async def tool_executor(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Run this turn's tool calls (not `complete_task`) at once; refuse those past a limit."""
    message = last_ai_message(state["messages"])
    calls, completions = split_calls(message)
    known = [c for c in calls if c["name"] in spec.tools_by_name]
    admitted, refused, limit = admit(known, state, spec)
    admitted, rejected = review(admitted, spec.approval)
    refused.update(rejected)
    run_left = time_left(state, spec)
    outcomes = dict(zip((c["id"] for c in admitted), await asyncio.gather(
        *(run_call(c, spec, config, run_left) for c in admitted))))

    available = ", ".join(spec.tools_by_name) or "(none)"
    messages: list[Any] = []
    for call in calls:
        if (outcome := outcomes.get(call["id"])) is not None:
            messages.append(error_message(call, outcome.error) if outcome.error is not None else ToolMessage(
                _answer_text(call, outcome, state), tool_call_id=call["id"] or "", name=call["name"]))
        elif call["name"] not in spec.tools_by_name:
            messages.append(error_message(call, _prompts.UNKNOWN_TOOL.format(name=call["name"], available=available)))
        else:
            messages.append(error_message(call, refused[call["id"] or ""]))
    invalid, errors = bad_arguments(message)
    ran = [(c, outcomes[c["id"]]) for c in admitted]
    return close_turn(state, spec, ran, [*messages, *errors], limit, completing=bool(completions),
                      invalid=invalid, unknown=len(known) < len(calls))


def close_turn(state: RunState, spec: RunSpec, ran: list[tuple[ToolCall, ToolOutcome]], messages: list[Any],
               limit: str | None, *, completing: bool, invalid: list[Any], unknown: bool) -> dict[str, Any]:
    """The update after a turn's calls ran: step count, call log, malformed-call retries, and the
    wrap-up turn when a limit was reached (unless a completion of this turn is still to be handled)."""
    if (values := tool_values.get()) is not None:
        values.update((c["id"], o.output) for c, o in ran if o.error is None)  # type: ignore[misc]
    if any(o.error == RUN_TIMED_OUT for _, o in ran):
        limit = "timeout"
    steps = state.get("steps", 0) + len(ran)
    update: dict[str, Any] = {"steps": steps, "tool_calls": [
        *state.get("tool_calls", []), *(_log_entry(c, o) for c, o in ran)]}
    update.update(_malformed(state, spec, invalid, unknown=unknown, completing=completing))
    if limit is None and spec.max_steps and steps >= spec.max_steps:
        limit = "max_steps"
    if limit and not state.get("limit") and not completing:
        update["limit"] = limit
        messages = [*messages, wrap_up_message(limit)]
    update["messages"] = messages
    return update


def _malformed(state: RunState, spec: RunSpec, invalid: list[Any], *, unknown: bool, completing: bool) -> dict[str, Any]:
    """Unparseable calls and unknown tools count against `max_retries`, not against `max_steps`.

    The run is not ended here while a completion of the same turn waits: that call must be answered.
    """
    update: dict[str, Any] = {}
    broken = [c for c in invalid if c["name"] == _prompts.COMPLETE_TASK]
    if broken:
        update["rejections"] = bump(state, "invalid")
        update["rejected_completion"] = {"unparsed": broken[0].get("args")}
        errors = [str(c.get("error")) for c in broken]
        if completing:  # the turn's valid complete_task call decides how the run goes on
            return update
        if update["rejected_completion"] == state.get("rejected_completion"):
            update.update(fail("verification", _prompts.REPEATED_COMPLETION, errors))
        elif update["rejections"]["invalid"] > spec.max_retries:
            update.update(fail("verification", "The model's complete_task arguments were not valid JSON.", errors))
    elif invalid or unknown:
        update["rejections"] = bump(state, "malformed")
        if update["rejections"]["malformed"] > spec.max_retries and not completing:
            update.update(fail("not_completed", "The model kept making malformed tool calls "
                               "(unknown tools or arguments that are not JSON)."))
    return update
