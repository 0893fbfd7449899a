"""Sync entry points refuse to run inside an event loop; the async ones work there."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import scripted, turn

import zyx
from zyx.testing import ScriptedChatModel, call, complete, last_tool_results, text


async def test_run_inside_a_running_loop_points_to_arun() -> None:
    model = scripted(complete())
    with pytest.raises(RuntimeError, match="arun"):
        zyx.run("x", model=model)
    assert model.calls == []


async def test_make_inside_a_running_loop_points_to_amake() -> None:
    model = scripted(text("hi"))
    with pytest.raises(RuntimeError, match="amake"):
        zyx.make(str, "x", model=model)
    assert model.calls == []


async def test_arun_works_in_a_running_loop() -> None:
    async def fetch(key: str) -> str:
        """Fetch a value."""
        await asyncio.sleep(0)
        return f"value of {key}"

    async def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) == 0:
            return call("fetch", key="k")
        return complete(summary=last_tool_results(messages)[0].content, result=1)

    model = ScriptedChatModel(policy=policy)
    result = await zyx.arun("fetch k", target=int, tools=[fetch], model=model)
    assert isinstance(result, zyx.RunResult)
    assert result.output == 1
    assert result.completion is not None and result.completion.summary == "value of k"
    assert result.tool_calls[0].output == "value of k"
    assert len(model.calls) == 2


class Box:
    def __init__(self, tag: str) -> None:
        self.tag = tag


async def test_concurrent_aruns_keep_their_own_tool_outputs() -> None:
    async def make_box(tag: str) -> Box:
        """A non-JSON object."""
        await asyncio.sleep(0.01)
        return Box(tag)

    def model_for(tag: str) -> ScriptedChatModel:
        return scripted(call("make_box", tag=tag), complete())

    a, b = await asyncio.gather(
        zyx.arun("a", tools=[make_box], model=model_for("a")),
        zyx.arun("b", tools=[make_box], model=model_for("b")),
    )
    assert isinstance(a.tool_calls[0].output, Box) and a.tool_calls[0].output.tag == "a"
    assert isinstance(b.tool_calls[0].output, Box) and b.tool_calls[0].output.tag == "b"


def test_run_from_sync_code_works() -> None:
    result = zyx.run("x", model=scripted(complete(summary="sync ok")))
    assert result.completion is not None and result.completion.summary == "sync ok"


def test_run_in_a_worker_thread_works() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(zyx.run, "x", model=scripted(complete(summary="thread ok"))).result()
    assert result.completion is not None and result.completion.summary == "thread ok"
