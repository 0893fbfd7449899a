"""One generic adapter so node logic is written once, async, yet serves `invoke` and `ainvoke`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, ensure_config

from zyx._aio import run_sync

NodeFn = Callable[[Any, RunnableConfig], Awaitable[Any]]


class AsyncNode(Runnable[Any, Any]):
    """A graph node from an async function; sync callers drive the same coroutine."""

    def __init__(self, name: str, fn: NodeFn) -> None:
        self.name = name
        self.fn = fn

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self.fn(input, ensure_config(config))

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return run_sync(self.fn(input, ensure_config(config)))
