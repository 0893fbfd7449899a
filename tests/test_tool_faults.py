"""Whatever a tool (or an approval rule) raises is an error the model sees; a real cancellation still cancels."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import assert_valid_history, tool_messages, turn
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import zyx
from zyx.testing import ScriptedChatModel, call, calls, complete


class Abort(BaseException):
    """A custom BaseException, as some libraries raise."""


def exits() -> str:
    """Calls sys.exit, as a CLI helper might."""
    raise SystemExit(2)


def aborts() -> str:
    """Raises a custom BaseException."""
    raise Abort("stop")


async def fake_cancel() -> str:
    """Raises CancelledError itself, without being cancelled."""
    raise asyncio.CancelledError()


def sync_fake_cancel() -> str:
    """Raises CancelledError in its worker thread."""
    raise asyncio.CancelledError()


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def unprintable() -> Unprintable:
    """Returns an object that cannot be shown."""
    return Unprintable()


class BadError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def raises_bad_error() -> str:
    """Raises an exception whose str() fails."""
    raise BadError()


FAULTY = [exits, aborts, fake_cancel, sync_fake_cancel, unprintable, raises_bad_error]


def test_every_fault_of_a_tool_is_an_error_result_and_the_run_goes_on() -> None:
    model = ScriptedChatModel(policy=lambda messages, tools: calls(*(call(t.__name__) for t in FAULTY))
                              if turn(messages) == 0 else complete(summary="recovered"))
    result = zyx.run("Try them all.", tools=FAULTY, model=model)

    assert result.completion is not None and result.completion.summary == "recovered"
    errors = {r.name: r.error for r in result.tool_calls}
    assert set(errors) == {t.__name__ for t in FAULTY} and all(errors.values())
    assert errors["exits"] == "Error: SystemExit: 2"
    assert errors["aborts"] == "Error: Abort: stop"
    assert "CancelledError" in str(errors["fake_cancel"]) and "CancelledError" in str(errors["sync_fake_cancel"])
    assert "RuntimeError" in str(errors["unprintable"])
    assert errors["raises_bad_error"] == "Error: BadError: <BadError whose str() failed>"
    answers = [m for m in tool_messages(result.messages) if m.name != "complete_task"]
    assert all(m.status == "error" for m in answers)
    assert_valid_history(result.messages)


async def test_a_real_cancellation_still_cancels_the_run() -> None:
    started = asyncio.Event()

    async def slow() -> str:
        """Waits a long time."""
        started.set()
        await asyncio.sleep(3600)
        return "late"

    run = asyncio.create_task(zyx.arun("Wait.", tools=[slow], model=ScriptedChatModel(responses=[call("slow")])))
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


def test_an_approval_rule_that_raises_refuses_the_call_and_the_thread_goes_on() -> None:
    ran: list[str] = []

    def delete(path: str) -> str:
        """Delete a file."""
        ran.append(path)
        return "deleted"

    def rule(pending: Any) -> bool:
        raise KeyError(pending.args["missing"])

    saver = InMemorySaver()
    model = ScriptedChatModel(responses=[call("delete", path="/etc"), complete(summary="could not delete")])
    result = zyx.run("Delete it.", tools=[delete], model=model, approve=rule, checkpointer=saver, thread_id="t")

    assert ran == [] and not result.interrupted
    refused = [m for m in tool_messages(result.messages) if m.name == "delete"]
    assert refused[0].status == "error" and "approval rule" in str(refused[0].content)
    assert "KeyError" in str(refused[0].content) and "/etc" not in str(refused[0].content)
    # the thread is finished cleanly: a new task on it runs
    again = zyx.run("Again.", tools=[delete], model=ScriptedChatModel(responses=[complete()]), approve=rule,
                    checkpointer=saver, thread_id="t")
    assert again.completion is not None


async def test_a_langgraph_interrupt_inside_a_tool_pauses_the_graph_as_in_toolnode() -> None:
    from langchain_core.messages import HumanMessage
    from langgraph.types import interrupt

    from zyx.graph import build_run_graph

    def ask_human(question: str) -> str:
        """Ask a human."""
        return str(interrupt({"question": question}))

    graph = build_run_graph(tools=[ask_human], checkpointer=InMemorySaver(),
                            model=ScriptedChatModel(responses=[call("ask_human", question="Colour?"), complete()]))
    config: Any = {"configurable": {"thread_id": "t"}}
    out = await graph.ainvoke({"messages": [HumanMessage("Ask.")]}, config)
    assert [i.value for i in out["__interrupt__"]] == [{"question": "Colour?"}]
    done = await graph.ainvoke(Command(resume="blue"), config)
    assert [m.content for m in tool_messages(done["messages"]) if m.name == "ask_human"] == ["blue"]
    assert done["completion"] is not None
