"""Prompts fit the model's context window: big outputs cut with a way to read on, old outputs stubbed, old turns
left out whole, never an orphaned tool call or tool message; the state keeps everything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from pydantic import BaseModel

from tests.helpers import tool_names, turn
from zyx import ConfigurationError, ContextUse, ModelError, arun, make, run
from zyx._tokens import TokenCounter
from zyx.events import ContextFitted, RunFinished
from zyx.graph.context import DEFAULT_OUTPUT_CAP, Window, fit, resolve_window
from zyx.testing import ScriptedChatModel, call, complete, last_tool_results

PARAGRAPH = "Release 2.4 batches writes, which cuts disk I/O by about 40 percent; the planner costs joins. "
PAGE = "\n\n".join(f"Section {i}. {PARAGRAPH * 3}" for i in range(80))  # ~22 KB


def fetch(url: str) -> str:
    """Fetch a web page and return its text."""
    return PAGE


def windowed(policy: Any, window: int) -> tuple[ScriptedChatModel, list[int]]:
    """A scripted model whose profile declares `window` input tokens (it refuses bigger prompts, as a provider
    does), and the size of every prompt it was sent (langchain-core's approximate count, tools included)."""
    sizes: list[int] = []

    def sized(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        sizes.append(count_tokens_approximately(messages, tools=tools or None))
        return policy(messages, tools)

    return ScriptedChatModel(policy=sized, profile={"max_input_tokens": window}), sizes


def orphans(messages: Sequence[BaseMessage]) -> list[str]:
    """Tool calls without their answer and tool messages without their call (what providers reject)."""
    problems: list[str] = []
    open_calls: list[str] = []
    for message in messages:
        if isinstance(message, AIMessage):
            problems += [f"unanswered {c}" for c in open_calls]
            open_calls = [c["id"] for c in message.tool_calls]
        elif isinstance(message, ToolMessage):
            if message.tool_call_id in open_calls:
                open_calls.remove(message.tool_call_id)
            else:
                problems.append(f"orphan tool message {message.tool_call_id}")
        elif open_calls and not (isinstance(message, HumanMessage) and message.name == "zyx"):
            problems += [f"unanswered {c}" for c in open_calls]
            open_calls = []
    return problems


# -- the option and the window ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -5, 1.5, "128k", True])
def test_context_window_must_be_a_positive_int(bad: Any) -> None:
    model = ScriptedChatModel(responses=[complete()])
    with pytest.raises(ConfigurationError) as info:
        run("t", model=model, context_window=bad)
    assert info.value.argument == "context_window"
    assert model.calls == []


def test_the_window_comes_from_the_option_then_the_profile_then_the_local_context() -> None:
    profiled = ScriptedChatModel(responses=[], profile={"max_input_tokens": 128_000})
    assert resolve_window(None, profiled, {}).size == 128_000
    assert resolve_window(9_000, profiled, {}).size == 9_000
    assert resolve_window(None, ScriptedChatModel(responses=[]), {}) == Window(None)

    class Server:
        n_ctx, max_tokens = 4096, 1024

    local = ScriptedChatModel(responses=[])
    object.__setattr__(local, "local_server", Server())
    assert resolve_window(None, local, {}) == Window(4096, 1024)  # the local model's answer room is its max_tokens
    assert resolve_window(None, profiled, {"max_tokens": 2000}) == Window(128_000, 2000)


def test_a_window_too_small_for_the_system_prompt_and_task_fails_before_any_model_call() -> None:
    model = ScriptedChatModel(responses=[complete()])
    with pytest.raises(ConfigurationError) as info:
        run("Summarise the notes. " * 40, model=model, context_window=300)
    assert info.value.argument == "context_window"
    assert "bigger context_window" in str(info.value)
    assert model.calls == []


# -- one oversized output ------------------------------------------------------------------------------------

def _read_until_done(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    results = last_tool_results(messages)
    if not results:
        return call("fetch", url="https://example.com/notes")
    latest = results[-1].text
    if "read_tool_output" in tool_names(tools) and "If the task needs more" in latest and turn(messages) < 12:
        return call("read_tool_output", tool_call_id=results[-1].artifact["read"] if results[-1].artifact else
                    results[-1].tool_call_id)
    return complete(summary="Writes are batched (40% less disk I/O).", result="Writes are batched.")


def test_a_21kb_output_is_cut_for_the_model_and_read_on_in_parts() -> None:
    model, sizes = windowed(_read_until_done, 2500)
    result = run("Fetch https://example.com/notes and summarize the key changes.", tools=[fetch], model=model)

    assert result.completion is not None and result.completion.status == "success"
    assert max(sizes) <= 2500
    first = model.calls[1].messages[-1]
    assert isinstance(first, ToolMessage) and len(first.text) < len(PAGE) / 4
    assert 'read_tool_output(tool_call_id="' + first.tool_call_id + '", offset=' in first.text
    assert "read_tool_output" not in model.calls[0].tools and "read_tool_output" in model.calls[1].tools
    # the state and the result keep the output whole; the parts read cover the page in order, without gaps
    assert result.tool_calls[0].output == PAGE
    assert next(m for m in result.messages if isinstance(m, ToolMessage)).text == PAGE
    reads = [m.artifact for m in result.messages if isinstance(m, ToolMessage) and m.name == "read_tool_output"]
    assert reads and reads[0]["start"] == result.context.cut[first.tool_call_id] if result.context.cut else True
    ends = [r["end"] for r in reads]
    assert ends == sorted(ends) and all(r["start"] == prev for r, prev in zip(reads[1:], ends))
    assert isinstance(result.context, ContextUse) and result.context.window == 2500
    assert result.context.fitted_calls >= 1 and result.context.max_prompt_tokens <= 2500


def test_without_a_window_only_outputs_over_the_cap_are_cut() -> None:
    huge = "x " * (DEFAULT_OUTPUT_CAP * 6)

    def big(url: str) -> str:
        """Fetch a very big page."""
        return huge

    seen: list[str] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if results := last_tool_results(messages):
            seen.append(results[0].text)
            return complete()
        return [call("fetch", url="a"), call("big", url="b")]

    result = run("t", tools=[fetch, big], model=ScriptedChatModel(policy=policy))
    assert seen and result.context is not None and result.context.window is None
    assert list(result.context.cut) == [result.tool_calls[1].id]  # the 22 KB page fits its share, 190 KB does not
    assert len(seen[0]) == len(PAGE)


def test_read_tool_output_reads_any_offset_and_says_where_it_ends() -> None:
    answers: list[ToolMessage] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        results = last_tool_results(messages)
        if not results:
            return call("fetch", url="u")
        if len(answers) == 0 and results[0].name == "fetch":
            fetched = results[0].tool_call_id
            return [call("read_tool_output", tool_call_id=fetched, offset=len(PAGE) - 50),
                    call("read_tool_output", tool_call_id=fetched, offset=len(PAGE) + 10),
                    call("read_tool_output", tool_call_id="nope")]
        answers.extend(results)
        return complete()

    run("t", tools=[fetch], model=ScriptedChatModel(policy=policy, profile={"max_input_tokens": 3000}))
    tail, past, unknown = answers
    assert tail.text.startswith(PAGE[-50:]) and "End of output" in tail.text
    assert past.status == "success" and "Nothing more" in past.text  # not a failure: all of it was shown
    assert unknown.status == "error" and "no output with tool_call_id 'nope'" in unknown.text


def test_a_big_source_is_cut_and_read_back_by_its_id() -> None:
    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if not last_tool_results(messages):
            assert 'tool_call_id="source"' in messages[0].text
            return call("read_tool_output", tool_call_id="source")
        return complete(summary=last_tool_results(messages)[0].text[:40])

    model, sizes = windowed(policy, 2500)
    result = run("Summarise the source.", source=PAGE, model=model)
    assert max(sizes) <= 2500
    assert "Section" in result.completion.summary  # type: ignore[union-attr]


# -- many steps ----------------------------------------------------------------------------------------------

def _lookup(i: int) -> str:
    """Read record number i."""
    return f"record {i}: " + ("field=value; " * 700)  # ~9 KB each


def test_a_long_run_stays_in_the_window_with_old_outputs_stubbed_and_turns_left_out() -> None:
    made: list[int] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        made.append(1)  # (not counted from the prompt: old turns are left out of it)
        if len(made) <= 30:
            return call("_lookup", i=len(made) - 1)
        return complete(summary="read 30 records")

    model, sizes = windowed(policy, 8000)
    result = run("Read records 0 to 29 one by one, then report.", tools=[_lookup], model=model, max_steps=40)

    assert result.completion is not None and len(result.tool_calls) == 30
    assert max(sizes) <= 8000
    for scripted in model.calls:
        assert orphans(scripted.messages) == []
        assert scripted.messages[1].text.startswith("Read records 0 to 29")  # the task is always kept
    last = model.calls[-1].messages
    assert any("removed to fit the context window" in m.text or "left out to fit" in m.text for m in last)
    assert len(result.messages) == 1 + 2 * 30 + 2  # the state keeps every message whole
    assert result.context is not None and (result.context.stubbed or result.context.dropped)


def test_a_provider_that_still_refuses_the_prompt_gets_a_smaller_one_boundedly() -> None:
    """Approximate counts can fall short (a provider's tokenizer differs): the call is retried on a smaller window."""
    refused: list[int] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        size = sum(len(m.text) for m in messages)
        if size > 4500:  # this "provider" counts fewer characters a token than zyx assumes
            refused.append(size)
            return ValueError("This model's maximum context length is 2000 tokens (context_length_exceeded)")
        if not last_tool_results(messages):
            return call("fetch", url="u")
        return complete()

    result = run("t", tools=[fetch], model=ScriptedChatModel(policy=policy), context_window=4000)
    assert result.completion is not None and refused  # refused once or twice, then it fit

    def never(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if turn(messages) == 0:
            return call("fetch", url="u")
        return ValueError("prompt is too long: context length exceeded")

    model = ScriptedChatModel(policy=never)
    with pytest.raises(ModelError) as info:
        run("t", tools=[fetch], model=model, context_window=50_000)
    assert "context length" in str(info.value) and len(model.calls) == 1 + 3  # the turn, then two smaller prompts
    assert len(model.calls[3].messages[-1].text) < len(model.calls[2].messages[-1].text) < len(PAGE)
    small = ScriptedChatModel(policy=lambda m, t: ValueError("prompt is too long: context length exceeded"))
    with pytest.raises(ModelError):  # no smaller prompt can hold the task: the provider's refusal, at once
        run("t", model=small, context_window=1500)
    assert len(small.calls) == 1


def test_a_refused_window_is_remembered_for_the_runs_later_turns() -> None:
    """After a provider refused a prompt as too long, later turns start on the smaller window (no refusal each turn)."""
    refused: list[int] = []
    answered: list[int] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        size = sum(len(m.text) for m in messages)
        if size > 4500:  # this "provider" counts fewer characters a token than zyx assumes
            refused.append(size)
            return ValueError("This model's maximum context length is 2000 tokens (context_length_exceeded)")
        answered.append(size)
        if len(answered) <= 4:
            return call("fetch", url=f"u{len(answered)}")
        return complete()

    result = run("t", tools=[fetch], model=ScriptedChatModel(policy=policy), context_window=4000, max_steps=10)
    assert result.completion is not None and len(result.tool_calls) == 4
    assert 1 <= len(refused) <= 2  # the first oversized turn only; the turns after it fit at once
    assert result.context is not None and result.context.window is not None and result.context.window < 4000


# -- everywhere ----------------------------------------------------------------------------------------------

async def test_streaming_tells_when_a_prompt_was_fitted() -> None:
    model, sizes = windowed(_read_until_done, 2500)
    stream = await arun("Fetch the notes and summarize.", str, tools=[fetch], model=model, stream=True)
    events = [e async for e in stream.aevents()]
    fitted = [e for e in events if isinstance(e, ContextFitted)]
    assert fitted and fitted[0].window == 2500 and fitted[0].cut
    assert isinstance(events[-1], RunFinished) and max(sizes) <= 2500


def test_plan_mode_reports_are_cut_too() -> None:
    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if not last_tool_results(messages):
            return call("submit_plan", steps=[{"id": "a", "tool": "fetch", "args": {"url": "u"}}])
        return complete()

    model, sizes = windowed(policy, 2500)
    result = run("t", tools=[fetch], model=model, plan=True, coach=False)
    assert result.completion is not None and max(sizes) <= 2500
    assert "read_tool_output" in model.calls[-1].tools


def test_make_fits_its_prompts_and_can_read_on() -> None:
    class Notes(BaseModel):
        first_section: str

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if not last_tool_results(messages):
            return call("fetch", url="u")
        return call("final_result", first_section="Section 0")

    model, sizes = windowed(policy, 2500)
    result = make(Notes, "Fetch the notes and name the first section.", tools=[fetch], model=model)
    assert result.output.first_section == "Section 0" and max(sizes) <= 2500
    assert "read_tool_output" in model.calls[-1].tools


def test_a_resumed_thread_keeps_fitting() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    model, sizes = windowed(_read_until_done, 2500)
    run("Fetch the notes.", tools=[fetch], model=model, checkpointer=saver, thread_id="t")
    again, more = windowed(_read_until_done, 2500)
    result = run("Fetch them again.", tools=[fetch], model=again, checkpointer=saver, thread_id="t")
    assert result.completion is not None and max(more) <= 2500


# -- counting ------------------------------------------------------------------------------------------------

def test_counts_are_cached_per_message_and_never_use_the_providers_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[str] = []

    class Server:
        n_ctx, max_tokens = 4096, 512

        def tokenize(self, text: str) -> list[int]:
            counted.append(text)
            return list(range(len(text) // 3 + 1))

    model = ScriptedChatModel(policy=lambda m, t: complete() if last_tool_results(m) else call("fetch", url="u"))
    object.__setattr__(model, "local_server", Server())
    monkeypatch.setattr(ScriptedChatModel, "get_num_tokens_from_messages",
                        lambda *a, **k: pytest.fail("a provider tokenizer was asked (tiktoken downloads)"))
    counter = TokenCounter(model)
    assert counter.exact
    messages: list[BaseMessage] = [HumanMessage("hello there", id="h1"), AIMessage("", id="a1")]
    first = counter.messages(messages)
    again = counter.messages(messages)
    assert first == again and counted == ["hello there"]  # each text tokenized once (an empty one never)
    result = run("t", tools=[fetch], model=model)
    assert result.context is not None and result.context.window == 4096


def test_approximate_counts_do_not_undercount_wide_characters() -> None:
    counter = TokenCounter(None)
    assert counter.text("漢字" * 1000) >= 1500  # ~1 token a character, not 4 characters a token
    assert 200 <= counter.text("word " * 200) <= 300


def test_fit_keeps_the_system_prompt_the_task_and_the_latest_turn() -> None:
    counter = TokenCounter(None)
    task = HumanMessage("Do the thing.", id="task")
    history: list[BaseMessage] = [task]
    for i in range(6):
        history += [AIMessage("", tool_calls=[{"id": f"c{i}", "name": "t", "args": {}}], id=f"a{i}"),
                    ToolMessage("y " * 3000, tool_call_id=f"c{i}", name="t", id=f"m{i}")]
    fitted = fit("You are an agent.", history, window=Window(3000, 500), counter=counter)
    assert fitted.messages[0] is task and fitted.messages[-2].id == "a5"
    assert fitted.tokens <= Window(3000, 500).prompt_limit(False)  # type: ignore[operator]
    assert orphans(fitted.messages) == []
    assert "c5" in fitted.cut and (fitted.stubbed or fitted.dropped)


# -- a property over random histories -------------------------------------------------------------------------

@st.composite
def histories(draw: st.DrawFn) -> list[BaseMessage]:
    """Tasks, then turns of parallel calls (ids repeated across turns, as some providers do), failures, plans,
    rejected completions, plain-text turns with nudges, and new user messages on the thread."""
    messages: list[BaseMessage] = [HumanMessage("the task " * draw(st.integers(1, 30)), id="task")]
    for t in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["calls", "calls", "plan", "complete", "text", "user"]))
        if kind == "user":
            messages.append(HumanMessage(f"new task {t}", id=f"user{t}"))
            continue
        if kind == "text":
            messages += [AIMessage("thinking " * draw(st.integers(0, 50)), id=f"ai{t}"),
                         HumanMessage("Call complete_task.", name="zyx", id=f"nudge{t}")]
            continue
        name = {"calls": "tool", "plan": "submit_plan", "complete": "complete_task"}[kind]
        n = draw(st.integers(1, 4)) if kind == "calls" else 1
        ids = [f"call_{draw(st.integers(0, 3))}_{k}" for k in range(n)]
        messages.append(AIMessage("", id=f"ai{t}", tool_calls=[{"id": i, "name": name, "args": {"n": t}} for i in ids]))
        for i in ids:
            size = draw(st.sampled_from([0, 40, 2_000, 9_000, 40_000]))
            messages.append(ToolMessage("z" * size + " w" * (size // 4), tool_call_id=i, name=name, id=f"tm{t}{i}",
                                        status=draw(st.sampled_from(["success", "error"]))))
    return messages


@given(history=histories(), size=st.integers(1_500, 40_000))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_fitted_prompt_fits_keeps_what_must_stay_and_never_orphans_a_call(history: list[BaseMessage],
                                                                            size: int) -> None:
    window = Window(size, min(4096, size // 8))
    try:
        fitted = fit("You are an agent. " * 20, history, window=window, counter=TokenCounter(None), tools=300)
    except ConfigurationError as exc:
        assert exc.argument == "context_window"
        return
    view = fitted.messages
    assert fitted.tokens <= window.prompt_limit(False)  # type: ignore[operator]
    assert count_tokens_approximately([fitted.system, *view]) + 300 <= size
    assert orphans(view) == []
    assert fitted.system.text.startswith("You are an agent.")
    kept = {m.id for m in view}
    users = [m.id for m in history if isinstance(m, HumanMessage) and m.name != "zyx"]
    assert users[-1] in kept  # the task (the latest user message) stays; older ones may be left out
    last_ai = next((m for m in reversed(history) if isinstance(m, AIMessage)), None)
    assert last_ai is None or last_ai.id in kept  # the latest turn stays
    assert [m.id for m in view if m.id in {h.id for h in history}] == [h.id for h in history if h.id in kept]


# -- the long-run benchmark's smoke test ----------------------------------------------------------------------

async def test_the_long_run_benchmark_runs_and_zyx_stays_in_the_window() -> None:
    pytest.importorskip("langchain.agents", reason='needs the bench extra: pip install -e ".[bench]"')
    from benchmarks.long_runs import TASKS, WINDOW, measure, scripted

    for task in TASKS:
        mine = await measure("zyx", task, scripted(task, WINDOW), None)
        assert mine.success and not mine.context_error, mine
    plain = await measure("create_agent", TASKS[0], scripted(TASKS[0], WINDOW), None)
    assert plain.context_error and not plain.success  # one 200 KB page: the peer's prompt overflows


def test_the_reader_is_reserved_and_never_waits_for_approval() -> None:
    def read_tool_output(tool_call_id: str) -> str:
        """A user tool taking the built-in's name."""
        return ""

    with pytest.raises(ConfigurationError) as info:
        run("t", tools=[read_tool_output], model=ScriptedChatModel(responses=[complete()]))
    assert info.value.argument == "tools"

    from langgraph.checkpoint.memory import InMemorySaver

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        results = last_tool_results(messages)
        if not results:
            return call("fetch", url="u")
        if results[0].name == "fetch":
            return call("read_tool_output", tool_call_id=results[0].tool_call_id)
        return complete()

    model = ScriptedChatModel(policy=policy, profile={"max_input_tokens": 3000})
    first = run("t", tools=[fetch], model=model, approve=True, checkpointer=InMemorySaver(), thread_id="r")
    assert first.interrupted and [p.name for p in first.pending] == ["fetch"]


def test_make_cuts_a_big_context_message_that_is_not_the_request() -> None:
    seen: list[str] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        seen.append(next(m.text for m in messages if "Section 0" in m.text))
        return call("final_result", result="ok")

    model = ScriptedChatModel(policy=policy, profile={"max_input_tokens": 3000})
    result = make(str, [PAGE, "Name the first section."], model=model)
    assert result.output == "ok" and "read_tool_output(tool_call_id=\"message-0\"" in seen[0]


def test_reading_a_parts_own_id_reads_its_whole_output() -> None:
    answers: list[ToolMessage] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        results = last_tool_results(messages)
        if not results:
            return call("fetch", url="u")
        if results[0].name == "fetch":
            return call("read_tool_output", tool_call_id=results[0].tool_call_id, offset=100)
        if len(answers) == 0:
            answers.append(results[0])
            return call("read_tool_output", tool_call_id=results[0].tool_call_id, offset=0)  # the part's own id
        answers.append(results[0])
        return complete()

    run("t", tools=[fetch], model=ScriptedChatModel(policy=policy, profile={"max_input_tokens": 3000}))
    part, again = answers
    assert part.artifact["start"] == 100 and again.artifact["start"] == 0
    assert again.artifact["read"] == part.artifact["read"] and again.text.startswith(PAGE[:50])


# -- regressions from the hostile review ----------------------------------------------------------------------

def test_a_thread_used_as_a_chat_keeps_fitting_run_after_run() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    model = ScriptedChatModel(policy=lambda m, t: complete(summary="ok"), profile={"max_input_tokens": 8000})
    for i in range(40):  # older runs' tasks and turns are left out; only the current task must stay
        result = run(f"Task {i}: " + "some words of the task " * 45, model=model, checkpointer=saver, thread_id="chat")
        assert result.completion is not None


def test_several_big_context_messages_share_the_window() -> None:
    model, sizes = windowed(lambda m, t: complete(), 8000)
    result = run("Summarise the documents", context=["Doc text. " * 4000] * 3, model=model)
    assert result.completion is not None and max(sizes) <= 8000


def test_text_whose_density_changes_is_cut_to_fit() -> None:
    def mixed(url: str) -> str:
        """A page in two scripts."""
        return "中文" * 4000 + "\n" + "word " * 8000

    model, sizes = windowed(lambda m, t: complete() if last_tool_results(m) else call("mixed", url="u"), 8000)
    assert run("t", tools=[mixed], model=model).completion is not None and max(sizes) <= 8000


def test_big_call_arguments_files_and_malformed_calls_are_fitted_too() -> None:
    import base64

    def write_file(path: str, content: str) -> str:
        """Write a file."""
        return "ok"

    def get_pdf(name: str) -> list[dict[str, Any]]:
        """Return a PDF."""
        return [{"type": "text", "text": "The file:"},
                {"type": "file", "base64": base64.b64encode(b"%PDF" * 15_000).decode(), "mime_type": "application/pdf"}]

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        done = {m.name for m in messages if isinstance(m, ToolMessage)}
        if "write_file" not in done:
            return call("write_file", path="a", content="x = 1\n" * 6000)
        if "get_pdf" not in done:
            return call("get_pdf", name="a")
        return complete()

    model, sizes = windowed(policy, 8000)
    result = run("Write a, then read pdf a", tools=[write_file, get_pdf], model=model)
    assert result.completion is not None and max(sizes) <= 8000
    assert len(result.tool_calls[0].args["content"]) == 36_000  # the state keeps the call whole


def test_repeated_tool_call_ids_are_told_apart() -> None:
    pages = {"a": "alpha line\n" * 3000, "b": "bravo line\n" * 3000}
    read: list[str] = []

    def page(name: str) -> str:
        """Fetch a page by name."""
        return pages[name]

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        results = last_tool_results(messages)
        if not results:
            return AIMessage("", tool_calls=[{"name": "page", "args": {"name": "a"}, "id": "call_0"}])
        if results[0].name == "page" and len(read) == 0:
            read.append("asked")
            return AIMessage("", tool_calls=[{"name": "page", "args": {"name": "b"}, "id": "call_0"}])
        if results[0].name == "page":  # both outputs are named apart in the prompt's notes
            named = {k for m in messages for k in ("call_0#1", "call_0#2") if f'"{k}"' in m.text}
            read.append(",".join(sorted(named)))
            return call("read_tool_output", tool_call_id="call_0#1", offset=20_000)
        read.append(results[0].text[:20])
        return complete()

    run("t", tools=[page], model=ScriptedChatModel(policy=policy, profile={"max_input_tokens": 6000}))
    assert read[1] == "call_0#1,call_0#2"
    assert read[-1].startswith(("alpha", "a line", "ha line", "pha line", "lpha line"))


def test_plan_step_outputs_say_how_to_read_on_and_can_be_read() -> None:
    big = "step output line\n" * 5000
    answers: list[ToolMessage] = []

    def bigstep(x: str) -> str:
        """A step with a big output."""
        return big

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        results = last_tool_results(messages)
        if not results:
            return call("submit_plan", steps=[{"id": "a", "tool": "bigstep", "args": {"x": "1"}}])
        if results[0].name == "submit_plan":
            key = results[0].text.split('tool_call_id="')[1].split('"')[0]
            return call("read_tool_output", tool_call_id=key, offset=2000)
        answers.append(results[0])
        return call("submit_plan", steps=[{"id": "done", "tool": "complete_task", "args": {
            "summary": "ok", "status": "success", "result": None}}])

    run("t", tools=[bigstep], model=ScriptedChatModel(policy=policy), plan=True, coach=False)
    assert answers and answers[0].status == "success" and answers[0].artifact["start"] == 2000
    assert answers[0].text.startswith(big[2000:2030])


def test_make_reads_its_cut_source_back() -> None:
    got: list[str] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if not last_tool_results(messages):
            return call("read_tool_output", tool_call_id="source", offset=8000)
        got.append(last_tool_results(messages)[0].text)
        return call("final_result", result="done")

    source = "clause: the party shall comply.\n" * 5000
    make(str, "Summarise the contract", source=source, model=ScriptedChatModel(
        policy=policy, profile={"max_input_tokens": 6000}))
    assert got and got[0].startswith(source[8000:8030])
