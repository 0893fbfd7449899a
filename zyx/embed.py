"""The run graph as a tool of another agent: a supervisor delegates a task and gets the typed result.

    from zyx.embed import as_tool

    researcher = as_tool(name="research", description="Research a city's weather.",
                         target=Weather, tools=[get_weather], model="openai:gpt-4o-mini")
    zyx.run("Plan my trip to Oslo", Trip, tools=[researcher])      # or any LangChain agent

Each call of the tool is a whole sub-run on the task string: its own conversation, limits and
checks. Called by an agent (with a `ToolCall`: zyx, LangGraph's `ToolNode`, `create_agent`), the
tool answers with a `ToolMessage` whose content is the sub-run's result as JSON text (validated
into `target`), or its summary when there is no target, and whose `artifact` is the typed result;
a completion with status "failed"/"skipped" comes back as text saying so. A sub-run that fails
answers with an error `ToolMessage` (`status="error"`) naming its zyx error, so the calling model
reads what went wrong and the supervisor goes on. Called directly (`tool.invoke({"task": ...})`),
the tool returns the typed result and raises the sub-run's zyx error.

The sub-run is isolated from the caller's graph: it is not a subgraph of the supervisor, so it
neither shares the supervisor's checkpointer nor streams into the supervisor's stream. To see a
run's steps from a parent graph, add the run graph as a node instead (`parent.add_node("agent",
build_run_graph(...))`, then `parent.astream(..., subgraphs=True)`). The caller's `deps` (its
LangGraph runtime context) is passed on: the sub-run's tools and checks see the same value.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any, cast

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.pregel import Pregel
from pydantic import BaseModel, Field
from typing_extensions import Unpack

from zyx import _option_checks as option_checks
from zyx import _prompts
from zyx._aio import run_sync
from zyx._completion import to_run_completion
from zyx._option_rules import check_pauses
from zyx._options import GRAPH_OPTIONS, GraphOptions, check_keywords
from zyx._outcome import run_error
from zyx._scope import RunScope
from zyx._target import Target, make_target
from zyx._tool_output import to_model_text
from zyx.errors import ConfigurationError, RunError, describe
from zyx.graph._cache import cached_run_graph
from zyx.graph.records import run_deps
from zyx.graph.state import RunState

__all__ = ["SubRunFailed", "as_tool"]

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What OpenAI-compatible APIs accept as a tool name."""


_direct: ContextVar[bool] = ContextVar("zyx_direct_tool_call", default=True)
"""Whether the running sub-run tool was called with plain arguments (not with a ToolCall)."""


class SubRunFailed(ToolException):
    """A delegated sub-run failed; `error` is its zyx error (also the `__cause__`)."""

    def __init__(self, error: RunError) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


def _tool_error_text(exc: ToolException) -> str:
    """The error ToolMessage's text; a direct call gets the zyx error itself instead."""
    if isinstance(exc, SubRunFailed) and _direct.get():
        raise exc.error
    return str(exc)


class SubRunTool(StructuredTool):
    """The tool `as_tool` makes: knows whether it was called with a ToolCall (an agent) or directly."""

    async def arun(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        token = _direct.set(kwargs.get("tool_call_id") is None)
        try:
            return await super().arun(tool_input, *args, **kwargs)
        finally:
            _direct.reset(token)

    def run(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        token = _direct.set(kwargs.get("tool_call_id") is None)
        try:
            return super().run(tool_input, *args, **kwargs)
        finally:
            _direct.reset(token)


class DelegatedTask(BaseModel):
    """The tool's one argument."""

    task: str = Field(description=_prompts.SUB_RUN_TASK_ARG)


def as_tool(graph: Pregel | None = None, /, *, name: str, description: str, target: Any = None,
            config: RunnableConfig | None = None, **options: Unpack[GraphOptions]) -> BaseTool:
    """A LangChain tool `name(task: str)` that carries out `task` with a zyx run and returns its result.

    Args:
        graph: A compiled run graph (`build_run_graph(...)`) to invoke; or None to build one from `options`.
        name: The tool's name (letters, digits, `_`, `-`; at most 64).
        description: What the tool does, for the calling model.
        target: The type of the sub-run's result (the same type the graph was built with, when a graph is given).
        config: A RunnableConfig for each sub-run (callbacks, tags...).
        **options: With no graph: the graph options (`GraphOptions`; the options table in docs/run.md).

    Raises:
        ConfigurationError: a bad name, description or option (options are checked now, not at the first call).
    """
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        raise ConfigurationError("name", f"expected 1-64 letters, digits, '_' or '-', got {describe(name)}")
    if not isinstance(description, str) or not description.strip():
        raise ConfigurationError("description", f"expected a non-empty string, got {describe(description)}")
    check_keywords(options, GRAPH_OPTIONS, "as_tool")
    config = option_checks.config("config", config)
    check_pauses(options, durable=False, sub_run=name)
    if graph is None:
        _, graph = cached_run_graph({**options, "target": target})
    elif not isinstance(graph, Pregel):
        raise ConfigurationError("graph", f"expected a compiled run graph (build_run_graph(...)), got {describe(graph)}")
    elif options:
        raise ConfigurationError(next(iter(options)), "options apply when as_tool() builds the graph; "
                                 "pass them to build_run_graph() instead")
    elif graph.checkpointer not in (None, False):
        raise ConfigurationError("graph", "compiled with a checkpointer: each call of the tool is a fresh sub-run "
                                 "with no thread to persist or resume; build the graph without checkpointer=")
    checked = make_target(target)
    run_graph = graph

    async def delegate(task: str) -> Any:
        if not isinstance(task, str) or not task.strip():
            raise ValueError("task must be a non-empty string")
        caller = var_child_runnable_config.get()
        deps = run_deps(caller) if caller is not None else None  # the caller's runtime context, passed on
        isolated = var_child_runnable_config.set(None)  # not a subgraph of the caller's graph
        scope = RunScope()  # the sub-run's own Python values, read back for its typed result
        try:
            state = await run_graph.ainvoke({"messages": [HumanMessage(task)], "task": task}, scope.bind(config),
                                            context=deps)
            value = _outcome(state, checked, scope)
        except RunError as exc:
            raise SubRunFailed(exc) from exc
        finally:
            var_child_runnable_config.reset(isolated)
        return (value if _direct.get() else to_model_text(value)), value

    def delegate_sync(task: str) -> Any:
        return run_sync(delegate(task))

    return SubRunTool.from_function(func=delegate_sync, coroutine=delegate, name=name, description=description,
                                    args_schema=DelegatedTask, response_format="content_and_artifact",
                                    handle_tool_error=_tool_error_text)


def _outcome(state: dict[str, Any], target: Target | None, scope: RunScope) -> Any:
    """The sub-run's typed result, its summary, or its zyx error (a sub-run paused by a tool's `interrupt()`
    failed: nobody can resume it)."""
    if (error := run_error(cast(RunState, state), target, scope)) is not None:
        raise error
    if state.get("__interrupt__"):
        raise RunError(_prompts.SUB_RUN_PAUSED, termination="interrupted", messages=state.get("messages", ()))
    data = state.get("completion")
    if not data:
        return _prompts.SUB_RUN_NO_COMPLETION
    completion = to_run_completion(data, target, scope)
    if completion.status != "success":
        return _prompts.SUB_RUN_NOT_DONE.format(status=completion.status, summary=completion.summary)
    if target is not None and completion.result is not None:
        return completion.result
    return completion.summary
