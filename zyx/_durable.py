"""Durable runs: a checkpointer and a thread id make a run resumable, and a thread a conversation.

`arun(..., checkpointer=saver, thread_id="t1")` persists every step of the run graph. Called
again with the same saver and thread id, it looks at the thread first (`thread_input`):

- the thread has an unfinished run (pending `next` nodes: the process died, or an exception
  escaped a node) and `task` is None or the stored task: it resumes (`ainvoke(None, config)`),
  so finished steps (tool calls included) are not repeated;
- the thread is new, or its last run finished: the task starts a new run on it, the earlier
  conversation kept as context (the planner's `fresh_run` resets the per-run fields);
- an unfinished run and another task, or no task and nothing to resume: a `ConfigurationError`.

Synchronous-only savers (`SqliteSaver`, `PostgresSaver`) are wrapped in `ThreadedSaver`, since
the run graph is always driven with `ainvoke`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal, TypeVar

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from zyx.errors import ConfigurationError
from zyx.graph.approval import ASKED, PAUSED, TAGGED, check_decisions, is_approval, pending_calls, tagged

T = TypeVar("T")

DURABILITY: Literal["sync"] = "sync"
"""Every step's checkpoint is written before the next step starts, so a killed process loses at most that step."""


class ThreadedSaver(BaseCheckpointSaver[Any]):
    """A synchronous checkpointer made usable by async runs: each call runs on one worker thread.

    One thread (not a pool) keeps the saver's calls in order and on a single connection thread;
    an SQLite connection still needs `check_same_thread=False` (as `SqliteSaver.from_conn_string` makes).
    """

    def __init__(self, saver: BaseCheckpointSaver[Any]) -> None:
        super().__init__(serde=saver.serde)
        self.saver = saver
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zyx-checkpointer")

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    @property
    def config_specs(self) -> list[Any]:
        return self.saver.config_specs

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.saver.get_tuple(config)

    def list(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
             before: RunnableConfig | None = None, limit: int | None = None) -> Iterator[CheckpointTuple]:
        return self.saver.list(config, filter=filter, before=before, limit=limit)

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        return self.saver.put(config, checkpoint, metadata, new_versions)

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                   task_path: str = "") -> None:
        self.saver.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        self.saver.delete_thread(thread_id)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.saver.get_next_version(current, channel)

    def get_delta_channel_history(self, *, config: RunnableConfig, channels: Sequence[str]) -> Mapping[str, Any]:
        return self.saver.get_delta_channel_history(config=config, channels=channels)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._call(self.saver.get_tuple, config)

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        items = await self._call(lambda: list(self.saver.list(config, filter=filter, before=before, limit=limit)))
        for item in items:
            yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        return await self._call(self.saver.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        await self._call(self.saver.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._call(self.saver.delete_thread, thread_id)

    async def aget_delta_channel_history(self, *, config: RunnableConfig,
                                         channels: Sequence[str]) -> Mapping[str, Any]:
        return await self._call(self.saver.get_delta_channel_history, config=config, channels=channels)


MAX_SAVERS = 64
_savers: OrderedDict[int, tuple[BaseCheckpointSaver[Any], BaseCheckpointSaver[Any]]] = OrderedDict()
_savers_lock = threading.Lock()


async def async_saver(saver: BaseCheckpointSaver[Any], config: RunnableConfig) -> BaseCheckpointSaver[Any]:
    """`saver` itself when it implements the async methods, else its `ThreadedSaver` (one per saver).

    Probed once per saver, with the read the run would make anyway (the thread's latest checkpoint).
    """
    with _savers_lock:
        if (known := _savers.get(id(saver))) is not None and known[0] is saver:
            _savers.move_to_end(id(saver))
            return known[1]
    try:
        await saver.aget_tuple(config)
        usable: BaseCheckpointSaver[Any] = saver
    except NotImplementedError:
        usable = ThreadedSaver(saver)
    with _savers_lock:
        _savers[id(saver)] = (saver, usable)
        while len(_savers) > MAX_SAVERS:
            _savers.popitem(last=False)
    return usable


STORED_DECISIONS = "__resume__"
"""The pending-write channel where LangGraph keeps a `Command(resume=...)` value until its task finishes
(`langgraph._internal._constants.RESUME`)."""


NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
"""The task id LangGraph files a `Command`'s writes under (`langgraph._internal._constants.NULL_TASK_ID`)."""


async def _given_decisions(graph: CompiledStateGraph[Any, Any, Any, Any], config: RunnableConfig,
                           asking: Sequence[str]) -> Any:
    """The decisions given for the thread's pending question (ids `asking`) and not yet acted on (kept by
    LangGraph), or None. Decisions `run()` gave name the question they answered: an earlier question's
    answer (a node may ask again, e.g. about a call that may have run) is not taken for this one's."""
    saver = graph.checkpointer
    if not isinstance(saver, BaseCheckpointSaver):
        return None
    latest = await saver.aget_tuple(config)
    for task_id, channel, value in (latest.pending_writes or []) if latest is not None else []:
        if channel == STORED_DECISIONS and task_id == NULL_TASK_ID:
            if isinstance(value, Mapping) and TAGGED in value:
                return value[TAGGED] if value.get("interrupt_id") in asking else None
            return value
    return None


async def thread_input(graph: CompiledStateGraph[Any, Any, Any, Any], config: RunnableConfig,
                       new_input: Callable[[], dict[str, Any]] | None, goal: str | None,
                       decisions: Mapping[str, Any] | None = None) -> dict[str, Any] | Command[Any] | None:
    """What to invoke the graph with on this thread: None to resume its unfinished run, a `Command`
    carrying the human decisions (or a tool's `interrupt()` answers) for a paused one, else a new run's input.

    `new_input` is None when no task was given (resume only); `goal` is the new task's text. Resuming a
    turn paused for approval also records in `config` which calls were asked about (`approval.ASKED`), so
    the decisions apply to those calls whatever the resume's `approve=` / `approve_plan=` say.
    """
    snapshot = await graph.aget_state(config)
    thread_id = config["configurable"]["thread_id"]
    stored = (snapshot.values or {}).get("task")
    pending = pending_calls(snapshot.interrupts)
    questions = [i for i in snapshot.interrupts if not is_approval(i)]
    if decisions is not None and not pending and not questions:
        raise ConfigurationError("decisions", f"thread {thread_id!r} has no tool calls waiting for a decision")
    if snapshot.next or _uncommitted(snapshot):
        if new_input is not None and goal != stored:
            raise ConfigurationError("task", f"thread {thread_id!r} has an unfinished run (task {stored!r}); call "
                                     "again with that task, or task=None, to resume it, or use another thread_id")
        if pending or questions:
            _record_pause(config, snapshot, pending)
        asking = [i.id for i in snapshot.interrupts if is_approval(i)]
        if pending and (given := await _given_decisions(graph, config, asking)) is not None:
            if decisions is not None and dict(decisions) != given:
                raise ConfigurationError("decisions", f"thread {thread_id!r} was already given decisions on "
                                         f"{[p['id'] for p in pending]}; they are kept (resume with decisions=None)")
            return None  # the process died while acting on them: LangGraph resumes with the stored decisions
        if questions:
            return Command(resume=_answers(thread_id, snapshot.interrupts, questions, decisions))
        if pending and decisions is None:
            raise ConfigurationError("decisions", f"thread {thread_id!r} is waiting for decisions on "
                                     f"{[p['id'] for p in pending]}: pass decisions={{id: decision}}")
        if not pending:
            return None
        return Command(resume=tagged(check_decisions(decisions, [p["id"] for p in pending]), asking[0]))
    if new_input is None:
        raise ConfigurationError("task", f"thread {thread_id!r} has no unfinished run to resume: give a task")
    return new_input()


def _uncommitted(snapshot: Any) -> bool:
    """Whether the thread stopped between its last node's saved writes and the checkpoint that would commit them
    (cancelled or killed there: LangGraph's `next` is empty, yet resuming applies them and goes on)."""
    values = snapshot.values or {}
    return bool(snapshot.tasks) and not values.get("termination") and not values.get("error")


def _record_pause(config: RunnableConfig, snapshot: Any, pending: Sequence[Mapping[str, Any]]) -> None:
    """Name the paused turn (its AI message) in `config` for the nodes that resume it: the keys of the calls
    asked about (approvals) and how long the run has waited for a human (its `timeout` does not count that)."""
    messages = (snapshot.values or {}).get("messages") or []
    turn = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if turn is None or turn.id is None:
        return
    if pending and not any(p.get("may_have_run") for p in pending):  # a second question (a call that may have
        # run) is asked after the turn's first one, whose answer is kept: that one's keys stay as they were
        config["configurable"][ASKED] = {"message": turn.id, "keys": [p["id"] for p in pending]}
    if snapshot.created_at:
        waited = time.time() - datetime.fromisoformat(snapshot.created_at).timestamp()
        config["configurable"][PAUSED] = {"message": turn.id, "seconds": max(waited, 0.0)}


def _answers(thread_id: str, interrupts: Sequence[Any], questions: Sequence[Any],
             decisions: Mapping[str, Any] | None) -> dict[str, Any]:
    """The resume map (interrupt id -> value) for a thread paused by tools' own `interrupt()` calls (and
    for approvals pending at the same time): each needs its answer in `decisions`, by interrupt id."""
    asked = [q.id for q in questions]
    if not isinstance(decisions, Mapping) or any(i not in decisions for i in asked):
        raise ConfigurationError("decisions", f"thread {thread_id!r} is paused by a tool's interrupt(): pass "
                                 f"decisions={{interrupt_id: answer}} for {asked} (RunResult.interrupts)")
    pending_ids = [p["id"] for p in pending_calls(interrupts)]
    unknown = [k for k in decisions if k not in asked and k not in pending_ids]
    if unknown:
        raise ConfigurationError("decisions", f"thread {thread_id!r} is waiting for {asked + pending_ids}; "
                                 f"unknown {unknown}")
    checked = check_decisions({k: decisions[k] for k in pending_ids}, pending_ids) if pending_ids else {}
    return {i.id: (decisions[i.id] if not is_approval(i) else checked) for i in interrupts}
