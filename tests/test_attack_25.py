"""Attacks on #25 (coaching's second look, the retry hint restating the call, schema-echo arguments unwrapped).

Each test pins a defect found by attacking the change with scripted models.
"""

from __future__ import annotations

from typing import Any

from helpers import assert_valid_history, tool_messages
from langchain_core.tools import StructuredTool

import zyx
from zyx.testing import ScriptedChatModel, call, complete


def get_price(item: str) -> str:
    """The price of an item, by its catalogue name."""
    return {"lamp": "12", "1e3": "40"}.get(item, f"Error: no item {item!r}")


def find_item(desc: str) -> str:
    """An item's catalogue name, by description."""
    return {"light": "lamp", "part": "1e3"}.get(desc, "nothing")


def offered(model: ScriptedChatModel) -> list[list[str]]:
    return [c.tools for c in model.calls]


def test_the_retry_hint_restates_the_call_with_the_unwrapped_argument_name() -> None:
    # the failed call wrapped its arguments in a copied schema key; the tool ran with them unwrapped
    model = ScriptedChatModel(responses=[call("get_price", properties={"item": "light"}), call("find_item", desc="light"),
                                         call("get_price", item="lamp"), complete("12", "12")])
    result = zyx.run("What does the light cost?", tools=[get_price, find_item], model=model)
    hint = tool_messages(result.messages)[1].text
    assert hint.endswith('get_price(item="lamp"))') and "properties" not in hint
    assert_valid_history(result.messages)


def test_the_retry_hint_restates_a_number_like_finding_as_written_for_a_text_argument() -> None:
    model = ScriptedChatModel(responses=[call("get_price", item="part"), call("find_item", desc="part"),
                                         call("get_price", item="1e3"), complete("40", "40")])
    result = zyx.run("What does the part cost?", tools=[get_price, find_item], model=model)
    hint = tool_messages(result.messages)[1].text
    assert hint.endswith('get_price(item="1e3"))'), hint  # not "1000.0": the text the tool found


def test_a_second_look_without_require_completion_keeps_complete_task_offered() -> None:
    # without require_completion a plain-text reply ends the run: the model must be able to give up again
    model = ScriptedChatModel(responses=[call("get_price", item="x"), complete("no such item", status="failed"),
                                         complete("no such item", status="failed")])
    result = zyx.run("What does x cost?", tools=[get_price, find_item], model=model, require_completion=False)
    assert offered(model)[2] == ["find_item", "complete_task"]
    assert result.completion is not None and result.completion.status == "failed"
    assert result.completion.summary == "no such item"


def _open_tool() -> Any:
    return StructuredTool.from_function(
        func=lambda **kw: repr(sorted(kw)), name="tag", description="Tag a record with any keys.",
        args_schema={"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": True})


def test_a_valid_properties_key_for_an_open_tool_is_passed_as_sent() -> None:
    model = ScriptedChatModel(responses=[call("tag", properties={"name": "a"}), complete("tagged")])
    result = zyx.run("Tag it.", tools=[_open_tool()], model=model)
    assert result.tool_calls[0].output == "['properties']"


def test_a_plan_step_with_a_valid_properties_key_for_an_open_tool_is_passed_as_sent() -> None:
    plan = {"steps": [{"id": "t", "tool": "tag", "args": {"properties": {"name": "a"}}},
                      {"id": "done", "tool": "complete_task", "args": {"summary": "$t"}}]}
    model = ScriptedChatModel(responses=[call("submit_plan", **plan)])
    result = zyx.run("Tag it.", tools=[_open_tool()], model=model, plan=True)
    assert result.tool_calls[0].output == "['properties']"


def test_the_retry_hint_never_restates_a_list_argument_as_a_string() -> None:
    def get_prices(items: list[str]) -> str:
        """The prices of items, by catalogue name."""
        return "12" if items == ["lamp"] else f"Error: unknown items {items}"

    model = ScriptedChatModel(responses=[call("get_prices", items=["light"]), call("find_item", desc="light"),
                                         call("get_prices", items=["lamp"]), complete("12", "12")])
    result = zyx.run("What does the light cost?", tools=[get_prices, find_item], model=model)
    hint = tool_messages(result.messages)[1].text
    assert 'items="lamp"' not in hint, hint  # the tool takes a list: a string there fails validation
    assert "Now call get_prices again" in hint


def test_the_retry_hint_never_restates_a_text_finding_as_a_number_argument() -> None:
    def get_stock(shelf: int) -> str:
        """The stock on a shelf, by shelf number."""
        return "3 lamps" if shelf == 7 else f"Error: no shelf {shelf}"

    def find_shelf(desc: str) -> str:
        """Where an item is kept."""
        return "aisle seven"

    model = ScriptedChatModel(responses=[call("get_stock", shelf=1), call("find_shelf", desc="lamp"),
                                         call("get_stock", shelf=7), complete("3 lamps")])
    result = zyx.run("How many lamps are in stock?", tools=[get_stock, find_shelf], model=model)
    hint = tool_messages(result.messages)[1].text
    assert 'shelf="aisle seven"' not in hint, hint  # the tool takes a number: a string there fails validation
    assert "Now call get_stock again" in hint
