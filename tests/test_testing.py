"""Tests for zyx.testing.ScriptedChatModel and its script helpers."""

from __future__ import annotations

import asyncio
import json
import threading
from operator import add
from typing import Annotated, Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel
from typing_extensions import TypedDict

from zyx.testing import (
    ScriptedCall,
    ScriptedChatModel,
    ScriptExhaustedError,
    call,
    calls,
    complete,
    last_tool_results,
    text,
)


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


def weather_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if not any(isinstance(m, ToolMessage) for m in messages):
        return [call("get_weather", city="LA"), call("get_weather", city="NYC")]
    return complete(summary="Weather fetched", result={"item": "x", "priority": 1})


def _sum(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


LONG_ARGS = {"query": "a fairly long argument value " * 4, "limit": 10}


# -- helpers ---------------------------------------------------------------------------


def test_script_helpers() -> None:
    assert text("hi") == AIMessage(content="hi")
    assert call("f", a=1) == {"name": "f", "args": {"a": 1}, "id": None}
    assert call("f", name="n")["args"] == {"name": "n"}  # `name` is positional-only
    assert [c["name"] for c in calls(call("a"), call("b"))] == ["a", "b"]
    assert complete()["name"] == "complete_task"
    assert complete()["args"] == {"summary": "done", "status": "success"}
    done = complete("ok", result=None, status="failed", evidence=["e"], verification="v")
    assert done["args"] == {
        "summary": "ok",
        "status": "failed",
        "result": None,
        "evidence": ["e"],
        "verification": "v",
    }


def test_last_tool_results() -> None:
    msgs: list[BaseMessage] = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[{"name": "a", "args": {}, "id": "1"}]),
        ToolMessage("old", tool_call_id="1"),
        AIMessage("", tool_calls=[{"name": "a", "args": {}, "id": "2"}, {"name": "b", "args": {}, "id": "3"}]),
        ToolMessage("r2", tool_call_id="2"),
        ToolMessage("r3", tool_call_id="3"),
    ]
    assert [m.content for m in last_tool_results(msgs)] == ["r2", "r3"]
    assert last_tool_results(msgs[:4]) == []
    assert last_tool_results([]) == []


def test_requires_exactly_one_source() -> None:
    with pytest.raises(ValueError):
        ScriptedChatModel()
    with pytest.raises(ValueError):
        ScriptedChatModel(policy=weather_policy, responses=["x"])


# -- responses script ------------------------------------------------------------------


def test_responses_in_order_then_exhausted() -> None:
    model = ScriptedChatModel(responses=["first", text("second"), call("f", x=1)])
    assert model.invoke("q").content == "first"
    assert model.invoke("q").content == "second"
    third = model.invoke("q")
    assert third.tool_calls == [{"name": "f", "args": {"x": 1}, "id": "call_1", "type": "tool_call"}]
    with pytest.raises(ScriptExhaustedError, match="3 response"):
        model.invoke("q")
    with pytest.raises(AssertionError):  # ScriptExhaustedError is an AssertionError
        model.invoke("q")
    assert len(model.calls) == 5


def test_exception_reply_is_raised() -> None:
    model = ScriptedChatModel(responses=[TimeoutError("provider timed out"), "recovered"])
    with pytest.raises(TimeoutError, match="provider timed out"):
        model.invoke("q")
    assert model.invoke("q").content == "recovered"


@pytest.mark.asyncio
async def test_exception_reply_is_raised_async_and_streaming() -> None:
    model = ScriptedChatModel(responses=[ConnectionError("boom"), ConnectionError("boom2")])
    with pytest.raises(ConnectionError, match="boom"):
        await model.ainvoke("q")
    with pytest.raises(ConnectionError, match="boom2"):
        async for _ in model.astream("q"):
            pass


# -- policy ----------------------------------------------------------------------------


def test_policy_sees_messages_and_bound_tools() -> None:
    seen: list[tuple[list[BaseMessage], list[dict[str, Any]]]] = []

    class Plan(BaseModel):
        """A plan."""

        steps: list[str]

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        seen.append((messages, tools))
        return "ok"

    model = ScriptedChatModel(policy=policy)
    openai_dict = {"type": "function", "function": {"name": "raw", "description": "d", "parameters": {}}}
    bound = model.bind_tools([get_weather, Plan, openai_dict], tool_choice="auto")
    bound.invoke([HumanMessage("hello")])

    messages, tools = seen[0]
    assert [m.content for m in messages] == ["hello"]
    assert [t["function"]["name"] for t in tools] == ["get_weather", "Plan", "raw"]
    assert tools[0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    assert model.calls[0].tools == ["get_weather", "Plan", "raw"]
    assert model.calls[0].tool_choice == "auto"
    assert isinstance(model.calls[0], ScriptedCall)

    model.invoke("unbound")
    assert seen[1][1] == [] and model.calls[1].tools == []


def test_invoke_returns_tool_calls_with_unique_ids() -> None:
    model = ScriptedChatModel(policy=weather_policy).bind_tools([get_weather])
    first = model.invoke([HumanMessage("weather?")])
    assert [tc["args"] for tc in first.tool_calls] == [{"city": "LA"}, {"city": "NYC"}]
    assert [tc["id"] for tc in first.tool_calls] == ["call_1", "call_2"]

    history = [
        HumanMessage("weather?"),
        first,
        *(ToolMessage("sunny", tool_call_id=tc["id"]) for tc in first.tool_calls),
    ]
    second = model.invoke(history)
    assert second.tool_calls[0]["name"] == "complete_task"
    assert second.tool_calls[0]["id"] == "call_3"
    assert second.tool_calls[0]["args"]["result"] == {"item": "x", "priority": 1}


def test_aimessage_reply_keeps_explicit_ids() -> None:
    msg = AIMessage("thinking", tool_calls=[{"name": "f", "args": {}, "id": "mine"}])
    out = ScriptedChatModel(responses=[msg]).invoke("q")
    assert out.content == "thinking" and out.tool_calls[0]["id"] == "mine"
    assert msg.usage_metadata is None  # the scripted message itself is not mutated


def test_usage_and_response_metadata() -> None:
    model = ScriptedChatModel(responses=["x" * 40, call("f", q="y" * 100)], model_name="fake-1")
    reply = model.invoke("z" * 80)
    assert reply.usage_metadata == {"input_tokens": 21, "output_tokens": 11, "total_tokens": 32}
    assert reply.response_metadata["model_name"] == "fake-1"
    streamed = _sum(list(model.stream("z" * 80)))
    usage = streamed.usage_metadata
    assert usage is not None and usage["output_tokens"] > 25
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert streamed.response_metadata["model_name"] == "fake-1"


@pytest.mark.asyncio
async def test_async_policy() -> None:
    async def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        await asyncio.sleep(0)
        return call("f", n=len(messages))

    model = ScriptedChatModel(policy=policy, latency=0.01)
    reply = await model.ainvoke([HumanMessage("a"), HumanMessage("b")])
    assert reply.tool_calls[0]["args"] == {"n": 2}
    assert model.invoke("sync path too").tool_calls[0]["args"] == {"n": 1}  # runs the coroutine
    assert len(model.calls) == 2


def test_concurrent_calls_get_distinct_ids() -> None:
    model = ScriptedChatModel(policy=lambda m, t: call("f"))
    ids: list[str] = []

    def worker() -> None:
        for _ in range(20):
            ids.append(model.invoke("q").tool_calls[0]["id"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 80 and len(model.calls) == 80


# -- streaming -------------------------------------------------------------------------


def _script() -> list[Any]:
    return [AIMessage("Let me look that up for you.", tool_calls=[call("search", **LONG_ARGS), call("f", a=1)])]


def test_stream_reassembles_identical_message() -> None:
    expected = ScriptedChatModel(responses=_script(), chunk_size=5).invoke("q")
    chunks = list(ScriptedChatModel(responses=_script(), chunk_size=5).stream("q"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    total = _sum(chunks)
    assert total.content == expected.content == "Let me look that up for you."
    assert total.tool_calls == expected.tool_calls
    assert total.usage_metadata == expected.usage_metadata
    assert chunks[-1].chunk_position == "last"

    arg_chunks = [c for c in chunks if c.tool_call_chunks and c.tool_call_chunks[0]["index"] == 0]
    assert len(arg_chunks) > 5  # the long args JSON really is split across chunks
    assert arg_chunks[0].tool_call_chunks[0]["name"] == "search"
    assert arg_chunks[0].tool_call_chunks[0]["id"] == "call_1"
    assert all(c.tool_call_chunks[0]["name"] is None for c in arg_chunks[1:])
    assert "".join(c.tool_call_chunks[0]["args"] for c in arg_chunks) == json.dumps(LONG_ARGS)
    assert all(len(c.content) <= 5 for c in chunks)


@pytest.mark.asyncio
async def test_astream_reassembles_identical_message() -> None:
    expected = await ScriptedChatModel(responses=_script()).ainvoke("q")
    chunks = [c async for c in ScriptedChatModel(responses=_script()).astream("q")]
    total = _sum(chunks)
    assert total.content == expected.content
    assert total.tool_calls == expected.tool_calls
    assert sum(1 for c in chunks if c.tool_call_chunks) > 5
    assert sum(1 for c in chunks if c.content) > 1


def _with_invalid_call() -> AIMessage:
    return AIMessage("", tool_calls=[call("f", a=1)], invalid_tool_calls=[
        {"type": "invalid_tool_call", "name": "g", "args": "not json", "id": None, "error": "bad JSON"}])


@pytest.mark.asyncio
async def test_stream_keeps_invalid_tool_calls_like_a_provider() -> None:
    """A provider streams unparseable arguments as tool-call chunks; merged, they are invalid_tool_calls."""
    expected = ScriptedChatModel(responses=[_with_invalid_call()]).invoke("q")
    assert [tc["id"] for tc in [*expected.tool_calls, *expected.invalid_tool_calls]] == ["call_1", "call_2"]
    for chunks in (list(ScriptedChatModel(responses=[_with_invalid_call()], chunk_size=3).stream("q")),
                   [c async for c in ScriptedChatModel(responses=[_with_invalid_call()], chunk_size=3).astream("q")]):
        total = _sum(chunks)
        assert total.tool_calls == expected.tool_calls
        assert total.invalid_tool_calls == [{"type": "invalid_tool_call", "name": "g", "args": "not json",
                                             "id": "call_2", "error": None}]  # a merged stream has no error text


def test_a_streamed_run_answers_an_invalid_tool_call() -> None:
    import zyx

    def f(a: int) -> int:
        """Echo a."""
        return a

    model = ScriptedChatModel(responses=[_with_invalid_call(), complete("done", result=1)])
    stream = zyx.run("Call f.", int, tools=[f], model=model, stream=True)
    list(stream.events())
    result = stream.finish()
    answers = {m.tool_call_id: m for m in result.messages if isinstance(m, ToolMessage)}
    assert answers["call_2"].status == "error" and "not json" in str(answers["call_2"].content)
    assert answers["call_1"].status == "success"


def test_ids_skip_those_the_conversation_already_holds() -> None:
    """A fresh model continuing a conversation (a resumed run) never repeats an earlier turn's id."""
    history = [HumanMessage("q"), AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "call_1"},
                                                             {"name": "f", "args": {}, "id": "call_2"}]),
               ToolMessage("1", tool_call_id="call_1"), ToolMessage("2", tool_call_id="call_2"),
               AIMessage("", invalid_tool_calls=[{"type": "invalid_tool_call", "name": "f", "args": "x",
                                                  "id": "call_4", "error": None}]),
               ToolMessage("bad", tool_call_id="call_4", status="error")]
    model = ScriptedChatModel(policy=lambda messages, tools: calls(call("f"), call("f")))
    assert [tc["id"] for tc in model.invoke(history).tool_calls] == ["call_3", "call_5"]
    assert [tc["id"] for tc in model.invoke([HumanMessage("new")]).tool_calls] == ["call_6", "call_7"]


def test_a_resumed_run_has_no_duplicate_tool_call_ids() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    import zyx

    seen: list[int] = []

    def record(n: int) -> int:
        """Record n."""
        seen.append(n)
        return n

    options: dict[str, Any] = {"tools": [record], "checkpointer": InMemorySaver(), "thread_id": "t"}
    with pytest.raises(zyx.ModelError):
        zyx.run("Go.", model=ScriptedChatModel(responses=[call("record", n=1), PermissionError("revoked")]),
                **options)
    result = zyx.run(None, model=ScriptedChatModel(responses=[call("record", n=2), complete("ok")]), **options)
    ids = [tc["id"] for m in result.messages if isinstance(m, AIMessage) for tc in m.tool_calls]
    assert len(ids) == 3 and len(set(ids)) == 3, ids
    assert seen == [1, 2]


# -- structured output -----------------------------------------------------------------


class Verdict(BaseModel):
    """Decide whether the answer is correct."""

    correct: bool
    reason: str


def test_with_structured_output_pydantic() -> None:
    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        assert [t["function"]["name"] for t in tools] == ["Verdict"]
        return call("Verdict", correct=True, reason="matches")

    model = ScriptedChatModel(policy=policy)
    assert model.with_structured_output(Verdict).invoke("is 2+2=4?") == Verdict(correct=True, reason="matches")
    raw = model.with_structured_output(Verdict, include_raw=True).invoke("again")
    assert isinstance(raw["raw"], AIMessage) and raw["parsed"] == Verdict(correct=True, reason="matches")
    assert model.calls[0].tool_choice == "any"


@pytest.mark.asyncio
async def test_with_structured_output_async() -> None:
    model = ScriptedChatModel(responses=[call("Verdict", correct=False, reason="no")])
    assert await model.with_structured_output(Verdict).ainvoke("q") == Verdict(correct=False, reason="no")


# -- LangGraph -------------------------------------------------------------------------


class State(TypedDict):
    messages: Annotated[list[BaseMessage], add]


@pytest.mark.asyncio
async def test_langgraph_messages_stream_sees_tool_call_chunks() -> None:
    model = ScriptedChatModel(policy=weather_policy, chunk_size=4)
    bound = model.bind_tools([get_weather])
    finished: list[bool] = []

    async def agent(state: State) -> dict[str, Any]:
        reply = await bound.ainvoke(state["messages"])
        finished.append(True)
        return {"messages": [reply]}

    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    graph = builder.compile()

    streamed: list[AIMessageChunk] = []
    live = 0  # chunks delivered while the model call was still running
    async for message, metadata in graph.astream(
        {"messages": [HumanMessage("weather?")]}, stream_mode="messages"
    ):
        assert metadata["langgraph_node"] == "agent"
        if isinstance(message, AIMessageChunk):
            streamed.append(message)
            live += not finished

    with_tool_chunks = [c for c in streamed if c.tool_call_chunks]
    assert len(with_tool_chunks) > 4
    assert live > 4
    assert [tc["args"] for tc in _sum(streamed).tool_calls] == [{"city": "LA"}, {"city": "NYC"}]
    assert len(model.calls) == 1 and model.calls[0].tools == ["get_weather"]


def test_langgraph_sync_stream_messages() -> None:
    model = ScriptedChatModel(responses=["a streamed final answer from the model"])

    def agent(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    graph = builder.compile()
    chunks = [m for m, _ in graph.stream({"messages": [HumanMessage("q")]}, stream_mode="messages")]
    assert len(chunks) > 3
    assert "".join(str(c.content) for c in chunks) == "a streamed final answer from the model"
