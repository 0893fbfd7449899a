"""Code written for the original zyx (pydantic-ai model strings, `RunUsage`, `UsageLimits`, a pydantic
`RunCompletion`, the async stream names) runs on this one: the seed examples unchanged, and each piece alone."""

from __future__ import annotations

import asyncio
import json
import pickle
import runpy
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import pytest
from helpers import tool_names
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from openai_server import OpenAIServer, reply
from pydantic import BaseModel

import zyx
import zyx._models
from zyx import RunCompletion, Usage
from zyx._providers import MAPPED
from zyx.testing import ScriptedChatModel, call, complete

HERE = Path(__file__).parent


# -- the seed examples, unchanged ----------------------------------------------------------------------------

def seed_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """What a model would answer to each seed example (by its task), in this zyx's protocol."""
    task = next(m.text for m in messages if isinstance(m, HumanMessage))
    answered = [m for m in messages if isinstance(m, ToolMessage)]
    if task.startswith("Check the weather"):
        return call("get_weather", city="Los Angeles") if not answered else \
            complete("Checked the weather in Los Angeles: 72F and sunny.")
    if task.startswith("Create a single todo"):
        return complete("Created the todo.", result={"item": "Finish quarterly report", "priority": 1})
    if task.startswith("Summarize the document"):
        return complete("Summarized.", result={"summary": "A short document."}, evidence="the document")
    if task.startswith("Fetch the release notes"):
        assert "submit_plan" in tool_names(tools)  # your tools are steps of a plan, not bound
        return call("submit_plan", steps=[
            {"id": "s1", "tool": "fetch", "args": {"url": "https://example.com/release-notes"}},
            {"id": "done", "tool": "complete_task", "args": {"summary": "$s1"}}])
    if task.startswith("Draft a short checklist"):
        return complete("Drafted the checklist.", result=["Run the tests", "Build the image", "Deploy"])
    raise AssertionError(f"unexpected task {task!r}")


@pytest.fixture
def openai_is_scripted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """The model strings that resolve to zyx's ChatOpenAI get a scripted model instead; records (name, responses)."""
    built: list[tuple[str, bool]] = []
    model = ScriptedChatModel(policy=seed_policy, model_name="gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # a user porting from the original has one

    def openai_model(name: str, api_key: str, base_url: str | None, responses: bool = False) -> Any:
        built.append((name, responses))
        return model

    monkeypatch.setattr(zyx._models, "_openai_model", openai_model)
    return built


def test_the_seed_examples_written_for_the_original_run_unchanged(
        openai_is_scripted: list[tuple[str, bool]], capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = runpy.run_path(str(HERE / "porting_seed_examples.py"))["outcomes"]

    assert openai_is_scripted and set(openai_is_scripted) == {("gpt-4o-mini", False)}  # openai-chat: Chat Completions
    basic = outcomes["basic"]
    assert basic.completion.summary == "Checked the weather in Los Angeles: 72F and sunny."
    assert basic.tool_calls[0].output == "Los Angeles: 72F and sunny"
    assert basic.usage.input_tokens > 0 and basic.usage.output_tokens > 0
    assert basic.usage.total_tokens == basic.usage.input_tokens + basic.usage.output_tokens
    assert (basic.usage.requests, basic.usage.tool_calls) == (2, 1)
    assert outcomes["basic_async"].completion.summary == basic.completion.summary

    todo = outcomes["todo"]
    assert todo.output.item == "Finish quarterly report" and todo.output.priority == 1
    assert todo.completion.model_dump() == {"status": "success", "summary": "Created the todo.",
                                            "result": {"item": "Finish quarterly report", "priority": 1},
                                            "evidence": None, "verification": None}

    verified = outcomes["verified"]
    assert verified.verified is True and verified.output == {"summary": "A short document."}
    assert json.loads(verified.completion.model_dump_json())["evidence"] == "the document"

    plan = outcomes["plan"]
    assert plan.completion.summary == "Downloaded: https://example.com/release-notes"
    assert [c.name for c in plan.tool_calls] == ["fetch"] and plan.usage.requests == 1

    for final, partials, stream in (outcomes["stream"], outcomes["stream_async"]):
        assert final.output == ["Run the tests", "Build the image", "Deploy"]
        assert partials and partials[-1] == final.output
        assert stream.task.goal == "Draft a short checklist for deploying a web app." and stream.task.target == list[str]
        assert stream.verification_error is None and stream.usage == final.usage and stream.usage.requests == 1

    printed = capsys.readouterr().out
    assert "item='Finish quarterly report' priority=1" in printed and "tokens: " in printed


# -- model strings -------------------------------------------------------------------------------------------

@pytest.fixture
def init_chat_model(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """LangChain's `init_chat_model`, recording each call and answering with a scripted model."""
    import langchain.chat_models

    built: list[dict[str, Any]] = []

    def fake(model: str, *, model_provider: str, **kwargs: Any) -> Any:
        built.append({"model": model, "provider": model_provider, **kwargs})
        return ScriptedChatModel(responses=[complete("ok")], model_name=model)

    monkeypatch.setattr(langchain.chat_models, "init_chat_model", fake)
    zyx._models._other_model.cache_clear()
    yield built
    zyx._models._other_model.cache_clear()


@pytest.mark.parametrize(("spec", "provider", "kwargs"), [
    ("anthropic:claude-sonnet-4-5", "anthropic", {}),
    ("google-gla:gemini-2.5-flash", "google_genai", {}),
    ("google:gemini-2.5-flash", "google_genai", {}),
    ("google-vertex:gemini-2.5-pro", "google_vertexai", {}),
    ("groq:llama-3.3-70b-versatile", "groq", {}),
    ("mistral:mistral-large-latest", "mistralai", {}),
    ("bedrock:us.anthropic.claude-sonnet-4-5", "bedrock_converse", {}),
    ("grok:grok-4", "xai", {}),
    ("ollama:llama3.2", "ollama", {}),
    ("azure-responses:gpt-4o", "azure_openai", {"use_responses_api": True}),
    ("huggingface:Qwen/Qwen3-8B", "huggingface", {"backend": "endpoint"}),
    ("mistralai:mistral-large-latest", "mistralai", {}),  # LangChain's own provider keys still work
])
def test_pydantic_ai_prefixes_build_their_langchain_integration(
        init_chat_model: list[dict[str, Any]], spec: str, provider: str, kwargs: dict[str, Any]) -> None:
    result = zyx.run("Say ok.", model=spec)
    name = spec.partition(":")[2]
    assert init_chat_model[0] == {"model": name, "provider": provider, **kwargs}
    assert result.completion.summary == "ok" and result.model == name


def test_ollama_takes_pydantic_ais_base_url(init_chat_model: list[dict[str, Any]],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:11434/v1")
    zyx.run("Say ok.", model="ollama:llama3.2")
    assert init_chat_model[0]["base_url"] == "http://127.0.0.1:11434"  # ChatOllama's native API: no /v1


def test_a_missing_integration_is_a_pip_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import langchain.chat_models

    def not_installed(model: str, *, model_provider: str, **kwargs: Any) -> Any:
        raise ImportError("Initializing ChatAnthropic requires the langchain-anthropic package.")

    monkeypatch.setattr(langchain.chat_models, "init_chat_model", not_installed)
    zyx._models._other_model.cache_clear()
    with pytest.raises(zyx.ConfigurationError, match="pip install langchain-anthropic") as err:
        zyx.run("Say ok.", model="anthropic:claude-sonnet-4-5")
    assert err.value.argument == "model"
    monkeypatch.setitem(sys.modules, "langchain_cerebras", None)  # a class zyx imports itself
    with pytest.raises(zyx.ConfigurationError, match="pip install langchain-cerebras"):
        zyx.run("Say ok.", model="cerebras:llama-3.3-70b")
    zyx._models._other_model.cache_clear()


def test_an_integration_init_chat_model_does_not_know_is_built_from_its_class(
        monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("langchain_cerebras")
    module.ChatCerebras = lambda model, **kwargs: ScriptedChatModel(  # type: ignore[attr-defined]
        responses=[complete("ok")], model_name=model)
    monkeypatch.setitem(sys.modules, "langchain_cerebras", module)
    zyx._models._other_model.cache_clear()
    assert zyx.run("Say ok.", model="cerebras:llama-3.3-70b").model == "llama-3.3-70b"
    zyx._models._other_model.cache_clear()


@pytest.mark.parametrize(("spec", "says"), [
    ("heroku:claude-4-sonnet", "ChatOpenAI(model='claude-4-sonnet', base_url='https://us.inference.heroku.com/v1'"),
    ("vllm:qwen", "OpenAI-compatible"),
    ("openai-codex:gpt-5", "subscription"),
    ("gateway/anthropic:claude-sonnet-4-5", "'anthropic:claude-sonnet-4-5'"),
    ("voyageai:voyage-3", "embeddings"),
    ("test", "zyx.testing.ScriptedChatModel"),
    ("nosuch:model", "pydantic-ai's model-string prefixes"),
])
def test_prefixes_without_an_integration_are_refused_naming_the_langchain_way(spec: str, says: str) -> None:
    with pytest.raises(zyx.ConfigurationError, match="model: ") as err:
        zyx.run("Say ok.", model=spec)
    assert says in str(err.value)


def test_every_provider_prefix_pydantic_ai_knows_is_mapped_or_refused(init_chat_model: list[dict[str, Any]]) -> None:
    models = pytest.importorskip("pydantic_ai.models")
    from typing import get_args

    prefixes = {name.partition(":")[0] for name in get_args(models.KnownModelName.__value__) if ":" in name}
    prefixes |= {"google-gla", "google-vertex", "openai-chat", "openai-responses"}  # pydantic-ai 1.x spellings
    for prefix in sorted(prefixes):
        spec = f"{prefix}:some-model"
        try:
            zyx._models.resolve_model(spec)
        except zyx.ConfigurationError as exc:  # refused, or mapped to an integration that is not installed here
            why = "is not supported" if prefix not in MAPPED else f"pip install {MAPPED[prefix].package}"
            assert why in str(exc) or "OPENAI_API_KEY" in str(exc), f"{spec}: {exc}"
        else:
            assert prefix in MAPPED, spec


def test_openai_chat_is_chat_completions_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    with OpenAIServer([reply(tool_calls=[("complete_task", {"summary": "ok", "status": "success"})])]) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        result = zyx.run("Say ok.", model="openai-chat:gpt-4o-mini")
    assert result.completion.summary == "ok" and srv.requests[0]["model"] == "gpt-4o-mini"
    assert getattr(zyx._models.resolve_model("openai-responses:gpt-4o"), "use_responses_api", None) is True
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(zyx.ConfigurationError, match="'openai-chat:gpt-4o-mini' needs the OPENAI_API_KEY"):
        zyx.run("Say ok.", model="openai-chat:gpt-4o-mini")


def test_the_local_model_notice_points_at_the_users_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zyx._local", None)  # the local model cannot start: only the notice matters
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(zyx.ConfigurationError):
            zyx.run("Say hello.")  # the line the notice must name
        line = sys._getframe().f_lineno - 1
        with pytest.raises(zyx.ConfigurationError):
            asyncio.run(zyx.arun("Say hello."))
        async_line = sys._getframe().f_lineno - 1
    notices = [w for w in caught if "local model is answering" in str(w.message)]
    assert [(Path(w.filename).name, w.lineno) for w in notices] == [("test_porting.py", line),
                                                                     ("test_porting.py", async_line)]


# -- usage ---------------------------------------------------------------------------------------------------

def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


def test_usage_reads_by_attribute_and_by_key_and_is_frozen() -> None:
    model = ScriptedChatModel(responses=[call("lookup", key="a"), call("lookup", key="b"), complete("done")])
    usage = zyx.run("Look up a and b.", tools=[lookup], model=model).usage
    assert isinstance(usage, Usage) and isinstance(usage, dict)
    assert usage["input_tokens"] == usage.input_tokens > 0 and usage.get("total_tokens") == usage.total_tokens
    assert dict(usage) == {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                           "total_tokens": usage.total_tokens}  # the keys are the token counts reported
    assert usage == dict(usage) and json.loads(json.dumps(usage)) == usage
    assert (usage.requests, usage.tool_calls, usage.cache_read_tokens, usage.reasoning_tokens) == (3, 2, 0, 0)
    with pytest.raises(TypeError):
        usage["input_tokens"] = 0  # type: ignore[index]
    with pytest.raises(AttributeError):
        usage.requests = 0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(usage)) == usage and hash(usage) == hash(Usage(dict(usage), 3, 2))
    assert usage.model_dump()["requests"] == 3 and "Usage(input_tokens=" in repr(usage)


def test_cache_and_reasoning_tokens_are_summed_where_the_provider_reports_them() -> None:
    detailed = {"input_tokens": 100, "output_tokens": 30, "total_tokens": 130,
                "input_token_details": {"cache_read": 60, "cache_creation": 0},
                "output_token_details": {"reasoning": 12}}
    replies = [AIMessage("", tool_calls=[{"name": "lookup", "args": {"key": "a"}, "id": "c1"}], usage_metadata=detailed),
               AIMessage("", tool_calls=[{"name": "complete_task", "args": {"summary": "ok"}, "id": "c2"}],
                         usage_metadata=detailed)]
    usage = zyx.run("Look up a.", tools=[lookup], model=ScriptedChatModel(responses=replies)).usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == \
        (200, 120, 0, 24)
    assert usage == {"input_tokens": 200, "output_tokens": 60, "total_tokens": 260, "cache_read_tokens": 120,
                     "reasoning_tokens": 24}


def test_errors_and_make_carry_a_usage_too() -> None:
    model = ScriptedChatModel(responses=["I'm done."] * 3)
    with pytest.raises(zyx.TaskNotCompletedError) as err:
        zyx.run("Do it.", model=model, max_retries=1)
    assert isinstance(err.value.usage, Usage) and err.value.usage.requests == 2 and err.value.usage.input_tokens > 0
    made = zyx.make(int, "Pick a number.", model=ScriptedChatModel(responses=[call("final_result", result=4)]))
    assert made.usage.requests == 1 and made.usage.output_tokens > 0


# -- usage_limits ----------------------------------------------------------------------------------------------

def test_usage_limits_maps_onto_the_native_limits() -> None:
    usage = pytest.importorskip("pydantic_ai.usage")
    model = ScriptedChatModel(responses=[call("lookup", key="a"), complete("done")])
    result = zyx.run("Look up.", tools=[lookup], model=model, usage_limits=usage.UsageLimits(tool_calls_limit=1))
    assert result.termination == "max_steps" and model.calls[-1].tools == ["complete_task"]  # no tool call left
    model = ScriptedChatModel(responses=[call("lookup", key="a"), complete("done")])
    result = zyx.run("Look up.", tools=[lookup], model=model, usage_limits={"request_limit": 2})
    assert result.termination == "max_model_calls" and result.usage.requests == 2
    spec = zyx.graph.spec.build_spec(model=model, usage_limits=usage.UsageLimits(total_tokens_limit=500))
    assert (spec.limits.max_model_calls, spec.limits.max_tokens_total, spec.limits.max_steps) == (50, 500, 50)


def test_usage_limits_is_read_by_field_name_without_pydantic_ai() -> None:
    class Limits:  # any object with UsageLimits' fields
        request_limit = 7
        tool_calls_limit = 3
        total_tokens_limit = None

    spec = zyx.graph.spec.build_spec(model=ScriptedChatModel(responses=[]), usage_limits=Limits())
    assert (spec.limits.max_model_calls, spec.limits.max_steps, spec.limits.max_tokens_total) == (7, 3, None)


@pytest.mark.parametrize(("options", "says"), [
    ({"usage_limits": {"request_limit": 3}, "max_model_calls": 5}, "request_limit=3 conflicts with max_model_calls=5"),
    ({"usage_limits": {"tool_calls_limit": 3}, "max_steps": 4}, "tool_calls_limit=3 conflicts with max_steps=4"),
    ({"usage_limits": {"input_tokens_limit": 10}}, "input_tokens_limit has no equivalent"),
    ({"usage_limits": {"cost_limit": 1}}, "cost_limit has no equivalent"),
    ({"usage_limits": {"requests": 3}}, "not a UsageLimits field"),
    ({"usage_limits": 10}, "expected pydantic-ai's UsageLimits"),
    ({"usage_limits": {"request_limit": 0}}, "positive integer"),
])
def test_usage_limits_conflicts_and_unknown_limits_are_refused(options: dict[str, Any], says: str) -> None:
    with pytest.raises(zyx.ConfigurationError, match="usage_limits") as err:
        zyx.run("Say ok.", model=ScriptedChatModel(responses=[complete()]), **options)
    assert says in str(err.value)


def test_the_same_limit_given_twice_is_no_conflict_and_the_default_request_limit_is_named() -> None:
    usage = pytest.importorskip("pydantic_ai.usage")
    model = ScriptedChatModel(responses=[complete("ok")])
    assert zyx.run("Say ok.", model=model, usage_limits={"request_limit": 5}, max_model_calls=5).completion
    with pytest.raises(zyx.ConfigurationError, match="UsageLimits' default"):
        zyx.run("Say ok.", model=model, usage_limits=usage.UsageLimits(total_tokens_limit=900), max_model_calls=5)


# -- RunCompletion -------------------------------------------------------------------------------------------

class Price(BaseModel):
    amount: float
    currency: str


def test_run_completion_defaults_to_success_and_dumps_like_a_pydantic_model() -> None:
    completion = RunCompletion(summary="Found it.", result=Price(amount=9.5, currency="EUR"), evidence=["page 2"])
    assert completion.status == "success"
    assert completion.model_dump() == {"status": "success", "summary": "Found it.",
                                       "result": {"amount": 9.5, "currency": "EUR"}, "evidence": ["page 2"],
                                       "verification": None}
    assert completion.model_dump(exclude_none=True) == {"status": "success", "summary": "Found it.",
                                                        "result": {"amount": 9.5, "currency": "EUR"},
                                                        "evidence": ["page 2"]}
    assert json.loads(completion.model_dump_json())["result"] == {"amount": 9.5, "currency": "EUR"}
    with pytest.raises(TypeError):
        RunCompletion("success", "positional")  # type: ignore[misc]  # keywords, as the original's pydantic model


# -- streams -----------------------------------------------------------------------------------------------

class Note(BaseModel):
    title: str
    body: str


async def test_the_original_async_stream_names() -> None:
    said = AIMessage("Hello there")
    finish = complete("Wrote it.", result={"title": "Hi", "body": "Long text"})

    stream = await zyx.arun("Write a note.", Note, stream=True,
                            model=ScriptedChatModel(responses=[said, finish], chunk_size=3))
    assert stream.task is not None and stream.task.goal == "Write a note." and stream.task.target is Note
    texts = [t async for t in stream.stream_text()]  # the original's default: the whole text so far
    assert texts[-1] == "Hello there" and all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))
    result = await stream.finish_async()
    assert result.output == Note(title="Hi", body="Long text") and stream.verification_error is None

    stream = await zyx.arun("Write a note.", Note, stream=True,
                            model=ScriptedChatModel(responses=[said, finish], chunk_size=3))
    deltas = [t async for t in stream.stream_text(delta=True)]
    assert "".join(deltas) == "Hello there" and len(deltas) > 1
    await stream.aclose()

    stream = await zyx.arun("Write a note.", Note, stream=True, model=ScriptedChatModel(responses=[finish], chunk_size=3))
    bodies = [b async for b in stream.stream_field("body")]
    assert bodies[-1] == "Long text"
    partial_stream = await zyx.arun("Write a note.", Note, stream=True, model=ScriptedChatModel(responses=[finish], chunk_size=3))
    partials = [p.model_dump() async for p in partial_stream.stream_partial()]
    assert partials[-1] == {"title": "Hi", "body": "Long text"}


async def test_a_stream_tells_why_its_completion_was_rejected() -> None:
    def positive(completion: Any) -> str | None:
        return None if completion.result.amount > 0 else "the amount must be positive"

    bad = complete("Found it.", result={"amount": -1, "currency": "EUR"})
    stream = await zyx.arun("Find the price.", Price, stream=True, model=ScriptedChatModel(responses=[bad, bad]),
                            verifier=positive, max_retries=1)
    with pytest.raises(zyx.VerificationError):
        await stream.finish_async()
    assert stream.verification_error == "the amount must be positive"
    assert stream.usage.requests == 2


# -- RunTask.goal ----------------------------------------------------------------------------------------------

def test_the_goal_is_every_human_message_of_the_task_joined() -> None:
    task = [HumanMessage("Find the cheapest flight."), AIMessage("To where?"), HumanMessage("To Oslo.")]
    result = zyx.run(task, model=ScriptedChatModel(responses=[complete("ok")]))
    assert result.task is not None and result.task.goal == "Find the cheapest flight.\nTo Oslo."
