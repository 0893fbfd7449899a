"""`zyx.run()` on `model="openai:gpt-4o-mini"`: the real ChatOpenAI over real HTTP, against the scripted server.

The model string is resolved by zyx itself (OPENAI_BASE_URL / OPENAI_API_KEY from the
environment), so these tests cover what a user with a key gets: tool binding, the tool-result
round trip, streamed tool-call deltas becoming partial targets, usage, retries and errors.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai_server import OpenAIServer, Reply, error, malformed, reply

import zyx
import zyx._faults
from zyx.events import ModelTurnStarted, PartialOutput, RunFinished, ToolCallFinished, ToolCallStarted

MODEL = "openai:gpt-4o-mini"


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


def complete(summary: str = "Done.", result: Any = None, **kw: Any) -> Reply:
    args: dict[str, Any] = {"summary": summary, "status": "success"}
    if result is not None:
        args["result"] = result
    return reply(tool_calls=[("complete_task", args)], **kw)


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a scripted server and point zyx's OpenAI settings at it; zyx's own backoff made tiny."""
    monkeypatch.setattr(zyx._faults, "BACKOFF_BASE", 0.001)
    servers: list[OpenAIServer] = []

    def start(script: Any) -> OpenAIServer:
        srv = OpenAIServer(script).__enter__()
        servers.append(srv)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        return srv

    yield start
    for srv in servers:
        srv.__exit__(None, None, None)


def test_tool_call_then_completion(serve: Any) -> None:
    srv = serve([reply(tool_calls=[("get_weather", {"city": "Paris"})], usage=usage(100, 10)),
                 complete("Paris is sunny.", usage=usage(130, 12))])
    result = zyx.run("What is the weather in Paris?", model=MODEL, tools=[get_weather])

    assert result.completion is not None
    assert (result.completion.status, result.completion.summary) == ("success", "Paris is sunny.")
    assert result.output is None and result.termination == "completed"
    assert result.model == "gpt-4o-mini"
    [call] = result.tool_calls
    assert (call.name, call.args, call.output, call.error) == ("get_weather", {"city": "Paris"}, "sunny in Paris", None)
    assert result.usage == {"input_tokens": 230, "output_tokens": 22, "total_tokens": 252}

    first, second = srv.requests
    assert first["model"] == "gpt-4o-mini" and not first.get("stream")
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather", "complete_task"]
    weather = first["tools"][0]["function"]
    assert weather["description"] == "Get the current weather for a city."
    assert weather["parameters"]["required"] == ["city"]
    assert first["messages"][0]["role"] == "system" and "complete_task" in first["messages"][0]["content"]
    assert first["messages"][1:] == [{"role": "user", "content": "What is the weather in Paris?"}]
    # the tool call went back as the assistant turn, answered by its tool result
    assistant, tool_result = second["messages"][-2:]
    [sent_call] = assistant["tool_calls"]
    assert sent_call["function"] == {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}
    assert tool_result == {"role": "tool", "content": "sunny in Paris", "tool_call_id": sent_call["id"]}
    assert second["tools"] == first["tools"]


def test_default_model_is_openai_when_a_key_is_set(serve: Any) -> None:
    srv = serve([complete("Hi.")])
    result = zyx.run("Say hi.")
    assert result.model == "gpt-4o-mini"
    assert srv.requests[0]["model"] == "gpt-4o-mini"


def test_stream_partials_from_real_tool_call_deltas(serve: Any) -> None:
    colours = ["crimson", "forest green", "navy blue", "goldenrod"]
    srv = serve([reply(tool_calls=[("get_weather", {"city": "Rome"})], usage=usage(90, 8)),
                 complete("Four colours.", result=colours, fragment=2, usage=usage(120, 30))])
    stream = zyx.run("Name four colours, after checking the weather in Rome.", model=MODEL, tools=[get_weather],
                     target=list[str], stream=True)
    partials = [copy.deepcopy(p) for p in stream.partial()]
    result = stream.finish()

    assert len({json.dumps(p) for p in partials}) >= 5  # many distinct partial lists, growing
    assert all(isinstance(p, list) for p in partials)
    assert partials[-1] == colours
    assert result.output == colours
    assert [c.output for c in result.tool_calls] == ["sunny in Rome"]
    assert all(r["stream"] is True and r["stream_options"] == {"include_usage": True} for r in srv.requests)
    assert result.usage == {"input_tokens": 210, "output_tokens": 38, "total_tokens": 248}  # summed from streams
    result_schema = next(t for t in srv.requests[0]["tools"] if t["function"]["name"] == "complete_task")
    assert result_schema["function"]["parameters"]["properties"]["result"]["items"] == {"type": "string"}


def test_stream_events_in_order(serve: Any) -> None:
    serve([reply(tool_calls=[("get_weather", {"city": "Rome"})]), complete("Two.", result=["a", "b"])])
    with zyx.run("Go.", model=MODEL, tools=[get_weather], target=list[str], stream=True) as stream:
        events = list(stream.events())

    kinds = [type(e).__name__ for e in events if not isinstance(e, PartialOutput)]
    assert kinds[:4] == ["ModelTurnStarted", "ToolCallStarted", "ToolCallFinished", "ModelTurnStarted"]
    assert kinds[-1] == "RunFinished"
    assert [e.turn for e in events if isinstance(e, ModelTurnStarted)] == [1, 2]
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert (started.name, started.args, finished.id, finished.error) == ("get_weather", {"city": "Rome"}, started.id, None)
    assert any(isinstance(e, PartialOutput) for e in events)
    assert isinstance(events[-1], RunFinished) and events[-1].result.output == ["a", "b"]


def test_rate_limit_then_success(serve: Any) -> None:
    srv = serve([error(429, "slow down"), complete("Done.")])
    result = zyx.run("Do it.", model=MODEL)
    assert result.completion is not None and result.completion.status == "success"
    assert len(srv.requests) == 2  # zyx's second attempt (the client itself does not retry)


def test_rate_limits_are_retried_by_zyx_alone(serve: Any) -> None:
    srv = serve([error(429)] * 2 + [complete("Done.")])
    result = zyx.run("Do it.", model=MODEL)
    assert result.completion is not None and result.completion.status == "success"
    assert len(srv.requests) == 3  # zyx's three attempts


def test_a_persistent_rate_limit_costs_three_requests_in_all(serve: Any) -> None:
    srv = serve(lambda request: error(429, "slow down"))
    with pytest.raises(zyx.ModelError, match="failed after 3 attempts"):
        zyx.run("Do it.", model=MODEL)
    assert len(srv.requests) == 3  # not 3 zyx attempts x 3 client tries


def test_persistent_server_error_is_a_model_error(serve: Any) -> None:
    srv = serve(lambda request: error(500, "boom"))
    with pytest.raises(zyx.ModelError) as caught:
        zyx.run("Do it.", model=MODEL)

    exc = caught.value
    assert exc.provider == "openai" and exc.model == "gpt-4o-mini"
    assert "openai model 'gpt-4o-mini' failed after 3 attempts" in str(exc) and "boom" in str(exc)
    assert len(srv.requests) == 3  # zyx's 3 attempts; the client zyx builds does not retry on its own
    assert [m.type for m in exc.messages] == ["human"]  # the history so far comes with the error
    assert isinstance(exc, zyx.RunError)


def test_persistent_server_error_while_streaming(serve: Any) -> None:
    serve(lambda request: error(503, "overloaded"))
    stream = zyx.run("Do it.", model=MODEL, target=list[str], stream=True)
    with pytest.raises(zyx.ModelError, match="failed after 3 attempts") as caught:
        stream.finish()
    assert caught.value.provider == "openai"


def test_auth_error_fails_fast(serve: Any) -> None:
    srv = serve(lambda request: error(401, "bad key"))
    with pytest.raises(zyx.ModelError) as caught:
        zyx.run("Do it.", model=MODEL)
    assert len(srv.requests) == 1  # neither the client nor zyx retries a 401
    assert (caught.value.provider, caught.value.model) == ("openai", "gpt-4o-mini")
    assert "failed:" in str(caught.value) and "bad key" in str(caught.value)
    assert "attempts" not in str(caught.value)


@pytest.mark.parametrize(
    ("bad", "stream", "cause"),
    [
        (malformed("{not json"), False, json.JSONDecodeError),
        (malformed("{}"), False, TypeError),  # langchain-openai: "null value for 'choices'"
        (malformed("data: {bad\n\n", content_type="text/event-stream"), True, json.JSONDecodeError),
        (malformed("{}"), True, ValueError),  # a JSON body where a stream was expected: "No generations found"
    ],
    ids=["bad-json", "no-choices", "bad-sse", "not-a-stream"],
)
def test_malformed_response_is_a_model_error(serve: Any, bad: Reply, stream: bool, cause: type[Exception]) -> None:
    srv = serve([bad])
    with pytest.raises(zyx.ModelError) as caught:
        if stream:
            zyx.run("Do it.", model=MODEL, target=list[str], stream=True).finish()
        else:
            zyx.run("Do it.", model=MODEL)
    assert isinstance(caught.value.__cause__, cause)  # the raw parse error is kept as the cause, not raised
    assert caught.value.provider == "openai" and caught.value.model == "gpt-4o-mini"
    assert len(srv.requests) == 1


def test_missing_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(zyx.ConfigurationError, match="OPENAI_API_KEY"):
        zyx.run("Do it.", model=MODEL)


def test_models_zyx_builds_through_init_chat_model_do_not_retry_on_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from zyx._models import resolve_model

    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "test")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    model = resolve_model("azure_openai:gpt-4o")
    assert model.max_retries == 0  # type: ignore[attr-defined]
    assert model.async_client._client.max_retries == 0  # type: ignore[attr-defined]
