"""Coaching (the `coach` option): bounded help where real models predictably go wrong.

- Plan mode's first turn offers `submit_plan` only: a small model otherwise answers from memory at
  once. A plan may hold nothing but a `complete_task` step, so this forces no tool call.
- After a turn whose every tool call failed, the result names the tools not tried, and the next
  turn offers those (and `complete_task`) only: a small model otherwise retries the failed call or
  gives up, where another tool could find the argument it lacked (user -> city -> weather). When
  one of them then succeeds, the turn after offers only the tool that failed, to call it again:
  the model chose that call itself, and with `complete_task` offered it invents the answer instead.
- After a turn that only repeated earlier calls (same results), the next turn offers the other tools
  only; after two such turns in a row, the planner gives one turn with only `complete_task`.
- Once per run, a valid completion gets a second look (`second_look`): a give-up after tool calls with
  tools never tried (a small model gives up when one lookup answers "not found" in plain words, where
  another tool would have found what that lookup needed: a name -> an id -> a record), a give-up that
  carries a result (a small model writes "failed" or "skipped" next to a right answer: zero flights).
  The model is told why; whatever it sends next is judged as usual. A success is never sent back.
- A give-up without the call a retry note asked for is sent back once per note, naming that call; the next turn
  offers only that tool (with `complete_task` offered, a small model gives up again), unless it may not be forced
  again (`forced_again_safely`: declared destructive, or an MCP tool that is not read-only or idempotent).

Apart from these turns (the retry, the untried tools of a second look, the call a note asked for), every step
leaves `complete_task` to the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages import ToolCall, ToolMessage

from zyx import _prompts
from zyx.graph.journal import forced_again_safely
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState

LOOP_TURNS = 2
"""Turns in a row of nothing but repeated calls after which the model gets a turn with only `complete_task`."""


def first_plan(state: RunState, spec: RunSpec) -> bool:
    """Whether this turn is plan mode's first, which offers `submit_plan` only."""
    return spec.coach and spec.plan and bool(spec.tools and spec.limits.max_steps) and not state.get("plans")


def forced_turn(state: RunState, spec: RunSpec) -> bool:
    """Whether the model's turn (the one planned from this state) offered tools without `complete_task`."""
    focus = state.get("focus")
    return bool(spec.coach and focus and _prompts.COMPLETE_TASK not in focus)


def second_look(state: RunState, spec: RunSpec, completion: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Whether to send a valid completion back once (never in a wrap-up turn, never twice in a run): what the
    model is told and the coaching state for its next turn; None to accept it.

    - a give-up (failed / skipped) after tool calls, with tools never tried: those tools alone, and the tools
      tried before as the ones to call again once an untried one finds something (as after failed calls, but
      with `complete_task` still offered: a call that succeeded may have had a side effect);
    - a give-up that carries a result (all tools tried): only `complete_task`, to say "success" if it answers.
    """
    if not spec.coach or spec.plan or state.get("limit") or not spec.tools:
        return None
    if not spec.limits.steps_left(state) or spec.limits.before_model_call(state) is not None:
        return None  # no tool could run, or the next turn would be the wrap-up: the answer stands
    status = completion.get("status")
    called = [e["name"] for e in state.get("tool_calls", [])]
    spent = spec.limits.spent_tools(called)
    if status == "success":
        return None
    if (pending := state.get("pending_call")) \
            and (tools := _to_call(spec, pending["tools"], spent)):
        # the call the last retry note asked for was never made: a small model gives up right after the lookup
        # that found the id ("E-104"), and gives up again if `complete_task` is offered, so that turn offers only
        # the tool (if this run still has it: a thread may resume on other tools); not a tool that may not be
        # forced again (`forced_again_safely`), and not without require_completion (a plain-text reply would end
        # the run)
        keep = not spec.require_completion or not all(forced_again_safely(spec.tools_by_name[n]) for n in tools)
        return (_prompts.LOOK_PENDING.format(status=status, call=pending["call"]),
                {"focus": [*tools, _prompts.COMPLETE_TASK] if keep else tools, "pending_call": None})
    if state.get("second_look"):
        return None
    untried = [t for t in spec.tools if t.name not in set(called) | spent]
    if called and untried:
        listing = ", ".join(f"{t.name}({', '.join(t.args)})" for t in untried)
        again = _to_call(spec, sorted(set(called)), spent)
        focus = [t.name for t in untried]  # without require_completion a plain-text reply would end the run
        return (_prompts.LOOK_UNTRIED.format(status=status, tools=listing),
                {"focus": focus if spec.require_completion else [*focus, _prompts.COMPLETE_TASK],
                 "retry": again or None, "second_look": True})
    if completion.get("result") is not None and spec.require_completion:  # else a plain reply would lose it
        return _prompts.LOOK_RESULT.format(status=status), {"focus": [_prompts.COMPLETE_TASK], "second_look": True}
    return None


def _to_call(spec: RunSpec, names: Iterable[str], spent: set[str]) -> list[str]:
    """The tools among `names` (in order) that coaching may ask to be called again: the task's own (not the
    built-in `read_tool_output`, nor one a thread resumed on other tools lacks), their `tool_limits` not spent."""
    own = {t.name for t in spec.tools}
    return [n for n in names if n in own and n not in spent]


def _retry_hint(state: RunState, spec: RunSpec, retry: list[str], result: str) -> tuple[str, str]:
    """The result of the call that found something, with the note to call the failed tool again, and the call
    that note asks for. A short one-line finding is restated: a plain value, or a JSON object's field named
    like the failed call's one argument, as that call with the argument replaced (`get_price(item="lamp")`)."""
    found = result.strip()
    tools = ", ".join(retry)
    plain = _prompts.TRY_AGAIN.format(result=result, tools=tools), _prompts.PENDING_CALL.format(tools=tools)
    if not 0 < len(found) <= _prompts.FOUND_MAX_CHARS or "\n" in found:
        return plain
    try:
        parsed: Any = json.loads(found)
    except ValueError:
        parsed = found
    failed = next((e for e in reversed(state.get("tool_calls", [])) if e["name"] in retry), None)
    args = failed.get("args") if failed is not None else None
    if failed is not None and (check := spec.argument_checks.get(failed["name"])) is not None:
        args = check.repaired(args)  # the arguments the tool ran with (the log keeps what the model sent)
    name, value = next(iter(args.items())) if isinstance(args, dict) and len(args) == 1 else ("", None)
    if len(retry) == 1 and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        # a text or number argument: a list, object or flag is not restated (a string there would not fit)
        text = found  # a plain finding as the tool wrote it ("1e3", "12.50"), not as JSON reads it
        if isinstance(parsed, dict):
            parsed = parsed.get(name)
            text = str(parsed)
        if parsed is None or isinstance(parsed, (bool, list, dict)):
            return plain
        if isinstance(parsed, str):
            text = parsed
        new = _as_number(text) if not isinstance(value, str) else None
        if new is None and not isinstance(value, str):  # no number to restate
            return _found(result, retry[0], text)
        call = f"{retry[0]}({name}={json.dumps(text if new is None else new, ensure_ascii=False)})"
        return _prompts.TRY_AGAIN_WITH.format(result=result, tools=retry[0], found=call), call
    if isinstance(parsed, (dict, list)):
        return plain
    return _found(result, tools, found)


def _found(result: str, tools: str, found: str) -> tuple[str, str]:
    """`_retry_hint` for a finding that is not restated as a call."""
    return (_prompts.TRY_AGAIN_WITH.format(result=result, tools=tools, found=found),
            _prompts.PENDING_FOUND.format(tools=tools, found=found))


def _as_number(text: str) -> float | int | None:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def looks_failed(message: ToolMessage) -> bool:
    """A tool result that reports a failure: an error status, or text that starts with "Error:"
    (LangChain's convention for tools that return their errors; "errors: 0" is data)."""
    return message.status == "error" or message.text.lstrip().startswith(_prompts.ERROR_PREFIX)


def coach_turn(state: RunState, spec: RunSpec, calls: Sequence[ToolCall], answers: Sequence[ToolMessage],
               repeated: Sequence[bool], *, plain: bool) -> tuple[list[ToolMessage], dict[str, Any]]:
    """A turn's answers (a hint added where it helps) and the coaching state for the next turn.

    `repeated`: per call that ran, whether it repeated an earlier call with the same result; `plain`: a turn whose
    calls all ran (none refused by a human, a limit or the approval rule, none unknown or malformed, no
    `complete_task`), the only kind that is coached: a refusal is not the tool failing.
    """
    answers = list(answers)
    repeats = plain and bool(repeated) and all(repeated)
    update: dict[str, Any] = {"retry": None} if state.get("retry") else {}  # a retry is for the next plain turn only
    if (pending := state.get("pending_call")) and {c["name"] for c in calls} & set(pending["tools"]):
        update["pending_call"] = None  # the model made the call it was asked for (with whatever arguments)
    if (count := state.get("repeats", 0) + 1 if repeats else 0) != state.get("repeats", 0):
        update["repeats"] = count
    if not spec.coach or not plain or not answers:
        return answers, update
    failed = [m.name or "" for m in answers if looks_failed(m)]
    called = [*(e["name"] for e in state.get("tool_calls", [])), *(c["name"] for c in calls)]
    spent = spec.limits.spent_tools(called)
    if len(failed) == len(answers):  # every call failed: offer the untried tools, keep the failed ones for later
        tried = set(called) | spent
        others = [t for t in spec.tools if t.name not in tried]
        if others and isinstance(answers[-1].content, str):
            listing = ", ".join(f"{t.name}({', '.join(t.args)})" for t in others)
            answers[-1] = answers[-1].model_copy(update={"content": _prompts.TRY_OTHER_TOOLS.format(
                result=answers[-1].content, tools=listing)})
            retry = _to_call(spec, sorted(set(failed)), spent)
            update.update(focus=[*(t.name for t in others), _prompts.COMPLETE_TASK], retry=retry or None)
        return answers, update
    if repeats:  # offer the tools whose repeated calls did not fail
        again = {c["name"] for c, m in zip(calls, answers) if not looks_failed(m)}
        rest = [t.name for t in spec.tools if t.name not in again | spent]
        update["focus"] = [*rest, _prompts.COMPLETE_TASK] if rest else None
    elif (retry := _to_call(spec, state.get("retry") or [], spent)) and isinstance(answers[-1].content, str) \
            and not {c["name"] for c in calls} & set(retry):  # an untried tool found something: the failed one now
        content, ask = _retry_hint(state, spec, retry, answers[-1].content)
        answers[-1] = answers[-1].model_copy(update={"content": content})
        update["pending_call"] = {"tools": retry, "call": ask}
        # complete_task stays offered without require_completion (a plain-text answer would end the run), and
        # after a second look: its retry tools include calls that succeeded, which may have had side effects
        forced = spec.require_completion and not state.get("second_look")
        update["focus"] = retry if forced else [*retry, _prompts.COMPLETE_TASK]
    return answers, update
