"""Running a turn's tool calls: each within `tool_timeout` and the run's deadline (`run_call`), all of
them at once (`run_calls`), and, when the run has a checkpointer, each journaled (`zyx.graph.journal`): a
resumed turn does not run a finished call again, nor, silently, one that had started. Each call's
`ToolCallFinished` is told as it ends (zyx.graph.progress)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_core.messages import ToolCall
from langchain_core.runnables import RunnableConfig
from langgraph.prebuilt import ToolRuntime

from zyx import _prompts
from zyx._tools import ToolOutcome, execute_tool, runs_in_thread
from zyx.graph.approval import ask, decided
from zyx.graph.journal import Journal, is_idempotent
from zyx.graph.progress import finished, started, tell
from zyx.graph.records import langgraph_runtime
from zyx.graph.spec import RunSpec


def tool_runtime(call: ToolCall, spec: RunSpec, config: RunnableConfig, state: Any) -> ToolRuntime:
    """What a tool taking a `ToolRuntime` gets, as from LangGraph's ToolNode: the run's state, its deps
    (the LangGraph runtime context) as `context`, store and stream writer, the call's id and the tools."""
    runtime = langgraph_runtime(config)
    writer = getattr(runtime, "stream_writer", None)
    return ToolRuntime(state=state, context=getattr(runtime, "context", None), config=config,
                       stream_writer=writer if writer is not None else _no_writer, tool_call_id=call.get("id"),
                       store=getattr(runtime, "store", None), tools=list(spec.tools))


def _no_writer(chunk: Any) -> None:
    """The stream writer outside a LangGraph run: writes go nowhere."""


async def run_call(call: ToolCall, spec: RunSpec, config: RunnableConfig, run_left: float | None,
                   state: Any = None) -> ToolOutcome:
    """One call, cut by `tool_timeout` or by the run's deadline, whichever comes first."""
    timeout = spec.limits.tool_call_timeout(run_left)
    tool = spec.tools_by_name[call["name"]]
    parameter = spec.runtime_parameters.get(tool.name)
    inject = {parameter: tool_runtime(call, spec, config, state)} if parameter else None
    try:
        return await asyncio.wait_for(
            execute_tool(tool, call, config, check=spec.argument_checks.get(tool.name), inject=inject), timeout)
    except TimeoutError:
        run_cut = run_left is not None and timeout == run_left
        if runs_in_thread(tool):  # Python cannot stop a thread: say so, never "cancelled"
            cut = _prompts.CUT_BY_RUN_TIMEOUT if run_cut else _prompts.CUT_BY_TOOL_TIMEOUT.format(seconds=timeout)
            text = _prompts.TOOL_STILL_RUNNING.format(cut=cut)
            return ToolOutcome(error=text, duration=timeout or 0.0, still_running=True, run_timed_out=run_cut)
        if run_cut:
            return ToolOutcome(error=_prompts.RUN_TIMED_OUT, duration=timeout or 0.0, run_timed_out=True)
        return ToolOutcome(error=_prompts.TOOL_TIMED_OUT.format(seconds=timeout), duration=timeout or 0.0)


async def run_calls(calls: Mapping[int, ToolCall], spec: RunSpec, config: RunnableConfig, run_left: float | None,
                    state: Any, journal: Journal | None) -> dict[int, ToolOutcome]:
    """Run calls concurrently; outcomes by position, each call's `ToolCallFinished` told as it ends. With a
    journal (a checkpointer), each call is journaled (started before it runs, finished after:
    `zyx.graph.journal`), so a resumed turn answers finished calls from their records (told before: not again)
    and does not silently repeat a call that had started (`settle_uncertain`)."""
    def done(i: int, outcome: ToolOutcome) -> ToolOutcome:
        tell(config, finished(calls[i], outcome.duration, outcome.error))
        return outcome

    async def run_one(i: int, call: ToolCall) -> ToolOutcome:
        return done(i, await run_call(call, spec, config, run_left, state))

    if journal is None:  # nothing to save records to: run the calls right here
        return dict(zip(calls, await asyncio.gather(*(run_one(i, c) for i, c in calls.items()))))
    outcomes: dict[int, ToolOutcome] = {}
    todo: dict[int, tuple[ToolCall, int]] = {}
    for i, call in calls.items():
        if (saved := journal.saved(str(i))) is not None:
            outcomes[i] = saved
        else:
            todo[i] = (call, journal.past_pauses(str(i)))
    outcomes.update((i, done(i, o)) for i, o in settle_uncertain(journal, todo, spec).items())

    async def one(i: int, call: ToolCall, attempt: int) -> ToolOutcome:
        return done(i, await journal.run(str(i), attempt, call, lambda: run_call(call, spec, config, run_left, state)))

    finished_now = await asyncio.gather(*(one(i, c, a) for i, (c, a) in todo.items()))
    outcomes.update(zip(todo, finished_now))
    return {i: outcomes[i] for i in calls}


def settle_uncertain(journal: Journal, todo: dict[int, tuple[ToolCall, int]], spec: RunSpec) -> dict[int, ToolOutcome]:
    """Decide about calls that had started in an earlier execution and never finished: an idempotent tool
    runs again (next attempt); under `approve=` a human decides (the pending call flagged `may_have_run`);
    else the model is told the call may or may not have taken effect. `todo` keeps the calls to run, each
    with its attempt; returns the outcomes of those that will not run."""
    answered: dict[int, ToolOutcome] = {}
    while uncertain := [i for i, (_, attempt) in todo.items() if journal.uncertain(str(i), attempt)]:
        ask_about = []
        for i in uncertain:
            call, attempt = todo[i]
            if is_idempotent(spec.tools_by_name[call["name"]], spec.idempotent):
                todo[i] = (call, journal.past_pauses(str(i), attempt + 1))
            elif spec.approval is None:
                del todo[i]
                answered[i] = ToolOutcome(error=_prompts.TOOL_MAY_HAVE_RUN, may_have_run=True)
            else:
                ask_about.append(i)
        decisions = ask([todo[i][0] for i in ask_about], may_have_run=True)
        for i in ask_about:
            call, attempt = todo[i]
            call, refusal = decided(call, decisions[call["id"] or ""], _prompts.HUMAN_DECLINED_RERUN)
            if refusal is None:
                todo[i] = (call, journal.past_pauses(str(i), attempt + 1))
            else:
                del todo[i]
                answered[i] = ToolOutcome(error=refusal, may_have_run=True)
    return answered


async def run_journaled(journal: Journal | None, key: str, call: ToolCall, spec: RunSpec, config: RunnableConfig,
                        execute: Callable[[], Awaitable[ToolOutcome]]) -> ToolOutcome:
    """One call with no human to ask (a plan's step: the plan was approved as a whole): its saved outcome,
    the may-have-run outcome for a non-idempotent call that had started, or a journaled run; its progress
    events told unless an earlier execution told them."""
    if journal is not None and (saved := journal.saved(key)) is not None:
        return saved
    if journal is None or not journal.has_record(key):
        tell(config, started(call))
    outcome = await _journaled(journal, key, call, spec, execute)
    tell(config, finished(call, outcome.duration, outcome.error))
    return outcome


async def _journaled(journal: Journal | None, key: str, call: ToolCall, spec: RunSpec,
                     execute: Callable[[], Awaitable[ToolOutcome]]) -> ToolOutcome:
    if journal is None:
        return await execute()
    attempt = journal.past_pauses(key)
    while journal.uncertain(key, attempt):
        if not is_idempotent(spec.tools_by_name[call["name"]], spec.idempotent):
            return ToolOutcome(error=_prompts.TOOL_MAY_HAVE_RUN, may_have_run=True)
        attempt = journal.past_pauses(key, attempt + 1)
    return await journal.run(key, attempt, call, execute)
