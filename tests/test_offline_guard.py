"""The conftest guard: a test that reaches for a real provider fails loudly, whatever HTTP stack the SDK uses."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import RealProviderCallError
from langchain_openai import ChatOpenAI

import zyx


def test_plain_httpx_is_blocked() -> None:
    with pytest.raises(RealProviderCallError, match="example.com"):
        httpx.get("https://example.com/")


def test_openai_sdk_sync_call_is_blocked() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", max_retries=0)
    with pytest.raises(RealProviderCallError, match="api.openai.com"):
        model.invoke("hi")


def test_openai_sdk_async_call_is_blocked() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", max_retries=0)
    with pytest.raises(RealProviderCallError, match="api.openai.com"):
        asyncio.run(model.ainvoke("hi"))


def test_a_zyx_run_with_a_real_provider_is_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through zyx's own OpenAI client (the per-loop one): the guard's error, not a network error."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(zyx.ModelError) as caught:
        zyx.run("Say hi.", model="openai:gpt-4o-mini", max_retries=0)
    assert "tests must not call real providers" in str(caught.value)
