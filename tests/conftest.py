"""Tests never reach a real model: any HTTP request to a non-loopback host fails loudly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RealProviderCallError(AssertionError):
    """A test tried to reach a real model provider."""


def _guard(request: httpx.Request) -> None:
    if request.url.host not in LOOPBACK:
        raise RealProviderCallError(f"tests must not call real providers: {request.method} {request.url}")


@pytest.fixture(autouse=True)
def no_real_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Block non-loopback HTTP and clear provider settings so defaults never pick a real model."""
    sync_send = httpx.HTTPTransport.handle_request
    async_send = httpx.AsyncHTTPTransport.handle_async_request

    def handle(self: httpx.HTTPTransport, request: httpx.Request) -> Any:
        _guard(request)
        return sync_send(self, request)

    async def ahandle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> Any:
        _guard(request)
        return await async_send(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", ahandle)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ZYX_MODEL", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(name, raising=False)
    yield
