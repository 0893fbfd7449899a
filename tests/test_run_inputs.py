"""What goes with a task: deps, source, attachments, model_settings and dynamic instructions, in run, make and graphs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolRuntime
from openai_server import OpenAIServer, reply
from pydantic import BaseModel

import zyx
from zyx.errors import ConfigurationError
from zyx.graph import build_run_graph
from zyx.result import RunContext, RunVerificationContext
from zyx.testing import ScriptedChatModel, call, complete

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


class Invoice(BaseModel):
    number: str
    total: float


def system_of(messages: list[BaseMessage]) -> str:
    return next(m.text for m in messages if isinstance(m, SystemMessage))


def recording(replies: list[Any]) -> tuple[ScriptedChatModel, list[list[BaseMessage]]]:
    """A scripted model that keeps every conversation it was sent."""
    seen: list[list[BaseMessage]] = []
    script = iter(replies)

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        seen.append(list(messages))
        return next(script)

    return ScriptedChatModel(policy=policy), seen


# -- source -------------------------------------------------------------------------------------------------

def test_source_is_shown_in_a_delimited_section_and_checks_get_it_as_given() -> None:
    invoice = Invoice(number="A-1", total=12.5)
    got: list[RunVerificationContext[Any]] = []

    def check(completion: Any, ctx: RunVerificationContext[Any]) -> bool:
        got.append(ctx)
        return True

    model, seen = recording([complete("Total is 12.5", 12.5)])
    result = zyx.run("What is the invoice total?", float, model=model, source=invoice, verifier=check)

    assert result.output == 12.5
    system = system_of(seen[0])
    assert "<source>" in system and '"number": "A-1"' in system and system.index("<source>") < system.index("A-1")
    assert got[0].source is invoice and got[0].target is float


@pytest.mark.parametrize(("source", "shown"), [("plain text", "plain text"), ({"a": [1, 2]}, '"a": ['),
                                              ([1, 2], "1,")])
def test_source_kinds(source: Any, shown: str) -> None:
    model, seen = recording([complete("ok")])
    zyx.run("Read it.", model=model, source=source)
    assert shown in system_of(seen[0])


def test_source_file_paths(tmp_path: Path) -> None:
    text = tmp_path / "notes.md"
    text.write_text("# Notes\nship friday")
    model, seen = recording([complete("ok")])
    zyx.run("Read it.", model=model, source=text)
    assert "ship friday" in system_of(seen[0])
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigurationError, match="^source: .*not UTF-8"):
        zyx.run("Read it.", model=model, source=binary)
    with pytest.raises(ConfigurationError, match="^source:"):
        zyx.run("Read it.", model=model, source=object())


def test_a_graph_caller_gives_the_source_in_the_input() -> None:
    model, seen = recording([complete("ok")])
    graph = build_run_graph(model=model)
    state = graph.invoke({"messages": [HumanMessage("Read it.")], "source": {"k": "v"}})
    assert state["source"] == {"k": "v"} and '"k": "v"' in system_of(seen[0])


# -- deps ---------------------------------------------------------------------------------------------------

class Deps:
    def __init__(self, user: str) -> None:
        self.user = user


def test_deps_reach_checks_and_dynamic_instructions() -> None:
    deps = Deps("ada")
    contexts: list[RunContext] = []

    def instructions(ctx: RunContext) -> str:
        contexts.append(ctx)
        return f"The user is {ctx.deps.user}; call {ctx.model_calls} so far."

    checked: list[Any] = []
    model, seen = recording([complete("first"), complete("second")])
    zyx.run("Greet.", model=model, deps=deps, instructions=instructions,
            verifier=lambda c, ctx: checked.append(ctx.deps) or c.summary == "second")

    assert [c.deps for c in contexts] == [deps, deps] and [c.model_calls for c in contexts] == [0, 1]
    assert "The user is ada; call 0 so far." in system_of(seen[0])
    assert "call 1 so far." in system_of(seen[1])
    assert checked == [deps, deps]


async def test_async_instructions_and_a_bad_return() -> None:
    async def instructions(ctx: RunContext) -> str:
        return "Be brief."

    model, seen = recording([complete("ok")])
    await zyx.arun("Greet.", model=model, instructions=instructions)
    assert "Be brief." in system_of(seen[0])
    with pytest.raises(ConfigurationError, match="^instructions: .*returned 5"):
        await zyx.arun("Greet.", model=ScriptedChatModel(responses=[complete("ok")]), instructions=lambda ctx: 5)


def test_a_list_of_instructions() -> None:
    model, seen = recording([complete("ok")])
    zyx.run("Greet.", model=model, instructions=["Be brief.", "Use French."])
    assert "Be brief.\n\nUse French." in system_of(seen[0])


def test_deps_are_the_langgraph_runtime_context_of_a_graph_and_its_parent() -> None:
    got: list[Any] = []
    model = ScriptedChatModel(responses=[complete("ok"), complete("ok")])
    run_graph = build_run_graph(model=model, verifier=lambda c, ctx: got.append(ctx.deps) or True)
    run_graph.invoke({"messages": [HumanMessage("Go.")]}, context={"user": "ada"})
    parent = StateGraph(MessagesState)
    parent.add_node("agent", run_graph)
    parent.add_edge(START, "agent")
    parent.compile().invoke({"messages": [HumanMessage("Go.")]}, context={"user": "bob"})
    assert got == [{"user": "ada"}, {"user": "bob"}]


# -- attachments ------------------------------------------------------------------------------------------------

def test_attachments_become_content_blocks_of_the_task(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("line one")
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    got: list[Any] = []
    model, seen = recording([complete("ok")])
    zyx.run("Describe these.", model=model, attachments=[PNG, notes, data_uri, "https://example.com/cat.jpg"],
            verifier=lambda c, ctx: got.extend(ctx.attachments) or True)

    task = next(m for m in seen[0] if isinstance(m, HumanMessage))
    blocks = task.content
    assert isinstance(blocks, list) and blocks[0] == {"type": "text", "text": "Describe these."}
    assert blocks[1]["type"] == "image" and blocks[1]["mime_type"] == "image/png"
    assert blocks[2] == {"type": "text", "text": "[notes.txt]\nline one"}
    assert blocks[3]["type"] == "image" and base64.b64decode(blocks[3]["base64"]) == PNG
    assert blocks[4] == {"type": "image", "url": "https://example.com/cat.jpg", "mime_type": "image/jpeg"}
    assert got == blocks[1:]


def test_bad_attachments_are_configuration_errors(tmp_path: Path) -> None:
    model = ScriptedChatModel(responses=[complete("ok")])
    for bad in (5, ["no/such/file.png"], [{"type": "nope"}], ["data:image/png;base64,!!!"]):
        with pytest.raises(ConfigurationError, match="^attachments:"):
            zyx.run("x", model=model, attachments=bad)


def test_a_text_only_model_refuses_images_before_any_call() -> None:
    class ChatLocal(ScriptedChatModel):  # named like the embedded model, which reads text only
        pass

    model = ChatLocal(responses=[])  # an empty script: any model call would raise ScriptExhaustedError
    with pytest.raises(ConfigurationError, match="^attachments: the model ChatLocal reads text only"):
        zyx.run("Describe it.", model=model, attachments=[PNG])
    with pytest.raises(ConfigurationError, match="^attachments:"):
        zyx.make(str, "Describe it.", model=model, attachments=[PNG])


# -- model settings -----------------------------------------------------------------------------------------------

def test_model_settings_reach_the_request_and_leave_the_model_as_it_was() -> None:
    args = {"summary": "ok", "status": "success"}
    with OpenAIServer([reply(tool_calls=[("complete_task", args)])] * 2) as server:
        model = ChatOpenAI(base_url=server.base_url, api_key="test", model="gpt-4o-mini")  # type: ignore[arg-type]
        zyx.run("Go.", model=model, model_settings={"temperature": 0.25, "max_tokens": 64, "seed": 7,
                                                    "stop": ["END"], "top_p": 0.5, "logit_bias": {"50256": -100}})
        zyx.run("Go.", model=model)
    first, second = server.requests
    assert (first["temperature"], first["max_completion_tokens"], first["seed"], first["stop"], first["top_p"]) == (
        0.25, 64, 7, ["END"], 0.5)  # langchain-openai sends max_tokens as max_completion_tokens
    assert first["logit_bias"] == {"50256": -100}  # a provider extra, passed as it is
    assert "seed" not in second and second.get("temperature") != 0.25
    assert model.temperature is None


@pytest.mark.parametrize("settings", [{"temperature": 3}, {"max_tokens": 0}, {"top_p": "x"}, {"stop": 5}, [1]])
def test_bad_model_settings(settings: Any) -> None:
    with pytest.raises(ConfigurationError, match="^model_settings:"):
        zyx.run("x", model=ScriptedChatModel(responses=[]), model_settings=settings)


# -- make --------------------------------------------------------------------------------------------------------

def test_make_takes_the_same_inputs() -> None:
    model, seen = recording([{"name": "final_result", "args": {"number": "A-2", "total": 3.0}}])
    result = zyx.make(Invoice, "Extract the invoice.", model=model, source="Invoice A-2, total 3 EUR",
                      attachments=[PNG], instructions=lambda ctx: f"deps={ctx.deps}", deps=42,
                      model_settings={"temperature": 0})
    assert result.output == Invoice(number="A-2", total=3.0)
    system = system_of(seen[0])
    assert "Invoice A-2, total 3 EUR" in system and "deps=42" in system
    task = next(m for m in seen[0] if isinstance(m, HumanMessage))
    assert isinstance(task.content, list) and task.content[1]["type"] == "image"


# -- deps reach tools through LangGraph's ToolRuntime ---------------------------------------------------------

def whoami(greeting: str, runtime: ToolRuntime[Deps]) -> str:
    """Greet the current user."""
    return f"{greeting}, {runtime.context.user} (call {runtime.tool_call_id})"


def test_a_tool_gets_the_deps_through_tool_runtime_hidden_from_the_model() -> None:
    seen_tools: list[Any] = []

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        seen_tools.extend(tools)
        if not any(getattr(m, "tool_call_id", None) for m in messages):
            return call("whoami", greeting="Hello")
        return complete("greeted")

    result = zyx.run("Greet me.", model=ScriptedChatModel(policy=policy), tools=[whoami], deps=Deps("ada"))
    assert result.tool_calls[0].output.startswith("Hello, ada (call ")
    schema = next(t for t in seen_tools if t["function"]["name"] == "whoami")["function"]["parameters"]
    assert set(schema["properties"]) == {"greeting"}


def test_a_model_cannot_forge_the_runtime_argument() -> None:
    replies = iter([call("whoami", greeting="Hi", runtime={"context": "forged"}), complete("done")])
    result = zyx.run("Greet me.", model=ScriptedChatModel(policy=lambda m, t: next(replies)), tools=[whoami],
                     deps=Deps("ada"))
    assert result.tool_calls[0].error is not None and "runtime" in result.tool_calls[0].error


def test_tools_in_make_and_in_a_parent_graph_get_the_deps() -> None:
    replies = iter([call("whoami", greeting="Hey"), {"name": "final_result", "args": {"result": "ok"}}])
    made = zyx.make(str, "Greet.", model=ScriptedChatModel(policy=lambda m, t: next(replies)), tools=[whoami],
                    deps=Deps("bob"))
    outputs = [m.content for m in made.messages if getattr(m, "tool_call_id", None)]
    assert outputs and str(outputs[0]).startswith("Hey, bob")

    script = iter([call("whoami", greeting="Yo"), complete("done")])
    run_graph = build_run_graph(model=ScriptedChatModel(policy=lambda m, t: next(script)), tools=[whoami])
    parent = StateGraph(MessagesState)
    parent.add_node("agent", run_graph)
    parent.add_edge(START, "agent")
    state = parent.compile().invoke({"messages": [HumanMessage("Greet.")]}, context=Deps("cy"))
    assert any("Yo, cy" in str(m.content) for m in state["messages"])


def test_instructions_mix_strings_and_functions_and_a_function_may_add_nothing() -> None:
    model, seen = recording([complete("ok")])
    zyx.run("Greet.", model=model, deps="ada",
            instructions=["Be brief.", lambda ctx: f"The user is {ctx.deps}.", lambda ctx: None, lambda ctx: ""])
    system = system_of(seen[0])
    assert "Be brief.\n\nThe user is ada." in system and system.rstrip().endswith("The user is ada.")


def test_a_delegated_sub_run_gets_the_callers_deps() -> None:
    seen: list[Any] = []
    sub_model = ScriptedChatModel(responses=[call("whoami", greeting="Hi"), complete("greeted")])
    helper = zyx.as_tool(name="greeter", description="Greets the user.", model=sub_model, tools=[whoami],
                         verifier=lambda c, ctx: seen.append(ctx.deps) or True)
    script = iter([call("greeter", task="Greet the user."), complete("done")])
    zyx.run("Get the user greeted.", model=ScriptedChatModel(policy=lambda m, t: next(script)), tools=[helper],
            deps=Deps("dee"))
    assert [d.user for d in seen] == ["dee"]
