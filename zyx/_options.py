"""The options of `run()` / `arun()`: the graph options plus what varies per call, typed once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from zyx.graph.spec import GraphOptions


class RunOptions(GraphOptions, total=False):
    """Graph options plus what varies per call."""

    config: RunnableConfig | None
    checkpointer: BaseCheckpointSaver[Any] | None
    """Persists every step of the run (with `thread_id`): see durability in docs/studio.md."""
    thread_id: str | None
    decisions: Mapping[str, Any] | None
    """Human decisions for a paused run's pending tool calls, by tool_call_id (see approvals)."""
    """The checkpointer's thread: the same id resumes an unfinished run or continues a finished one."""


GRAPH_OPTIONS = frozenset(GraphOptions.__annotations__)
RUN_OPTIONS = frozenset(RunOptions.__annotations__)
