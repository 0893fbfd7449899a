"""Streamed runs behave like runs: same result, tools, retries, verifier, errors; plus events and fields."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from pydantic import BaseModel

import zyx
from zyx import ConfigurationError, RunResult, VerificationError
from zyx.events import (
    CompletionRejected,
    ModelTurnStarted,
    PartialOutput,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Verified,
)
from zyx.stream import RunStream
from zyx.testing import ScriptedChatModel, call, complete

STEPS = ["Run tests", "Build the image", "Deploy"]


class Release(BaseModel):
    version: str
    steps: list[str]


def lookup(topic: str) -> str:
    """Look up how a release of `topic` works."""
    return f"{topic}: test, build, deploy"


def answered(messages: list[BaseMessage]) -> int:
    return sum(isinstance(m, ToolMessage) for m in messages)


def release_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """Look up, then an invalid result, then one the verifier rejects, then a good one."""
    n = answered(messages)
    if n == 0:
        return call("lookup", topic="release")
    if n == 1:
        return complete(result={"version": "2.0", "steps": "not a list"})
    if n == 2:
        return complete(result={"version": "2.0", "steps": ["Deploy"]})
    return complete(result={"version": "2.0", "steps": STEPS})


def has_three_steps(completion: zyx.RunCompletion[Release]) -> str | None:
    return None if len(completion.result.steps) == 3 else "a release needs three steps"


def release_run(**overrides: Any) -> tuple[RunStream[Release], ScriptedChatModel]:
    model = ScriptedChatModel(policy=release_policy, chunk_size=3)
    options: dict[str, Any] = {"target": Release, "model": model, "tools": [lookup], "verifier": has_three_steps,
                               **overrides}
    return zyx.run("Plan release 2.0.", stream=True, **options), model


def plain_messages(messages: list[BaseMessage]) -> list[tuple[Any, ...]]:
    """Messages without their (run-specific) ids."""
    return [(type(m).__name__, m.content, [(c["name"], c["args"], c["id"]) for c in getattr(m, "tool_calls", [])],
             getattr(m, "tool_call_id", None)) for m in messages]


def test_finish_returns_the_same_run_result_as_a_plain_run() -> None:
    stream, model = release_run()
    partials = [copy.deepcopy(p) for p in stream.partial()]
    streamed = stream.finish()
    plain_model = ScriptedChatModel(policy=release_policy, chunk_size=3)
    plain = zyx.run("Plan release 2.0.", target=Release, model=plain_model, tools=[lookup], verifier=has_three_steps)
    assert isinstance(streamed, RunResult)
    assert streamed.output == plain.output == Release(version="2.0", steps=STEPS)
    assert streamed.completion == plain.completion
    for name in ("verified", "verification_error", "termination", "usage", "model", "task", "interrupted"):
        assert getattr(streamed, name) == getattr(plain, name), name
    assert [(t.name, t.args, t.output, t.error) for t in streamed.tool_calls] == \
        [(t.name, t.args, t.output, t.error) for t in plain.tool_calls]
    assert plain_messages(streamed.messages) == plain_messages(plain.messages)
    assert len(model.calls) == len(plain_model.calls) == 4  # streaming adds no model call
    assert partials[-1].steps == STEPS


def test_events_in_order() -> None:
    stream, _ = release_run()
    events = list(stream.events())
    kinds = [type(e).__name__ for e in events if not isinstance(e, (PartialOutput, TextDelta))]
    assert kinds == [
        "ModelTurnStarted", "ToolCallStarted", "ToolCallFinished",
        "ModelTurnStarted", "CompletionRejected",
        "ModelTurnStarted", "CompletionRejected",
        "ModelTurnStarted", "Verified", "RunFinished",
    ]
    turns = [e.turn for e in events if isinstance(e, ModelTurnStarted)]
    assert turns == [1, 2, 3, 4]
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert (started.name, started.args, started.id) == ("lookup", {"topic": "release"}, finished.id)
    assert finished.name == "lookup" and finished.error is None and finished.duration >= 0
    invalid, rejected = [e for e in events if isinstance(e, CompletionRejected)]
    assert "steps" in invalid.reason
    assert rejected.reason == "a release needs three steps"
    assert isinstance(events[-1], RunFinished) and events[-1].result.output.steps == STEPS
    assert isinstance(events[-2], Verified)


def test_partials_restart_after_each_rejected_attempt() -> None:
    stream, _ = release_run()
    attempts: list[list[Any]] = [[]]
    for event in stream.events():
        if isinstance(event, ModelTurnStarted):
            attempts.append([])
        elif isinstance(event, PartialOutput):
            attempts[-1].append(copy.deepcopy(event.value))
    _, tools, invalid, rejected, accepted = attempts
    assert tools == []
    assert all(p.steps is None for p in invalid)  # "not a list" never shows as a list
    assert invalid[-1].version == "2.0"
    assert rejected[0].version in (None, "", "2", "2.")  # restarted from the beginning
    assert rejected[-1].steps == ["Deploy"]
    assert accepted[0].steps is None and accepted[-1].steps == STEPS


async def test_async_api_streams_the_same() -> None:
    model = ScriptedChatModel(policy=release_policy, chunk_size=3)
    stream = await zyx.arun("Plan release 2.0.", target=Release, model=model, tools=[lookup],
                            verifier=has_three_steps, stream=True)
    seen = [copy.deepcopy(p) async for p in stream.apartial()]
    result = await stream.afinish()
    assert result.output.steps == STEPS and result.verified is True
    assert seen[-1].steps == STEPS and len(seen) > 10
    assert len(model.calls) == 4


def test_tool_call_that_fails_and_unknown_tool_still_get_finished_events() -> None:
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError("boom")

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if answered(messages) == 0:
            return [call("broken", x=1), call("nope", y=2)]
        return complete(result=["done"])

    model = ScriptedChatModel(policy=policy, chunk_size=3)
    events = list(zyx.run("x", target=list[str], model=model, tools=[broken], stream=True).events())
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    finished = {e.name: e for e in events if isinstance(e, ToolCallFinished)}
    assert [e.name for e in started] == ["broken", "nope"]
    assert set(finished) == {"broken", "nope"}
    assert "boom" in (finished["broken"].error or "")
    assert "nope" in (finished["nope"].error or "") and finished["nope"].duration == 0.0


def test_field_follows_one_top_level_field() -> None:
    stream, _ = release_run(verifier=None, tools=None)
    model = ScriptedChatModel(responses=[complete(result={"version": "2.0.1", "steps": STEPS})], chunk_size=3)
    stream = zyx.run("Plan.", target=Release, model=model, stream=True)
    steps = [copy.deepcopy(s) for s in stream.field("steps")]
    assert steps[0] == [] or steps[0] == ["R"]
    assert steps[-1] == STEPS
    assert all(a != b for a, b in zip(steps, steps[1:]))
    assert stream.finish().output.version == "2.0.1"
    model = ScriptedChatModel(responses=[complete(result={"version": "2.0.1", "steps": STEPS})], chunk_size=3)
    versions = list(zyx.run("Plan.", target=Release, model=model, stream=True).field("version"))
    assert versions[-1] == "2.0.1" and len(versions) > 1 and len(set(versions)) == len(versions)


def test_field_of_a_dict_target() -> None:
    model = ScriptedChatModel(responses=[complete(result={"a": "xyz", "b": "uvw"})], chunk_size=2)
    assert list(zyx.run("x", target=dict[str, str], model=model, stream=True).field("b"))[-1] == "uvw"


def test_finish_without_iterating() -> None:
    stream, model = release_run()
    result = stream.finish()
    assert result.output.steps == STEPS and len(model.calls) == 4
    assert list(stream.partial()) == []  # consumed
    assert stream.finish() is result


def test_text_then_finish() -> None:
    model = ScriptedChatModel(responses=["Hmm.", complete(result=["a"])], chunk_size=2)
    stream = zyx.run("x", target=list[str], model=model, stream=True)
    assert "".join(stream.text()).startswith("Hmm.")
    assert stream.finish().output == ["a"]


def always_wrong(completion: zyx.RunCompletion[list[str]]) -> str:
    return "wrong"


def failing_run() -> RunStream[list[str]]:
    model = ScriptedChatModel(policy=lambda m, t: complete(result=[f"try {answered(m)}"]), chunk_size=3)
    return zyx.run("x", target=list[str], model=model, verifier=always_wrong, max_retries=1, stream=True)


def test_verification_error_from_the_iterator() -> None:
    stream = failing_run()
    seen = []
    with pytest.raises(VerificationError) as info:
        for p in stream.partial():
            seen.append(copy.deepcopy(p))
    assert seen[-1] == ["try 1"]
    assert info.value.errors == ["wrong"]
    with pytest.raises(VerificationError) as again:
        stream.finish()
    assert again.value is info.value


def test_verification_error_from_finish() -> None:
    with pytest.raises(VerificationError, match="failed verification"):
        failing_run().finish()


async def test_verification_error_async() -> None:
    model = ScriptedChatModel(policy=lambda m, t: complete(result=["x"]), chunk_size=3)
    stream = await zyx.arun("x", target=list[str], model=model, verifier=always_wrong, max_retries=0, stream=True)
    events = []
    with pytest.raises(VerificationError):
        async for event in stream.aevents():
            events.append(event)
    assert isinstance(events[-1], CompletionRejected)
    with pytest.raises(VerificationError):
        await stream.afinish()


def test_model_error_surfaces_instead_of_hanging() -> None:
    model = ScriptedChatModel(responses=[ValueError("the model broke")], chunk_size=3)
    stream = zyx.run("x", target=list[str], model=model, stream=True, max_retries=0)
    with pytest.raises(Exception, match="the model broke"):
        list(stream.partial())


def test_model_is_called_once_per_turn_with_streaming() -> None:
    stream, model = release_run()
    turns = sum(isinstance(e, ModelTurnStarted) for e in stream.events())
    assert turns == len(model.calls) == 4
    chunks_per_call = [c for c in model.calls]
    assert len(chunks_per_call) == 4


def test_model_is_streamed_not_invoked() -> None:
    """The planner's one model call streams (LangGraph's messages mode switches it to _astream)."""

    class Counting(ScriptedChatModel):
        streamed: int = 0
        generated: int = 0

        async def _astream(self, *args: Any, **kwargs: Any) -> Any:
            self.streamed += 1
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk

        async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
            self.generated += 1
            return await super()._agenerate(*args, **kwargs)

    model = Counting(responses=["thinking", complete(result=["a"])], chunk_size=3)
    zyx.run("x", target=list[str], model=model, stream=True).finish()
    assert (model.streamed, model.generated, len(model.calls)) == (2, 0, 2)


# -- make() streaming -------------------------------------------------------------------------


def test_make_stream_partials_and_result() -> None:
    model = ScriptedChatModel(responses=[{"name": "final_result", "args": {"version": "3", "steps": STEPS}}],
                              chunk_size=3)
    stream = zyx.make(Release, "Plan release 3.", model=model, stream=True)
    seen = [copy.deepcopy(p) for p in stream.partial()]
    result = stream.finish()
    assert type(result) is zyx.Result and result.output == Release(version="3", steps=STEPS)
    assert seen[-1].steps == STEPS and len(seen) > 5
    assert all(a != b for a, b in zip(seen, seen[1:]))
    assert len(model.calls) == 1


def test_make_stream_list_target_is_wrapped_in_result() -> None:
    model = ScriptedChatModel(responses=[{"name": "final_result", "args": {"result": STEPS}}], chunk_size=3)
    stream = zyx.make(list[str], "Steps?", model=model, stream=True)
    seen = [copy.deepcopy(p) for p in stream.partial()]
    assert seen[0] in ([], ["R"], ["Ru"]) and seen[-1] == STEPS and len(seen) > 5
    assert stream.finish().output == STEPS


def test_make_stream_str_is_the_text_so_far() -> None:
    model = ScriptedChatModel(responses=["A short poem."], chunk_size=3)
    stream = zyx.make(str, "Write.", model=model, stream=True)
    seen = list(stream.partial())
    assert seen[0] == "A s" and seen[-1] == "A short poem."
    assert stream.finish().output == "A short poem."


def test_make_stream_retry_restarts_partials() -> None:
    model = ScriptedChatModel(responses=[{"name": "final_result", "args": {"version": "3", "steps": "x"}},
                                         {"name": "final_result", "args": {"version": "4", "steps": ["a"]}}],
                              chunk_size=3)
    events = list(zyx.make(Release, "Plan.", model=model, stream=True).events())
    turns = [e.turn for e in events if isinstance(e, ModelTurnStarted)]
    assert turns == [1, 2]
    second = events.index(next(e for e in events if isinstance(e, ModelTurnStarted) and e.turn == 2))
    after = [e.value for e in events[second:] if isinstance(e, PartialOutput)]
    assert after[0].version in (None, "", "4") and after[-1].steps == ["a"]
    assert events[-1].result.output.version == "4"


def test_make_stream_error_from_finish() -> None:
    model = ScriptedChatModel(responses=[{"name": "final_result", "args": {"result": "x"}}] * 2, chunk_size=3)
    with pytest.raises(VerificationError):
        zyx.make(list[int], "x", model=model, max_retries=1, stream=True).finish()


def test_run_without_task_streams_like_make() -> None:
    model = ScriptedChatModel(responses=[{"name": "final_result", "args": {"result": STEPS}}], chunk_size=3)
    stream = zyx.run(target=list[str], context="Steps?", model=model, stream=True)
    seen = [copy.deepcopy(p) for p in stream.partial()]
    result = stream.finish()
    assert type(result) is zyx.Result and result.output == STEPS and seen[-1] == STEPS


async def test_amake_and_arun_without_task_stream() -> None:
    model = ScriptedChatModel(responses=[{"name": "final_result", "args": {"result": STEPS}}] * 2, chunk_size=3)
    for stream in (await zyx.amake(list[str], "Steps?", model=model, stream=True),
                   await zyx.arun(target=list[str], context="Steps?", model=model, stream=True)):
        seen = [copy.deepcopy(p) async for p in stream.apartial()]
        assert seen[-1] == STEPS
        assert (await stream.afinish()).output == STEPS


# -- bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize("options", [
    {"stream": True},  # no target
    {"stream": True, "target": list[str], "plan": True},
    {"stream": "yes", "target": list[str]},
])
def test_bad_stream_arguments_fail_before_any_model_call(options: dict[str, Any]) -> None:
    model = ScriptedChatModel(responses=[complete(result=["a"])])
    with pytest.raises(ConfigurationError) as info:
        zyx.run("x", model=model, **options)
    assert info.value.argument == "stream"
    assert model.calls == []


@pytest.mark.parametrize("options", [
    {"stream": True},
    {"stream": True, "target": list[str], "plan": True},
    {"stream": "yes", "target": list[str]},
    {"stream": 1, "target": list[str]},
])
async def test_bad_stream_arguments_fail_in_arun(options: dict[str, Any]) -> None:
    model = ScriptedChatModel(responses=[complete(result=["a"])])
    with pytest.raises(ConfigurationError):
        await zyx.arun("x", model=model, **options)
    assert model.calls == []


def test_other_bad_options_fail_when_streaming_too() -> None:
    model = ScriptedChatModel(responses=[complete(result=["a"])])
    with pytest.raises(ConfigurationError) as info:
        zyx.run("x", target=list[str], model=model, stream=True, max_steps=-1)
    assert info.value.argument == "max_steps" and model.calls == []


async def test_sync_run_stream_inside_a_running_loop_is_refused() -> None:
    with pytest.raises(RuntimeError, match="arun"):
        zyx.run("x", target=list[str], model=ScriptedChatModel(responses=[]), stream=True)


async def test_sync_api_on_an_async_stream_is_refused() -> None:
    model = ScriptedChatModel(responses=[complete(result=["a"])])
    stream = await zyx.arun("x", target=list[str], model=model, stream=True)
    with pytest.raises(RuntimeError, match="async API"):
        stream.finish()
    with pytest.raises(RuntimeError, match="async API"):
        next(stream.partial())
    assert model.calls == []
    assert (await stream.afinish()).output == ["a"]  # the stream is still usable the right way


def test_event_types_are_plain_frozen_values() -> None:
    event = ToolCallFinished(id="1", name="t", duration=0.5)
    with pytest.raises(AttributeError):
        event.name = "u"  # type: ignore[misc]
    assert event == ToolCallFinished(id="1", name="t", duration=0.5, error=None)
    assert AIMessage  # imported for type clarity in helpers


def test_streamed_run_with_a_checkpointer_is_saved_like_a_plain_one() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    model = ScriptedChatModel(policy=release_policy, chunk_size=3)
    stream = zyx.run("Plan release 2.0.", target=Release, model=model, tools=[lookup], verifier=has_three_steps,
                     checkpointer=saver, thread_id="release", stream=True)
    seen = [copy.deepcopy(p) for p in stream.partial()]
    result = stream.finish()
    assert result.output.steps == STEPS and seen[-1].steps == STEPS
    saved = list(saver.list({"configurable": {"thread_id": "release"}}))
    assert saved  # the run's steps were checkpointed on its thread


def test_resumed_streamed_run_reports_only_its_own_tool_calls() -> None:
    """A run cut off after its first tool call, resumed from its checkpoint: the log already holds
    that call, and the resumed stream reports only the calls it runs."""
    from langgraph.checkpoint.memory import InMemorySaver

    def two_lookups(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        done = answered(messages)
        return call("lookup", topic=f"part {done + 1}") if done < 2 else complete(result=["done"])

    saver, model = InMemorySaver(), ScriptedChatModel(policy=two_lookups, chunk_size=3)
    options: dict[str, Any] = {"target": list[str], "model": model, "tools": [lookup], "checkpointer": saver,
                               "thread_id": "t", "stream": True}
    with zyx.run("Look up both parts.", **options) as stream:
        for event in stream.events():
            if isinstance(event, ToolCallFinished):
                break  # cut off after the first call: the stream is closed, the run cancelled
    resumed = zyx.run(**options)  # task=None with a thread: resume its unfinished run
    events = list(resumed.events())
    started = [e.args for e in events if isinstance(e, ToolCallStarted)]
    finished = [e.id for e in events if isinstance(e, ToolCallFinished)]
    result = resumed.finish()
    assert started == [{"topic": "part 2"}] and len(finished) == 1
    assert [c.args["topic"] for c in result.tool_calls] == ["part 1", "part 2"]
    assert result.output == ["done"]
