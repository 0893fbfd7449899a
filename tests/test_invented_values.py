"""The look at invented values (zyx.graph.grounding, the `check_invented` option).

A turn whose every call has none of its values in what the model has seen (task, context, instructions, earlier
results, or a number worked out from them), a number among them, is answered once per run instead of run, and
the next turn offers only complete_task; values that say nothing about their origin are not judged.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from openai_server import OpenAIServer, reply

import zyx
from zyx import ConfigurationError
from zyx.graph.grounding import invented
from zyx.graph.seen import Seen
from zyx.testing import ScriptedChatModel, call, complete

PROPERTIES: dict[str, Any] = {
    "unit": {"type": "string", "enum": ["cm", "m"]},
    "precision": {"type": "integer", "default": 2},
    "verbose": {"type": "boolean"},
}


@pytest.mark.parametrize(("args", "seen"), [
    ({"base": 6, "height": 10}, "a triangle with base 6cm and height 10cm"),  # units glued to numbers
    ({"rate": 0.05}, "a rate of 5% a year"),  # a percentage as a fraction
    ({"rate": 5}, "a rate of 0.05"),  # and back
    ({"count": 3}, "three apples"),  # a number word
    ({"population": 3_000_000}, "a city of 3 million people"),
    ({"amount": 1500}, "pay $1,500 now"),  # thousands separators
    ({"city": "New York City", "days": 9}, "the weather in new york"),  # one word of a text value is enough
    ({"date": "2026-12-06"}, "what happened on 6 december 2026"),  # a number inside a text value
    ({"a": 17, "b": 99}, "add 17 to something"),  # one value found is enough
    ({"ids": [4, 7]}, "orders 4 and 7"),  # values inside lists
    ({"filter": {"name": "Priya", "limit": 5}}, "find priya"),  # and objects
    ({"x": 25}, "the square root of 9 + 16"),  # a step the model worked out: one operation on given numbers
    ({"total": 84}, "7 boxes of 12"),
])
def test_values_found_in_what_was_seen_are_not_invented(args: dict[str, Any], seen: str) -> None:
    assert invented(args, PROPERTIES, Seen.of(seen)) is None


@pytest.mark.parametrize(("args", "expected"), [
    ({"base": 10, "height": 5}, ["10", "5"]),
    ({"restaurant": "Palermo del Monte", "guests": 9, "unit": "cm"}, ['"Palermo del Monte"', "9"]),  # not the enum
    ({"x": 15, "y": 150}, ["15", "150"]),  # "15" is not the "1" of the task, nor "150" its "1500"
])
def test_a_call_whose_every_judged_value_is_missing_is_invented(args: dict[str, Any], expected: list[str]) -> None:
    assert invented(args, PROPERTIES, Seen.of("Find the closest Italian restaurant 1 block away. 1,500")) == expected


def test_names_and_codes_alone_are_not_judged_the_model_may_know_them() -> None:
    seen = Seen.of("What is the weather in the capital of Japan? Convert British pounds to yen.")
    assert invented({"city": "Tokyo"}, {}, seen) is None
    assert invented({"source": "GBP", "target": "JPY"}, {}, seen) is None
    assert invented({"city": "Tokyo", "days": 9}, {}, seen) == ['"Tokyo"', "9"]


@pytest.mark.parametrize("args", [
    {},  # nothing to judge
    {"unit": "m", "precision": 2, "verbose": True},  # a choice the schema offers, its default, a flag
    {"offset": 0, "limit": 1},  # 0 and 1: ubiquitous defaults and indices
    {"path": "./", "query": "  "},  # text without a word or a number
    {"n": None},
])
def test_values_that_say_nothing_of_their_origin_are_not_judged(args: dict[str, Any]) -> None:
    assert invented({**args, "n": 9}, PROPERTIES, Seen.of("something else entirely")) == ["9"]  # only n is judged
    assert invented(args, PROPERTIES, Seen.of("something else entirely")) is None


def test_numbers_are_compared_as_numbers_not_as_text_fragments() -> None:
    assert invented({"n": 7}, {}, Seen.of("it costs 15 dollars")) == ["7"]
    assert invented({"n": 2.5}, {}, Seen.of("it costs 2.5 euros")) is None
    assert invented({"n": 4.0}, {}, Seen.of("4 apples")) is None
    assert invented({"n": -4}, {}, Seen.of("4 degrees below zero")) is None
    assert invented({"n": float("inf")}, {}, Seen.of("nothing")) is None  # not a value anyone writes down


calls_made: list[dict[str, Any]] = []


def book_table(restaurant: str, guests: int) -> str:
    """Book a table at a restaurant."""
    calls_made.append({"restaurant": restaurant, "guests": guests})
    return f"Booked {restaurant} for {guests}."


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls_made.clear()


def test_an_invented_call_is_not_run_and_the_next_turn_offers_only_complete_task() -> None:
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Palermo del Monte", guests=4),
                                         complete("No tool I have can do this: the weather.", status="failed")])
    result = zyx.run("What is the weather in Oslo?", tools=[book_table], model=model, check_invented=True)
    assert calls_made == [] and result.tool_calls == []
    note = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert note.status == "error" and '"Palermo del Monte", 4' in note.text and "book_table" in note.text
    assert model.calls[1].tools == ["complete_task"]
    assert result.completion is not None and result.completion.status == "failed"


def test_a_call_with_a_value_from_the_task_runs() -> None:
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Palermo del Monte", guests=4),
                                         complete("Booked.")])
    result = zyx.run("Book Palermo for four people.", tools=[book_table], model=model, check_invented=True)
    assert calls_made == [{"restaurant": "Palermo del Monte", "guests": 4}]
    assert result.completion is not None and result.completion.status == "success"


def test_values_from_an_earlier_result_the_context_or_the_instructions_count_as_seen() -> None:
    def find_restaurant(cuisine: str) -> str:
        """Find a restaurant by cuisine."""
        return json.dumps({"name": "Palermo del Monte"})

    model = ScriptedChatModel(responses=[call("find_restaurant", cuisine="italian"),
                                         call("book_table", restaurant="Palermo del Monte", guests=7),
                                         complete("Booked.")])
    result = zyx.run("Book an Italian place.", tools=[find_restaurant, book_table], model=model, check_invented=True,
                     context=[{"role": "user", "content": "We are 7."}])
    assert calls_made == [{"restaurant": "Palermo del Monte", "guests": 7}]
    assert result.completion is not None and result.completion.status == "success"
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Palermo del Monte", guests=7),
                                         complete("Booked.")])
    zyx.run("Book it.", tools=[book_table], model=model, check_invented=True,
            instructions="Our usual place is Palermo del Monte.")
    assert len(calls_made) == 2


def test_the_look_happens_once_per_run() -> None:
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Palermo del Monte", guests=4),
                                         call("book_table", restaurant="Palermo del Monte", guests=4),
                                         complete("Booked.")])
    result = zyx.run("Book something nice.", tools=[book_table], model=model, check_invented=True,
                     require_completion=True)
    # a model that calls the tool anyway in the turn that offered only complete_task: the look is spent, it runs
    assert calls_made == [{"restaurant": "Palermo del Monte", "guests": 4}]
    assert result.completion is not None


def test_off_by_default_for_models_with_native_tool_calls_and_on_for_envelope_models() -> None:
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Palermo del Monte", guests=4),
                                         complete("Booked.")])
    zyx.run("t", tools=[book_table], model=model)
    assert len(calls_made) == 1

    def envelope(name: str, arguments: dict[str, Any]) -> str:
        return json.dumps({"name": name, "arguments": arguments})

    script = [reply(envelope("book_table", {"restaurant": "Palermo del Monte", "guests": 4})),
              reply(envelope("complete_task", {"result": None, "summary": "No tool can do this.", "status": "failed"}))]
    with OpenAIServer(script) as srv:
        result = zyx.run("Weather in Oslo?", tools=[book_table], model=f"envelope:m@{srv.base_url}")
    assert len(calls_made) == 1 and result.completion is not None and result.completion.status == "failed"
    second = srv.requests[1]["response_format"]["json_schema"]["schema"]
    assert "book_table" not in json.dumps(second)  # the turn after the look offers complete_task only
    with OpenAIServer(script) as srv:
        zyx.run("Weather in Oslo?", tools=[book_table], model=f"envelope:m@{srv.base_url}", coach=False)
    assert len(calls_made) == 2  # coach=False: no look (check_invented=None follows coach)


def test_check_invented_must_be_a_flag_or_none() -> None:
    with pytest.raises(ConfigurationError) as info:
        zyx.run("t", tools=[book_table], model=ScriptedChatModel(responses=[complete("x")]),
                check_invented="yes")  # type: ignore[arg-type]
    assert info.value.argument == "check_invented" and "True, False or None" in str(info.value)


# -- found by review: what an ordinary user gives, in the forms it comes in ------------------------------------

@pytest.mark.parametrize(("args", "seen"), [
    ({"ids": [4, 7]}, "orders 4,7"),  # a list without spaces (CSV, compact JSON): not one number 47
    ({"lat": 52.52}, "[52.52,13.405]"),
    ({"n": 10.5}, "kosten 10,5 euro"),  # a decimal comma
    ({"n": 1000}, "about 1e3 items"),  # scientific notation, as json.dumps writes small and large floats
    ({"n": 0.00001}, json.dumps({"rate": 1e-05})),
    ({"hour": 15}, "wake me at 3pm"),  # a 12-hour time given as a 24-hour one
    ({"hour": 19}, "dinner at 7:30 p.m."),
    ({"quantity": 12}, "a dozen eggs"),  # number words past twenty
    ({"amount": 100}, "a hundred dollars"),
    ({"age": 25}, "she is twenty-five"),  # worked out: 20 + 5
    ({"count": 300}, "three hundred people"),  # 3 * 100
    ({"share": 0.5}, "half of it"),
])
def test_numbers_written_in_other_forms_are_found(args: dict[str, Any], seen: str) -> None:
    assert invented(args, PROPERTIES, Seen.of(seen)) is None


def test_a_number_at_the_start_of_a_line_of_structured_content_is_found() -> None:
    """Content blocks, a dict source and dict outputs are read as their text, not as escaped JSON ("\\n42")."""
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Zorba", guests=42), complete("Booked.")])
    zyx.run("Book for the party in the attached list.", tools=[book_table], model=model, check_invented=True,
            attachments=[b"party list\n42 guests\n"])
    assert calls_made == [{"restaurant": "Zorba", "guests": 42}]
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Zorba", guests=42), complete("Booked.")])
    zyx.run("Book for the party.", tools=[book_table], model=model, check_invented=True,
            source={"notes": "party list\n42 guests"})
    assert len(calls_made) == 2
    assert invented({"guests": 42}, {}, Seen.of(json.dumps({"notes": "party list\n42 guests"}))) is None  # JSON text


def test_the_data_of_an_image_is_not_read_as_text() -> None:
    from zyx.graph.grounding import seen_in
    block = {"type": "image", "base64": "QUJDRDEyMzQ1Njc4OTA=" * 50, "mime_type": "image/png"}
    seen = seen_in({"messages": [HumanMessage(content=[{"type": "text", "text": "hi"}, block])],
                    "task": "hi"}, "")
    assert "qujd" not in seen.text


def test_a_value_beyond_any_float_or_deeply_nested_does_not_break_the_run() -> None:
    assert invented({"n": 10 ** 400}, {}, Seen.of("nothing")) is None  # not a value anyone writes down
    deep: Any = 9
    for _ in range(5000):
        deep = [deep]
    assert invented({"n": deep}, {}, Seen.of("nothing")) == ["9"]
    assert invented({"n": 9}, {"n": {"enum": "not a list"}}, Seen.of("nothing")) == ["9"]  # a malformed schema


def test_a_choice_of_an_optional_parameter_is_not_judged() -> None:
    properties = {"page_size": {"anyOf": [{"enum": [10, 20, 50], "type": "integer"}, {"type": "null"}],
                                "default": None}}
    assert invented({"page_size": 20}, properties, Seen.of("list my orders")) is None


def test_check_invented_true_without_coaching_still_offers_only_complete_task_next() -> None:
    model = ScriptedChatModel(responses=[call("book_table", restaurant="Zorba", guests=9),
                                         complete("No tool I have can do this.", status="failed")])
    zyx.run("What is the weather in Oslo?", tools=[book_table], model=model, check_invented=True, coach=False)
    assert calls_made == [] and model.calls[1].tools == ["complete_task"]


def test_the_values_a_refusal_note_echoes_do_not_count_as_seen_in_a_later_run_on_the_thread() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    for question in ("What is the weather in Oslo?", "And in Bergen?"):  # a small model repeats its guess
        model = ScriptedChatModel(responses=[call("book_table", restaurant="Palermo del Monte", guests=4),
                                             complete("No tool I have can do this.", status="failed")])
        zyx.run(question, tools=[book_table], model=model, check_invented=True, checkpointer=saver, thread_id="t")
        assert calls_made == [] and model.calls[1].tools == ["complete_task"]


def test_a_call_a_human_was_asked_about_runs_as_decided_whatever_the_look_would_say_now() -> None:
    """A paused turn was asked about; resumed (here with the look turned on), the human's edit is what runs."""
    from langgraph.checkpoint.memory import InMemorySaver

    model = ScriptedChatModel(responses=[call("book_table", restaurant="Palermo del Monte", guests=4), complete("Ok.")])
    options: dict[str, Any] = {"model": model, "tools": [book_table], "approve": True, "checkpointer": InMemorySaver(),
                               "thread_id": "t"}
    paused = zyx.run("What is the weather in Oslo?", check_invented=False, **options)
    assert paused.interrupted and calls_made == []
    done = zyx.run(check_invented=True, decisions={"call_1": {"edit": {"restaurant": "Zorba", "guests": 6}}},
                   **options)
    assert calls_made == [{"restaurant": "Zorba", "guests": 6}] and not done.interrupted


def test_what_was_seen_is_read_only_when_every_call_has_a_number_to_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a long history costs time on every turn: a turn with a call the look cannot refuse does not pay it."""
    from zyx.graph import grounding

    def search(query: str) -> str:
        """Search."""
        return "found"

    def unread(*args: Any) -> Any:
        raise AssertionError("what was seen was read")

    monkeypatch.setattr(grounding, "seen_in", unread)
    model = ScriptedChatModel(responses=[[call("search", query="cheap flights"), call("book_table", restaurant="Zorba",
                                                                                      guests=9)], complete("Done.")])
    zyx.run("Find flights.", tools=[search, book_table], model=model, check_invented=True)
    assert calls_made == [{"restaurant": "Zorba", "guests": 9}]


def test_studio_offers_check_invented_beside_coach() -> None:
    import typing

    from graphs._studio import StudioSettings

    hints = typing.get_type_hints(StudioSettings, include_extras=True)
    assert "coach" in hints and hints["check_invented"].__origin__ is bool


def test_a_long_text_value_is_judged_by_its_words_without_a_search_of_everything_seen_per_word() -> None:
    """Each word searched inside longer words reads all that was seen: a long text value (a small model's garbage,
    a generated file) against a long history would take minutes; beyond the first words only whole words count."""
    seen = Seen.of("the order of wilhelmina arrived " + "filler text " * 1000)
    garbage = " ".join(f"zq{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(5000))
    assert invented({"text": garbage + " wilhelmina", "n": 9}, {}, seen) is None  # a whole word, however far in
    assert invented({"text": "helmina", "n": 9}, {}, seen) is None  # inside a word, among the first words
    assert invented({"text": garbage + " helmina", "n": 9}, {}, seen) is not None  # not searched for that far in


def test_the_note_quotes_each_value_shortly() -> None:
    """A refused call's note names its values; a long one (a whole generated text) is not fed back whole."""
    def write_file(path: str, content: str, line: int) -> str:
        """Write a file."""
        return "written"

    text = "lorem ipsum dolor " * 2000
    model = ScriptedChatModel(responses=[call("write_file", path="zzz.md", content=text, line=37),
                                         complete("No tool I have can do this.", status="failed")])
    result = zyx.run("What is the weather in Oslo?", tools=[write_file], model=model, check_invented=True)
    note = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert note.status == "error" and "37" in note.text and len(note.text) < 1000


def test_the_text_beside_the_calls_being_judged_is_not_something_the_model_was_given() -> None:
    """A model with native tool calls (check_invented=True) may write its guess out before making the call."""
    from langchain_core.messages import AIMessage

    guess = AIMessage("I will book Palermo del Monte for 4.", tool_calls=[
        {"name": "book_table", "args": {"restaurant": "Palermo del Monte", "guests": 4}, "id": "c1"}])
    model = ScriptedChatModel(responses=[guess, complete("No tool I have can do this.", status="failed")])
    zyx.run("What is the weather in Oslo?", tools=[book_table], model=model, check_invented=True)
    assert calls_made == [] and model.calls[1].tools == ["complete_task"]


def test_an_output_given_as_content_blocks_is_read() -> None:
    from zyx.graph.grounding import seen_in

    blocks = [{"type": "text", "text": "party of\n42"}]
    state: Any = {"task": "book", "messages": [HumanMessage("book"), ToolMessage(blocks, tool_call_id="c1")],
                  "tool_calls": [{"id": "c1", "name": "party", "args": {}, "output": "party of 42", "error": None}]}
    assert seen_in(state, "").has_number(42)
