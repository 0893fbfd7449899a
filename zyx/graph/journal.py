"""The call journal: a tool call is recorded as started (durably) before it runs and as finished after,
so a resumed run never repeats a side effect without someone being told.

The records are pending writes of the checkpoint the node runs on (`put_writes`, the checkpointer API every
LangGraph saver implements: memory, SQLite, Postgres, an Agent Server's), under task ids of their own, which
LangGraph's loop ignores (it matches pending writes to the tasks it knows by id). A started record is awaited
before the tool runs, whatever the graph's durability mode; a finished record carries the outcome's JSON
form. When the node runs again on the same checkpoint (the process died, the run was cancelled and resumed,
a server's worker was killed and another picked the run up), a call with a finished record is answered
from it, and a call with a started record and no finished one is *uncertain*: it may or may not have taken
effect. The node decides what to do with it (`tool_executor`: run it again only if idempotent, else ask a
human under `approve=`, else tell the model).

A call is known by a key (its position in the turn, or a plan step's id) and an attempt number: a call
re-run after a crash (idempotent, or approved by a human) starts attempt 1, and so on, so a crash during
a re-run is seen as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import ToolCall
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphBubbleUp

from zyx._tools import ToolOutcome, to_state_value

CHECKPOINTER_KEY = "__pregel_checkpointer"
"""Where LangGraph puts a run's checkpointer in a node's config (`langgraph._internal._constants`)."""
RESUMING_KEY = "__pregel_resuming"
"""Set in a node's config on the first superstep of an invocation that resumes a thread (after a crash,
a cancel, an interrupt, or an Agent Server retrying a run)."""
RUNTIME_KEY = "__pregel_runtime"
CHANNEL = "zyx:tool_call"
"""The pending-write channel of journal records (no graph channel has this name)."""
NS_SEP = "|"


def _checkpoint_of(config: RunnableConfig) -> tuple[RunnableConfig, str] | None:
    """The checkpoint the node runs on (what LangGraph's loop files its writes under) and the node task's id."""
    configurable = config.get("configurable") or {}
    info = getattr(configurable.get(RUNTIME_KEY), "execution_info", None)
    thread_id = configurable.get("thread_id")
    if info is None or thread_id is None:
        return None
    node_ns: str = info.checkpoint_ns or ""
    loop_ns = node_ns.rsplit(NS_SEP, 1)[0] if NS_SEP in node_ns else ""
    checkpoint: RunnableConfig = {"configurable": {"thread_id": str(thread_id), "checkpoint_ns": loop_ns,
                                                   "checkpoint_id": info.checkpoint_id}}
    return checkpoint, str(info.task_id)


async def _saver_call(saver: BaseCheckpointSaver[Any], name: str, *args: Any) -> Any:
    """`saver.a<name>(...)`, or its sync method in a thread for a sync-only saver (a graph driven by `invoke()`)."""
    try:
        return await getattr(saver, f"a{name}")(*args)
    except NotImplementedError:
        return await asyncio.to_thread(getattr(saver, name), *args)


@dataclass
class Journal:
    """The records of one node execution's tool calls (see the module docstring)."""

    saver: BaseCheckpointSaver[Any]
    checkpoint: RunnableConfig
    prefix: str
    started: set[tuple[str, int]] = field(default_factory=set)
    paused: set[tuple[str, int]] = field(default_factory=set)
    """Attempts that stopped at a LangGraph `interrupt()` inside the tool: run again on resume, as LangGraph does."""
    finished: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    async def open(cls, config: RunnableConfig) -> Journal | None:
        """The journal for the node running with `config`; None without a checkpointer (nothing to resume).

        The earlier records are read only when the invocation resumes a thread: a checkpoint this
        invocation created has none.
        """
        configurable = config.get("configurable") or {}
        saver = configurable.get(CHECKPOINTER_KEY)
        where = _checkpoint_of(config) if isinstance(saver, BaseCheckpointSaver) else None
        if where is None or not isinstance(saver, BaseCheckpointSaver):
            return None
        journal = cls(saver, where[0], f"zyx:{where[1]}:")
        if configurable.get(RESUMING_KEY):
            saved = await _saver_call(journal.saver, "get_tuple", journal.checkpoint)
            for task_id, channel, value in (saved.pending_writes or []) if saved is not None else []:
                if channel == CHANNEL and task_id.startswith(journal.prefix) and isinstance(value, Mapping):
                    journal._load(value)
        return journal

    def _load(self, record: Mapping[str, Any]) -> None:
        key = str(record.get("key"))
        attempt = int(record.get("attempt") or 0)
        if "outcome" in record:
            self.finished[key] = dict(record["outcome"])
        elif record.get("paused"):
            self.paused.add((key, attempt))
        else:
            self.started.add((key, attempt))

    def saved(self, key: str) -> ToolOutcome | None:
        """The outcome recorded for a finished call, or None."""
        data = self.finished.get(key)
        return ToolOutcome.from_json(data) if data is not None else None

    def past_pauses(self, key: str, attempt: int = 0) -> int:
        """The attempt to look at: `attempt`, or the one after the attempts that paused at an `interrupt()`
        (resumed, such a call runs again as a new attempt, so a crash during it is seen too)."""
        while (key, attempt) in self.paused:
            attempt += 1
        return attempt

    def has_record(self, key: str) -> bool:
        """Whether an earlier execution started the call (its progress events were told then)."""
        return key in self.finished or any(k == key for k, _ in self.started) or any(k == key for k, _ in self.paused)

    def uncertain(self, key: str, attempt: int) -> bool:
        """Whether the call's `attempt` started in an earlier execution and never finished."""
        return (key, attempt) in self.started and (key, attempt) not in self.paused and key not in self.finished

    async def _write(self, task_id: str, record: dict[str, Any]) -> None:
        await _saver_call(self.saver, "put_writes", self.checkpoint, [(CHANNEL, record)], self.prefix + task_id)

    async def run(self, key: str, attempt: int, call: ToolCall, execute: Callable[[], Awaitable[ToolOutcome]]) -> ToolOutcome:
        """Record the call as started (awaited: durable before the tool runs), run it, record its outcome."""
        await self._write(f"{key}:started:{attempt}", {"key": key, "attempt": attempt, "id": call.get("id"),
                                                       "name": call["name"], "args": to_state_value(call["args"])})
        try:
            outcome = await execute()
        except GraphBubbleUp:  # the tool asked a human (`interrupt()`): on resume it runs again, to get the answer
            await self._write(f"{key}:paused:{attempt}", {"key": key, "attempt": attempt, "paused": True})
            raise
        self.finished[key] = outcome.to_json()
        await self._write(f"{key}:finished", {"key": key, "outcome": self.finished[key]})
        return outcome


def is_idempotent(tool: Any, names: frozenset[str] | bool) -> bool:
    """Whether a tool may simply run again after a crash: named in `idempotent=`, or declaring itself so
    (`metadata={"idempotent": True}`, or MCP's `idempotentHint` / `readOnlyHint` annotations)."""
    if names is True or (names and tool.name in names):
        return True
    return declares(tool, "idempotent", "idempotentHint", "readOnlyHint")


def forced_again_safely(tool: Any) -> bool:
    """Whether coaching may offer a tool alone to call it again: not one declaring itself destructive, and an MCP
    tool (one with annotations) only when read-only or idempotent, since MCP's `destructiveHint` defaults to true."""
    if declares(tool, "destructiveHint"):
        return False
    metadata = getattr(tool, "metadata", None)
    annotated = isinstance(metadata, Mapping) and metadata.get("annotations") is not None
    return not annotated or declares(tool, "readOnlyHint", "idempotentHint")


def declares(tool: Any, *hints: str) -> bool:
    """Whether a tool declares one of these hints true: a key of its metadata, or of the MCP annotations there
    (metadata that is not a mapping declares nothing)."""
    metadata = getattr(tool, "metadata", None)
    if not isinstance(metadata, Mapping):
        return False
    annotations = metadata.get("annotations") or {}
    if hasattr(annotations, "model_dump"):
        annotations = annotations.model_dump()
    return any(metadata.get(h) or (isinstance(annotations, Mapping) and annotations.get(h)) for h in hints)
