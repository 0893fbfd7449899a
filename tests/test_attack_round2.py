"""Regressions from the second outside attack (approvals, interrupts, instructions, streaming, inputs, the CLI,
the local model's files): each failed before its fix."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import interrupt
from openai_server import OpenAIServer, reply
from pydantic import BaseModel

import zyx
from zyx import ConfigurationError
from zyx.cli import UsageError, parse_target
from zyx.cli import main as cli_main
from zyx.embed import as_tool
from zyx.graph import build_run_graph
from zyx.testing import ScriptedChatModel, call, complete

paid: list[float] = []


def pay(amount: float) -> str:
    """Pay an amount."""
    paid.append(amount)
    return f"paid {amount}"


def look(what: str) -> str:
    """Look something up."""
    return f"saw {what}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    paid.clear()


def _paused(responses: list[Any], **options: Any) -> tuple[zyx.RunResult[Any], InMemorySaver, ScriptedChatModel]:
    saver, model = InMemorySaver(), ScriptedChatModel(responses=responses)
    result = zyx.run("pay", model=model, tools=[pay, look], checkpointer=saver, thread_id="t", **options)
    assert result.interrupted and result.termination == "interrupted"
    return result, saver, model


@pytest.mark.parametrize("resume_options", [{}, {"approve": False}, {"approve": ["pay"]},
                                            {"approve": lambda call: False}])
def test_a_rejection_is_honoured_whatever_approve_says_on_resume(resume_options: dict[str, Any]) -> None:
    paused, saver, model = _paused([[call("pay", amount=5), call("look", what="x")], complete(), complete()],
                                   approve=["pay"])
    assert [p.name for p in paused.pending] == ["pay"]
    result = zyx.run(None, model=model, tools=[pay, look], checkpointer=saver, thread_id="t",
                     decisions={paused.pending[0].id: {"reject": "no"}}, **resume_options)
    assert paid == [] and result.termination == "completed"
    assert [r.name for r in result.tool_calls] == ["look"]


def test_a_plan_rejection_is_honoured_without_approve_plan_on_resume() -> None:
    plan = {"name": "submit_plan", "args": {"steps": [{"id": "s1", "tool": "pay", "args": {"amount": 9}}]}}
    paused, saver, model = _paused([plan, complete(status="failed", summary="not allowed")], plan=True,
                                   approve_plan=True)
    result = zyx.run(None, model=model, tools=[pay, look], checkpointer=saver, thread_id="t", plan=True,
                     decisions={paused.pending[0].id: {"reject": "never"}})
    assert paid == [] and result.completion is not None and result.completion.status == "failed"


def test_calls_that_repeat_an_id_are_decided_apart() -> None:
    turn = AIMessage("", tool_calls=[{"name": "pay", "args": {"amount": 1}, "id": "dup"},
                                     {"name": "pay", "args": {"amount": 2}, "id": "dup"}])
    paused, saver, model = _paused([turn, complete(), complete()], approve=True)
    keys = [p.id for p in paused.pending]
    assert len(set(keys)) == 2 and [p.args for p in paused.pending] == [{"amount": 1}, {"amount": 2}]
    result = zyx.run(None, model=model, tools=[pay, look], checkpointer=saver, thread_id="t", approve=True,
                     decisions={keys[0]: {"edit": {"amount": 3}}, keys[1]: "approve"})
    assert sorted(paid) == [2.0, 3.0]
    assert sorted(r.args["amount"] for r in result.tool_calls) == [2, 3]


def ask_name() -> str:
    """Ask the user for their name."""
    return "name is " + interrupt("What is your name?")


def test_a_tool_interrupt_pauses_the_run_and_resumes_with_the_answer() -> None:
    saver = InMemorySaver()
    model = ScriptedChatModel(responses=[call("ask_name"), complete("greeted")])
    paused = zyx.run("greet", model=model, tools=[ask_name], checkpointer=saver, thread_id="t")
    assert paused.termination == "interrupted" and paused.interrupted and paused.completion is None
    (question,) = paused.interrupts
    assert question.value == "What is your name?"
    with pytest.raises(ConfigurationError, match="decisions"):
        zyx.run(None, model=model, tools=[ask_name], checkpointer=saver, thread_id="t")
    result = zyx.run(None, model=model, tools=[ask_name], checkpointer=saver, thread_id="t",
                     decisions={question.id: "Ann"})
    assert result.termination == "completed" and [r.output for r in result.tool_calls] == ["name is Ann"]


def test_a_tool_interrupt_without_a_checkpointer_is_a_configuration_error() -> None:
    model = ScriptedChatModel(responses=[call("ask_name"), complete("greeted")])
    with pytest.raises(ConfigurationError, match="^checkpointer:.*interrupt"):
        zyx.run("greet", model=model, tools=[ask_name])


async def test_an_instructions_function_is_bounded_by_the_run_timeout() -> None:
    calls = 0

    async def endless(ctx: zyx.RunContext) -> str:
        nonlocal calls
        calls += 1
        await asyncio.Event().wait()  # never set: only the run's timeout can end this
        return "never"

    started = time.monotonic()
    with pytest.raises(zyx.RunTimeoutError):
        await zyx.arun("x", model=ScriptedChatModel(responses=[complete()]), instructions=endless, timeout=0.3)
    assert time.monotonic() - started < 3 and calls >= 1


async def test_a_sync_instructions_function_does_not_block_the_event_loop() -> None:
    loop_ran = threading.Event()

    def waits_for_the_loop(ctx: zyx.RunContext) -> str:
        return "the loop ran" if loop_ran.wait(timeout=10) else "the loop was blocked"

    async def heartbeat() -> None:
        await asyncio.sleep(0)
        loop_ran.set()

    model = ScriptedChatModel(responses=[complete()])
    beat = asyncio.create_task(heartbeat())
    await zyx.arun("x", model=model, instructions=waits_for_the_loop)
    await beat
    assert "the loop ran" in model.calls[0].messages[0].content


class _RawArgsModel(BaseChatModel):
    """Streams `complete_task` arguments given as raw JSON text, one reply per call (no parsing on our side)."""

    replies: list[str]
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "raw-args"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    async def _agenerate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        message: Any = None
        async for chunk in self._astream(messages):
            message = chunk.message if message is None else message + chunk.message
        return ChatResult(generations=[ChatGeneration(message=AIMessage(
            "", tool_calls=message.tool_calls, invalid_tool_calls=message.invalid_tool_calls, id=message.id))])

    async def _astream(self, messages: Any, stop: Any = None, run_manager: Any = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        raw, self.calls = self.replies[self.calls], self.calls + 1
        for i in range(0, len(raw), 4096):
            await asyncio.sleep(0)
            yield ChatGenerationChunk(message=AIMessageChunk("", tool_call_chunks=[tool_call_chunk(
                name="complete_task" if i == 0 else None, args=raw[i:i + 4096],
                id=f"c{self.calls}" if i == 0 else None, index=0)]))


class Node(BaseModel):
    child: Node | None = None
    tags: list[str] = []


@pytest.mark.parametrize("target, deep, fine", [
    (Node, '{"child": ' * 3000 + "null" + "}" * 3000, '{"tags": ["x"]}'),
    (list, "[" * 20000 + "]" * 20000, "[1]"),
    (dict, '{"a": ' * 20000 + "1" + "}" * 20000, '{"ok": 1}'),
])
@pytest.mark.parametrize("stream", [False, True])
def test_deeply_nested_completion_arguments_are_rejected_and_the_run_goes_on(
        target: Any, deep: str, fine: str, stream: bool) -> None:
    model = _RawArgsModel(replies=[f'{{"summary": "s", "result": {r}}}' for r in (deep, fine)])
    outcome: Any = zyx.run("x", target, model=model, stream=stream)
    if stream:
        partials = list(outcome.partial())
        outcome = outcome.finish()
        assert partials[-1] == outcome.output
    assert outcome.output == target.model_validate_json(fine) if target is Node else outcome.output == json.loads(fine)
    assert model.calls == 2


@pytest.mark.parametrize("options", [{"approve": True}, {"approve": ["pay"]},
                                     {"plan": True, "approve_plan": True}])
def test_as_tool_refuses_approvals_a_sub_run_could_never_ask(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=f"^{next(reversed(options))}:"):
        as_tool(name="sub", description="Pays.", tools=[pay], model=ScriptedChatModel(responses=[]), **options)


def test_as_tool_refuses_a_graph_compiled_with_a_checkpointer() -> None:
    graph = build_run_graph(tools=[pay], model=ScriptedChatModel(responses=[complete()]), checkpointer=InMemorySaver())
    with pytest.raises(ConfigurationError, match="^graph:.*checkpointer"):
        as_tool(graph, name="sub", description="Pays.")


def test_a_sub_run_paused_by_an_interrupt_is_a_failure_not_a_result() -> None:
    def sub() -> Any:
        return as_tool(name="sub", description="Greets.", tools=[ask_name],
                       model=ScriptedChatModel(responses=[call("ask_name"), complete()]))

    with pytest.raises(zyx.RunError, match="interrupt"):
        sub().invoke({"task": "greet"})
    answer = sub().invoke({"name": "sub", "args": {"task": "greet"}, "id": "c1", "type": "tool_call"})
    assert answer.status == "error" and "interrupt" in answer.content


@dataclasses.dataclass
class Shipment:
    sent: datetime.datetime


class Order(BaseModel):
    id: int
    placed: datetime.date


@pytest.mark.parametrize("source", [Order(id=7, placed=datetime.date(2024, 5, 1)),
                                    Shipment(datetime.datetime(2024, 5, 1)), {"placed": datetime.date(2024, 5, 1)}])
def test_graph_input_takes_any_source_run_accepts(source: Any) -> None:
    model = ScriptedChatModel(responses=[complete()])
    out = build_run_graph(model=model).invoke({"messages": [HumanMessage("x")], "source": source})
    assert "2024-05-01" in model.calls[0].messages[0].content
    assert json.loads(json.dumps(out["source"]))  # the state keeps the JSON form


def test_graph_input_with_a_source_that_is_no_data_is_a_configuration_error() -> None:
    graph = build_run_graph(model=ScriptedChatModel(responses=[complete()]))
    with pytest.raises(ConfigurationError, match="^source:"):
        graph.invoke({"messages": [HumanMessage("x")], "source": object()})


PROCESS_TOOLS_FILE = '''
import os
import zyx


def _pid() -> int:
    """The worker's process id."""
    return os.getpid()


pid = zyx.process_tool(_pid)


@zyx.process_tool
def double(x: int) -> int:
    """Double a number."""
    return 2 * x
'''


def test_process_tools_from_a_file_given_to_the_cli_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "ptools.py"
    file.write_text(PROCESS_TOOLS_FILE)
    script = [reply(tool_calls=[("_pid", {}), ("double", {"x": 21})]),
              reply(tool_calls=[("complete_task", {"summary": "Done.", "status": "success"})])]
    with OpenAIServer(script) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        code = cli_main(["run", "Go.", "--tool", f"{file}:pid,double", "--model", "openai:gpt-4o-mini", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    answers = [m["content"] for m in srv.requests[1]["messages"] if m["role"] == "tool"]
    assert answers[0].isdigit() and int(answers[0]) != os.getpid() and answers[1] == "42"


@pytest.mark.parametrize("text", ["list[()]", "Literal[()]", "dict[()]", "Optional[()]", "int | Literal",
                                  "Literal | None", "list[Literal]", "Literal", "dict[str]", "list[...]"])
def test_a_target_expression_that_is_no_type_is_a_usage_error(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="^--target:"):
        parse_target(text)
    assert cli_main(["run", "x", "--target", text, "--model", "openai:gpt-4o-mini"]) == 2
    assert "--target" in capsys.readouterr().err


def test_the_empty_tuple_is_a_target() -> None:
    assert parse_target("tuple[()]") == tuple[()]


EVIL = "\x1b]0;owned\x07\x1b[2J\r\x9b31m\u202e"


@pytest.mark.parametrize("json_output", [False, True])
def test_model_written_text_reaches_the_terminal_with_control_characters_escaped(
        json_output: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    script = [reply(content=f"thinking {EVIL}", tool_calls=[("get_weather", {"city": f"Paris{EVIL}"}),
                                                             (f"nope{EVIL}", {f"k{EVIL}": 1})]),
              reply(tool_calls=[("complete_task", {"summary": f"Done{EVIL}", "status": "success",
                                                   "result": f"out{EVIL}"})])]
    with OpenAIServer(script) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        code = cli_main(["run", "Go.", "--tool", "cli_tools:get_weather", "--target", "str",
                         "--model", "openai:gpt-4o-mini", *(["--json"] if json_output else [])])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    shown = captured.out + captured.err
    assert not any(c in shown for c in "\x1b\x07\r\x9b\u202e")
    assert "owned" in captured.err and "nope" in captured.err  # shown, escaped, not dropped
    if json_output:
        assert json.loads(captured.out)["summary"] == f"Done{EVIL}"  # the JSON still holds the exact text
    else:
        assert "Done\\x1b]0;owned" in captured.out


def test_an_error_message_holding_model_text_is_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    from zyx.cli import _report_failure

    err, out = Console(file=sys.stderr), Console(file=sys.stdout)
    _report_failure(zyx.RunError(f"rejected {EVIL}"), err, out, True, "RunError", 1)
    captured = capsys.readouterr()
    assert not any(c in captured.out + captured.err for c in "\x1b\x07\r\x9b\u202e")


class Release(BaseModel):
    version: str
    steps: list[str]


@pytest.mark.parametrize("target, name", [(Release, "verison"), (list[str], "version")])
def test_streaming_a_field_the_target_does_not_have_is_refused(target: Any, name: str) -> None:
    model = ScriptedChatModel(responses=[complete(result={"version": "2", "steps": []})])
    stream = zyx.run("x", target, model=model, stream=True)
    with pytest.raises(ConfigurationError, match=f"^name: '{name}' is not a field"):
        stream.field(name)
    stream.close()


def test_streaming_a_field_of_a_make_target_and_of_a_free_dict() -> None:
    model = ScriptedChatModel(responses=[complete(result={"version": "2", "steps": ["a"]})], chunk_size=4)
    assert list(zyx.run("x", Release, model=model, stream=True).field("version"))[-1] == "2"
    model = ScriptedChatModel(responses=[complete(result={"anything": 1})])
    assert list(zyx.run("x", dict[str, int], model=model, stream=True).field("anything")) == [1]
    with pytest.raises(ConfigurationError, match="^name:"):
        zyx.make(Release, "x", model=ScriptedChatModel(responses=[]), stream=True).field("nope")


class Notes(BaseModel):
    text: str


@pytest.mark.parametrize("source", [{"text": "a" * 1_100_000}, ["a" * 100] * 11_000, Notes(text="a" * 1_100_000)])
def test_a_structured_source_is_bounded_like_text(source: Any) -> None:
    model = ScriptedChatModel(responses=[complete()])
    with pytest.raises(ConfigurationError, match="^source: the source is over"):
        zyx.run("x", model=model, source=source)
    assert model.calls == []


@pytest.mark.parametrize("block", [{"type": "text", "text": 5}, {"type": "image", "url": ["http://x/a.png"]},
                                   {"type": "image", "base64": "aGk=", "mime_type": 3}])
def test_a_content_block_with_data_that_is_not_text_is_refused(block: dict[str, Any]) -> None:
    model = ScriptedChatModel(responses=[complete()])
    with pytest.raises(ConfigurationError, match="^attachments:.*must be a string"):
        zyx.run("x", model=model, attachments=[block])


def _until_past(deadline: float) -> None:
    """Wait until the wall clock is past `deadline` (the condition the test needs)."""
    while time.time() <= deadline:
        time.sleep(0.02)


def test_time_waiting_for_a_human_does_not_count_against_the_timeout() -> None:
    paused, saver, model = _paused([call("pay", amount=5), complete("paid")], approve=True, timeout=0.5)
    _until_past(time.time() + 0.6)  # the human answers after the run's whole timeout
    result = zyx.run(None, model=model, tools=[pay, look], checkpointer=saver, thread_id="t", approve=True,
                     timeout=0.5, decisions={paused.pending[0].id: "approve"})
    assert result.termination == "completed" and paid == [5.0]
    assert [r.error for r in result.tool_calls] == [None]


def test_time_a_tool_waits_for_its_interrupt_answer_does_not_count_against_the_timeout() -> None:
    saver = InMemorySaver()
    model = ScriptedChatModel(responses=[call("ask_name"), complete("greeted")])
    paused = zyx.run("greet", model=model, tools=[ask_name], checkpointer=saver, thread_id="t", timeout=0.5)
    _until_past(time.time() + 0.6)
    result = zyx.run(None, model=model, tools=[ask_name], checkpointer=saver, thread_id="t", timeout=0.5,
                     decisions={paused.interrupts[0].id: "Ann"})
    assert result.termination == "completed" and [r.output for r in result.tool_calls] == ["name is Ann"]


@pytest.mark.parametrize("option", ["--tool", "--target"])
def test_a_module_that_exits_while_imported_is_a_usage_error_not_a_success(
        option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "exits.py"
    file.write_text("import sys\nsys.exit(0)\n\ndef f(x: int) -> int:\n    '''F.'''\n    return x\n")
    code = cli_main(["run", "x", option, f"{file}:f", "--model", "openai:gpt-4o-mini", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert json.loads(captured.out)["error"]["message"].startswith(f"{option}: importing")


@pytest.mark.parametrize("wider", [True, ["pay"], lambda call: True])
def test_a_resume_whose_approve_selects_more_calls_does_not_run_them_unasked(wider: Any) -> None:
    paused, saver, model = _paused([[call("pay", amount=5), call("look", what="x")], complete(), complete()],
                                   approve=["look"])
    with pytest.raises(ConfigurationError, match="^approve:.*call_1"):
        zyx.run(None, model=model, tools=[pay, look], checkpointer=saver, thread_id="t", approve=wider,
                decisions={paused.pending[0].id: "approve"})
    assert paid == []
    result = zyx.run(None, model=model, tools=[pay, look], checkpointer=saver, thread_id="t", approve=["look"],
                     decisions={paused.pending[0].id: "approve"})
    assert result.termination == "completed" and paid == [5.0]


async def test_a_bound_method_still_runs_as_a_process_tool() -> None:
    from process_tools import Offset

    assert await zyx.process_tool(Offset(5).add)(x=2) == 7
