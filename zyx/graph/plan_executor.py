"""The `tool_executor` node in plan mode: checks the model's `submit_plan` and runs its steps without the model.

Each step goes through the normal tool-execution path (`run_call`: `tool_timeout`, the run's deadline;
`RunLimits.admit`: `tool_limits`), and the turn is closed like a normal one (`close_turn`: step count, call log,
malformed calls, wrap-up turn). A plan that ends with `complete_task` leaves its submit_plan call
unanswered: the `completion` and `verifier` nodes answer it with the step results and their verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._prompts import COMPLETE_TASK, READ_TOOL_OUTPUT, SUBMIT_PLAN
from zyx._scope import RunScope, StepKey
from zyx._tools import ToolOutcome, to_state_value
from zyx.graph.approval import ask, asked_keys, resumed_deadline
from zyx.graph.calls import run_call, run_calls, run_journaled
from zyx.graph.journal import Journal
from zyx.graph.plan import Plan, PlanStep, StepError, StepResult, check_plan, execute_plan, format_results
from zyx.graph.progress import finished, started, tell
from zyx.graph.spec import RunSpec
from zyx.graph.state import (
    FailureKind,
    PlanCompletionRecord,
    PlanRecord,
    PlanStepRecord,
    Rejection,
    RunState,
    fail,
    last_ai_message,
    plan_record,
    split_calls,
    store_plan,
)
from zyx.graph.tool_executor import bad_arguments, close_turn, error_message, repeats_earlier


@dataclass
class PlanRound:
    """What handling one `submit_plan` call produced."""

    record: PlanRecord
    """The plan as kept in state."""
    answer: ToolMessage | None
    """The submit_plan result; None while the plan's completion step waits for the completion node."""
    ran: list[tuple[ToolCall, ToolOutcome]] = field(default_factory=list)
    """The steps that ran, in plan order, as (call with JSON args, outcome) for the call log."""
    limit: str | None = None


@dataclass
class _Ran:
    """An executed plan: every step's result, the resolved completion args, and what the call log needs."""

    results: list[StepResult]
    completion: dict[str, Any] | None
    calls: list[tuple[ToolCall, ToolOutcome]]
    limit: str | None


def step_call_id(call_id: str, step_id: str) -> str:
    """The id of a plan step's tool call (in `tool_calls` and `RunResult.tool_calls`)."""
    return f"{call_id}/{step_id}"


def _step_json(result: StepResult) -> PlanStepRecord:
    return PlanStepRecord(id=result.id, tool=result.tool, args=to_state_value(result.args), status=result.status,
                          output=to_state_value(result.output) if result.status == "ok" else None,
                          error=result.error, duration=round(result.duration, 6))


def _rejected(call: ToolCall, problems: list[str]) -> PlanRound:
    """A plan that failed its checks: every problem goes back to the model, nothing runs."""
    raw = call["args"].get("steps") if isinstance(call["args"], dict) else None
    record = plan_record(call["id"] or "", "rejected", raw if isinstance(raw, list) else [], problems=problems)
    text = _prompts.PLAN_REJECTED.format(problems="\n".join(f"- {p}" for p in problems))
    return PlanRound(record, error_message(call, text))


async def _run_steps(plan: Plan, call_id: str, state: RunState, config: RunnableConfig, spec: RunSpec) -> _Ran:
    """Run the plan's tool steps as a DAG, each through `run_call`, within the run's limits."""
    tool_steps = [s for s in plan.steps if s.tool != COMPLETE_TASK]
    _, refused_at, limit = spec.limits.admit([ToolCall(name=s.tool, args=s.args, id=step_call_id(call_id, s.id))
                                              for s in tool_steps], state)
    refused = {step_call_id(call_id, tool_steps[i].id): text for i, text in refused_at.items()}
    ran: dict[str, tuple[ToolCall, ToolOutcome]] = {}
    journal = await Journal.open(config)

    async def run_step(step: PlanStep, args: dict[str, Any]) -> Any:
        step_id = step_call_id(call_id, step.id)
        if step_id in refused:
            raise StepError(refused[step_id])
        call = ToolCall(name=step.tool, args=args, id=step_id)
        outcome = await run_journaled(journal, f"plan:{step.id}", call, spec, config, lambda: run_call(
            call, spec, config, spec.limits.time_left(state), state))
        ran[step.id] = (ToolCall(name=step.tool, args=to_state_value(args), id=step_id), outcome)
        if outcome.error is not None:
            raise StepError(outcome.error.removeprefix(_prompts.ERROR_PREFIX + " "))
        return outcome.output

    results, completion = await execute_plan(plan, run_step, completion_tool=COMPLETE_TASK, tools=spec.tools_by_name)
    return _Ran(results, completion, [ran[s.id] for s in plan.steps if s.id in ran], limit)


async def _execute(call: ToolCall, plan: Plan, state: RunState, config: RunnableConfig, spec: RunSpec,
                   *, direct_completion: bool) -> PlanRound:
    """Run an accepted plan; its results answer the call now, or with the completion step's verdict later."""
    call_id = call["id"] or ""
    ran = await _run_steps(plan, call_id, state, config, spec)
    report = format_results(ran.results, step_id=lambda step: step_call_id(call_id, step))
    completion: PlanCompletionRecord | None = None
    if any(s.tool == COMPLETE_TASK for s in plan.steps):
        if direct_completion:
            report += "\n\n" + _prompts.PLAN_COMPLETION_IGNORED
        elif ran.completion is None:
            report += "\n\n" + _prompts.PLAN_COMPLETION_SKIPPED
        else:
            completion = PlanCompletionRecord(args=to_state_value(ran.completion), status="pending", error=None)
    record = plan_record(call_id, "executed", [_step_json(r) for r in ran.results],
                         completion=completion, report=report)
    answer = None if completion else ToolMessage(report, tool_call_id=call_id, name=SUBMIT_PLAN)
    return PlanRound(record, answer, ran.calls, ran.limit)


def _other_call(call: ToolCall, spec: RunSpec) -> ToolMessage:
    """The answer to a call that is not this turn's plan: a second plan, a direct tool call, an unknown tool."""
    if call["name"] == SUBMIT_PLAN:
        return error_message(call, _prompts.PLAN_DUPLICATE)
    if call["name"] in spec.tools_by_name:
        return error_message(call, _prompts.PLAN_DIRECT_CALL.format(name=call["name"]))
    return error_message(call, _prompts.UNKNOWN_TOOL.format(name=call["name"],
                                                            available=f"{SUBMIT_PLAN}, {COMPLETE_TASK}"))


def _rejections(state: RunState, round_: PlanRound | None) -> dict[str, int]:
    """Rejected plans in a row: one more for a rejected plan, back to zero once a plan runs."""
    counts = dict(state.get("rejections") or {})
    if round_ is not None:
        counts[Rejection.PLAN.value] = counts.get(Rejection.PLAN, 0) + 1 if round_.record["status"] == "rejected" else 0
    return counts


def _check(call: ToolCall, state: RunState, spec: RunSpec) -> Plan | list[str]:
    return check_plan(call["args"], spec.tools_by_name, completion_tool=COMPLETE_TASK,
                      planning_interval=spec.planning_interval,
                      steps_left=spec.limits.steps_left(state))


async def _plan_round(call: ToolCall, state: RunState, config: RunnableConfig, spec: RunSpec,
                      *, direct_completion: bool, message_id: str | None = None) -> PlanRound:
    """Check the plan against the tools and limits (and a human, with `approve_plan`); run it, or send
    every problem back."""
    checked = _check(call, state, spec)
    if isinstance(checked, list):
        return _rejected(call, checked)
    asked = asked_keys(config, message_id)  # a resumed pause is decided whatever approve_plan is now
    if spec.approve_plan if asked is None else (call["id"] or "") in asked:
        decision = ask([ToolCall(name=SUBMIT_PLAN, args=checked.model_dump(), id=call["id"])])[call["id"] or ""]
        if isinstance(decision, dict) and "reject" in decision:
            return _rejected(call, [_prompts.HUMAN_REJECTED.format(reason=decision["reject"])])
        if isinstance(decision, dict):  # an edited plan is checked like any other
            call = ToolCall(name=SUBMIT_PLAN, args=dict(decision["edit"]), id=call["id"])
            checked = _check(call, state, spec)
            if isinstance(checked, list):
                return _rejected(call, checked)
    tell(config, started(call))  # the plan runs: its steps are told as they run, the plan call once they ran
    return await _execute(call, checked, state, config, spec, direct_completion=direct_completion)


def _repeats(state: RunState, spec: RunSpec, round_: PlanRound | None,
             ran: list[tuple[ToolCall, ToolOutcome]]) -> dict[str, Any]:
    """A plan whose every step ran and repeated an earlier call with the same output (as did any read beside it)
    counts as a repeat turn (its report says so; two in a row get a turn with only `complete_task`, as for direct
    calls): a small model resubmits the plan it already ran, its answer in the results above. Any other turn
    breaks the row, as a refused call does for direct calls: no plan run, a rejected plan, a step not run."""
    if round_ is None or round_.record["status"] != "executed" or not round_.ran \
            or any(s["status"] != "ok" for s in round_.record["steps"] if s["tool"] != COMPLETE_TASK) \
            or not all(repeats_earlier(c, o, state) for c, o in ran):
        return {"repeats": 0} if state.get("repeats") else {}
    if spec.coach and round_.answer is not None and isinstance(round_.answer.content, str):
        round_.answer.content += "\n\n" + _prompts.PLAN_REPEATED
    return {"repeats": state.get("repeats", 0) + 1}


def _keep_step_values(round_: PlanRound, index: int, scope: RunScope) -> None:
    """The steps' Python outputs for `plan_records`, by the plan's position (call ids may repeat)."""
    prefix = len(round_.record["call_id"]) + 1
    scope.step_outputs.update((StepKey(index, (call["id"] or "")[prefix:]), outcome.output)
                              for call, outcome in round_.ran if outcome.error is None)


async def _read(reads: dict[int, ToolCall], state: RunState, config: RunnableConfig,
                spec: RunSpec) -> dict[int, ToolOutcome]:
    """Run the turn's `read_tool_output` calls (journaled like any turn's calls), their progress told."""
    journal = await Journal.open(config)
    tell(config, *(started(c) for i, c in reads.items() if journal is None or not journal.has_record(str(i))))
    return await run_calls(reads, spec, config, spec.limits.time_left(state), state, journal)


def _tell_answered(config: RunnableConfig, calls: list[ToolCall], answers: list[ToolMessage | None],
                   submitted: int | None, round_: PlanRound | None, read: dict[int, ToolOutcome]) -> None:
    """Tell the end of the turn's calls that were not run as tools: the plan that ran (its steps were told), and
    each call answered with an error (a rejected plan, a second plan, a direct tool call, an unknown tool)."""
    for i, call in enumerate(calls):
        if i in read:
            continue
        if i == submitted and round_ is not None and round_.record["status"] == "executed":
            tell(config, finished(call, 0.0, None))
        else:
            answer = answers[i]
            tell(config, started(call), finished(call, 0.0, answer.text if answer is not None else None))


async def run_plan_round(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Check and run this turn's `submit_plan` (the first one; more are refused); answer every other call."""
    scope = RunScope.of(config)
    message = last_ai_message(state["messages"])
    if (deadline := resumed_deadline(state, config, message.id if message is not None else None)) is not None:
        state = {**state, "deadline": deadline}  # type: ignore[typeddict-item]
    calls, completions = split_calls(message)
    submitted = next((i for i, c in enumerate(calls) if c["name"] == SUBMIT_PLAN), None)
    round_ = None if submitted is None else await _plan_round(
        calls[submitted], state, config, spec, direct_completion=bool(completions),
        message_id=message.id if message is not None else None)
    reads = {i: c for i, c in enumerate(calls) if c["name"] == READ_TOOL_OUTPUT}  # reading on in a cut output
    read = await _read(reads, state, config, spec) if reads else {}
    answers = [round_.answer if i == submitted and round_ else read[i].message(c) if i in read else _other_call(c, spec)
               for i, c in enumerate(calls)]
    _tell_answered(config, calls, answers, submitted, round_, read)
    ran = [*(round_.ran if round_ else []), *((reads[i], read[i]) for i in read)]
    repeated = _repeats(state, spec, round_, ran)
    invalid, errors = bad_arguments(message)
    rejections = _rejections(state, round_)
    update = close_turn({**state, "rejections": rejections}, spec, ran,
                        [*(a for a in answers if a is not None), *errors], round_.limit if round_ else None,
                        completing=bool(completions) or any(a is None for a in answers),
                        invalid=invalid, unknown=any(c["name"] not in (SUBMIT_PLAN, READ_TOOL_OUTPUT) for c in calls),
                        config=config)
    update.setdefault("rejections", rejections)
    if deadline is not None:
        update["deadline"] = deadline
    update.update(repeated)
    if round_ is not None:
        update.update(store_plan(state, round_.record, new=True))
        _keep_step_values(round_, len(state.get("plans") or []), scope)
        if rejections[Rejection.PLAN] > spec.max_retries:
            update.update(fail(FailureKind.PLAN, f"The model's plans were rejected {rejections[Rejection.PLAN]} times in a row.",
                               round_.record["problems"]))
    return update
