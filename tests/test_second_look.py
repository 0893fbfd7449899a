"""Coaching's second look at a completion (once per run), and arguments a small model wraps in a copied schema key.

A give-up after tool calls with tools never tried, and a give-up that carries a result, are sent back once,
saying why, and so is a give-up without the call a retry note asked for; whatever the model sends next is judged as usual; a success is never sent back. `coach=False`
turns it off. Plan steps' repeated ids are tested in test_plan_logic.py.
"""

from __future__ import annotations

from helpers import assert_valid_history, tool_messages

import zyx
from zyx.testing import ScriptedChatModel, call, complete


def find_employee(full_name: str) -> str:
    """An employee's id, by full name."""
    return {"Priya Shah": "E-104"}.get(full_name, f"nobody called {full_name} works here")


def employee_record(employee_id: str) -> str:
    """An employee's record, by employee id."""
    return {"E-104": "Priya Shah, Finance, 1290 days"}.get(employee_id, f"no employee with id {employee_id}")


TOOLS = [find_employee, employee_record]
LOOKS = ("Not accepted yet",)


def offered(model: ScriptedChatModel) -> list[list[str]]:
    return [c.tools for c in model.calls]


def looks(result: zyx.RunResult) -> list[str]:
    return [m.text for m in tool_messages(result.messages) if m.text.startswith(LOOKS)]


def test_a_give_up_with_an_untried_tool_is_sent_back_once_then_the_tried_tool_is_offered_again() -> None:
    model = ScriptedChatModel(responses=[
        call("employee_record", employee_id="Priya Shah"), complete("not found", status="skipped"),
        call("find_employee", full_name="Priya Shah"), call("employee_record", employee_id="E-104"),
        complete("Priya Shah works in Finance.")])
    result = zyx.run("Which department does Priya Shah work in?", tools=TOOLS, model=model)
    assert result.completion.status == "success" and len(model.calls) == 5
    (look,) = looks(result)
    assert "status \"skipped\"" in look and "find_employee(full_name) was not tried" in look
    every = ["find_employee", "employee_record", "complete_task"]
    assert offered(model) == [every, every, ["find_employee"], ["employee_record", "complete_task"], every]
    assert "Now call employee_record again" in tool_messages(result.messages)[-3].text
    assert_valid_history(result.messages)


def test_the_same_give_up_after_the_second_look_is_accepted_once_the_suggested_call_was_made() -> None:
    model = ScriptedChatModel(responses=[
        call("employee_record", employee_id="X"), complete("not found", status="failed"),
        call("find_employee", full_name="Nobody"), call("employee_record", employee_id="Nobody"),
        complete("nobody by that name", status="failed")])
    result = zyx.run("Which department does Nobody work in?", tools=TOOLS, model=model)
    assert result.completion.status == "failed" and result.completion.summary == "nobody by that name"
    assert len(looks(result)) == 1


def test_a_give_up_without_the_call_the_retry_note_asked_for_is_sent_back_once_with_that_tool_alone() -> None:
    model = ScriptedChatModel(responses=[
        call("employee_record", employee_id="Priya Shah"), complete("not found", status="skipped"),
        call("find_employee", full_name="Priya Shah"), complete("No employee with id E-104", status="skipped"),
        call("employee_record", employee_id="E-104"), complete("Priya Shah works in Finance.")])
    result = zyx.run("Which department does Priya Shah work in?", tools=TOOLS, model=model)
    assert result.completion.status == "success" and len(model.calls) == 6
    untried, pending = looks(result)
    assert pending.startswith('Not accepted yet: you gave up (status "skipped") without the call the last result')
    assert 'employee_record(employee_id="E-104")' in pending
    assert offered(model)[4] == ["employee_record"]  # complete_task offered, the 0.5B model gave up again
    assert_valid_history(result.messages)


def test_the_suggested_call_is_asked_for_once_and_made_with_any_arguments_it_counts() -> None:
    give_up = complete("nobody by that name", status="failed")
    opening = [call("employee_record", employee_id="X"), give_up, call("find_employee", full_name="Nobody")]
    model = ScriptedChatModel(responses=[*opening, give_up, give_up])  # asked once, then the give-up stands
    result = zyx.run("Nobody's department?", tools=TOOLS, model=model)
    assert result.completion.status == "failed" and len(looks(result)) == 2 and len(model.calls) == 5
    model = ScriptedChatModel(responses=[*opening, call("employee_record", employee_id="other"), give_up])
    result = zyx.run("Nobody's department?", tools=TOOLS, model=model)  # the tool was called again: not asked
    assert result.completion.status == "failed" and len(looks(result)) == 1


def test_the_asked_for_call_keeps_complete_task_offered_for_a_tool_with_effects_or_without_require_completion() -> None:
    from langchain_core.tools import StructuredTool

    def delete_account(user_id: str) -> str:
        """Delete a user's account, by user id."""
        return f"no account {user_id}"

    def find_user(name: str) -> str:
        """A user's id, by name."""
        return "U-7"

    destructive = StructuredTool.from_function(delete_account, metadata={"annotations": {"destructiveHint": True}})
    script = [call("delete_account", user_id="bob"), complete("no such account", status="failed"),
              call("find_user", name="bob"), complete("gave up", status="failed"), complete("gave up", status="failed")]
    model = ScriptedChatModel(responses=script)
    result = zyx.run("Delete bob's account.", tools=[destructive, find_user], model=model)
    assert result.completion.status == "failed" and offered(model)[4] == ["delete_account", "complete_task"]
    model = ScriptedChatModel(responses=script)
    result = zyx.run("Delete bob's account.", tools=[delete_account, find_user], model=model, require_completion=False)
    assert result.completion.status == "failed" and offered(model)[4] == ["delete_account", "complete_task"]
    assert "delete_account(user_id=\"U-7\")" in looks(result)[-1]
    # an MCP tool's annotations: destructiveHint unset means true (MCP's default) unless read-only or idempotent
    for hints, forced in (({"destructiveHint": None, "readOnlyHint": None}, False), ({"destructiveHint": False}, False),
                          ({"readOnlyHint": True}, True), ({"idempotentHint": True, "destructiveHint": None}, True)):
        mcp_tool = StructuredTool.from_function(delete_account, metadata={"annotations": hints})
        model = ScriptedChatModel(responses=script)
        zyx.run("Delete bob's account.", tools=[mcp_tool, find_user], model=model)
        assert offered(model)[4] == (["delete_account"] if forced else ["delete_account", "complete_task"]), hints


def test_a_give_up_before_any_tool_call_or_with_every_tool_tried_is_accepted_at_once() -> None:
    model = ScriptedChatModel(responses=[complete("no tool can translate", status="failed")])
    assert zyx.run("Translate 'hi' into Japanese.", tools=TOOLS, model=model).completion.status == "failed"
    model = ScriptedChatModel(responses=[call("find_employee", full_name="Al"), call("employee_record", employee_id="Al"),
                                         complete("nobody called Al", status="failed")])
    result = zyx.run("Al's department?", tools=TOOLS, model=model)
    assert result.completion.status == "failed" and looks(result) == [] and len(model.calls) == 3


def test_a_give_up_that_carries_a_result_is_asked_once_whether_it_is_the_answer() -> None:
    def search_flights(origin: str, destination: str) -> list[str]:
        """Direct flights between two cities."""
        return []

    model = ScriptedChatModel(responses=[call("search_flights", origin="Oslo", destination="Cairo"),
                                         complete("no flights", 0, status="skipped"), complete("no flights", 0)])
    result = zyx.run("How many direct flights from Oslo to Cairo?", int, tools=[search_flights], model=model)
    assert result.output == 0 and result.completion.status == "success"
    (look,) = looks(result)
    assert "result with status \"skipped\"" in look
    assert offered(model)[2] == ["complete_task"]


def test_a_success_is_never_sent_back() -> None:
    def get_price(item: str) -> int:
        """The price of an item."""
        return 4

    model = ScriptedChatModel(responses=[complete("from memory", 1)])  # no tool tried: still the model's answer
    assert zyx.run("What does milk cost?", int, tools=[get_price], model=model).output == 1
    model = ScriptedChatModel(responses=[call("get_price", item="milk"), complete("48", 48)])  # a computed value
    assert zyx.run("What do 12 bottles of milk cost?", int, tools=[get_price], model=model).output == 48


def test_no_second_look_when_the_next_turn_would_be_the_wrap_up_or_no_tool_may_run() -> None:
    script = [call("employee_record", employee_id="X"), complete("not found", status="failed")]
    result = zyx.run("t", tools=TOOLS, model=ScriptedChatModel(responses=script), max_model_calls=3)
    assert result.completion.status == "failed" and looks(result) == []
    result = zyx.run("t", tools=TOOLS, model=ScriptedChatModel(responses=script), max_steps=1)
    assert result.completion.status == "failed" and looks(result) == []


def test_coach_false_turns_the_second_look_off() -> None:
    model = ScriptedChatModel(responses=[call("employee_record", employee_id="X"), complete("no", status="failed")])
    result = zyx.run("t", tools=TOOLS, model=model, coach=False)
    assert result.completion.status == "failed" and looks(result) == []
    model = ScriptedChatModel(responses=[call("employee_record", employee_id="X"), complete("0", 0, status="failed")])
    assert zyx.run("t", int, tools=[employee_record], model=model, coach=False).completion.status == "failed"


def test_direct_call_arguments_wrapped_in_a_copied_properties_key_are_unwrapped() -> None:
    model = ScriptedChatModel(responses=[call("find_employee", properties={"full_name": "Priya Shah"}),
                                         complete("E-104")])
    result = zyx.run("Priya Shah's id?", tools=TOOLS, model=model)
    assert result.tool_calls[0].output == "E-104"


def test_after_a_second_look_a_tool_that_succeeded_is_suggested_again_not_forced_on_that_turn() -> None:
    sent: list[str] = []

    def send_invoice(customer: str) -> str:
        """Send a customer their invoice."""
        sent.append(customer)
        return "invoice sent"

    def lookup(name: str) -> str:
        """A customer's id, by name."""
        return "C-1"

    model = ScriptedChatModel(responses=[call("send_invoice", customer="bob"), complete("unsure", status="failed"),
                                         call("lookup", name="bob"), complete("Invoice sent to bob.")])
    result = zyx.run("Send bob his invoice.", tools=[send_invoice, lookup], model=model)
    assert sent == ["bob"] and result.completion.status == "success"
    assert offered(model)[3] == ["send_invoice", "complete_task"]


def test_without_require_completion_a_give_up_with_a_result_is_not_asked_about() -> None:
    def search_flights(origin: str, destination: str) -> list[str]:
        """Direct flights between two cities."""
        return []

    model = ScriptedChatModel(responses=[call("search_flights", origin="Oslo", destination="Cairo"),
                                         complete("no flights", 0, status="skipped")])
    result = zyx.run("How many flights?", int, tools=[search_flights], model=model, require_completion=False)
    assert result.completion.status == "skipped" and result.output == 0 and looks(result) == []


def test_a_thread_resumed_without_the_asked_for_tool_takes_the_give_up_as_usual() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    def notify(who: str) -> str:
        """Tell someone."""
        return "told"

    give_up = complete("gave up", status="failed")
    model = ScriptedChatModel(responses=[
        call("employee_record", employee_id="Priya Shah"), complete("not found", status="skipped"),
        call("find_employee", full_name="Priya Shah"), call("notify", who="hr"), give_up])
    options = {"model": model, "approve": ["notify"], "checkpointer": InMemorySaver(), "thread_id": "t"}
    paused = zyx.run("Which department does Priya Shah work in?", tools=[*TOOLS, notify], **options)
    assert paused.interrupted and "with what this found" in tool_messages(paused.messages)[-1].text
    result = zyx.run(tools=[find_employee, notify], decisions={paused.pending[0].id: "approve"}, **options)
    assert result.completion.status == "failed" and len(looks(result)) == 1  # employee_record is no tool now


def test_a_tool_whose_metadata_is_not_a_mapping_declares_nothing() -> None:
    from langchain_core.tools import StructuredTool

    record = StructuredTool.from_function(employee_record)
    record.metadata = "internal"  # type: ignore[assignment]  # pydantic does not check an assignment
    give_up = complete("gave up", status="failed")
    model = ScriptedChatModel(responses=[
        call("employee_record", employee_id="Priya Shah"), complete("not found", status="skipped"),
        call("find_employee", full_name="Priya Shah"), give_up, give_up])
    result = zyx.run("Which department does Priya Shah work in?", tools=[find_employee, record], model=model)
    assert result.completion.status == "failed" and offered(model)[4] == ["employee_record"]
