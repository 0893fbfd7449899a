"""Running a turn's tool calls: each within `tool_timeout` and the run's deadline (`run_call`), all of
them at once (`run_calls`), and, when the run has a checkpointer, each as a LangGraph task whose result
is saved the moment it finishes, so a resumed turn does not run a finished call again."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import ToolCall
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.func import task
from langgraph.prebuilt import ToolRuntime

from zyx import _prompts
from zyx._tools import ToolOutcome, execute_tool, runs_in_thread
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
            text = _prompts.TOOL_STILL_RUNNING.format(cut="the run's timeout was reached" if run_cut else
                                                      f"the tool did not finish within {timeout:g} s")
            return ToolOutcome(error=text, duration=timeout or 0.0, still_running=True, run_timed_out=run_cut)
        if run_cut:
            return ToolOutcome(error=_prompts.RUN_TIMED_OUT, duration=timeout or 0.0, run_timed_out=True)
        return ToolOutcome(error=_prompts.TOOL_TIMED_OUT.format(seconds=timeout), duration=timeout or 0.0)


CHECKPOINTER_KEY = "__pregel_checkpointer"
"""Where LangGraph puts a run's checkpointer in a node's config (`langgraph._internal._constants`)."""


async def run_calls(calls: Mapping[int, ToolCall], spec: RunSpec, config: RunnableConfig,
                    run_left: float | None, state: Any = None) -> dict[int, ToolOutcome]:
    """Run calls concurrently; outcomes by position. With a checkpointer, each call is a durable task
    (started in position order: LangGraph matches a saved result to its task by that order)."""
    kept: dict[int, ToolOutcome] = {}

    async def zyx_tool_call(call: ToolCall, position: int) -> dict[str, Any]:
        """One call as a LangGraph task: its result is saved (a pending write) as soon as it finishes.
        The task's inputs and result are plain data (LangGraph may serialise them: the result is the
        outcome's JSON form); this process keeps the Python outcome in `kept`."""
        outcome = await run_call(call, spec, get_config(), run_left, state)
        kept[position] = outcome
        return outcome.to_json()

    plain = (config.get("configurable") or {}).get(CHECKPOINTER_KEY) is None
    try:
        started = [] if plain else [task(zyx_tool_call)(c, i) for i, c in calls.items()]
    except RuntimeError as exc:  # a graph driven by the sync `invoke()`: LangGraph runs no async task there
        if "sync context" not in str(exc):
            raise
        plain = True
    if plain:  # nothing to save results to (or no tasks): run the calls right here
        done = await asyncio.gather(*(run_call(c, spec, config, run_left, state) for c in calls.values()))
        return dict(zip(calls, done))
    saved = await asyncio.gather(*started)
    return {i: kept.get(i) or ToolOutcome.from_json(data) for i, data in zip(calls, saved)}
