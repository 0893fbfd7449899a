"""A sync tool cut by a timeout: the model is told the truth (it may still take effect), the record says so,
and `zyx.process_tool` gives a hard timeout by killing its worker process."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import turn
from process_tools import ledger_lines, refuse, transfer, worker_pid

import zyx
from zyx.testing import ScriptedChatModel, call, complete

WIDE = 30.0  # seconds: bounds only a hang, never a speed


def test_a_sync_tool_cut_by_tool_timeout_is_reported_as_still_running() -> None:
    release, finished = threading.Event(), threading.Event()

    def transfer_money(amount: int) -> str:
        """Transfer money."""
        release.wait(WIDE)
        finished.set()
        return "sent"

    model = ScriptedChatModel(policy=lambda messages, tools: call("transfer_money", amount=5)
                              if turn(messages) == 0 else complete(summary="unsure"))
    result = zyx.run("Pay.", tools=[transfer_money], model=model, tool_timeout=0.2)
    record = result.tool_calls[0]
    assert record.still_running and record.error is not None
    assert "may still be running and may still take effect" in record.error and "cancelled" not in record.error
    release.set()
    assert finished.wait(WIDE)  # it did take effect, as the model was told it might


async def test_an_async_tool_cut_by_tool_timeout_is_cancelled() -> None:
    import asyncio

    async def slow() -> str:
        """Slow."""
        await asyncio.sleep(WIDE)
        return "late"

    model = ScriptedChatModel(policy=lambda messages, tools: call("slow") if turn(messages) == 0 else complete())
    result = await zyx.arun("Wait.", tools=[slow], model=model, tool_timeout=0.2)
    assert not result.tool_calls[0].still_running and "was cancelled" in str(result.tool_calls[0].error)


def test_a_process_tool_runs_in_a_worker_process_and_keeps_its_schema() -> None:
    seen: list[list[str]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        seen.append([t["function"]["name"] for t in tools])
        if turn(messages) == 0:
            return [call("worker_pid"), call("refuse", reason="no")]
        return complete()

    result = zyx.run("x", tools=[zyx.process_tool(worker_pid), zyx.process_tool(refuse)],
                     model=ScriptedChatModel(policy=policy))
    pid, refused = result.tool_calls
    assert isinstance(pid.output, int) and pid.output != os.getpid()
    assert refused.error == "Error: ValueError: refused: no"
    assert seen[0][:2] == ["worker_pid", "refuse"]


def _pay(amount: int, ledger: str, delay: float) -> ScriptedChatModel:
    return ScriptedChatModel(policy=lambda messages, tools: call("transfer", amount=amount, ledger=ledger, delay=delay)
                             if turn(messages) == 0 else complete(summary="done or cut"))


def test_a_process_tool_cut_by_tool_timeout_is_killed_and_never_takes_effect(tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger")
    tool = zyx.process_tool(transfer)
    warm = zyx.run("Pay 1.", tools=[tool], model=_pay(1, ledger, 0.0))  # starts the worker
    assert warm.tool_calls[0].output == "sent 1"

    result = zyx.run("Pay 5.", tools=[tool], model=_pay(5, ledger, WIDE), tool_timeout=2.0)

    record = result.tool_calls[0]
    assert not record.still_running and "was cancelled" in str(record.error)
    lines = ledger_lines(ledger)
    assert lines[1] == "1" and lines[2].startswith("start ") and len(lines) == 3
    with pytest.raises(ProcessLookupError):  # the worker that ran it is gone: the 5 can never be written
        os.kill(int(lines[2].split()[1]), 0)
    again = zyx.run("Pay 7.", tools=[tool], model=_pay(7, ledger, 0.0))  # a new worker takes over
    assert again.tool_calls[0].output == "sent 7" and ledger_lines(ledger)[-1] == "7"


def test_process_tool_refuses_what_a_worker_cannot_import() -> None:
    def local(x: int) -> int:
        return x

    with pytest.raises(zyx.ConfigurationError, match="module level"):
        zyx.process_tool(local)
