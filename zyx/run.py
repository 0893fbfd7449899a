"""`run()` / `arun()`: carry out a task with tools until the model proves it finished."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from typing_extensions import Unpack

from zyx._aio import in_running_loop, run_sync
from zyx._durable import async_saver, thread_input
from zyx._inputs import check_model_takes, with_attachments
from zyx._messages import MessageLike, task_messages, to_messages
from zyx._option_rules import check_run, check_stream
from zyx._options import GRAPH_OPTIONS, RUN_OPTIONS, CallOptions, RunOptions, check_keywords, checked
from zyx._outcome import invoke_graph, stream_graph
from zyx.graph._cache import cached_run_graph
from zyx.make import amake
from zyx.result import Result, RunResult

if TYPE_CHECKING:
    from langgraph.types import Command

    from zyx.graph.spec import RunSpec
    from zyx.stream import RunStream

T = TypeVar("T")

@overload
async def arun(task: MessageLike | Sequence[MessageLike] | None = None, target: type[T] | Any = None,
               context: MessageLike | Sequence[MessageLike] | None = None, *, stream: Literal[False] = False,
               **options: Unpack[RunOptions]) -> RunResult[T]: ...
@overload
async def arun(task: MessageLike | Sequence[MessageLike] | None = None, target: type[T] | Any = None,
               context: MessageLike | Sequence[MessageLike] | None = None, *, stream: Literal[True],
               **options: Unpack[RunOptions]) -> RunStream[T]: ...
async def arun(task: MessageLike | Sequence[MessageLike] | None = None, target: Any = None,
               context: MessageLike | Sequence[MessageLike] | None = None, *, stream: bool = False,
               **options: Unpack[RunOptions]) -> Any:
    """Carry out `task` with `tools`; the model must call `complete_task` with a `result` valid for `target`.

    Args:
        task: What to do: a string, or a list of strings / messages. None runs `amake()` instead
            (with a checkpointer and `thread_id`: resumes the thread's unfinished run).
        target: The type of `result` (anything pydantic validates); None for no typed result.
        context: Conversation before the task: a string, a message, an OpenAI-style dict, or a list.
        stream: Return a `RunStream` of partial targets instead of waiting (needs `target`; not
            with `plan=True`); the run's errors are then raised while it is consumed.
        **options: The options of `RunOptions` (the options table in docs/run.md); checkpointer,
            thread_id and decisions make the run durable and resumable (see docs/studio.md).

    Returns:
        A `RunResult` with the accepted completion and the validated `output` (or, for a run
        paused for approval, `interrupted=True` and the `pending` calls); with `task=None`,
        `amake()`'s `Result`; with `stream=True`, a `RunStream`.

    Raises:
        ConfigurationError: An argument or option is invalid (unknown, wrong type, `stream=True`
            without a target...); raised before the model is called.
        ModelError: The chat model failed in a way retrying cannot fix, or transient errors
            outlasted the retries.
        RunError: The run ended without an accepted completion; the subclass says why
            (`TaskNotCompletedError`, `VerificationError`, `MaxStepsExceededError`,
            `LimitExceededError`, `RunTimeoutError`, `PlanError`), and it carries the messages,
            tool calls and usage so far.
    """
    check_keywords(options, RUN_OPTIONS, "arun")
    config = check_run(task, target, stream, options)
    checkpointer = options.get("checkpointer")
    if task is None and checkpointer is None:
        return await _make_fallback(target, context, stream, dict(options))
    graph_options = {k: v for k, v in options.items() if k in GRAPH_OPTIONS}
    given = checked(options, CallOptions)
    if checkpointer is None:
        spec, graph = cached_run_graph({**graph_options, "target": target})
        run_input: dict[str, Any] | Command[Any] | None = _run_input(task, context, given, spec)
    else:
        assert config is not None  # a checkpointer passed `check_run`: config names the thread
        saver = await async_saver(checkpointer, config)
        spec, graph = cached_run_graph({**graph_options, "target": target}, checkpointer=saver)
        goal = None if task is None else task_messages(task)[1]
        run_input = await thread_input(graph, config, None if task is None else lambda: _run_input(
            task, context, given, spec), goal, options.get("decisions"))
    source = (given["source"], options.get("source"))
    if stream:
        return stream_graph(graph, spec, run_input, config, deps=given["deps"], source=source)
    return await invoke_graph(graph, spec, run_input, config, deps=given["deps"], source=source,
                              durable=checkpointer is not None)


def _run_input(task: Any, context: Any, given: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
    """A new run's input: the context, then the task's messages (the last with the attachments), the goal text
    and the source."""
    messages, goal = task_messages(task)
    check_model_takes(spec.model, given["attachments"])
    messages = with_attachments(messages, given["attachments"])
    return {"messages": [*to_messages(context, "context"), *messages], "task": goal, "source": given["source"]}


async def _make_fallback(target: Any, context: Any, stream: bool, options: dict[str, Any]) -> Any:
    """`run(task=None)` is `make()` (the options that only apply to a task were refused by `check_run`)."""
    options.pop("config", None)
    target = str if target is None else target
    if stream:  # a checked bool (`check_stream`): Literal[True] / Literal[False] per branch for amake's overloads
        return await amake(target, context, stream=stream, **options)
    return await amake(target, context, stream=stream, **options)


@overload
def run(task: MessageLike | Sequence[MessageLike] | None = None, target: type[T] | Any = None,
        context: MessageLike | Sequence[MessageLike] | None = None, *, stream: Literal[False] = False,
        **options: Unpack[RunOptions]) -> RunResult[T]: ...
@overload
def run(task: MessageLike | Sequence[MessageLike] | None = None, target: type[T] | Any = None,
        context: MessageLike | Sequence[MessageLike] | None = None, *, stream: Literal[True],
        **options: Unpack[RunOptions]) -> RunStream[T]: ...
def run(task: MessageLike | Sequence[MessageLike] | None = None, target: Any = None,
        context: MessageLike | Sequence[MessageLike] | None = None, *, stream: bool = False,
        **options: Unpack[RunOptions]) -> RunResult[Any] | Result[Any] | RunStream[Any]:
    """Blocking `arun()`: same arguments, same result. Inside a running event loop, `await arun(...)`.

    Args:
        task: What to do: a string, or a list of strings / messages. None runs `amake()` instead
            (with a checkpointer and `thread_id`: resumes the thread's unfinished run).
        target: The type of `result` (anything pydantic validates); None for no typed result.
        context: Conversation before the task: a string, a message, an OpenAI-style dict, or a list.
        stream: Return a `RunStream` of partial targets instead of waiting (needs `target`; not
            with `plan=True`); the run's errors are then raised while it is consumed.
        **options: The options of `RunOptions` (the options table in docs/run.md); checkpointer,
            thread_id and decisions make the run durable and resumable (see docs/studio.md).

    Returns:
        What `arun()` returns; with `stream=True`, a `RunStream` to iterate synchronously.

    Raises:
        RuntimeError: Called inside a running event loop.
        ConfigurationError: An argument or option is invalid (unknown, wrong type, `stream=True`
            without a target...); raised before the model is called.
        ModelError: The chat model failed in a way retrying cannot fix, or transient errors
            outlasted the retries.
        RunError: The run ended without an accepted completion; the subclass says why
            (`TaskNotCompletedError`, `VerificationError`, `MaxStepsExceededError`,
            `LimitExceededError`, `RunTimeoutError`, `PlanError`), and it carries the messages,
            tool calls and usage so far.
    """
    if in_running_loop():
        raise RuntimeError("zyx.run() cannot be called inside a running event loop; use `await zyx.arun(...)`")
    check_stream(stream, target, options.get("plan"))
    if stream:
        from zyx.stream._run_stream import sync_stream

        return sync_stream(arun(task, target, context, stream=True, **options))
    return run_sync(arun(task, target, context, **options))
