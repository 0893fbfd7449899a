"""What docs/migration.md says about this zyx, checked claim by claim (its examples run in test_docs.py, and what
ported code needs, model strings to stream names, in test_porting.py). Each test names the page's section."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from helpers import nudges
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

import zyx
from zyx._completion import completion_tool
from zyx._options import DEFAULT_MAX_STEPS, RunOptions, declared
from zyx.testing import ScriptedChatModel, call, complete


class Flight(BaseModel):
    number: str
    price: float


def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


def scripted(*replies: Any) -> ScriptedChatModel:
    return ScriptedChatModel(responses=list(replies))


# -- What stays the same ---------------------------------------------------------------------------------------

def test_the_call_keeps_its_positional_arguments_and_defaults() -> None:
    assert list(inspect.signature(zyx.run).parameters)[:3] == ["task", "target", "context"]
    options = declared(RunOptions)
    defaults = {name: options[name].default for name in ("require_completion", "plan", "planning_interval",
                                                         "max_steps", "max_retries")}
    assert defaults == {"require_completion": True, "plan": False, "planning_interval": None, "max_steps": None,
                        "max_retries": 2}
    assert inspect.signature(zyx.run).parameters["stream"].default is False
    for name in ("source", "instructions", "model", "model_settings", "attachments", "tools", "deps", "verifier",
                 "final_answer_checks", "usage_limits"):
        assert name in options
    model = scripted(complete("ok"))
    zyx.run("The task.", None, "Some context.", model=model)
    assert [m.text for m in model.calls[0].messages if isinstance(m, HumanMessage)] == ["Some context.", "The task."]


def test_no_task_is_make_and_a_string_by_default() -> None:
    result = zyx.run(model=scripted("A poem."))
    assert type(result) is zyx.Result and result.output == "A poem."


def test_the_completion_tool_and_plain_text() -> None:
    params = completion_tool(None)["function"]["parameters"]
    assert set(params["properties"]) == {"summary", "status", "result", "evidence", "verification"}
    assert params["properties"]["status"]["enum"] == ["success", "failed", "skipped"]
    assert params["properties"]["status"]["default"] == "success"
    model = scripted("I have completed the task.", complete("Done for real."))
    result = zyx.run("Do it.", model=model)  # a plain-text claim is nudged, not accepted
    assert result.completion.summary == "Done for real." and nudges(result.messages)
    result = zyx.run("Do it.", model=scripted("All done."), require_completion=False)
    assert (result.completion.status, result.completion.summary) == ("skipped", "No completion tool call was made.")


def test_verifiers_and_checks_keep_their_rules() -> None:
    seen: list[str] = []

    def one(completion: Any) -> Any:
        seen.append("verifier")
        return {"ok": True, "false": False, "message": "not good", "raise": None}[completion.summary]

    def two(completion: Any, ctx: Any) -> Any:
        seen.append("check")
        if completion.summary == "raise":
            raise RuntimeError("the check broke")
        return ctx.task.goal == "Do it."

    model = scripted(complete("false"), complete("message"), complete("raise"), complete("ok"))
    result = zyx.run("Do it.", model=model, verifier=one, final_answer_checks=[two], max_retries=3)
    assert result.verified is True and seen == ["verifier", "check"] * 4  # the verifier first, then the checks
    feedback = [m.text for m in result.messages if isinstance(m, ToolMessage)]
    assert "not good" in feedback[1] and "the check broke" in feedback[2]


def test_streaming_rules_and_sync_in_a_loop() -> None:
    with pytest.raises(zyx.ConfigurationError, match="stream"):
        zyx.run("Do it.", stream=True, model=scripted())
    with pytest.raises(zyx.ConfigurationError, match="stream"):
        zyx.run("Do it.", list[str], stream=True, plan=True, model=scripted())

    async def inside() -> None:
        zyx.run("Do it.", model=scripted(complete()))

    with pytest.raises(RuntimeError, match="await zyx.arun"):
        asyncio.run(inside())


def test_the_result_core_and_valueerror() -> None:
    result = zyx.run("Find a flight.", Flight, model=scripted(complete("Found.", result={"number": "SK1", "price": 9})))
    assert result.output == Flight(number="SK1", price=9)  # an instance of the target itself
    assert result.completion.result is result.output and result.verified is None
    assert result.verification_error is None and result.task.goal == "Find a flight."
    for error in (zyx.TaskNotCompletedError, zyx.VerificationError, zyx.MaxStepsExceededError, zyx.LimitExceededError,
                  zyx.RunTimeoutError, zyx.PlanError, zyx.ConfigurationError):
        assert issubclass(error, ValueError)
    assert not issubclass(zyx.ModelError, ValueError)
    with pytest.raises(ValueError):  # rejected completions too: the original raised pydantic-ai's error here
        zyx.run("Find a flight.", Flight, model=scripted(complete("x", result={"number": 1})), max_retries=0)


# -- What differs ------------------------------------------------------------------------------------------------

def test_observe_is_gone_and_named() -> None:
    with pytest.raises(zyx.ConfigurationError) as err:
        zyx.run("Do it.", model=scripted(complete()), observe=True)  # type: ignore[call-arg]
    assert err.value.argument == "observe"


def test_pydantic_ai_tools_are_not_accepted() -> None:
    tools = pytest.importorskip("pydantic_ai.tools")
    with pytest.raises(zyx.ConfigurationError, match="tools"):
        zyx.run("Do it.", tools=[tools.Tool(lookup)], model=scripted(complete()))


def test_max_steps_counts_tool_calls_in_both_modes() -> None:
    assert DEFAULT_MAX_STEPS == 50
    model = scripted(complete("Nothing to call."))
    zyx.run("Do it.", tools=[lookup], model=model, max_steps=0)
    assert model.calls[0].tools == ["complete_task"]
    model = scripted(call("lookup", key="a"), complete("Done."))
    result = zyx.run("Do it.", tools=[lookup], model=model, max_steps=1)
    assert len(result.tool_calls) == 1 and result.termination == "max_steps"
    assert model.calls[-1].tools == ["complete_task"]  # the budget is spent: only complete_task is left


def test_results_typed_result_failed_status_and_verified_by_checks() -> None:
    model = scripted(complete("Cannot do it.", status="failed"))
    result = zyx.run("Find a flight.", Flight, model=model)
    assert result.completion.status == "failed" and result.output is None
    result = zyx.run("Find a flight.", Flight, final_answer_checks=[lambda c: c.result.price > 0],
                     model=scripted(complete("Found.", result={"number": "SK1", "price": 9})))
    assert result.verified is True


@pytest.mark.parametrize("summary", ["", "   "])
def test_an_empty_or_blank_summary_reads_completed(summary: str) -> None:
    assert zyx.run("Do it.", model=scripted(complete(summary))).completion.summary == "Completed."


def test_a_one_step_task_is_one_model_call() -> None:
    model = scripted(complete("Done."))
    zyx.run("Do it.", model=model)
    assert len(model.calls) == 1  # the original needed one more, a plain-text turn after complete_task


def test_results_have_no_raw_confidence_or_as_message() -> None:
    result = zyx.run("Do it.", model=scripted(complete("Done.")))
    for gone in ("raw", "confidence", "as_message", "all_new_messages"):
        assert not hasattr(result, gone)
    assert isinstance(result.messages[0], HumanMessage) and isinstance(result.messages[1], AIMessage)


def test_errors_carry_the_history() -> None:
    with pytest.raises(zyx.VerificationError) as err:
        zyx.run("Do it.", tools=[lookup], verifier=lambda c: "no", max_retries=0,
                model=scripted(call("lookup", key="a"), complete("Done.")))
    assert err.value.messages and err.value.tool_calls[0].output == "A"
    assert err.value.usage.requests == 2 and err.value.completion.summary == "Done." and err.value.errors == ["no"]


def test_a_plan_that_breaks_a_rule_runs_nothing_and_no_step_runs_twice() -> None:
    ran: list[str] = []

    def fetch(url: str) -> str:
        """Fetch a page."""
        ran.append(url)
        return f"page {url}"

    steps = [{"id": f"s{i}", "tool": "fetch", "args": {"url": str(i)}} for i in range(3)]
    done = {"id": "done", "tool": "complete_task", "args": {"summary": "$s0"}}
    model = scripted(call("submit_plan", steps=steps), call("submit_plan", steps=[steps[0], done]))
    result = zyx.run("Fetch.", tools=[fetch], plan=True, planning_interval=2, model=model)
    assert ran == ["0"] and result.completion.summary == "page 0"  # the 3-step plan ran nothing
    assert len(model.calls) == 2


def test_a_plan_can_finish_a_task_in_one_model_call() -> None:
    model = scripted(call("submit_plan", steps=[{"id": "s1", "tool": "lookup", "args": {"key": "a"}},
                                                {"id": "done", "tool": "complete_task", "args": {"summary": "$s1"}}]))
    result = zyx.run("Look up a.", tools=[lookup], plan=True, model=model)
    assert result.completion.summary == "A" and len(model.calls) == 1


# -- Streams -----------------------------------------------------------------------------------------------------

def test_sync_text_gives_deltas_and_field_takes_the_name_positionally() -> None:
    said = AIMessage("Hello there")
    finish = complete("Done.", result={"number": "SK1", "price": 9})
    stream = zyx.run("Find.", Flight, stream=True, model=ScriptedChatModel(responses=[said, finish], chunk_size=3))
    deltas = list(stream.text())
    assert "".join(deltas) == "Hello there" and len(deltas) > 1  # not debounced, not accumulated
    stream.finish()
    stream = zyx.run("Find.", Flight, stream=True, model=ScriptedChatModel(responses=[finish], chunk_size=3))
    assert list(stream.field("number"))[-1] == "SK1"


async def test_leaving_async_with_cancels_an_unfinished_run() -> None:
    started = asyncio.Event()

    async def slow(messages: Any, tools: Any) -> Any:
        started.set()
        await asyncio.Event().wait()  # never answers
        return complete()

    stream = await zyx.arun("Find.", Flight, stream=True, model=ScriptedChatModel(policy=slow))
    async with stream:
        assert stream.task is not None and stream.task.goal == "Find."  # known from the start
        events = stream.aevents()
        await anext(events)
        await started.wait()
    assert not stream.is_streaming
    with pytest.raises(zyx.RunError) as err:
        await stream.finish_async()
    assert err.value.termination == "cancelled"


def test_make_str_without_context_asks_the_model() -> None:
    model = scripted("Something.")
    assert zyx.make(str, model=model).output == "Something."
    assert [m.text for m in model.calls[0].messages] == ["Generate a str."]  # the original raised ValueError
