"""No silent re-run: a tool call that had started when its run was stopped is not run again on resume unless
its tool is idempotent; the model (or, under approve=, a human) is told it may or may not have taken effect.
Real process deaths (SIGKILL) are in test_durability.py; here a run is cancelled mid-call, in-process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import assert_valid_history
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver

import zyx
from zyx.testing import ScriptedChatModel, call, calls, complete


class Ledger:
    """Tools whose every execution is counted; `charge` blocks until `gate` opens (so a run can be cancelled in it)."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.started = asyncio.Event()
        self.gate = asyncio.Event()

    async def charge(self, amount: int) -> str:
        """Charge the card."""
        self.runs.append(f"charge{amount}")
        self.started.set()
        await self.gate.wait()
        return "charged"

    async def lookup(self, key: str) -> str:
        """Look a value up."""
        self.runs.append(f"lookup:{key}")
        return key.upper()


def _policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if not any(isinstance(m, ToolMessage) for m in messages):
        return calls(call("lookup", key="a"), call("charge", amount=5))
    return complete(summary="done")


async def _cancel_in_charge(ledger: Ledger, **options: Any) -> None:
    acting = asyncio.create_task(zyx.arun("Pay.", **options))
    await ledger.started.wait()
    acting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await acting
    ledger.gate.set()


async def test_a_call_cancelled_mid_way_is_not_run_again_and_the_model_is_told() -> None:
    ledger = Ledger()
    model = ScriptedChatModel(policy=_policy)
    options: dict[str, Any] = {"tools": [ledger.lookup, ledger.charge], "model": model,
                               "checkpointer": InMemorySaver(), "thread_id": "t"}
    await _cancel_in_charge(ledger, **options)

    result = await zyx.arun(None, **options)

    assert ledger.runs == ["lookup:a", "charge5"]  # the finished lookup and the started charge: once each
    lookup, charge = result.tool_calls
    assert lookup.output == "A" and not lookup.may_have_run
    assert charge.may_have_run and charge.error is not None and "may or may not have taken effect" in charge.error
    told = model.calls[-1].messages[-1]
    assert isinstance(told, ToolMessage) and "may or may not have taken effect" in str(told.content)
    assert result.completion is not None and result.completion.summary == "done"
    assert_valid_history(result.messages)


@pytest.mark.parametrize("declared", ["option", "metadata"])
async def test_an_idempotent_tool_runs_again(declared: str) -> None:
    ledger = Ledger()
    charge = StructuredTool.from_function(coroutine=ledger.charge, name="charge", description="Charge the card.",
                                          metadata={"idempotent": True} if declared == "metadata" else None)
    options: dict[str, Any] = {"tools": [ledger.lookup, charge], "model": ScriptedChatModel(policy=_policy),
                               "checkpointer": InMemorySaver(), "thread_id": "t"}
    if declared == "option":
        options["idempotent"] = ["charge"]
    await _cancel_in_charge(ledger, **options)

    result = await zyx.arun(None, **options)

    assert ledger.runs == ["lookup:a", "charge5", "charge5"]  # re-run, as declared safe; lookup still once
    assert [c.output for c in result.tool_calls] == ["A", "charged"]
    assert not any(c.may_have_run for c in result.tool_calls)


async def test_under_approve_a_human_decides_each_time_the_call_may_have_run() -> None:
    ledger = Ledger()
    options: dict[str, Any] = {"tools": [ledger.lookup, ledger.charge], "model": ScriptedChatModel(policy=_policy),
                               "checkpointer": InMemorySaver(), "thread_id": "t", "approve": ["charge"]}
    paused = await zyx.arun("Pay.", **options)
    assert [(p.name, p.may_have_run) for p in paused.pending] == [("charge", False)]

    for expected_runs in (1, 2):  # cancelled in the approved charge, then again in its approved re-run
        ledger.started.clear()
        acting = asyncio.create_task(zyx.arun(None, decisions={"call_2": "approve"}, **options))
        await ledger.started.wait()
        acting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await acting
        assert ledger.runs.count("charge5") == expected_runs
        asked = await zyx.arun(None, **options)
        assert asked.interrupted and [(p.id, p.may_have_run) for p in asked.pending] == [("call_2", True)]

    result = await zyx.arun(None, decisions={"call_2": {"reject": "paid already"}}, **options)

    assert ledger.runs == ["lookup:a", "charge5", "charge5"]  # twice, each time approved by a human
    assert result.tool_calls[1].may_have_run and "paid already" in (result.tool_calls[1].error or "")
    assert not result.interrupted and result.completion is not None


async def test_a_plan_step_cancelled_mid_way_is_not_run_again() -> None:
    ledger = Ledger()

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if not any(isinstance(m, ToolMessage) for m in messages):
            return call("submit_plan", steps=[{"id": "s1", "tool": "lookup", "args": {"key": "a"}},
                                              {"id": "s2", "tool": "charge", "args": {"amount": 5}}])
        return complete(summary="done")

    options: dict[str, Any] = {"tools": [ledger.lookup, ledger.charge], "model": ScriptedChatModel(policy=policy),
                               "checkpointer": InMemorySaver(), "thread_id": "t", "plan": True}
    await _cancel_in_charge(ledger, **options)

    result = await zyx.arun(None, **options)

    assert sorted(ledger.runs) == ["charge5", "lookup:a"]
    steps = {s["id"]: s for s in result.plans[0]["steps"]}
    assert steps["s1"]["status"] == "ok" and steps["s2"]["status"] == "error"
    assert "may or may not have taken effect" in steps["s2"]["error"]


def test_idempotent_names_the_run_tools() -> None:
    def lookup(key: str) -> str:
        """Look up."""
        return key

    with pytest.raises(zyx.ConfigurationError, match="idempotent"):
        zyx.run("x", model=ScriptedChatModel(responses=[complete()]), tools=[lookup], idempotent=["nope"])
    with pytest.raises(zyx.ConfigurationError, match="idempotent"):
        zyx.run("x", model=ScriptedChatModel(responses=[complete()]), tools=[lookup], idempotent="lookup")


async def test_a_tool_that_asked_a_human_runs_again_to_get_the_answer_but_not_after_a_crash() -> None:
    from langgraph.types import Command, interrupt

    from zyx.graph import build_run_graph

    sent: list[str] = []
    started, gate = asyncio.Event(), asyncio.Event()

    async def send(text: str) -> str:
        """Send a text once a human confirmed it."""
        confirmed = interrupt({"confirm": text})  # LangGraph re-runs the tool to hand it the answer
        sent.append(f"{text}:{confirmed}")
        started.set()
        await gate.wait()
        return "sent"

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        return complete() if any(isinstance(m, ToolMessage) for m in messages) else call("send", text="hi")

    graph = build_run_graph(tools=[send], checkpointer=InMemorySaver(), model=ScriptedChatModel(policy=policy))
    config: Any = {"configurable": {"thread_id": "t"}}
    paused = await graph.ainvoke({"messages": [("user", "Send hi.")]}, config)
    assert paused["__interrupt__"] and sent == []
    acting = asyncio.create_task(graph.ainvoke(Command(resume="yes"), config))
    await started.wait()
    acting.cancel()  # the confirmed send was under way
    with pytest.raises(asyncio.CancelledError):
        await acting
    gate.set()

    done = await graph.ainvoke(None, config)

    assert sent == ["hi:yes"]  # it ran once after the answer, and not again after the cancel
    assert done["tool_calls"][0]["may_have_run"] is True
