"""zyx's envelope protocol on any OpenAI-compatible server: `ChatEnvelope` and `model="envelope:<model>@<url>"`.

The scripted server checks what is sent (a `json_schema` response format, no native `tools`) and that
answers become tool calls; a real llama.cpp server, started on 127.0.0.1 by the test (xllamacpp's) and
reached only over HTTP like any other endpoint, checks that its constrained decoding honours the envelope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import local_model_unavailable
from openai_server import OpenAIServer, reply

import zyx
from zyx import ChatEnvelope, ConfigurationError
from zyx._models import resolve_model


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"{city}: 64F and rainy"


def envelope(name: str, arguments: dict[str, Any]) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def test_a_run_over_a_scripted_server_sends_the_envelope_and_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    script = [reply(envelope("get_weather", {"city": "Paris"})),
              reply(envelope("complete_task", {"result": None, "summary": "Paris: 64F and rainy", "status": "success"}))]
    with OpenAIServer(script) as srv:
        result = zyx.run("Weather in Paris?", tools=[get_weather], model=f"envelope:qwen2.5:0.5b@{srv.base_url}")
    assert result.completion is not None and result.completion.summary == "Paris: 64F and rainy"
    assert [r.name for r in result.tool_calls] == ["get_weather"]
    first = srv.requests[0]
    assert first["model"] == "qwen2.5:0.5b"  # a model name may hold ":" (Ollama's tags)
    assert "tools" not in first and first["response_format"]["type"] == "json_schema"
    schema = first["response_format"]["json_schema"]["schema"]
    one, several = schema["anyOf"]  # one call envelope, or an array of them
    assert several == {"type": "array", "items": one, "minItems": 1}
    assert [b["properties"]["name"]["const"] for b in one["anyOf"]] == ["get_weather", "complete_task"]
    assert "- get_weather(city)" in first["messages"][0]["content"]


def test_the_model_string_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZYX_ENVELOPE_API_KEY", raising=False)
    model = resolve_model("envelope:llama@http://127.0.0.1:8080/v1")
    assert isinstance(model, ChatEnvelope) and model.model_name == "llama"
    assert model.openai_api_base == "http://127.0.0.1:8080/v1"
    assert model.openai_api_key is not None and model.openai_api_key.get_secret_value() == "none"
    monkeypatch.setenv("ZYX_ENVELOPE_API_KEY", "sk-local")  # only this key is sent: never OPENAI_API_KEY
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    keyed = resolve_model("envelope:llama@http://127.0.0.1:8080/v1")
    assert keyed.openai_api_key.get_secret_value() == "sk-local"  # type: ignore[union-attr]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    from_env = resolve_model("envelope:qwen2.5:0.5b")
    assert from_env.openai_api_base == "http://127.0.0.1:11434/v1" and from_env.model_name == "qwen2.5:0.5b"


@pytest.mark.parametrize("spec", ["envelope:", "envelope:llama@localhost:8080", "envelope:@http://127.0.0.1:1/v1"])
def test_a_bad_envelope_string_is_a_configuration_error(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="^model: expected 'envelope:<model>@<base_url>'"):
        resolve_model(spec)


def test_a_chat_envelope_object_is_a_model_like_any_other() -> None:
    script = [reply(envelope("complete_task", {"result": 3, "summary": "three", "status": "success"}))]
    with OpenAIServer(script) as srv:
        model = ChatEnvelope(base_url=srv.base_url, api_key="none", model="any", max_retries=0)
        assert zyx.run("How many sides has a triangle?", target=int, model=model).output == 3
    assert srv.requests[0]["response_format"]["json_schema"]["strict"] is True


# ---- a real llama.cpp server on 127.0.0.1 ----

UNAVAILABLE = local_model_unavailable("local:smollm2")


@pytest.fixture(scope="module")
def llama_server() -> Iterator[Any]:
    from zyx._local import LocalServer, resolve_local_model

    server = LocalServer(resolve_local_model("local:smollm2"), max_tokens=256)
    server.start()
    yield server
    server.stop()


@pytest.mark.local
@pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")
def test_a_llama_cpp_server_answers_every_turn_with_valid_calls(llama_server: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.messages import AIMessage

    monkeypatch.setenv("ZYX_ENVELOPE_API_KEY", llama_server.api_key)
    model = resolve_model(f"envelope:smollm2@{llama_server.base_url}")
    assert type(model) is ChatEnvelope  # reached over HTTP like any server, not as the embedded model
    result = zyx.run("What is the weather in Paris?", tools=[get_weather], model=model, max_model_calls=3,
                     require_completion=False)
    replies = [m for m in result.messages if isinstance(m, AIMessage)]
    assert replies, "the server answered no turn"
    for message in replies:  # constrained decoding: every tooled turn is a well-formed call of a bound tool
        assert not message.invalid_tool_calls, message.invalid_tool_calls
        assert message.tool_calls and {c["name"] for c in message.tool_calls} <= {"get_weather", "complete_task"}
    for call in (c for m in replies for c in m.tool_calls if c["name"] == "get_weather"):
        assert isinstance(call["args"].get("city"), str)
