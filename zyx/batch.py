"""`batch()` / `abatch()`: many runs at once, `concurrency` at a time; one entry per task, in order: its
`RunResult`, or the error that ended it (returned, never raised mid-batch).

A task is a string, or a dict of per-task arguments: `task` (required), `context`, `target`, and any option
of `run()` (`source`, `deps`, `attachments`, `thread_id`, `decisions`, ...), which overrides the batch's
own. With a `checkpointer`, each task runs on its own thread (its `thread_id`, else `"task-{index}"`): a
task whose thread already holds a finished run of the same task returns that run's result without running
again, and one whose run was interrupted (the process died, the batch was cancelled) resumes it, under the
no-silent-re-run rule (docs/durability.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from typing import Any

from typing_extensions import Unpack

from zyx._aio import bounded, in_running_loop, run_sync
from zyx._options import GRAPH_OPTIONS, RUN_OPTIONS, RunOptions
from zyx.errors import ConfigurationError, describe
from zyx.result import RunResult

__all__ = ["Outcome", "abatch", "batch", "iter_batch"]

Outcome = RunResult[Any] | Exception
"""One task's entry: its `RunResult` (a paused run included: `interrupted=True`), or the exception that ended
it: a `RunError`, a `ConfigurationError` for its own bad arguments, or whatever else its run raised."""

TASK_KEYS = frozenset({"task", "context", "target"})
PER_TASK_ONLY = frozenset({"thread_id", "decisions"})
"""Options that only make sense for one task: refused as options of the whole batch."""
NOT_IN_BATCH = frozenset({"stream"})


def check_concurrency(concurrency: Any) -> int:
    """`concurrency` is a positive int."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError("concurrency", f"expected a positive integer, got {describe(concurrency)}")
    return concurrency


def check_batch_options(options: Mapping[str, Any]) -> None:
    """The batch's own options: those of `run()`, less the per-task ones and `stream`."""
    for name in options:
        if name in PER_TASK_ONLY:
            raise ConfigurationError(name, "is per task: put it in each task's dict, not in the batch's options")
        if name in NOT_IN_BATCH or name not in RUN_OPTIONS:
            raise ConfigurationError(name, "batch() got an unexpected keyword argument (its options are run()'s, "
                                     "less stream)")


def task_arguments(item: Any, index: int) -> dict[str, Any]:
    """A task as a dict of arguments, checked: `tasks[index]` named in the error."""
    where = f"tasks[{index}]"
    if isinstance(item, str):
        item = {"task": item}
    if not isinstance(item, Mapping):
        raise ConfigurationError(where, f"expected a task string or a dict with a 'task', got {describe(item)}")
    unknown = sorted(k for k in item if k not in TASK_KEYS and (k not in RUN_OPTIONS or k in NOT_IN_BATCH))
    if unknown:
        raise ConfigurationError(where, f"unknown key {unknown[0]!r}: expected task, context, target or an option "
                                 "of run() (source, deps, thread_id, ...)")
    if item.get("task") in (None, "") or not isinstance(item.get("task"), (str, list)):
        raise ConfigurationError(where, f"needs a 'task': a non-empty string (or a list of messages), got "
                                 f"{describe(item.get('task'))}")
    return dict(item)


async def run_task(arguments: Mapping[str, Any], index: int, target: Any, options: Mapping[str, Any]) -> Outcome:
    """One task of a batch: its result, or the exception that ended it (a cancellation still propagates)."""
    from zyx.run import arun

    per_task = {k: v for k, v in arguments.items() if k not in TASK_KEYS}
    merged = {**options, **per_task}
    if merged.get("checkpointer") is not None:
        merged.setdefault("thread_id", f"task-{index}")
    task_target = arguments.get("target", target)
    try:
        if merged.get("checkpointer") is not None and (stored := await stored_result(
                arguments["task"], task_target, merged)) is not None:
            return stored
        return await arun(arguments["task"], task_target, arguments.get("context"), **merged)
    except Exception as exc:  # an entry, never raised mid-batch
        return exc


async def stored_result(task: Any, target: Any, options: Mapping[str, Any]) -> Outcome | None:
    """The result of the thread's last run when it finished and ran this same task, else None: a batch run again
    on the same checkpointer does not run a finished task again (nor start a second run on its thread)."""
    from zyx._durable import async_saver
    from zyx._messages import task_messages
    from zyx._option_rules import durable_config
    from zyx._outcome import run_error, to_run_result
    from zyx._scope import RunScope
    from zyx.graph._cache import cached_run_graph

    config = durable_config(options["checkpointer"], options["thread_id"], options.get("config"))
    assert config is not None
    saver = await async_saver(options["checkpointer"], config)
    spec, graph = cached_run_graph({**{k: v for k, v in options.items() if k in GRAPH_OPTIONS}, "target": target},
                                   checkpointer=saver)
    snapshot = await graph.aget_state(config)
    values = snapshot.values or {}
    if snapshot.next or not values.get("termination") or values.get("task") != task_messages(task)[1]:
        return None
    scope = RunScope()  # a finished run of an earlier invocation: its values in their JSON form
    return run_error(values, spec.target, scope) or to_run_result(values, spec, scope)  # type: ignore[arg-type]


async def iter_batch(tasks: Iterable[Any], target: Any = None, *, concurrency: int = 8,
                     **options: Unpack[RunOptions]) -> AsyncIterator[tuple[int, Outcome]]:
    """Run `tasks` (read lazily, `concurrency` at a time) and yield `(index, outcome)` as each run ends.

    Nothing is held but the runs in flight, so a caller that writes each outcome away (the `zyx batch`
    command) runs any number of tasks in flat memory. A bad task is a `ConfigurationError` outcome.
    """
    check_concurrency(concurrency)
    check_batch_options(options)

    async def one(pair: tuple[int, Any]) -> tuple[int, Outcome]:
        index, item = pair
        try:
            arguments = task_arguments(item, index)
        except ConfigurationError as exc:
            return index, exc
        return index, await run_task(arguments, index, target, options)

    async with aclosing(bounded(enumerate(tasks), one, concurrency)) as results:  # leaving early stops the runs
        async for entry in results:
            yield entry


async def abatch(tasks: Iterable[Any], target: Any = None, *, concurrency: int = 8,
                 **options: Unpack[RunOptions]) -> list[Outcome]:
    """Run every task, `concurrency` at a time; one entry per task, in order.

    Args:
        tasks: Strings, or dicts of per-task arguments (`task`, `context`, `target`, and options of `run()`
            such as `source`, `deps`, `thread_id`), which override the batch's options.
        target: The type of every task's result (a task's own `target` overrides it).
        concurrency: How many runs at once.
        **options: The options of `run()` for every task (not `stream`; `thread_id` and `decisions`
            only per task). With a `checkpointer`, each task has its own thread (`"task-{index}"` unless
            the task gives one): finished tasks are not run again, interrupted ones resume.

    Returns:
        Per task, in order: its `RunResult`, or the exception that ended it (a `RunError`; a
        `ConfigurationError` for its own bad arguments). Nothing is raised mid-batch.

    Raises:
        ConfigurationError: a bad `tasks` item, `concurrency` or batch option, before any run starts.
    """
    items = list(tasks) if not isinstance(tasks, (str, bytes, Mapping)) else None
    if items is None:
        raise ConfigurationError("tasks", f"expected a list of tasks (strings or dicts), got {describe(tasks)}")
    check_concurrency(concurrency)
    check_batch_options(options)
    for index, item in enumerate(items):
        task_arguments(item, index)
    results: list[Outcome | None] = [None] * len(items)
    async for index, outcome in iter_batch(items, target, concurrency=concurrency, **options):
        results[index] = outcome
    return results  # type: ignore[return-value]


def batch(tasks: Iterable[Any], target: Any = None, *, concurrency: int = 8,
          **options: Unpack[RunOptions]) -> list[Outcome]:
    """Blocking `abatch()`: same arguments, same result. Inside a running event loop, `await abatch(...)`.

    Args:
        tasks: Strings, or dicts of per-task arguments (see `abatch`).
        target: The type of every task's result.
        concurrency: How many runs at once.
        **options: The options of `run()` for every task (see `abatch`).

    Returns:
        Per task, in order: its `RunResult`, or the exception that ended it.

    Raises:
        RuntimeError: Called inside a running event loop.
        ConfigurationError: a bad `tasks` item, `concurrency` or batch option, before any run starts.
    """
    if in_running_loop():
        raise RuntimeError("zyx.batch() cannot be called inside a running event loop; use `await zyx.abatch(...)`")
    return run_sync(abatch(tasks, target, concurrency=concurrency, **options))
