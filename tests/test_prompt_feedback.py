"""What zyx tells the model when it loops, reaches a limit, or echoes zyx's own messages back.

- A call repeated with the same arguments still runs (tools may change between calls); when it
  returns the same output as before, its result says so, pointing at the earlier result.
- The wrap-up turn asks for the result the model holds, and does not steer it to "failed".
- A "success" whose summary or result only repeats the limit message is rejected, not accepted.
"""

from __future__ import annotations

import itertools

import pytest
from helpers import tool_messages

import zyx
from zyx import LimitExceededError, _prompts
from zyx.testing import ScriptedChatModel, call, complete

NOTE = "was already called with these arguments"


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"{city}: 72F and sunny"


def test_a_repeated_call_with_the_same_result_is_answered_with_a_note() -> None:
    model = ScriptedChatModel(responses=[call("get_weather", city="Paris"), call("get_weather", city="Paris"),
                                         call("get_weather", city="Oslo"), complete("Sunny.")])
    result = zyx.run("Weather in Paris?", tools=[get_weather], model=model)

    first, second, other, _accepted = (m.text for m in tool_messages(result.messages))
    assert first == "Paris: 72F and sunny"
    assert second.startswith("Paris: 72F and sunny") and NOTE in second  # the result is still given
    assert other == "Oslo: 72F and sunny"  # other arguments: no note
    assert [c.args for c in result.tool_calls] == [{"city": "Paris"}] * 2 + [{"city": "Oslo"}]  # every call ran


def test_a_repeat_whose_result_changed_gets_no_note() -> None:
    ticks = itertools.count()

    def next_ticket() -> int:
        """Take the next ticket number."""
        return next(ticks)

    model = ScriptedChatModel(responses=[call("next_ticket"), call("next_ticket"), complete("Got 1.")])
    result = zyx.run("Take two tickets.", tools=[next_ticket], model=model)
    assert [m.text for m in tool_messages(result.messages)][:2] == ["0", "1"]


def test_the_wrap_up_asks_for_what_the_model_holds() -> None:
    text = _prompts.WRAP_UP.format(limit="max_steps")
    assert "complete_task" in text and '"success"' in text
    assert 'with status "failed" and what you have' not in text  # the old wording that pushed models to fail


def test_a_success_echoing_the_limit_message_is_not_accepted() -> None:
    echo = _prompts.WRAP_UP.format(limit="max_model_calls")
    model = ScriptedChatModel(responses=[call("get_weather", city="Paris"), complete(echo, result=echo)])
    with pytest.raises(LimitExceededError) as caught:
        zyx.run("Weather in Paris?", str, tools=[get_weather], model=model, max_model_calls=2)
    assert any(_prompts.LIMIT_ECHOED in e for e in caught.value.errors or [])


def test_a_real_answer_in_the_wrap_up_is_accepted() -> None:
    model = ScriptedChatModel(responses=[call("get_weather", city="Paris"), complete("Paris: 72F and sunny.",
                                                                                       result="72F and sunny")])
    result = zyx.run("Weather in Paris?", str, tools=[get_weather], model=model, max_model_calls=2)
    assert result.output == "72F and sunny" and result.termination == "max_model_calls"


def test_mentioning_a_limit_is_fine_when_no_limit_was_shown() -> None:
    model = ScriptedChatModel(responses=[complete("The max_steps limit caps tool calls.", result="max_steps limit")])
    assert zyx.run("What does max_steps do?", str, model=model).output == "max_steps limit"
