"""Outside attack on #24's refactor (make() on the run graph, RunScope, nodes telling their events): the
behaviours probed that held, pinned so a later change cannot lose them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, interrupt
from pydantic import BaseModel

import zyx
from zyx.errors import ConfigurationError, MaxStepsExceededError
from zyx.graph import build_run_graph
from zyx.testing import ScriptedChatModel, call, complete


class Person(BaseModel):
    name: str
    age: int


def final_result(**args: Any) -> dict[str, Any]:
    return {"name": "final_result", "args": args, "id": None}


@pytest.mark.parametrize(("option", "value"), [("timeout", -1), ("tool_timeout", "x"), ("max_model_calls", 0),
                                               ("max_retries", -1)])
def test_make_names_a_bad_loop_option(option: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        zyx.make(int, "x", model=ScriptedChatModel(responses=[final_result(result=3)]), **{option: value})
    assert info.value.argument == option


def test_make_tool_limits_name_an_unknown_tool() -> None:
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    with pytest.raises(ConfigurationError) as info:
        zyx.make(int, "x", tools=[add], tool_limits={"nope": 1},
                 model=ScriptedChatModel(responses=[final_result(result=3)]))
    assert info.value.argument == "tool_limits" and "add" in str(info.value)


def test_make_max_steps_ends_with_a_typed_error_when_the_wrap_up_turn_does_not_answer() -> None:
    def boom(x: int) -> int:
        """Fails."""
        raise ValueError("kaboom")

    model = ScriptedChatModel(responses=[call("boom", x=1), call("boom", x=1), final_result(result=3)])
    with pytest.raises(MaxStepsExceededError):
        zyx.make(int, "x", tools=[boom], max_steps=1, model=model)


def test_streamed_make_tells_each_tool_call_and_the_rejected_answer_once() -> None:
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    model = ScriptedChatModel(responses=[call("add", a=1, b=2), final_result(name="a"), final_result(name="a", age=3)])
    stream = zyx.make(Person, "x", tools=[add], stream=True, model=model)
    kinds = [type(e).__name__ for e in stream.events() if type(e).__name__ != "PartialOutput"]
    assert kinds == ["ModelTurnStarted", "ToolCallStarted", "ToolCallFinished", "ModelTurnStarted",
                     "CompletionRejected", "ModelTurnStarted", "RunFinished"]
    assert stream.finish().output == Person(name="a", age=3)


def test_graph_custom_stream_tells_events_once_across_approval_and_tool_interrupt_resumes() -> None:
    ran: list[int] = []

    def add(a: int, b: int) -> int:
        """Add."""
        ran.append(1)
        return a + b

    def ask(q: str) -> str:
        """Ask a human."""
        return interrupt(q)

    graph = build_run_graph(target=int, tools=[add, ask], approve=["add"], checkpointer=InMemorySaver(),
                            model=ScriptedChatModel(responses=[[call("add", a=1, b=2), call("ask", q="?")],
                                                               complete(result=3)]))
    config: Any = {"configurable": {"thread_id": "t"}}
    told: list[tuple[str, str]] = []
    for run_input in ({"messages": [HumanMessage("t")]}, Command(resume={"call_1": "approve"}), Command(resume="bob")):
        for event in graph.stream(run_input, config, stream_mode="custom"):
            told.append((type(event).__name__, getattr(event, "id", "")))
    assert told == [("ModelTurnStarted", ""), ("ToolCallStarted", "call_1"), ("ToolCallStarted", "call_2"),
                    ("ToolCallFinished", "call_1"), ("ToolCallFinished", "call_2"), ("ModelTurnStarted", "")]
    state = graph.get_state(config).values
    assert ran == [1] and [t["output"] for t in state["tool_calls"]] == [3, "bob"]
    assert state["completion"]["result"] == 3


async def test_concurrent_amake_calls_keep_their_own_tool_values() -> None:
    async def one(i: int) -> bool:
        def tool(x: int) -> Person:
            """A person."""
            return Person(name=f"n{i}", age=x)

        model = ScriptedChatModel(responses=[call("tool", x=i), final_result(name=f"n{i}", age=i)])
        result = await zyx.amake(Person, f"x{i}", tools=[tool], model=model)
        return result.output == Person(name=f"n{i}", age=i)

    assert all(await asyncio.gather(*(one(i) for i in range(10))))


def test_make_with_a_tool_that_pauses_names_tools_not_a_checkpointer_it_cannot_take() -> None:
    """Before #24 make()'s own loop fed interrupt() back as a tool error; on the run graph it pauses the run,
    and the error told the user to pass checkpointer=... and thread_id=..., which make() refuses."""

    def ask(question: str) -> str:
        """Ask a human."""
        return interrupt(question)

    for how in ("make", "stream", "run(None)"):
        model = ScriptedChatModel(responses=[call("ask", question="?"), "done"])
        with pytest.raises(ConfigurationError) as info:
            if how == "make":
                zyx.make(str, "x", tools=[ask], model=model)
            elif how == "stream":
                zyx.make(str, "x", tools=[ask], model=model, stream=True).finish()
            else:
                zyx.run(None, str, "x", tools=[ask], model=model)
        assert info.value.argument == "tools" and "make() cannot pause" in str(info.value)
        with pytest.raises(ConfigurationError):  # what the message once suggested is refused
            zyx.make(str, "x", tools=[ask], model=model, checkpointer=InMemorySaver(), thread_id="t")  # type: ignore[call-arg]


def test_interrupt_in_a_plan_step_pauses_the_run() -> None:
    asked: list[str] = []

    def ask(question: str) -> str:
        """Ask a human."""
        asked.append(question)
        return interrupt(question)

    saver = InMemorySaver()
    steps = [{"id": "s1", "tool": "ask", "args": {"question": "name?"}},
             {"id": "done", "tool": "complete_task", "args": {"summary": "done", "result": "$s1"}}]
    model = ScriptedChatModel(responses=[call("submit_plan", steps=steps), complete(result="x")])
    result = zyx.run("Ask for a name.", str, tools=[ask], plan=True, model=model, checkpointer=saver,
                     thread_id="plan-pause")
    assert result.interrupted and [i.value for i in result.interrupts] == ["name?"]
    (question,) = result.interrupts
    resumed = zyx.run(None, str, tools=[ask], plan=True, model=model, checkpointer=saver, thread_id="plan-pause",
                      decisions={question.id: "Ann"})
    assert resumed.output == "Ann" and asked == ["name?", "name?"]  # asked once, answered on resume
    assert [c.output for c in resumed.tool_calls] == ["Ann"]


def test_a_plan_paused_by_a_step_does_not_run_its_finished_steps_again() -> None:
    """Steps that finished before a step's interrupt() are not run again on resume (the journal serves them)."""
    ran: list[str] = []

    def charge(amount: int) -> str:
        """Charge the card."""
        ran.append(f"charge{amount}")
        return f"charged {amount}"

    def confirm(what: str) -> str:
        """Ask a human to confirm."""
        return str(interrupt(f"confirm {what}?"))

    saver = InMemorySaver()
    steps = [{"id": "c", "tool": "charge", "args": {"amount": 5}},
             {"id": "ok", "tool": "confirm", "args": {"what": "$c"}},
             {"id": "done", "tool": "complete_task", "args": {"summary": "done", "result": "$ok"}}]
    model = ScriptedChatModel(responses=[call("submit_plan", steps=steps), complete(result="x")])
    options: dict[str, Any] = {"tools": [charge, confirm], "plan": True, "model": model, "checkpointer": saver,
                               "thread_id": "plan-journal"}
    paused = zyx.run("Charge, then confirm.", str, **options)
    assert paused.interrupted and [i.value for i in paused.interrupts] == ["confirm charged 5?"]
    resumed = zyx.run(None, str, decisions={paused.interrupts[0].id: "yes"}, **options)
    assert resumed.output == "yes" and ran == ["charge5"]  # charged once
