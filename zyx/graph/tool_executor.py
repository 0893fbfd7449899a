"""The `tool_executor` node: runs the model's tool calls concurrently, within the run's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._scope import RunScope, ToolValue
from zyx._tools import ToolOutcome, to_state_value
from zyx.events import CompletionRejected
from zyx.graph.approval import asked_keys, call_keys, resumed_deadline, review
from zyx.graph.calls import run_calls
from zyx.graph.coaching import coach_turn, looks_failed
from zyx.graph.grounding import unfounded_calls
from zyx.graph.journal import Journal
from zyx.graph.limits import wrap_up_message
from zyx.graph.progress import finished, started, tell
from zyx.graph.spec import RunSpec
from zyx.graph.state import (
    FailureKind,
    Rejection,
    RunState,
    bump,
    fail,
    is_unparsed,
    last_ai_message,
    split_calls,
    unparsed_completion,
)


def error_message(call: Mapping[str, Any], text: str) -> ToolMessage:
    """An error ToolMessage answering `call`."""
    return ToolMessage(text, tool_call_id=call.get("id") or "", name=call.get("name") or "", status="error")


def _log_entry(call: ToolCall, outcome: ToolOutcome) -> dict[str, Any]:
    return {"id": call["id"], "name": call["name"], "args": call["args"],
            "output": to_state_value(outcome.output) if outcome.error is None else None,
            "artifact": to_state_value(outcome.artifact) if outcome.artifact is not None else None,
            "error": outcome.error, "duration": round(outcome.duration, 6),
            **({"still_running": True} if outcome.still_running else {}),
            **({"may_have_run": True} if outcome.may_have_run else {})}


def _answer(call: ToolCall, outcome: ToolOutcome, state: RunState) -> tuple[ToolMessage, bool]:
    """The ToolMessage for the model; a repeat of an earlier call that gave the same output says so.

    The call still runs (a tool may legitimately change between calls); only an identical answer
    gets the note, which breaks the loop small models fall into when they miss the earlier result.
    """
    message = outcome.message(call)
    if not isinstance(message.content, str) or not repeats_earlier(call, outcome, state):
        return message, False
    note = _prompts.REPEATED_FAILURE if looks_failed(message) else _prompts.REPEATED_CALL
    message.content = note.format(result=message.content, name=call["name"])
    return message, True


def repeats_earlier(call: ToolCall, outcome: ToolOutcome, state: RunState) -> bool:
    """Whether a call that succeeded repeats an earlier one: the same tool, arguments and output."""
    if outcome.error is not None:
        return False
    value, args = to_state_value(outcome.output), to_state_value(call["args"])
    return any(e["name"] == call["name"] and e["args"] == args and e["error"] is None and e["output"] == value
               for e in state.get("tool_calls", []))


def bad_arguments(message: AIMessage | None) -> tuple[list[Any], list[ToolMessage]]:
    """The turn's unparseable calls and the error answering each."""
    invalid = message.invalid_tool_calls if message is not None else []
    return invalid, [error_message(c, _prompts.BAD_ARGUMENTS.format(error=c.get("error") or c.get("args")))
                     for c in invalid]


async def execute_tools(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Run this turn's tool calls (not `complete_task`) at once; refuse those past a limit. Each call's
    `ToolCallStarted` is told once the turn's calls are decided, its `ToolCallFinished` as it ends."""
    message = last_ai_message(state["messages"])
    if (deadline := resumed_deadline(state, config, message.id if message is not None else None)) is not None:
        state = {**state, "deadline": deadline}  # type: ignore[typeddict-item]
    calls, completions = split_calls(message, spec.contract.tool)
    resuming = asked_keys(config, message.id if message is not None else None) is not None
    unfounded = {} if resuming else unfounded_calls(calls, state, spec)  # a human's decision stands, as given
    to_run, reasons, limit = _decide(calls, state, config, spec, message, unfounded)
    journal = await Journal.open(config)
    tell(config, *(started(c) for i, c in enumerate(calls) if journal is None or not journal.has_record(str(i))))
    outcomes = await run_calls(to_run, spec, config, spec.limits.time_left(state), state, journal)

    available = ", ".join(spec.tools_by_name) or _prompts.NO_TOOLS
    messages: list[Any] = []
    repeated: list[bool] = []
    for i, call in enumerate(calls):
        if (outcome := outcomes.get(i)) is not None:
            answer, again = _answer(call, outcome, state)
            messages.append(answer)
            repeated.append(again)
            continue
        text = _prompts.UNKNOWN_TOOL.format(name=call["name"], available=available) \
            if call["name"] not in spec.tools_by_name else reasons[i]
        messages.append(error_message(call, text))
        tell(config, finished(call, 0.0, text))  # refused (a limit, a human, the approval rule) or unknown
    invalid, errors = bad_arguments(message)
    # a call that may have run before a crash is not a failure to coach (no "call it again")
    plain = not invalid and not completions and len(outcomes) == len(calls) and not any(
        o.may_have_run for o in outcomes.values())
    messages, coached = coach_turn(state, spec, calls, messages, repeated, plain=plain)
    ran = [(to_run[i], outcomes[i]) for i in to_run]
    update = close_turn(state, spec, ran, [*messages, *errors], limit, config, completing=bool(completions),
                        invalid=invalid, unknown=any(c["name"] not in spec.tools_by_name for c in calls))
    if update.get("limit"):
        coached.pop("focus", None)
    if deadline is not None:
        update["deadline"] = deadline
    if unfounded:  # the run's one look: a give-up after it is not sent back again (`second_look`)
        update.update(grounding_look=True, second_look=True)
        if not update.get("limit"):  # the next turn is for the answer: the model finishes, or says it cannot
            coached["focus"] = [_prompts.COMPLETE_TASK]
    return {**update, **coached}


def _decide(calls: list[ToolCall], state: RunState, config: RunnableConfig, spec: RunSpec,
            message: AIMessage | None, unfounded: dict[int, str]) -> tuple[dict[int, ToolCall], dict[int, str], str | None]:
    """The turn's calls to run (by position; args as a human edited them), why each other known tool's call
    must not (its values invented: `unfounded`; over a limit, refused by a human or the approval rule), and the
    limit reached."""
    known = [i for i, c in enumerate(calls) if c["name"] in spec.tools_by_name and i not in unfounded]
    admitted, refused, limit = spec.limits.admit([calls[i] for i in known], state)
    reasons = {**unfounded, **{known[i]: text for i, text in refused.items()}}
    keys = call_keys(calls)  # decision keys: ids repeated within the turn are told apart
    reviewed = review([calls[known[i]] for i in admitted], [keys[known[i]] for i in admitted], spec.approval,
                      asked_keys(config, message.id if message is not None else None))
    to_run: dict[int, ToolCall] = {}
    for i, (call, rejection) in zip(admitted, reviewed):
        if rejection is None:
            to_run[known[i]] = call
        else:
            reasons[known[i]] = rejection
    return to_run, reasons, limit


def close_turn(state: RunState, spec: RunSpec, ran: list[tuple[ToolCall, ToolOutcome]], messages: list[Any],
               limit: str | None, config: RunnableConfig, *, completing: bool, invalid: list[Any],
               unknown: bool) -> dict[str, Any]:
    """The update after a turn's calls ran: step count, call log (the Python values kept in the run's
    `RunScope`), malformed-call retries (complete_task arguments that are not JSON told as
    `CompletionRejected`), and the wrap-up turn when a limit was reached (unless a completion of this turn
    is still to be handled)."""
    RunScope.of(config).keep_tool_values(len(state.get("tool_calls", [])),
                                         [ToolValue(o.output, o.artifact) for _, o in ran])
    if any(o.run_timed_out for _, o in ran):
        limit = "timeout"
    steps = state.get("steps", 0) + len(ran)
    update: dict[str, Any] = {"steps": steps, "tool_calls": [
        *state.get("tool_calls", []), *(_log_entry(c, o) for c, o in ran)]}
    update.update(_malformed(state, spec, invalid, unknown=unknown, completing=completing))
    if is_unparsed(update.get("rejected_completion")):
        tell(config, CompletionRejected(reason=next((m.text for m in messages if isinstance(m, ToolMessage) and
                                                     m.name == spec.contract.tool), "invalid arguments")))
    if limit is None and spec.limits.max_steps and steps >= spec.limits.max_steps:
        limit = "max_steps"
    if limit and not state.get("limit") and not completing:
        update["limit"] = limit
        messages = [*messages, wrap_up_message(limit, spec.contract.wrap_up)]
    update["messages"] = messages
    return update


def _malformed(state: RunState, spec: RunSpec, invalid: list[Any], *, unknown: bool, completing: bool) -> dict[str, Any]:
    """Unparseable calls and unknown tools count against `max_retries`, not against `max_steps`.

    The run is not ended here while a completion of the same turn waits: that call must be answered.
    """
    update: dict[str, Any] = {}
    broken = [c for c in invalid if c["name"] == spec.contract.tool]
    if broken:
        update["rejections"] = bump(state, Rejection.INVALID)
        update["rejected_completion"] = unparsed_completion(broken[0].get("args"))
        errors = [str(c.get("error")) for c in broken]
        if completing:  # the turn's valid complete_task call decides how the run goes on
            return update
        if update["rejected_completion"] == state.get("rejected_completion"):
            update.update(fail(FailureKind.VERIFICATION, _prompts.REPEATED_COMPLETION, errors))
        elif update["rejections"][Rejection.INVALID] > spec.max_retries:
            update.update(fail(FailureKind.VERIFICATION, f"The model's {spec.contract.tool} arguments were not valid JSON.",
                               errors))
    elif invalid or unknown:
        update["rejections"] = bump(state, Rejection.MALFORMED)
        if update["rejections"][Rejection.MALFORMED] > spec.max_retries and not completing:
            update.update(fail(FailureKind.NOT_COMPLETED, "The model kept making malformed tool calls "
                               "(unknown tools or arguments that are not JSON)."))
    return update
