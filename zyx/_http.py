"""HTTP clients for the OpenAI-compatible models zyx builds, safe to share between event loops.

A pooled async connection belongs to the event loop that opened it, and zyx caches the models it
builds: with one async client, a second loop (`asyncio.run(arun(...))` twice, or `run()` then
`asyncio.run(...)`) would fail with "bound to a different event loop" / "Event loop is closed".
Imported lazily: it imports `openai`.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import openai


class PerLoopAsyncClient(openai.DefaultAsyncHttpxClient):
    """An async client that sends each request through a pooled client of the running loop's own.

    The OpenAI SDK sends every request with `send()`; this client only builds them. A loop's client
    is dropped once that loop is closed (its connections are of no use to another), so finished loops
    don't pile up.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._options = options
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.DefaultAsyncHttpxClient] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()

    def loop_client(self) -> openai.DefaultAsyncHttpxClient:
        """The running event loop's client, made on its first request."""
        loop = asyncio.get_running_loop()
        with self._lock:
            for closed in [other for other in self._clients if other.is_closed()]:
                del self._clients[closed]
            client = self._clients.get(loop)
            if client is None:
                client = self._clients[loop] = openai.DefaultAsyncHttpxClient(**self._options)
            return client

    async def send(self, request: Any, **kwargs: Any) -> Any:
        """Send `request` on the running loop's client."""
        return await self.loop_client().send(request, **kwargs)


def chat_openai_clients(proxy: str | None = None) -> dict[str, Any]:
    """`ChatOpenAI` keywords for HTTP clients safe to share between event loops, through `proxy` if given.

    ChatOpenAI's own `openai_proxy` (read from `OPENAI_PROXY`) cannot be combined with a client of ours,
    so it is turned off here: the caller passes the proxy in instead.
    """
    options = {"proxy": proxy} if proxy else {}
    clients: dict[str, Any] = {"http_async_client": PerLoopAsyncClient(**options), "openai_proxy": None}
    if proxy:
        clients["http_client"] = openai.DefaultHttpxClient(proxy=proxy)
    return clients
