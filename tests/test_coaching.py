"""The `coach` option: bounded help where real models go wrong, on scripted models.

After a turn whose calls all failed, the untried tools are named and offered alone (with
complete_task) for one turn; after repeated calls the repeated tool is left out for a turn, and
after two such turns in a row only complete_task is offered. `coach=False` turns all of it off.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import assert_valid_history, tool_messages

import zyx
from zyx import _prompts
from zyx._completion import completion_tool
from zyx._target import make_target
from zyx.testing import ScriptedChatModel, call, complete


def get_user_city(user: str) -> str:
    """The home city of a user."""
    return {"bob": "Tokyo"}.get(user, f"Error: unknown user {user!r}")


def get_population(city: str) -> int | str:
    """The population of a city."""
    return {"Tokyo": 14_000_000}.get(city, f"Error: unknown city {city!r}")


def boom(x: int) -> int:
    """Always raises."""
    raise ValueError("no")


TOOLS = [get_user_city, get_population]


def names(model: ScriptedChatModel) -> list[list[str]]:
    return [c.tools for c in model.calls]


def test_after_a_failed_call_the_untried_tools_are_offered_then_the_failed_one_alone() -> None:
    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_user_city", user="bob"),
                                         call("get_population", city="Tokyo"), complete("14000000", 14_000_000)])
    result = zyx.run("Population where bob lives?", int, tools=TOOLS, model=model)
    assert result.output == 14_000_000
    first = tool_messages(result.messages)[0]
    assert first.content.startswith("Error: unknown city 'bob'") and "Not tried yet: get_user_city(user)" in first.content
    assert names(model) == [["get_user_city", "get_population", "complete_task"], ["get_user_city", "complete_task"],
                            ["get_population"], ["get_user_city", "get_population", "complete_task"]]
    assert tool_messages(result.messages)[1].content.endswith(
        '(Now call get_population again, with what this found: get_population(city="Tokyo"))')
    assert result.tool_calls[0].output == "Error: unknown city 'bob'"  # the log keeps what the tool returned
    assert_valid_history(result.messages)


def test_a_raising_tool_counts_as_failed_and_no_hint_when_every_tool_was_tried() -> None:
    model = ScriptedChatModel(responses=[call("boom", x=1), call("boom", x=2), complete("gave up", status="failed")])
    result = zyx.run("t", tools=[boom], model=model)
    assert names(model) == [["boom", "complete_task"]] * 3  # no other tool to offer
    assert "Not tried yet" not in tool_messages(result.messages)[0].content


def test_a_turn_of_repeats_leaves_the_repeated_tool_out_then_two_offer_only_complete_task() -> None:
    model = ScriptedChatModel(responses=[call("get_user_city", user="bob"), call("get_user_city", user="bob"),
                                         call("get_population", city="Tokyo"), call("get_population", city="Tokyo"),
                                         call("get_user_city", user="bob"), complete("14000000", 14_000_000)])
    result = zyx.run("Population where bob lives?", int, tools=TOOLS, model=model, max_model_calls=10)
    both = ["get_user_city", "get_population", "complete_task"]
    assert names(model) == [both, both, ["get_population", "complete_task"], both,
                            ["get_user_city", "complete_task"], ["complete_task"]]
    assert model.calls[-1].messages[-1].content == _prompts.LOOP_BREAK
    assert result.output == 14_000_000 and result.termination == "completed"


def test_a_repeated_failure_is_told_to_change_its_arguments() -> None:
    model = ScriptedChatModel(responses=[call("get_user_city", user="x"), call("get_user_city", user="x"),
                                         complete("no such user", status="failed")])
    result = zyx.run("t", tools=[get_user_city], model=model)
    assert "already failed. Change its arguments" in tool_messages(result.messages)[1].content


def test_coach_false_changes_nothing() -> None:
    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_user_city", user="bob"),
                                         call("get_user_city", user="bob"), call("get_user_city", user="bob"),
                                         complete("14000000", 14_000_000)])
    result = zyx.run("t", int, tools=TOOLS, model=model, coach=False)
    assert names(model) == [["get_user_city", "get_population", "complete_task"]] * 5
    assert tool_messages(result.messages)[0].content == "Error: unknown city 'bob'"


def test_coach_is_a_checked_flag() -> None:
    with pytest.raises(zyx.ConfigurationError, match="coach"):
        zyx.run("t", model=ScriptedChatModel(responses=[complete()]), coach="yes")  # type: ignore[arg-type]


def test_complete_task_asks_for_the_result_before_the_summary() -> None:
    """A model then copies values from tool results into `result`, not from its own prose."""
    schema: dict[str, Any] = completion_tool(make_target(int))["function"]["parameters"]
    assert list(schema["properties"])[:2] == ["result", "summary"] and schema["required"] == ["result", "summary"]


def test_a_focus_on_tools_the_spec_lacks_binds_the_usual_tools() -> None:
    """A thread resumed on a graph with other tools: its stored focus names none of them."""
    from zyx.graph.spec import build_spec

    spec = build_spec(model=ScriptedChatModel(responses=[]), tools=TOOLS)
    assert spec.focused_model(["gone"]) is spec.bound_model
    assert spec.focused_model(["get_user_city"]) is spec.focused_model(["get_user_city"])  # bound once
    no_steps = build_spec(model=ScriptedChatModel(responses=[]), tools=TOOLS, max_steps=0)
    assert no_steps.focused_model(["get_user_city"]) is no_steps.wrap_up_model


def test_a_human_rejection_is_not_coached() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    def delete(path: str) -> str:
        """Delete a file."""
        return "deleted"

    model = ScriptedChatModel(responses=[call("delete", path="a"), call("delete", path="b"), complete("ok")])
    options: dict[str, Any] = dict(model=model, tools=TOOLS + [delete], approve=["delete"],
                                   checkpointer=InMemorySaver(), thread_id="t")
    paused = zyx.run("clean up a", **options)
    zyx.run(**options, decisions={paused.pending[0].id: {"reject": "keep a; delete b instead"}})
    every = ["get_user_city", "get_population", "delete", "complete_task"]
    assert names(model)[:2] == [every, every]


def test_data_that_mentions_errors_is_not_a_failure() -> None:
    def count_errors(log: str) -> str:
        """Count the errors in a log."""
        return "errors: 0 (log is clean)"

    model = ScriptedChatModel(responses=[call("count_errors", log="app"), complete("clean")])
    result = zyx.run("t", tools=[count_errors, get_user_city], model=model)
    assert names(model)[1] == ["count_errors", "get_user_city", "complete_task"]
    assert tool_messages(result.messages)[0].content == "errors: 0 (log is clean)"


def test_a_repeat_row_is_broken_by_a_turn_without_tool_calls() -> None:
    from langchain_core.messages import AIMessage

    model = ScriptedChatModel(responses=[call("get_user_city", user="bob"), call("get_user_city", user="bob"),
                                         AIMessage("thinking"), call("get_user_city", user="bob"),
                                         complete("Tokyo")])
    zyx.run("t", tools=TOOLS, model=model)
    assert ["complete_task"] not in names(model)  # never two repeat turns in a row


def test_plan_modes_first_turn_nudge_names_submit_plan() -> None:
    from langchain_core.messages import AIMessage

    model = ScriptedChatModel(responses=[AIMessage("42"), call("submit_plan", steps=[
        {"id": "s1", "tool": "complete_task", "args": {"summary": "42"}}])])
    result = zyx.run("t", tools=TOOLS, model=model, plan=True)
    assert result.termination == "completed"
    assert model.calls[1].messages[-1].content == _prompts.PLAN_NUDGE and names(model)[1] == ["submit_plan"]


def test_a_stored_focus_is_ignored_when_the_thread_resumes_with_coach_false() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    broken = ScriptedChatModel(responses=[call("get_population", city="bob"), RuntimeError("down")])
    with pytest.raises(zyx.ModelError):
        zyx.run("t", tools=TOOLS, model=broken, checkpointer=saver, thread_id="th", max_retries=0)
    model = ScriptedChatModel(responses=[complete("x")])
    zyx.run("t", tools=TOOLS, model=model, checkpointer=saver, thread_id="th", coach=False)
    assert names(model) == [["get_user_city", "get_population", "complete_task"]]


def test_no_retry_turn_when_the_untried_tool_fails_too() -> None:
    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_user_city", user="zed"),
                                         call("get_user_city", user="bob"), complete("gave up", status="failed")])
    zyx.run("t", tools=TOOLS, model=model)
    both = ["get_user_city", "get_population", "complete_task"]
    assert names(model) == [both, ["get_user_city", "complete_task"], both, both]


def test_no_retry_turn_for_a_tool_whose_limit_is_spent() -> None:
    """Offering it alone would only have the call refused and the run sent to its wrap-up."""
    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_user_city", user="bob"),
                                         complete("Tokyo, population unknown", status="failed")])
    zyx.run("t", tools=TOOLS, model=model, tool_limits={"get_population": 1})
    assert names(model) == [["get_user_city", "get_population", "complete_task"], ["get_user_city", "complete_task"],
                            ["get_user_city", "get_population", "complete_task"]]


def test_no_retry_turn_or_asked_for_call_for_a_failed_read_of_a_tool_output() -> None:
    """`read_tool_output` is zyx's reader, not one of the task's tools: "call it again with Tokyo" makes no sense."""
    give_up = complete("gave up", status="failed")
    model = ScriptedChatModel(responses=[call("read_tool_output", tool_call_id="nope"),
                                         call("get_user_city", user="bob"), give_up, give_up, give_up])
    result = zyx.run("t", tools=TOOLS, model=model)
    assert result.completion is not None and result.completion.status == "failed"
    assert not any("read_tool_output" in m.text for m in tool_messages(result.messages)[1:])
    assert len(model.calls) == 4  # the give-up is sent back once, for the untried get_population


def test_no_retry_turn_when_the_failed_tool_itself_then_succeeds() -> None:
    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_population", city="Tokyo"),
                                         complete("14000000", 14_000_000)])
    zyx.run("Population of Tokyo?", int, tools=TOOLS, model=model)
    assert ["get_population"] not in names(model)


def test_a_text_answer_in_the_retry_turn_is_nudged_not_counted() -> None:
    """That turn did not offer complete_task: a plain answer there is no refusal to complete."""
    from langchain_core.messages import AIMessage

    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_user_city", user="bob"),
                                         AIMessage("14000000"), complete("14000000", 14_000_000)])
    result = zyx.run("t", int, tools=TOOLS, model=model, max_retries=0)
    assert result.output == 14_000_000 and names(model)[2] == ["get_population"]
    assert model.calls[3].messages[-1].content == _prompts.NUDGE


def test_without_require_completion_the_retry_turn_still_offers_complete_task() -> None:
    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_user_city", user="bob"),
                                         call("get_population", city="Tokyo"), complete("14000000")])
    zyx.run("t", tools=TOOLS, model=model, require_completion=False)
    assert names(model)[2] == ["get_population", "complete_task"]


def test_a_retry_is_for_the_very_next_plain_turn_only() -> None:
    from zyx.testing import calls

    model = ScriptedChatModel(responses=[
        call("get_population", city="bob"),
        calls(call("get_user_city", user="bob"), complete("guess", "not-an-int")),  # not a plain turn
        call("get_user_city", user="carol"), complete("14000000", 14_000_000)])
    zyx.run("t", int, tools=TOOLS, model=model)
    assert ["get_population"] not in names(model)


def test_a_long_or_multi_line_finding_is_not_restated_in_the_hint() -> None:
    def get_user_city(user: str) -> str:
        """The home city of a user."""
        return "Tokyo\n(home since 2019)"

    model = ScriptedChatModel(responses=[call("get_population", city="bob"), call("get_user_city", user="bob"),
                                         call("get_population", city="Tokyo"), complete("14000000", 14_000_000)])
    result = zyx.run("t", int, tools=[get_user_city, get_population], model=model)
    assert tool_messages(result.messages)[1].content.endswith("(Now call get_population again, with what this found.)")


def test_the_hint_restates_a_finding_as_the_call_only_when_the_failed_call_had_one_argument() -> None:
    def order_total(customer: int, currency: str) -> str:
        """The total of a customer's orders."""
        return "Error: unknown customer" if customer != 7 else "12 EUR"

    def customer_number(email: str) -> str:
        """A customer's number."""
        return "7"

    def orders(customer: int) -> str:
        """A customer's orders, by number."""
        return "Error: unknown customer" if customer != 7 else "R-1"

    model = ScriptedChatModel(responses=[call("order_total", customer=1, currency="EUR"),
                                         call("customer_number", email="a@b.c"), complete("12 EUR")])
    result = zyx.run("t", tools=[order_total, customer_number], model=model)
    assert tool_messages(result.messages)[1].content.endswith("(Now call order_total again, with what this found: 7)")
    model = ScriptedChatModel(responses=[call("orders", customer=1), call("customer_number", email="a@b.c"),
                                         complete("R-1")])
    result = zyx.run("t", tools=[orders, customer_number], model=model)
    assert tool_messages(result.messages)[1].content.endswith("with what this found: orders(customer=7))")


def test_a_record_found_is_restated_only_through_the_field_named_like_the_failed_argument() -> None:
    def get_order(order_id: str) -> dict[str, object]:
        """An order's record."""
        return {"item": "lamp", "quantity": 3}

    def get_price(item: str) -> int | str:
        """The price of an item."""
        return 20 if item == "lamp" else f"Error: unknown item {item!r}"

    def get_stock(sku: str) -> int | str:
        """Items in stock."""
        return f"Error: unknown sku {sku!r}"

    model = ScriptedChatModel(responses=[call("get_price", item="A100"), call("get_order", order_id="A100"),
                                         call("get_price", item="lamp"), complete("20", 20)])
    result = zyx.run("t", int, tools=[get_order, get_price], model=model)
    assert tool_messages(result.messages)[1].content.endswith('with what this found: get_price(item="lamp"))')
    model = ScriptedChatModel(responses=[call("get_stock", sku="A100"), call("get_order", order_id="A100"),
                                         complete("none", status="failed"), complete("none", status="failed")])
    result = zyx.run("t", tools=[get_order, get_stock], model=model)
    assert tool_messages(result.messages)[1].content.endswith("(Now call get_stock again, with what this found.)")
    assert "without the call the last result asked for: call get_stock again, with what the last call found." \
        in tool_messages(result.messages)[2].content
