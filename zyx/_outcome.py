"""From a run's final graph state to what the user gets: a `RunResult` (make(): a `Result`), or the matching zyx
error; and the one place `arun()` and `amake()` invoke (or stream) a compiled run graph (`invoke_graph`,
`stream_graph`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from zyx._completion import to_run_completion
from zyx._durable import DURABILITY
from zyx._scope import Kept, RunScope
from zyx._target import Target, field_names
from zyx.errors import ConfigurationError, RunError
from zyx.graph.approval import is_approval, pending_calls
from zyx.graph.records import goal_text, plan_records, run_usage, tool_records
from zyx.graph.spec import RunSpec
from zyx.graph.state import FailureKind, RunState
from zyx.result import ContextUse, PendingToolCall, Result, RunCompletion, RunResult, RunTask, Termination

if TYPE_CHECKING:
    from zyx.stream import RunStream


def _termination(state: RunState, default: Termination) -> Termination:
    """How the run ended, else `default`. The state keeps it as a plain str (JSON, checkpoints); the
    graph's nodes only write `Termination` values."""
    return cast(Termination, state.get("termination") or default)


def _completion(data: dict[str, Any] | None, spec: RunSpec, scope: RunScope) -> RunCompletion[Any] | None:
    return to_run_completion(data, spec.target, scope) if data else None


def _raw_completion(data: dict[str, Any]) -> RunCompletion[Any]:
    return RunCompletion(status=data.get("status", "success"), summary=str(data.get("summary", "")),
                         result=data.get("result"), evidence=data.get("evidence"),
                         verification=data.get("verification"))


def to_run_result(state: RunState, spec: RunSpec, scope: RunScope | None = None,
                  interrupts: Sequence[Any] = ()) -> RunResult[Any]:
    """The `RunResult` of a run that ended with a completion (accepted, or skipped where allowed), or
    that is paused: for a human decision on `interrupts`' pending tool calls, or by a tool's own `interrupt()`.
    Python values (tool outputs, the validated result) come from the run's `scope` (without one: JSON forms)."""
    scope = scope if scope is not None else RunScope()
    pending = [PendingToolCall(id=p["id"], name=p["name"], args=p["args"],
                                  may_have_run=bool(p.get("may_have_run"))) for p in pending_calls(interrupts)]
    questions = [i for i in interrupts if not is_approval(i)]
    if pending or questions:
        state = {**state, "completion": None, "termination": "interrupted"}
    completion = _completion(state.get("completion"), spec, scope)
    messages: list[BaseMessage] = list(state.get("messages", []))
    return RunResult(
        output=completion.result if completion else None,
        messages=messages,
        usage=run_usage(state),
        model=spec.model_name,
        completion=completion,
        verified=state.get("verified"),
        verification_error=state.get("verification_error"),
        task=RunTask(goal=goal_text(state), target=spec.target.type if spec.target else None),
        tool_calls=tool_records(state, scope),
        termination=_termination(state, "completed"),
        plans=plan_records(state, scope),
        interrupted=bool(pending or questions),
        pending=pending,
        context=ContextUse.from_state(state.get("context")),
        interrupts=questions,
    )


def made_result(state: RunState, spec: RunSpec, scope: RunScope) -> Result[Any]:
    """make()'s `Result`: the accepted answer, the conversation (as the caller gave it, then the turns), usage."""
    completion = _completion(state.get("completion"), spec, scope)
    return Result(output=completion.result if completion else None, messages=list(state.get("messages", [])),
                  usage=run_usage(state), model=spec.model_name)


def outcome(output: Mapping[str, Any], spec: RunSpec, scope: RunScope, *, durable: bool) -> RunResult[Any] | Result[Any]:
    """What a finished invocation of the run graph gives the caller (its final state, with "__interrupt__" when
    paused; its Python values in `scope`): the `RunResult` (make(): the `Result`), or the run's zyx error raised."""
    state = cast("RunState", output)
    error = run_error(state, spec.target, scope)
    if error is not None:
        if spec.make:
            error.completion = None  # make() has no completion: its answer is the output or nothing
        raise error
    interrupts = output.get("__interrupt__", ())
    if interrupts and not durable:
        raise unresumable_pause(make=spec.make)
    return made_result(state, spec, scope) if spec.make else to_run_result(state, spec, scope, interrupts=interrupts)


def unresumable_pause(*, make: bool = False) -> ConfigurationError:
    """The error for a run a tool paused (LangGraph's `interrupt()`) with no checkpointer to resume it from; in
    make(), which takes no checkpointer, it names the tools and points to run()."""
    if make:
        return ConfigurationError("tools", "a tool called LangGraph's interrupt() to pause, but make() cannot "
                                  "pause: its Result has no pending calls and no thread to resume on; give a task "
                                  "to run() (with checkpointer=... and thread_id=...) to use tools that pause")
    return ConfigurationError("checkpointer", "a tool called LangGraph's interrupt() to pause the run; pausing "
                              "needs checkpointer=... and thread_id=... so the run can be resumed")


def run_error(state: RunState, target: Target | None, scope: RunScope | None = None) -> RunError | None:
    """The zyx error for a run that failed, carrying everything that happened (Python values from the run's
    `scope`; without one, their JSON forms); None if it did not."""
    error = state.get("error")
    if not error:
        return None
    scope = scope if scope is not None else RunScope()
    rejected = state.get("rejected_completion")
    try:
        completion = to_run_completion(rejected, target, scope) if rejected else None
    except (ValueError, KeyError):  # an invalid completion cannot be typed: keep it as the model sent it
        completion = _raw_completion(rejected or {})
    return FailureKind(error["kind"]).error(
        error["message"] + "".join(f"\n{e}" for e in error.get("errors", [])),
        termination=state.get("termination") or "no_completion",
        messages=state.get("messages", []),
        tool_calls=tool_records(state, scope),
        usage=run_usage(state),
        completion=completion,
        errors=error.get("errors", []),
    )


async def invoke_graph(graph: CompiledStateGraph[Any, Any, Any, Any], spec: RunSpec, run_input: Any,
                       config: RunnableConfig | None, *, deps: Any, source: tuple[Any, Any], durable: bool) -> Any:
    """Run the graph to its end: the `RunResult` (make(): `Result`), or the run's error raised. `source` is the
    run's (JSON form, object as given); `deps` its LangGraph runtime context. The run's Python values are kept
    in the `RunScope` passed in (the graph opens it) and read back for the result."""
    scope = RunScope(source=Kept(*source))
    output: dict[str, Any] = await graph.ainvoke(run_input, scope.bind(config), context=deps,
                                                 durability=DURABILITY if durable else None)
    return outcome(output, spec, scope, durable=durable)


def stream_graph(graph: CompiledStateGraph[Any, Any, Any, Any], spec: RunSpec, run_input: Any,
                 config: RunnableConfig | None, *, deps: Any, source: tuple[Any, Any]) -> RunStream[Any]:
    """The run as a `RunStream`: it starts when first consumed (see `zyx.stream._graph`)."""
    from zyx.stream import RunStream
    from zyx.stream._graph import graph_events

    known = RunTask(goal=run_input["task"], target=spec.target.type if spec.target else None) \
        if isinstance(run_input, dict) and run_input.get("task") and not spec.make else None
    return RunStream(lambda: graph_events(graph, spec, run_input, config, deps=deps,
                                          scope=RunScope(source=Kept(*source))),
                     task=known, fields=field_names(spec.target))
