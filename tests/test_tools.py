"""Tools: sync/async functions and LangChain tools, concurrency, errors, and what the model sees."""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import threading
import time
from typing import Any

import pytest
from helpers import answers, assert_valid_history, scripted, tool_messages, turn
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

import zyx
from zyx._tools import to_tools
from zyx.testing import ScriptedChatModel, call, calls, complete, last_tool_results


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    await asyncio.sleep(0)
    return a * b


@tool
def shout(word: str) -> str:
    """Shout a word."""
    return word.upper() + "!"


def test_sync_async_and_langchain_tools() -> None:
    seen: list[list[str]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) == 0:
            return calls(call("add", a=2, b=3), call("multiply", a=4, b=5), call("shout", word="hi"))
        seen.append([m.content for m in last_tool_results(messages)])
        return complete()

    model = ScriptedChatModel(policy=policy)
    result = zyx.run("compute", tools=[add, multiply, shout], model=model)
    assert seen == [["5", "20", "HI!"]]
    assert [(r.name, r.args, r.output) for r in result.tool_calls] == [
        ("add", {"a": 2, "b": 3}, 5),
        ("multiply", {"a": 4, "b": 5}, 20),
        ("shout", {"word": "hi"}, "HI!"),
    ]
    assert len(model.calls) == 2
    assert_valid_history(result.messages)


def test_tool_schemas_are_bound() -> None:
    captured: list[list[dict[str, Any]]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        captured.append(tools)
        return complete()

    zyx.run("x", tools=[add, shout], model=ScriptedChatModel(policy=policy))
    by_name = {t["function"]["name"]: t["function"] for t in captured[0]}
    assert list(by_name) == ["add", "shout", "complete_task"]
    assert by_name["add"]["description"] == "Add two integers."
    assert set(by_name["add"]["parameters"]["properties"]) == {"a", "b"}
    assert by_name["add"]["parameters"]["properties"]["a"]["type"] == "integer"


# -- concurrency -----------------------------------------------------------------------


_meeting = threading.Barrier(2, timeout=10)
_arrived: list[str] = []


def slow_a() -> str:
    """Sync tool A: returns once B is running at the same time (10 s without it: it failed alone)."""
    _meeting.wait()
    return "a"


def slow_b() -> str:
    """Sync tool B: returns once A is running at the same time."""
    _meeting.wait()
    return "b"


async def _meet(name: str) -> str:
    """Wait (by condition, at most 10 s) until both async tools have started: only concurrent calls both return."""
    _arrived.append(name)
    deadline = time.monotonic() + 10
    while len(_arrived) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} ran alone: the other tool never started while it was running")
        await asyncio.sleep(0.01)
    return name


async def aslow_a() -> str:
    """Async tool A."""
    return await _meet("a")


async def aslow_b() -> str:
    """Async tool B."""
    return await _meet("b")


def _parallel_run(first: Any, second: Any) -> list[str]:
    seen: list[str] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) == 0:
            return calls(call(first.__name__), call(second.__name__))
        seen.extend(m.content for m in last_tool_results(messages))
        return complete()

    _meeting.reset()
    _arrived.clear()
    zyx.run("go", tools=[first, second], model=ScriptedChatModel(policy=policy))
    return seen


def test_sync_tools_in_one_turn_run_concurrently() -> None:
    assert _parallel_run(slow_a, slow_b) == ["a", "b"]  # each returned only while the other was running


def test_async_tools_in_one_turn_run_concurrently() -> None:
    assert _parallel_run(aslow_a, aslow_b) == ["a", "b"]


def test_results_come_back_in_call_order_not_finish_order() -> None:
    finished: list[str] = []

    async def slow(tag: str) -> str:
        """Slow."""
        await asyncio.sleep(0.2)
        finished.append(f"slow:{tag}")
        return f"slow:{tag}"

    async def fast(tag: str) -> str:
        """Fast."""
        finished.append(f"fast:{tag}")
        return f"fast:{tag}"

    model = scripted(calls(call("slow", tag="1"), call("fast", tag="2"), call("slow", tag="3")), complete())
    result = zyx.run("go", tools=[slow, fast], model=model)
    assert finished[0] == "fast:2"
    first_turn = result.messages[1]
    ids = [c["id"] for c in first_turn.tool_calls]
    results = result.messages[2:5]
    assert [m.tool_call_id for m in results] == ids
    assert [m.content for m in results] == ["slow:1", "fast:2", "slow:3"]
    assert [r.output for r in result.tool_calls] == ["slow:1", "fast:2", "slow:3"]


# -- failures the model sees -----------------------------------------------------------


def test_raising_tool_becomes_error_message_and_model_recovers() -> None:
    def flaky(n: int) -> int:
        """Fails on odd numbers."""
        if n % 2:
            raise ValueError(f"odd number {n}")
        return n * 10

    seen: list[ToolMessage] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        step = turn(messages)
        if step:
            seen.extend(last_tool_results(messages))
        return [call("flaky", n=3), call("flaky", n=4), complete(summary="recovered")][step]

    model = ScriptedChatModel(policy=policy)
    result = zyx.run("go", tools=[flaky], model=model)
    assert result.completion is not None and result.completion.summary == "recovered"
    assert result.termination == "completed"
    error, ok = seen
    assert error.status == "error"
    assert "ValueError" in error.content and "odd number 3" in error.content
    assert (ok.status, ok.content) == ("success", "40")
    assert [(r.output, r.ok) for r in result.tool_calls] == [(None, False), (40, True)]
    assert "odd number 3" in (result.tool_calls[0].error or "")


def test_unknown_tool_lists_available_tools() -> None:
    model = scripted(call("sbutract", a=1, b=2), complete())
    result = zyx.run("go", tools=[add, shout], model=model)
    message = result.messages[2]
    assert isinstance(message, ToolMessage)
    assert message.status == "error"
    assert "sbutract" in message.content
    assert "add" in message.content and "shout" in message.content
    assert model.calls[1].messages[-1] == message  # the model saw it
    assert result.completion is not None and result.termination == "completed"
    assert_valid_history(result.messages)


def test_invalid_arguments_become_error_message() -> None:
    model = scripted(call("add", a="not a number", b=2), call("add", a=1, b=2), complete())
    result = zyx.run("go", tools=[add], model=model)
    bad, good = tool_messages(result.messages)[:2]
    assert bad.status == "error"
    assert "a" in bad.content and "integer" in bad.content
    assert (good.status, good.content) == ("success", "3")
    assert model.calls[1].messages[-1] == bad
    assert len(model.calls) == 3


def test_missing_argument_becomes_error_message() -> None:
    model = scripted(call("add", a=1), complete())
    result = zyx.run("go", tools=[add], model=model)
    (bad, _) = tool_messages(result.messages)
    assert bad.status == "error" and "b" in bad.content


# -- outputs: JSON for the model, Python values for the caller -------------------------


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value

    def __str__(self) -> str:
        return f"<Opaque {self.value}>"


OPAQUE = Opaque(7)


def get_dict() -> dict[str, Any]:
    """A dict."""
    return {"city": "Paris", "temps": [20, 21], "ok": True}


def get_text() -> str:
    """Some text with "quotes"."""
    return 'plain "text"'


def get_opaque() -> Opaque:
    """An object that is not JSON."""
    return OPAQUE


def get_date() -> datetime.date:
    """A date."""
    return datetime.date(2024, 5, 17)


def test_outputs_reach_model_as_json_and_caller_as_python() -> None:
    model = scripted(
        calls(call("get_dict"), call("get_text"), call("get_opaque"), call("get_date")),
        complete(),
    )
    result = zyx.run("go", tools=[get_dict, get_text, get_opaque, get_date], model=model)
    contents = [m.content for m in last_tool_results(model.calls[1].messages)]
    assert json.loads(contents[0]) == {"city": "Paris", "temps": [20, 21], "ok": True}
    assert contents[1] == 'plain "text"'  # strings as they are, not JSON-quoted
    assert contents[2] == "<Opaque 7>"
    assert contents[3] == '"2024-05-17"'
    outputs = [r.output for r in result.tool_calls]
    assert outputs[0] == {"city": "Paris", "temps": [20, 21], "ok": True}
    assert outputs[1] == 'plain "text"'
    assert outputs[2] is OPAQUE
    assert outputs[3] == datetime.date(2024, 5, 17)


def test_same_turn_tool_messages_match_ids() -> None:
    model = scripted(calls(call("add", a=1, b=1), call("add", a=2, b=2)), complete())
    result = zyx.run("go", tools=[add], model=model)
    turn_one = result.messages[1]
    assert isinstance(turn_one, AIMessage)
    by_id = answers(result.messages)
    assert [by_id[c["id"]].content for c in turn_one.tool_calls] == ["2", "4"]
    assert [r.id for r in result.tool_calls] == [c["id"] for c in turn_one.tool_calls]


# -- functools.partial ---------------------------------------------------------------------


def convert(amount: float, rate: float, currency: str = "EUR") -> str:
    """Convert an amount of USD.

    Args:
        amount: How many US dollars.
        rate: The exchange rate (bound by the caller, not chosen by the model).
        currency: The currency to convert to.
    """
    return f"{amount * rate:.2f} {currency}"


async def alookup(key: str, table: dict[str, int]) -> int:
    """Look a key up in a table."""
    await asyncio.sleep(0)
    return table[key]


def test_partial_tools_hide_bound_arguments_and_run() -> None:
    """A `functools.partial` is a tool named and described after its function; the model sees only
    what is left to fill, and the bound values are used (sync in a thread, async awaited)."""
    captured: list[dict[str, Any]] = []

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) == 0:
            captured.extend(t["function"] for t in tools)
            return calls(call("convert", amount=10, rate=99.0), call("convert", amount=10), call("alookup", key="b"))
        return complete()

    result = zyx.run("x", tools=[functools.partial(convert, rate=0.5), functools.partial(alookup, table={"b": 2})],
                     model=ScriptedChatModel(policy=policy))
    schemas = {f["name"]: f for f in captured}
    assert schemas["convert"]["description"] == "Convert an amount of USD."  # its Args went to the schema
    assert set(schemas["convert"]["parameters"]["properties"]) == {"amount", "currency"}
    assert schemas["convert"]["parameters"]["properties"]["amount"]["description"] == "How many US dollars."
    assert set(schemas["alookup"]["parameters"]["properties"]) == {"key"}
    # a bound argument the model slipped in is refused (the model was not shown it); the bound value is used
    slipped, converted, looked_up = result.tool_calls
    assert slipped.error is not None and "'rate': not an argument of this tool" in slipped.error
    assert [(r.name, r.output) for r in (converted, looked_up)] == [("convert", "5.00 EUR"), ("alookup", 2)]


def test_docstring_args_are_sent_once_in_the_schema_and_other_sections_stay() -> None:
    """A Google-style `Args:` section becomes the arguments' descriptions and leaves the tool's
    description (sent twice before); a `Returns:` section stays; no Args section, no change."""

    def area(width: float, height: float = 1.0) -> float:
        """Area of a rectangle.

        Args:
            width: Width in metres.
            height (float): Height in metres.

        Returns:
            Square metres.
        """
        return width * height

    def gap(width: float, height: float = 1.0) -> float:
        """Area of a rectangle.

        Args:
            width: Width in metres.

            height: LangChain stops parsing at the blank line, so this stays in the description.
        """
        return width * height

    def plain(x: int) -> int:
        """Double a number.

        Args here are not a section.
        """
        return 2 * x

    def modes(x: int, mode: str) -> str:
        """Run in a mode.

        Args:
            x: The x.
            mode: One of:

                - "fast": LangChain never reads this list, so the section stays.
        """
        return mode

    def numpy_style(x: int) -> int:
        """Double x.

        Parameters:
            x: LangChain reads only `Args:`, so this stays.
        """
        return 2 * x

    (tool, other, unparsed, listed, parameters) = to_tools([area, plain, gap, modes, numpy_style])
    assert "never reads this list" in listed.description and "stays" in parameters.description
    assert tool.description == "Area of a rectangle.\n\nReturns:\n    Square metres."
    assert tool.args["height"]["description"] == "Height in metres."
    assert "description" not in unparsed.args["height"] and "blank line" in unparsed.description
    assert other.description == "Double a number.\n\nArgs here are not a section."


def test_partial_of_a_nameless_callable_is_refused() -> None:
    class Adder:
        def __call__(self, a: int, b: int) -> int:
            return a + b

    with pytest.raises(zyx.ConfigurationError, match="tools"):
        zyx.run("x", tools=[functools.partial(Adder(), b=1)], model=ScriptedChatModel(responses=[complete()]))


def test_a_partial_tool_is_built_once() -> None:
    """Like a function, the same partial object maps to one cached tool (and so one cached graph)."""
    from zyx._tools import to_tool

    bound = functools.partial(convert, rate=0.5)
    assert to_tool(bound) is to_tool(bound)
