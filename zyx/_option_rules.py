"""The rules between options, in one place for every entry point: run() / arun(), make() / amake(),
build_run_graph(), as_tool(), batch and the `zyx run` command.

Each option's own check (type, range, normalising) is in `zyx._option_checks`, next to its declaration
in `zyx._options`; what is here needs two options (or an option and the entry point) at once:

    check_stream     stream=True needs a target and is not offered in plan mode      run(), make(), `zyx run`
    durable_config   checkpointer and thread_id go together (and agree with config)  run(), batch
    check_pauses     approve / approve_plan / decisions need a thread to resume; not with stream=True,
                     not in make() (no pending calls in its Result), not in a delegated sub-run (as_tool)
    check_without_task  run(task=None) is make(): options that only apply to a task are refused
    check_graph      tool_limits / idempotent name the run's tools; plan-only options need plan=True;
                     make()'s answer tool name is reserved
    check_run        what arun() checks before it builds its graph, in that order

Every rule raises `ConfigurationError(argument, message)` naming the option, before any model is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig

from zyx import _option_checks as checks
from zyx._options import LOOP_OPTIONS, WITHOUT_TASK_OPTIONS
from zyx._prompts import FINAL_RESULT
from zyx.errors import ConfigurationError, describe

PAUSE_OPTIONS = ("approve", "approve_plan", "decisions")
"""The options that pause a run for a human (or answer a paused one)."""
PYTHON = {"target": "target=...", "plan": "plan=True"}
"""How an option is spelt in a message: as a Python keyword."""
CLI = {"target": "--target (e.g. --target 'list[str]')", "plan": "--plan"}
"""How an option is spelt in a message of the `zyx run` command."""


def check_stream(stream: Any, target: Any, plan: Any, spelling: Mapping[str, str] = PYTHON) -> None:
    """Streaming yields partial targets, so it needs a target, and it is not available in plan mode."""
    if not isinstance(stream, bool):
        raise ConfigurationError("stream", f"expected True or False, got {describe(stream)}")
    if stream and target is None:
        raise ConfigurationError("stream", f"streaming yields partial targets, so it needs {spelling['target']}")
    if stream and plan:
        raise ConfigurationError("stream", f"streaming is not available with {spelling['plan']}")


def durable_config(checkpointer: Any, thread_id: Any, config: RunnableConfig | None) -> RunnableConfig | None:
    """Check `checkpointer` / `thread_id` (both or neither) and put the thread id into the run's config."""
    configured = ((config or {}).get("configurable") or {}).get("thread_id")
    if thread_id is None and checkpointer is not None and configured is not None:
        thread_id = configured  # config={"configurable": {"thread_id": ...}} is LangGraph's own way to say it
    if checkpointer is None and thread_id is None:
        return None
    if checkpointer is None:
        raise ConfigurationError("thread_id", "a thread id needs a checkpointer to keep the thread: "
                                 "pass checkpointer=... (e.g. langgraph's InMemorySaver or SqliteSaver)")
    checks.checkpointer("checkpointer", checkpointer)
    if thread_id is None:
        raise ConfigurationError("checkpointer", "a checkpointer needs thread_id=... to know which run to "
                                 "persist and resume")
    if isinstance(thread_id, bool) or not isinstance(thread_id, (str, int)) or thread_id == "":
        raise ConfigurationError("thread_id", f"expected a non-empty string, got {describe(thread_id)}")
    if configured is not None and str(configured) != str(thread_id):
        raise ConfigurationError("thread_id", f"thread_id={describe(thread_id)} differs from config's "
                                 f"configurable thread_id {describe(configured)}")
    configurable = {**((config or {}).get("configurable") or {}), "thread_id": str(thread_id)}
    return {**(config or {}), "configurable": configurable}


def _pausing(options: Mapping[str, Any], names: Iterable[str] = PAUSE_OPTIONS) -> list[str]:
    return [name for name in names if options.get(name) not in (None, False)]


def check_pauses(options: Mapping[str, Any], *, durable: bool, stream: bool = False,
                 sub_run: str | None = None, make: bool = False) -> None:
    """Pausing for a human needs a thread to come back to (and is not offered while streaming, in make(),
    whose `Result` has no pending calls, or in a sub-run delegated by `as_tool`, named `sub_run`)."""
    for name in _pausing(options):
        if sub_run is not None:
            raise ConfigurationError(name, "a delegated sub-run cannot pause for a human: each call is a fresh "
                                     f"run with no thread to resume; approve the tool in the supervisor's run "
                                     f"instead (approve=[{sub_run!r}])")
        if make:
            raise ConfigurationError(name, "make() cannot pause for a human: its Result has no pending calls "
                                     "and no thread to resume them on; give a task to run() (with "
                                     "checkpointer=... and thread_id=...) to approve tool calls")
        if not durable:
            raise ConfigurationError(name, "pausing for a human needs checkpointer=... and thread_id=... "
                                     "so the run can be resumed")
        if stream:
            raise ConfigurationError(name, "approvals are not available with stream=True")


def check_without_task(options: Mapping[str, Any]) -> None:
    """`run(task=None)` is make() from a context: an option only a task uses is refused, and so is a limit of the
    tool loop (taken for a forgotten task; make() itself takes them). config is dropped, not refused."""
    for name in options:
        if name != "config" and name not in WITHOUT_TASK_OPTIONS:
            hint = "; make() itself takes it" if name in LOOP_OPTIONS else ""
            raise ConfigurationError(name, f"only applies when a task is given (task=None runs make()){hint}")


def check_run(task: Any, target: Any, stream: Any, options: Mapping[str, Any]) -> RunnableConfig | None:
    """What arun() checks before it builds its graph, in order: streaming, config and checkpointer (each
    option's own check), the thread, the pauses, and for `task=None` without a thread, make()'s options.
    Returns the run's config (with the thread id when durable)."""
    check_stream(stream, target, options.get("plan"))
    config = checks.config("config", options.get("config"))
    checkpointer = checks.checkpointer("checkpointer", options.get("checkpointer"))
    durable = durable_config(checkpointer, options.get("thread_id"), config)
    check_pauses(options, durable=durable is not None, stream=stream)
    if task is None and durable is None:
        check_without_task(options)
    return durable if durable is not None else config


def check_graph(values: Mapping[str, Any], *, make: bool = False) -> None:
    """The rules between a run graph's checked options: tool names given to tool_limits and idempotent are
    the run's tools; approve_plan and planning_interval need plan=True, where approve_plan replaces approve;
    in make()'s graph, no tool is named like its answer tool."""
    tool_names = [t.name for t in values["tools"]]
    if make and FINAL_RESULT in tool_names:
        raise ConfigurationError("tools", f"the tool name {FINAL_RESULT!r} is reserved by make()")
    unknown = [name for name in values["tool_limits"] if name not in tool_names]
    if unknown:
        raise ConfigurationError("tool_limits", f"{describe(unknown[0])} is not one of the run's tools "
                                 f"({', '.join(sorted(tool_names))})")
    if values.get("idempotent", frozenset()) is not True and (
            unknown := sorted(set(values.get("idempotent", ())) - set(tool_names))):
        raise ConfigurationError("idempotent", f"{describe(unknown[0])} is not one of the run's tools "
                                 f"({', '.join(sorted(tool_names))})")
    if values.get("approve") not in (None, False) and values.get("plan"):
        raise ConfigurationError("approve", "in plan mode, use approve_plan=True to review the whole plan")
    if values.get("approve_plan") and not values.get("plan"):
        raise ConfigurationError("approve_plan", "only applies with plan=True")
    if values.get("planning_interval") is not None and not values.get("plan"):
        raise ConfigurationError("planning_interval", "only applies with plan=True")


def check_build(name: Any, checkpointer: Any) -> None:
    """build_run_graph()'s own arguments: a graph name, and a checkpointer (or LangGraph's True / False)."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError("name", f"expected a non-empty string, got {describe(name)}")
    checks.checkpointer("checkpointer", checkpointer, flags=True)

