"""The `planner` node (its name kept for Studio and traces): the model call, the only place the model is called."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._faults import call_with_retries
from zyx._inputs import check_source, instructions_text, source_text
from zyx._models import add_usage
from zyx._scope import Kept, RunScope
from zyx._tool_output import safe_text
from zyx.errors import ConfigurationError, LimitExceededError, ModelError, RunError
from zyx.events import ModelTurnStarted
from zyx.graph.answer import no_answer
from zyx.graph.coaching import LOOP_TURNS, first_plan, forced_turn
from zyx.graph.context import Fitted
from zyx.graph.limits import fresh_run, limit_failure, wrap_up_message
from zyx.graph.progress import tell
from zyx.graph.prompt import (
    CONTEXT_RETRIES,
    context_record,
    is_context_overflow,
    run_window,
    smaller_window,
    tell_fitted,
)
from zyx.graph.records import run_context, with_history
from zyx.graph.spec import RunSpec
from zyx.graph.state import FailureKind, Rejection, RunState, bump, fail, split_calls


def skipped_completion() -> dict[str, Any]:
    """The completion recorded when a run may end without `complete_task`."""
    return {"status": "skipped", "summary": _prompts.NO_COMPLETION_SUMMARY, "result": None,
            "evidence": None, "verification": None}


def _no_completion(state: RunState, spec: RunSpec, reply: AIMessage, limit: str | None) -> dict[str, Any]:
    """The turn ended without `complete_task`: nudge, end as skipped, or fail (make(): `answer.no_answer`)."""
    if spec.make:
        return no_answer(state, spec, reply, limit)
    if not spec.require_completion:
        return {"completion": skipped_completion(), "termination": limit or "no_completion"}
    if limit:
        return limit_failure(limit)
    if forced_turn(state, spec):  # complete_task was not offered: not the model's refusal to complete
        return {"messages": [HumanMessage(_prompts.NUDGE, name="zyx")]}
    rejections = bump(state, Rejection.TEXT)
    if rejections[Rejection.TEXT] > spec.max_retries:
        return {"rejections": rejections, **fail(
            FailureKind.NOT_COMPLETED, f"The model answered without calling complete_task {rejections[Rejection.TEXT]} times.",
            [reply.text])}
    nudge = _prompts.PLAN_NUDGE if first_plan(state, spec) else _prompts.NUDGE  # that turn offered submit_plan only
    return {"rejections": rejections, "messages": [HumanMessage(nudge, name="zyx")]}


async def _invoke_model(state: RunState, spec: RunSpec, config: RunnableConfig, messages: list[BaseMessage],
                      limit: str | None, *, complete_only: bool = False) -> tuple[AIMessage, Fitted]:
    """One model call on the prompt fitted to the window (see zyx.graph.context); the fitted prompt with it."""
    # the system prompt runs user code (instructions=f): bounded by the run's time, as the model call is
    system = await asyncio.wait_for(_system_text(state, spec, config),
                                    spec.limits.time_left(state, wrap_up=limit is not None))
    source = state.get("source")
    window = run_window(state, spec.fitter.window)
    refused: ModelError | None = None
    for attempt in range(CONTEXT_RETRIES + 1):
        try:
            fitted = await spec.fitter.fit(system, messages, None if source is None else source_text(source), window,
                                           (state.get("context") or {}).get("compacted"))
        except ConfigurationError as exc:
            if refused is not None:  # even less would not hold the task: the provider's word
                raise with_history(refused, state, config) from None
            if not state.get("model_calls"):
                raise  # before the run's first call: a configuration that cannot work
            raise with_history(LimitExceededError(  # mid-run (the model's own turns grew): a run error, with history
                f"The prompt no longer fits the model's context window: {exc.message}",
                termination="no_completion"), state, config) from None
        tell_fitted(config, fitted)
        model = _turn_model(state, spec, limit, complete_only=complete_only, reading=fitted.changed)
        prompt = [fitted.system, *fitted.messages] if fitted.system.text else fitted.messages  # make(str): none
        call = call_with_retries(lambda m=model, p=prompt: m.ainvoke(p, config),  # type: ignore[misc]
                                 model=spec.model, model_name=spec.model_name)
        try:
            reply = await asyncio.wait_for(call, spec.limits.time_left(state, wrap_up=limit is not None))
        except ModelError as exc:
            if attempt < CONTEXT_RETRIES and is_context_overflow(exc):  # our count was short: fit to less
                window, refused = smaller_window(window, fitted.tokens), exc
                continue
            raise with_history(exc, state, config)
        break
    return (reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply))), fitted


def _turn_model(state: RunState, spec: RunSpec, limit: str | None, *, complete_only: bool, reading: bool) -> Any:
    """The model bound for this turn: the wrap-up's, plan mode's first, a coached focus, or the usual one;
    with `read_tool_output` when the prompt holds a cut or removed output."""
    if limit or complete_only:
        return spec.wrap_up_model
    if first_plan(state, spec):
        return spec.planning_model(reading=reading)
    focus = state.get("focus") if spec.coach or spec.looks_for_invented else None  # set by coaching or the look
    return spec.focused_model(focus, reading=reading) if focus else spec.turn_model(reading=reading)


async def _system_text(state: RunState, spec: RunSpec, config: RunnableConfig) -> str:
    """The system prompt of this call: the spec's, then dynamic instructions when the run has them (the source
    section is added when the prompt is fitted)."""
    text = spec.system_prompt
    if spec.instructions is not None and not isinstance(spec.instructions, str):
        ctx = run_context(state, config, spec.target.type if spec.target else None)
        try:
            extra = await instructions_text(spec.instructions, ctx)
        except ConfigurationError:
            raise
        except Exception as exc:  # the user's function failed mid-run: a run error that keeps the history
            raise with_history(RunError(f"The instructions function raised {type(exc).__name__}: {safe_text(exc)}",
                                        termination="no_completion"), state, config) from exc
        if extra:
            text = (text + _prompts.INSTRUCTIONS_SECTION.format(instructions=extra)).lstrip()
    return text


async def call_model(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Ask the model for its next move: tool calls, `complete_task`, or (to be nudged) plain text."""
    update = fresh_run(state, spec.limits)
    tell(config, ModelTurnStarted(turn=(update.get("model_calls", state.get("model_calls")) or 0) + 1))
    if not state.get("model_calls") and not isinstance(state.get("source"), (str, int, float, bool, type(None))):
        update["source"] = check_source(state["source"])  # graph input may hold any object run() accepts
        scope = RunScope.of(config)
        if scope.source is None or not scope.source.stands_for(update["source"]):  # not given by run()
            scope.source = Kept(update["source"], state["source"])  # checks get it as given
    state = {**state, **update}  # type: ignore[typeddict-item]
    if state.get("focus"):
        update["focus"] = None  # this turn uses it
    limit = state.get("limit")
    before: list[BaseMessage] = []
    if limit is None and (limit := spec.limits.before_model_call(state)) is not None:
        update["limit"] = limit
        before.append(wrap_up_message(limit, spec.contract.wrap_up))
    stuck = spec.coach and limit is None and state.get("repeats", 0) >= LOOP_TURNS
    if stuck:  # the model is looping on calls it already made: one turn to finish, tools back after it
        update["repeats"] = 0
        before.append(HumanMessage(_prompts.LOOP_BREAK, name="zyx"))
    try:
        reply, fitted = await _invoke_model(state, spec, config, [*state["messages"], *before], limit, complete_only=stuck)
    except TimeoutError:
        if limit is not None:
            return {**update, **limit_failure("timeout"), "messages": before}
        return {**update, "limit": "timeout", "messages": [*before, wrap_up_message("timeout", spec.contract.wrap_up)]}
    update.update(messages=[*before, reply], model_calls=state.get("model_calls", 0) + 1,
                  usage=add_usage(state.get("usage"), reply), context=context_record(state, fitted, spec.fitter.window))
    others, completions = split_calls(reply, spec.contract.tool)
    if not others and state.get("repeats"):  # "turns in a row" of repeats: this turn broke the row
        update["repeats"] = 0
    if limit and (others or reply.invalid_tool_calls):
        refused = [ToolMessage(_prompts.BUDGET_SPENT.format(limit=limit), tool_call_id=c["id"] or "",
                               name=c["name"] or "", status="error") for c in [*others, *reply.invalid_tool_calls]]
        update["messages"] += refused
        return update if completions else {**update, **_no_completion(state, spec, reply, limit),
                                           "messages": update["messages"]}
    if others or completions or reply.invalid_tool_calls:
        return update
    result = _no_completion(state, spec, reply, limit)
    return {**update, **result, "messages": [*update["messages"], *result.get("messages", [])]}
