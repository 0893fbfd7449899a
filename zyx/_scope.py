"""`RunScope`: one run's Python values in this process, beside its JSON-serialisable state.

The graph state keeps the JSON form of everything a run produced (checkpoints, Studio and parent graphs
need that). The scope keeps, for the invocation that produced them, the Python values those forms stand
for: the source as given, each tool call's output and artifact, each plan step's output, and the
validated result. Checks, dynamic instructions and the `RunResult` read them through the scope.

One scope per graph invocation, opened in one place: `RunGraph` (the compiled run graph) opens it in
`stream()` / `astream()`, which every way of running the graph goes through: `run()`, `run(stream=True)`,
`as_tool`, `invoke()` / `ainvoke()` / `stream()` on the graph, Studio, a parent graph. An entry point that
reads the values afterwards (`run()` building its `RunResult`) passes its own scope in (`bind`); the
graph opens it, and nodes find it in their config (`RunScope.of`).

The one rule where a run can differ: a value the scope does not hold is read from its JSON form in
state. That is the case for what an earlier invocation produced (a thread resumed after a pause or a
crash: tool outputs as JSON, the result validated again from what the model sent), and for a node called
outside a `RunGraph` invocation. Every way of running the graph gets the same values otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

SCOPE_KEY = "__zyx_scope"
"""Where a run's scope travels in its config (`configurable`): LangGraph hands it to every node. The "__" prefix
keeps it out of what is saved or traced (checkpoint metadata, an Agent Server's copy of the configurable,
LangChain's run metadata all skip such keys), as LangGraph's own `__pregel_*` entries are."""


class ToolValue(NamedTuple):
    """A tool call's Python output and artifact."""

    output: Any
    artifact: Any


class StepKey(NamedTuple):
    """A plan step's output, by the plan's position in `state["plans"]` and the step's id (call ids may repeat)."""

    plan: int
    step: str


@dataclass(frozen=True, slots=True)
class Kept:
    """A Python value with the JSON form state keeps for it, by which it is found again."""

    form: Any
    value: Any

    def stands_for(self, form: Any) -> bool:
        """Whether this is the value of `form` (the same object, or an equal JSON form)."""
        return self.form is form or self.form == form


@dataclass(eq=False, slots=True)
class RunScope:
    """The Python values of one graph invocation (see the module docstring for the one rule)."""

    source: Kept | None = None
    """The source as the caller gave it (a pydantic object, a dataclass...), for checks' and instructions' `ctx`."""
    tool_outputs: dict[int, ToolValue] = field(default_factory=dict)
    """By the call's position in the run's call log (`state["tool_calls"]`): provider call ids may repeat."""
    step_outputs: dict[StepKey, Any] = field(default_factory=dict)
    result: Kept | None = None
    """The latest valid completion's result: as the model sent it (the state's form) and validated, once."""
    opened: bool = False
    """Opened by a graph invocation: a nested run graph (a parent's config reaching a child) opens its own."""
    sink: Callable[[Any], None] | None = None
    """Where the run's own `RunStream` takes the progress events nodes tell (zyx.graph.progress), at once: not
    through LangGraph's custom stream, whose every write wakes the graph's stream loop."""

    # -- reading, with the JSON form as the fallback -------------------------------------------------------
    def source_for(self, form: Any) -> Any:
        """The source as given, when this scope holds the one whose JSON form is `form`; else `form`."""
        return self.source.value if self.source is not None and self.source.stands_for(form) else form

    def tool_value(self, index: int, entry: dict[str, Any]) -> ToolValue:
        """The Python output and artifact of the call-log entry at `index`, else the entry's JSON forms."""
        kept = self.tool_outputs.get(index)
        return kept if kept is not None else ToolValue(entry["output"], entry.get("artifact"))

    def step_output(self, plan: int, step: dict[str, Any]) -> Any:
        """A plan step's Python output, else the step record's JSON form."""
        return self.step_outputs.get(StepKey(plan, step["id"]), step["output"])

    # -- keeping -------------------------------------------------------------------------------------------
    def keep_tool_values(self, first: int, values: Iterable[ToolValue]) -> None:
        """Keep the Python values of calls logged from position `first` on, in order."""
        self.tool_outputs.update((first + k, value) for k, value in enumerate(values))

    # -- opening -------------------------------------------------------------------------------------------
    def bind(self, config: RunnableConfig | None) -> RunnableConfig:
        """`config` carrying this scope, for one invocation of a run graph."""
        config = config or {}
        return {**config, "configurable": {**(config.get("configurable") or {}), SCOPE_KEY: self}}

    @staticmethod
    def of(config: RunnableConfig | None) -> RunScope:
        """The scope of the invocation a node runs in; outside one, an empty scope (what it keeps is dropped)."""
        scope = RunScope.found(config)
        return scope if scope is not None else RunScope()

    @staticmethod
    def found(config: RunnableConfig | None) -> RunScope | None:
        """The scope of the invocation a node runs in, or None outside one."""
        scope = ((config or {}).get("configurable") or {}).get(SCOPE_KEY)
        return scope if isinstance(scope, RunScope) else None


def open_scope(config: RunnableConfig | None) -> RunnableConfig:
    """The config of one run graph invocation: with the caller's scope (`bind`) if it is not open yet, else
    with a new one."""
    scope = ((config or {}).get("configurable") or {}).get(SCOPE_KEY)
    if isinstance(scope, RunScope) and not scope.opened:
        scope.opened = True
        return config  # type: ignore[return-value]  # it holds a scope, so it is a config
    return RunScope(opened=True).bind(config)


class RunGraph(CompiledStateGraph[Any, Any, Any, Any]):
    """The compiled run graph: each invocation opens its `RunScope` (`invoke`, `ainvoke`, `astream_events` and
    a parent graph all go through `stream` / `astream`)."""

    @classmethod
    def of(cls, compiled: CompiledStateGraph[Any, Any, Any, Any]) -> RunGraph:
        """`compiled` as a `RunGraph` (as `Pregel.copy` makes a copy)."""
        return cls(**{k: v for k, v in compiled.__dict__.items() if k != "__orig_class__"})

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().stream(input, open_scope(config), **kwargs)

    def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().astream(input, open_scope(config), **kwargs)

