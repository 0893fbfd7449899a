"""complete_task: validation against the target, retries, statuses, its schema, same-turn tool calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pytest
from helpers import assert_valid_history, scripted, tool_messages, tool_schema, turn
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, computed_field

import zyx
from zyx import VerificationError
from zyx.testing import ScriptedChatModel, call, calls, complete, last_tool_results


class Todo(BaseModel):
    item: str
    priority: int


GOOD = {"item": "buy milk", "priority": 1}
BAD = {"item": "buy milk", "priority": "high"}


def test_invalid_result_goes_back_to_the_model_and_it_retries() -> None:
    model = scripted(complete(result=BAD), complete(result=GOOD))
    result = zyx.run("todo", target=Todo, model=model)
    assert result.output == Todo(**GOOD)
    assert len(model.calls) == 2
    first_call = result.messages[1]
    feedback = result.messages[2]
    assert isinstance(feedback, ToolMessage)
    assert feedback.tool_call_id == first_call.tool_calls[0]["id"]
    assert feedback.status == "error"
    assert "priority" in feedback.content and "integer" in feedback.content
    assert "complete_task" in feedback.content
    assert model.calls[1].messages[-1] == feedback  # the retry saw exactly that feedback
    assert result.messages[-1].content == "Completion accepted."
    assert_valid_history(result.messages)


def test_missing_required_field_is_reported() -> None:
    model = scripted(complete(result={"item": "x"}), complete(result=GOOD))
    result = zyx.run("todo", target=Todo, model=model)
    feedback = tool_messages(result.messages)[0]
    assert "priority" in feedback.content and "required" in feedback.content.lower()


def test_result_missing_with_target_is_rejected() -> None:
    model = scripted(complete(summary="forgot it"), complete(result=GOOD))
    result = zyx.run("todo", target=Todo, model=model)
    assert tool_messages(result.messages)[0].status == "error"
    assert result.output == Todo(**GOOD)


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_max_retries_then_verification_error(retries: int) -> None:
    attempts = [complete(summary=f"try {i}", result={"item": f"x{i}", "priority": f"p{i}"})
                for i in range(retries + 1)]
    model = scripted(*attempts)
    with pytest.raises(VerificationError) as info:
        zyx.run("todo", target=Todo, model=model, max_retries=retries)
    err = info.value
    assert len(model.calls) == retries + 1
    assert err.termination == "no_completion"
    # the last attempt, as the model sent it (it cannot be typed)
    assert err.completion is not None
    assert err.completion.summary == f"try {retries}"
    assert err.completion.result == {"item": f"x{retries}", "priority": f"p{retries}"}
    assert err.errors and "priority" in err.errors[-1]
    assert sum(isinstance(m, AIMessage) for m in err.messages) == retries + 1
    assert err.messages[0].content == "todo"
    rejections = tool_messages(err.messages)
    assert len(rejections) == retries + 1
    assert all(m.status == "error" for m in rejections)
    assert_valid_history(err.messages)


def test_one_retry_allowed_means_second_invalid_fails_but_valid_second_succeeds() -> None:
    ok = zyx.run("todo", target=Todo, model=scripted(complete(result=BAD), complete(result=GOOD)), max_retries=1)
    assert ok.output == Todo(**GOOD)
    with pytest.raises(VerificationError):
        zyx.run("todo", target=Todo, model=scripted(complete(result=BAD), complete(result=BAD)), max_retries=1)


@pytest.mark.parametrize("status", ["failed", "skipped"])
def test_failed_or_skipped_may_omit_result(status: str) -> None:
    model = scripted(complete(summary="cannot do it", status=status))
    result = zyx.run("todo", target=Todo, model=model)
    assert result.output is None
    assert result.completion is not None
    assert (result.completion.status, result.completion.summary, result.completion.result) == (
        status, "cannot do it", None)
    assert result.termination == "completed"
    assert len(model.calls) == 1


def test_failed_with_result_still_validates_it() -> None:
    model = scripted(complete(status="failed", result=BAD), complete(status="failed", result=GOOD))
    result = zyx.run("todo", target=Todo, model=model)
    assert len(model.calls) == 2
    assert result.output == Todo(**GOOD)


def test_missing_summary_is_rejected() -> None:
    no_summary = call("complete_task", status="success", result=GOOD)
    model = scripted(no_summary, complete(summary="now with summary", result=GOOD))
    result = zyx.run("todo", target=Todo, model=model)
    feedback = tool_messages(result.messages)[0]
    assert feedback.status == "error" and "summary" in feedback.content
    assert result.completion is not None and result.completion.summary == "now with summary"


@pytest.mark.parametrize("summary", ["", "   "])
def test_an_empty_summary_reads_completed_as_in_the_original(summary: str) -> None:
    """The original zyx kept `summary or "Completed."`: a blank summary is not shown as blank."""
    model = scripted(complete(summary=summary, result=GOOD))
    result = zyx.run("todo", target=Todo, model=model)
    assert result.completion is not None and result.completion.summary == "Completed."
    assert len(model.calls) == 1  # accepted as it came, not sent back


def test_unknown_status_is_rejected() -> None:
    model = scripted(complete(status="done"), complete())
    result = zyx.run("x", model=model)
    feedback = tool_messages(result.messages)[0]
    assert feedback.status == "error" and "status" in feedback.content
    assert result.completion is not None and result.completion.status == "success"


def test_evidence_and_verification_are_kept() -> None:
    model = scripted(complete(summary="s", evidence=["a", "b"], verification="re-read it"))
    result = zyx.run("x", model=model)
    assert result.completion is not None
    assert result.completion.evidence == ["a", "b"]
    assert result.completion.verification == "re-read it"


# -- the complete_task schema --------------------------------------------------------


def _bound_tools(target: Any) -> list[dict[str, Any]]:
    captured: list[list[dict[str, Any]]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        captured.append(tools)
        return complete(result=GOOD if target is Todo else None)

    model = ScriptedChatModel(policy=policy)
    zyx.run("x", target=target, model=model)
    assert model.calls[0].tools == ["complete_task"]
    return captured[0]


def test_complete_task_schema_with_target() -> None:
    schema = tool_schema(_bound_tools(Todo), "complete_task")
    props = schema["properties"]
    assert set(props) == {"summary", "status", "result", "evidence", "verification"}
    assert props["summary"]["type"] == "string"
    assert props["status"]["enum"] == ["success", "failed", "skipped"]
    assert set(schema["required"]) == {"summary", "result"}
    result_schema = props["result"]
    if "$ref" in result_schema:  # the target's schema may be referenced from $defs
        name = result_schema["$ref"].rsplit("/", 1)[-1]
        result_schema = schema["$defs"][name]
    assert result_schema["type"] == "object"
    assert set(result_schema["properties"]) == {"item", "priority"}
    assert result_schema["properties"]["priority"]["type"] == "integer"
    assert set(result_schema["required"]) == {"item", "priority"}


def test_complete_task_schema_without_target() -> None:
    schema = tool_schema(_bound_tools(None), "complete_task")
    assert set(schema["properties"]) == {"summary", "status", "result", "evidence", "verification"}
    assert schema["properties"]["result"]["type"] == "null"
    assert schema["required"] == ["summary"]


def test_complete_task_schema_for_scalar_target() -> None:
    captured: list[list[dict[str, Any]]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        captured.append(tools)
        return complete(result=["a"])

    zyx.run("x", target=list[str], model=ScriptedChatModel(policy=policy))
    result_schema = tool_schema(captured[0], "complete_task")["properties"]["result"]
    assert result_schema["type"] == "array" and result_schema["items"] == {"type": "string"}


# -- complete_task next to other calls ----------------------------------------------------


def test_other_calls_in_the_same_turn_run_before_the_completion() -> None:
    events: list[str] = []

    def record(note: str) -> str:
        """Record a note."""
        events.append(f"tool:{note}")
        return "noted"

    def verifier(completion: Any, ctx: Any) -> bool:
        events.append(f"verify:{[r.name for r in ctx.tool_calls]}")
        return True

    model = scripted(calls(complete(summary="all done"), call("record", note="first")))
    result = zyx.run("x", tools=[record], model=model, verifier=verifier)
    assert events == ["tool:first", "verify:['record']"]
    assert len(model.calls) == 1
    ai = result.messages[1]
    complete_id = next(c["id"] for c in ai.tool_calls if c["name"] == "complete_task")
    record_id = next(c["id"] for c in ai.tool_calls if c["name"] == "record")
    results = result.messages[2:]
    assert [m.tool_call_id for m in results] == [record_id, complete_id]
    assert [m.content for m in results] == ["noted", "Completion accepted."]
    assert result.tool_calls[0].output == "noted"
    assert result.verified is True
    assert_valid_history(result.messages)


def test_same_turn_tool_results_are_seen_after_a_rejected_completion() -> None:
    def lookup() -> int:
        """Look up the priority."""
        return 5

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) == 0:
            return calls(call("lookup"), complete(result={"item": "x", "priority": "unknown yet"}))
        results = {m.name: m for m in last_tool_results(messages)}
        assert results["lookup"].content == "5"
        assert results["complete_task"].status == "error"
        return complete(result={"item": "x", "priority": int(results["lookup"].content)})

    model = ScriptedChatModel(policy=policy)
    result = zyx.run("x", target=Todo, tools=[lookup], model=model)
    assert result.output == Todo(item="x", priority=5)
    assert len(model.calls) == 2
    assert_valid_history(result.messages)


def test_two_completions_in_one_turn_only_the_first_is_handled() -> None:
    model = scripted(calls(complete(summary="first", result=1), complete(summary="second", result=2)))
    result = zyx.run("x", target=int, model=model)
    assert result.output == 1
    assert result.completion is not None and result.completion.summary == "first"
    second = tool_messages(result.messages)[-1]
    assert second.status == "error"
    assert_valid_history(result.messages)


# -- the result is validated once, and state keeps a form that round-trips -------------------------


class Person(BaseModel):
    full_name: str = Field(alias="fullName")


class Box(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: int
    height: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def area(self) -> int:
        return self.width * self.height


class Login(BaseModel):
    user: str
    password: SecretStr


Doubled = Annotated[int, AfterValidator(lambda v: v * 2)]


def check_output(target: Any, sent: Any, expect: Callable[[Any], Any], **options: Any) -> None:
    seen: list[Any] = []

    def verifier(completion: zyx.RunCompletion[Any]) -> None:
        seen.append(completion.result)

    result = zyx.run("x", target=target, model=scripted(complete(result=sent)), verifier=verifier, **options)
    assert expect(result.output) and result.output is seen[0]  # the verifier saw the very same object
    assert result.completion is not None and result.completion.result is result.output


CASES = [
    pytest.param(Person, {"fullName": "Ada Lovelace"}, lambda out: out.full_name == "Ada Lovelace", id="alias"),
    pytest.param(Box, {"width": 2, "height": 3}, lambda out: out.area == 6, id="computed-field-extra-forbid"),
    pytest.param(Login, {"user": "ada", "password": "hunter2"},
                 lambda out: out.password.get_secret_value() == "hunter2", id="secret"),
    pytest.param(Doubled, 5, lambda out: out == 10, id="after-validator"),
]


@pytest.mark.parametrize(("target", "sent", "expect"), CASES)
def test_the_validated_result_is_kept(target: Any, sent: Any, expect: Callable[[Any], Any]) -> None:
    check_output(target, sent, expect)


@pytest.mark.parametrize(("target", "sent", "expect"), CASES)
def test_the_validated_result_is_kept_without_checks(target: Any, sent: Any, expect: Callable[[Any], Any]) -> None:
    result = zyx.run("x", target=target, model=scripted(complete(result=sent)))
    assert expect(result.output) and result.completion is not None and result.completion.result is result.output


@pytest.mark.parametrize(("target", "sent", "expect"), CASES)
def test_with_a_checkpointer_the_result_is_right_and_the_thread_stays_usable(
        target: Any, sent: Any, expect: Callable[[Any], Any]) -> None:
    saver = InMemorySaver()
    check_output(target, sent, expect, checkpointer=saver, thread_id="t")
    check_output(target, sent, expect, checkpointer=saver, thread_id="t")  # a new task on the same thread


@pytest.mark.parametrize(("target", "sent", "expect"), CASES)
def test_a_result_read_back_from_state_is_right(target: Any, sent: Any, expect: Callable[[Any], Any]) -> None:
    """Without this process's Python value (a resumed thread, a parent graph), the state's form
    validates to the same result."""
    from zyx._completion import to_run_completion
    from zyx._target import make_target

    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": "t"}}
    zyx.run("x", target=target, model=scripted(complete(result=sent)), checkpointer=saver, thread_id="t")
    state = saver.get_tuple(config).checkpoint["channel_values"]  # type: ignore[union-attr]
    assert expect(to_run_completion(state["completion"], make_target(target)).result)
