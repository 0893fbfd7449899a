"""Tests never reach a real model: any HTTP request to a non-loopback host fails loudly."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RealProviderCallError(AssertionError):
    """A test tried to reach a real model provider."""


# The HTTP stacks provider SDKs send through: httpx, and httpx2 (the openai SDK's since 3.x).
HTTP_STACKS = ("httpx", "httpx2")


def _guard(request: Any) -> None:
    if request.url.host not in LOOPBACK:
        raise RealProviderCallError(f"tests must not call real providers: {request.method} {request.url}")


def _block(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    """Route `module`'s sync and async transports through `_guard`."""
    sync_send = module.HTTPTransport.handle_request
    async_send = module.AsyncHTTPTransport.handle_async_request

    def handle(self: Any, request: Any) -> Any:
        _guard(request)
        return sync_send(self, request)

    async def ahandle(self: Any, request: Any) -> Any:
        _guard(request)
        return await async_send(self, request)

    monkeypatch.setattr(module.HTTPTransport, "handle_request", handle)
    monkeypatch.setattr(module.AsyncHTTPTransport, "handle_async_request", ahandle)


@pytest.fixture(autouse=True)
def no_real_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Block non-loopback HTTP and clear provider settings so defaults never pick a real model."""
    for name in HTTP_STACKS:
        try:
            _block(monkeypatch, importlib.import_module(name))
        except ImportError:  # a stack no installed SDK uses
            continue
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ZYX_MODEL", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(name, raising=False)
    yield
