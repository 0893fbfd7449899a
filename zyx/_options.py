"""The options `run()`, `arun()` and `build_run_graph()` share, typed once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from typing_extensions import TypedDict

from zyx.graph.spec import Check


class GraphOptions(TypedDict, total=False):
    """What fixes a run graph: model, tools, checks and limits."""

    model: str | BaseChatModel | None
    instructions: str | None
    tools: Sequence[Any] | None
    verifier: Check | None
    final_answer_checks: Sequence[Check] | None
    require_completion: bool
    plan: bool
    planning_interval: int | None
    max_steps: int | None
    max_retries: int
    max_model_calls: int | None
    tool_limits: Mapping[str, int] | None
    max_tokens_total: int | None
    timeout: float | None
    tool_timeout: float | None


class RunOptions(GraphOptions, total=False):
    """Graph options plus what varies per call."""

    config: RunnableConfig | None


GRAPH_OPTIONS = frozenset(GraphOptions.__annotations__)
RUN_OPTIONS = frozenset(RunOptions.__annotations__)
