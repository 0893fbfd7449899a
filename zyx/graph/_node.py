"""One generic adapter so node logic is written once, async, yet serves `invoke` and `ainvoke`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langgraph.types import Command

from zyx._aio import run_sync

NodeFn = Callable[[Any, RunnableConfig], Awaitable[Any]]


class AsyncNode(Runnable[Any, Any]):
    """A graph node from an async function; sync callers drive the same coroutine.

    With `route`, the node also decides where the run goes next: it returns
    `Command(update=..., goto=route(state after the update))`, which costs LangGraph no extra
    branch step per superstep (conditional edges do).
    """

    def __init__(self, name: str, fn: NodeFn, route: Callable[[Any], str] | None = None) -> None:
        self.name = name
        self.fn = fn
        self.route = route

    async def _call(self, state: Any, config: RunnableConfig | None) -> Any:
        update = await self.fn(state, config if config is not None else ensure_config())
        if self.route is None:
            return update
        merged = {**state, **update, "messages": [*state.get("messages", []), *update.get("messages", [])]}
        return Command(update=update, goto=self.route(merged))

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self._call(input, config)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return run_sync(self._call(input, config))
