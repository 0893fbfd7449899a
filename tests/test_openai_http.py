"""The real ChatOpenAI client against the scripted OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import json

import openai
import pytest
from langchain_core.exceptions import ModelAPIError, ModelAuthenticationError, ModelRateLimitError
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from openai_server import OpenAIServer, Reply, error, malformed, reply


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


def chat(srv: OpenAIServer, *, max_retries: int = 0, stream_usage: bool = False) -> ChatOpenAI:
    """A stock ChatOpenAI pointed at the scripted server."""
    return ChatOpenAI(
        base_url=srv.base_url, api_key="test", model="gpt-test", max_retries=max_retries, stream_usage=stream_usage
    )


def test_tool_calls_are_parsed_and_tools_are_sent() -> None:
    calls = [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})]
    with OpenAIServer([reply(tool_calls=calls)]) as srv:
        message = chat(srv).bind_tools([get_weather]).invoke("Weather in Paris and Oslo?")

    assert isinstance(message, AIMessage)
    assert [(c["name"], c["args"]) for c in message.tool_calls] == calls
    assert all(c["id"] for c in message.tool_calls)
    assert message.response_metadata["finish_reason"] == "tool_calls"
    sent = srv.requests[0]
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather"]
    assert sent["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert sent["messages"] == [{"role": "user", "content": "Weather in Paris and Oslo?"}]
    assert "stream" not in sent or sent["stream"] is False


def test_tool_history_is_sent_in_openai_wire_format() -> None:
    history = [
        HumanMessage("Weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}]),
        ToolMessage("sunny", tool_call_id="call_1"),
    ]
    with OpenAIServer([reply("It is sunny.")]) as srv:
        answer = chat(srv).bind_tools([get_weather]).invoke(history)

    assert answer.content == "It is sunny."
    assistant, tool_result = srv.requests[0]["messages"][1:]
    assert assistant["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}
    assert tool_result == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}


@pytest.mark.asyncio
async def test_streamed_tool_call_deltas_reassemble() -> None:
    args = {"city": "Rio de Janeiro", "unit": "celsius"}
    with OpenAIServer([reply(tool_calls=[("get_weather", args)], fragment=3)]) as srv:
        chunks = [c async for c in chat(srv).bind_tools([get_weather]).astream("Weather in Rio?")]

    fragments = [c for c in chunks if c.tool_call_chunks]
    assert len(fragments) > 5  # the arguments really arrived in several pieces
    assert fragments[0].tool_call_chunks[0]["name"] == "get_weather"
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert isinstance(merged, AIMessageChunk)
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("get_weather", args)]
    assert srv.requests[0]["stream"] is True


def test_stream_usage_is_reported() -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    with OpenAIServer([reply("Hello there, friend.", usage=usage)]) as srv:
        chunks = list(chat(srv, stream_usage=True).stream("Hi"))

    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.content == "Hello there, friend."
    assert merged.usage_metadata is not None
    assert (merged.usage_metadata["input_tokens"], merged.usage_metadata["output_tokens"]) == (11, 7)
    assert srv.requests[0]["stream_options"] == {"include_usage": True}


def test_rate_limit_is_retried_by_the_client() -> None:
    with OpenAIServer([error(429, "slow down"), reply("ok")]) as srv:
        answer = chat(srv, max_retries=2).invoke("Hi")

    assert answer.content == "ok"
    assert len(srv.requests) == 2


def test_persistent_server_error_raises_after_retries() -> None:
    always_500 = OpenAIServer(lambda request: error(500, "boom"))
    with always_500 as srv, pytest.raises(openai.InternalServerError) as caught:
        chat(srv, max_retries=2).invoke("Hi")

    assert len(srv.requests) == 3  # first try + 2 retries
    assert isinstance(caught.value, ModelAPIError)  # langchain-openai's OpenAIAPIError is both
    assert caught.value.status_code == 500


def test_rate_limit_exhausted_raises_rate_limit_error() -> None:
    with OpenAIServer(lambda request: error(429)) as srv, pytest.raises(openai.RateLimitError) as caught:
        chat(srv, max_retries=1).invoke("Hi")
    assert isinstance(caught.value, ModelRateLimitError)
    assert len(srv.requests) == 2


def test_auth_error_is_not_retried() -> None:
    always_401 = OpenAIServer(lambda request: error(401, "bad key"))
    with always_401 as srv, pytest.raises(openai.AuthenticationError) as caught:
        chat(srv, max_retries=3).invoke("Hi")
    assert isinstance(caught.value, ModelAuthenticationError)
    assert len(srv.requests) == 1


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (malformed("{not json"), json.JSONDecodeError),  # raised as-is, not wrapped by openai
        (malformed("{}"), TypeError),  # langchain-openai: "null value for 'choices'"
        (malformed("data: {bad\n\n", content_type="text/event-stream"), json.JSONDecodeError),
    ],
)
def test_malformed_response_raises(bad: Reply, expected: type[Exception]) -> None:
    with OpenAIServer([bad]) as srv:
        model = chat(srv)
        with pytest.raises(expected):
            if bad.content_type == "text/event-stream":
                list(model.stream("Hi"))
            else:
                model.invoke("Hi")


def test_exhausted_script_answers_500() -> None:
    with OpenAIServer([]) as srv, pytest.raises(openai.InternalServerError, match="script exhausted"):
        chat(srv).invoke("Hi")
