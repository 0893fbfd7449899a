"""Nodes tell their own progress events, as they happen, on LangGraph's custom stream; `run(stream=True)`
reads them there. Told once: a node run again on a resumed thread does not tell again what was told."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, interrupt
from pydantic import BaseModel

import zyx
from zyx.events import (
    CompletionRejected,
    ModelTurnStarted,
    RunFinished,
    ToolCallFinished,
    ToolCallStarted,
    Verified,
)
from zyx.graph import build_run_graph
from zyx.graph.progress import NODE_EVENTS, tell
from zyx.testing import ScriptedChatModel, call, calls, complete


class Release(BaseModel):
    version: str
    steps: list[str]


def lookup(topic: str) -> str:
    """Look a topic up."""
    return f"{topic}: test, build, deploy"


def three_steps(completion: zyx.RunCompletion[Release]) -> str | None:
    return None if len(completion.result.steps) == 3 else "a release needs three steps"


def shape(event: Any) -> tuple[Any, ...]:
    """An event without its timing."""
    if isinstance(event, ToolCallFinished):
        return ("finished", event.name, event.error)
    if isinstance(event, ToolCallStarted):
        return ("started", event.name, event.args)
    if isinstance(event, ModelTurnStarted):
        return ("turn", event.turn)
    if isinstance(event, CompletionRejected):
        return ("rejected", event.reason.splitlines()[0])
    return (type(event).__name__,)


def test_graph_streamed_in_custom_mode_yields_the_nodes_events() -> None:
    model = ScriptedChatModel(responses=[
        calls(call("lookup", topic="release"), call("nope")),
        complete(result={"version": "2", "steps": ["Deploy"]}),
        complete(result={"version": "2", "steps": ["a", "b", "c"]}),
    ])
    graph = build_run_graph(target=Release, model=model, tools=[lookup], verifier=three_steps)
    events = list(graph.stream({"messages": [HumanMessage("Plan release 2.")]}, stream_mode="custom"))
    assert all(isinstance(e, NODE_EVENTS) for e in events)
    assert [shape(e) for e in events] == [
        ("turn", 1), ("started", "lookup", {"topic": "release"}), ("started", "nope", {}),
        ("finished", "lookup", None), ("finished", "nope", events[4].error),
        ("turn", 2), ("rejected", "a release needs three steps"),
        ("turn", 3), ("Verified",),
    ]
    assert "nope" in (events[4].error or "") and events[4].duration == 0.0


def test_a_run_without_a_stream_tells_no_one() -> None:
    tell({}, Verified())  # no LangGraph runtime in the config: nothing to write to
    model = ScriptedChatModel(responses=[call("lookup", topic="x"), complete(result={"version": "1", "steps": []})])
    state = build_run_graph(target=Release, model=model, tools=[lookup]).invoke({"messages": [HumanMessage("x")]})
    assert state["termination"] == "completed"


async def test_a_call_is_told_finished_when_it_ends_not_when_the_turn_does() -> None:
    """The slow call waits until the stream has shown the fast call's end: with the events made from the
    node's update at the end of the turn, it would wait for ever (here: until its 5 s give up)."""
    fast_seen = asyncio.Event()

    async def fast() -> str:
        """Answers at once."""
        return "fast"

    async def slow() -> str:
        """Answers once the fast call was seen to end."""
        try:
            await asyncio.wait_for(fast_seen.wait(), 5)
        except TimeoutError:
            return "gave up"
        return "slow"

    model = ScriptedChatModel(responses=[calls(call("slow"), call("fast")), complete(result="ok")])
    stream = await zyx.arun("x", target=str, model=model, tools=[slow, fast], stream=True)
    order = []
    async for event in stream.aevents():
        if isinstance(event, (ToolCallStarted, ToolCallFinished)):
            order.append(shape(event)[:2])
            if isinstance(event, ToolCallFinished) and event.name == "fast":
                fast_seen.set()
        if isinstance(event, RunFinished):
            assert [c.output for c in event.result.tool_calls] == ["slow", "fast"]
    assert order == [("started", "slow"), ("started", "fast"), ("finished", "fast"), ("finished", "slow")]


def test_a_resumed_turn_does_not_tell_again_what_it_told() -> None:
    """A turn paused by a tool's `interrupt()` runs again on resume: the call that had finished is answered
    from its journal record and told nothing; the paused one is told finished once."""
    def ask_name() -> str:
        """Ask the user's name."""
        return "name is " + interrupt("What is your name?")

    model = ScriptedChatModel(responses=[calls(call("lookup", topic="a"), call("ask_name")), complete()])
    graph = build_run_graph(model=model, tools=[lookup, ask_name], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    first = [shape(e) for e in graph.stream({"messages": [HumanMessage("x")]}, config, stream_mode="custom")]
    assert first == [("turn", 1), ("started", "lookup", {"topic": "a"}), ("started", "ask_name", {}),
                     ("finished", "lookup", None)]
    second = [shape(e) for e in graph.stream(Command(resume="Ada"), config, stream_mode="custom")]
    assert second == [("finished", "ask_name", None), ("turn", 2)]
    state = graph.get_state(config).values
    assert [c["output"] for c in state["tool_calls"]] == ["a: test, build, deploy", "name is Ada"]


def test_plan_mode_tells_the_plan_call_around_its_steps() -> None:
    plan = call("submit_plan", steps=[
        {"id": "s1", "tool": "lookup", "args": {"topic": "a"}},
        {"id": "s2", "tool": "lookup", "args": {"topic": "$s1"}},  # runs after s1: it takes its output
        {"id": "done", "tool": "complete_task", "args": {"summary": "ok"}},
    ])
    model = ScriptedChatModel(responses=[plan])
    graph = build_run_graph(model=model, tools=[lookup], plan=True)
    events = list(graph.stream({"messages": [HumanMessage("x")]}, stream_mode="custom"))
    kinds = [shape(e)[:2] for e in events]
    assert kinds == [("turn", 1), ("started", "submit_plan"), ("started", "lookup"), ("finished", "lookup"),
                     ("started", "lookup"), ("finished", "lookup"), ("finished", "submit_plan")]
    step_ids = [e.id for e in events if isinstance(e, ToolCallStarted) and e.name == "lookup"]
    plan_id = next(e.id for e in events if isinstance(e, ToolCallStarted) and e.name == "submit_plan")
    assert step_ids == [f"{plan_id}/s1", f"{plan_id}/s2"]


def test_a_rejected_plan_is_told_as_a_call_that_failed() -> None:
    bad = call("submit_plan", steps=[{"id": "s1", "tool": "nope", "args": {}}])
    model = ScriptedChatModel(responses=[bad, complete()])
    graph = build_run_graph(model=model, tools=[lookup], plan=True)
    events = list(graph.stream({"messages": [HumanMessage("x")]}, stream_mode="custom"))
    rejected = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [e.name for e in rejected] == ["submit_plan"] and "nope" in (rejected[0].error or "")
