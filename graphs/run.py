"""Studio graph `run`: zyx's run graph in normal mode (tool calls, then `complete_task`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from graphs._studio import for_execution, settings_from, studio_graph

if TYPE_CHECKING:  # the server resolves this annotation itself (langgraph-sdk's ServerRuntime)
    from langgraph_sdk.runtime import ServerRuntime


def graph(config: RunnableConfig, runtime: ServerRuntime | None = None) -> Any:
    """Graph factory: the server calls it with the run's config (and runtime) for each use of the graph."""
    return studio_graph(settings_from(config, runtime), plan=False, execute=for_execution(config, runtime))
