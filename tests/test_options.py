"""Options are declared once (zyx/_options.py): every entry point, Studio and the docs derive from the declarations."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

import zyx
from graphs._studio import STUDIO_OWN, StudioSettings, schema_type
from zyx._options import (
    CALL_OPTIONS,
    GRAPH_OPTIONS,
    MAKE_OPTIONS,
    RUN_OPTIONS,
    GraphOptions,
    RunOptions,
    checked,
    declared,
)
from zyx.embed import as_tool
from zyx.errors import ConfigurationError, describe
from zyx.graph import build_run_graph
from zyx.graph.limits import KEPT_FIELDS, PER_RUN_FIELDS
from zyx.graph.state import RunState
from zyx.testing import ScriptedChatModel, complete

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def model() -> ScriptedChatModel:
    return ScriptedChatModel(responses=[complete("done")])


def test_the_docs_table_is_generated_from_the_declarations() -> None:
    check = subprocess.run([sys.executable, "scripts/options_table.py"], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    text = (ROOT / "docs" / "run.md").read_text()
    for name in RUN_OPTIONS:
        assert f"| `{name}` |" in text


def test_each_entry_point_accepts_exactly_its_declared_options() -> None:
    assert MAKE_OPTIONS < RUN_OPTIONS and GRAPH_OPTIONS < RUN_OPTIONS and not CALL_OPTIONS & GRAPH_OPTIONS
    assert set(declared(RunOptions)) == RUN_OPTIONS
    with pytest.raises(ConfigurationError, match=r"^foo: arun\(\) got an unexpected keyword"):
        zyx.run("x", model=model(), foo=1)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match=r"^foo: amake\(\) got an unexpected keyword"):
        zyx.make(str, "x", model=model(), foo=1)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match=r"^config: build_run_graph\(\).*an option of run\(\)"):
        build_run_graph(model=model(), config={})  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match=r"^thread_id: as_tool\(\)"):
        as_tool(name="t", description="d", model=model(), thread_id="x")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match=r"^max_steps: only applies when a task is given"):
        zyx.run(None, str, "x", model=model(), max_steps=1)


def test_every_default_passes_its_own_check() -> None:
    values = checked({}, GraphOptions)
    assert set(values) == GRAPH_OPTIONS
    assert values["tools"] == () and values["final_answer_checks"] == () and values["tool_limits"] == {}


def test_studio_settings_are_derived_from_the_declarations() -> None:
    hints = typing.get_type_hints(StudioSettings, include_extras=True)
    studio = {name for name, option in declared(RunOptions).items() if option.studio}
    assert set(hints) == studio | set(STUDIO_OWN)
    assert hints["timeout"].__origin__ is float and hints["max_steps"].__origin__ is int
    assert hints["timeout"].__metadata__[0].description == declared(RunOptions)["timeout"].doc


def test_per_run_fields_follow_the_run_state() -> None:
    assert set(PER_RUN_FIELDS) | KEPT_FIELDS == set(typing.get_type_hints(RunState))
    assert PER_RUN_FIELDS["tool_calls"] == [] and PER_RUN_FIELDS["steps"] == 0 and PER_RUN_FIELDS["plan"] is None


@pytest.mark.parametrize(("options", "argument"), [
    ({"timeout": 10**400}, "timeout"),
    ({"timeout": float("inf")}, "timeout"),
    ({"timeout": float("nan")}, "timeout"),
    ({"tool_timeout": -1}, "tool_timeout"),
    ({"config": {"recursion_limit": -1}}, "config"),
    ({"config": {"recursion_limit": "x"}}, "config"),
    ({"config": {"callbacks": 5}}, "config"),
    ({"config": {"configurable": 5}}, "config"),
    ({"config": {"tags": "a"}}, "config"),
    ({"checkpointer": 5, "thread_id": "t"}, "checkpointer"),
    ({"instructions": 5}, "instructions"),
    ({"max_steps": True}, "max_steps"),
    ({"approve": "search"}, "approve"),
])
def test_bad_options_are_configuration_errors(options: dict[str, Any], argument: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        zyx.run("x", model=model(), **options)
    assert caught.value.argument == argument


def test_bad_arguments_of_make_graph_and_stream() -> None:
    with pytest.raises(ConfigurationError, match="^instructions:"):
        zyx.make(str, "x", model=model(), instructions=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="^checkpointer:"):
        build_run_graph(model=model(), checkpointer=5)  # type: ignore[arg-type]
    stream = zyx.run("x", list[str], model=model(), stream=True)
    with pytest.raises(ConfigurationError, match="^name:"):
        stream.field(None)  # type: ignore[arg-type]
    stream.close()


def test_a_bad_option_never_boots_the_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def boot(*_: Any) -> Any:
        raise AssertionError("the model was resolved before the options were checked")

    monkeypatch.setattr("zyx.graph._cache.resolve_model", boot)
    with pytest.raises(ConfigurationError, match="^tools:"):
        zyx.run("x", tools=[5])
    with pytest.raises(ConfigurationError, match="^max_retries:"):
        zyx.run("x", max_retries=-1)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}},
    {"type": "object", "properties": {"a": {"type": "integer", "minimum": "abc"}}},
    {"type": "object", "properties": {"a": {"type": "string", "minLength": -1}}},
    {"type": "object", "properties": []},
    {"type": []},
    {"type": [5]},
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": [5]},
])
def test_bad_studio_schemas_are_configuration_errors(schema: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="^target_schema:"):
        schema_type(schema)


def test_a_deeply_nested_studio_schema_is_refused_without_recursing() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(3000):
        schema = {"type": "array", "items": schema}
    with pytest.raises(ConfigurationError, match="levels deep"):
        schema_type(schema)


def test_configuration_errors_pickle() -> None:
    error = ConfigurationError("max_steps", "expected a non-negative integer")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ConfigurationError and str(copy) == str(error) and copy.argument == "max_steps"
    run_error = zyx.VerificationError("nope", errors=["bad"], termination="no_completion")
    assert pickle.loads(pickle.dumps(run_error)).errors == ["bad"]


@pytest.mark.parametrize(("options", "argument"), [
    ({"model": {"api_key": SECRET}}, "model"),
    ({"model": SECRET}, "model"),
    ({"tools": {"token": SECRET}}, "tools"),
    ({"checkpointer": {"dsn": f"postgresql://user:{SECRET}@db/x"}, "thread_id": "t"}, "checkpointer"),
    ({"context": {"auth": SECRET}}, "context"),
    ({"thread_id": SECRET}, "thread_id"),
])
def test_bad_values_are_described_never_shown(options: dict[str, Any], argument: str) -> None:
    options = dict(options)
    context = options.pop("context", None)
    with pytest.raises(ConfigurationError) as caught:
        zyx.run("x", None, context, **options)
    assert caught.value.argument == argument
    assert SECRET not in str(caught.value) and "abcdefghij" not in str(caught.value)


def test_describe_keeps_harmless_values_readable() -> None:
    assert describe(-1) == "-1" and describe("yes") == "'yes'" and describe(None) == "None"
    assert describe({"model": 1}) == "a dict with keys 'model'"
    assert "hidden" in describe(SECRET) and "hidden" in describe("Bearer abc") and "digits" in describe(10**400)


def test_the_cli_never_prints_the_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from zyx.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    code = main(["run", "x", "--target", "os:environ", "--model", "scripted"])
    output = capsys.readouterr()
    assert code == 2
    assert SECRET not in output.out + output.err


def test_imports_run_one_way() -> None:
    """API (run, make, stream, embed, ...) -> graph -> contracts: no module imports a layer above its own."""
    api = {"zyx.run", "zyx.make", "zyx.stream", "zyx.embed", "zyx._outcome", "zyx._durable", "zyx.cli", "zyx.batch",
           "zyx._batch_io", "zyx._cli_batch", "zyx._cli_server"}

    def imported(path: Path) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        return {n for n in names if n.startswith("zyx")}

    def layer_of(module: str) -> str:
        if any(module == a or module.startswith(a + ".") for a in api):
            return "api"
        return "graph" if module == "zyx.graph" or module.startswith("zyx.graph.") else "contracts"

    rank = {"contracts": 0, "graph": 1, "api": 2}
    wrong = []
    for path in (ROOT / "zyx").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if module in ("zyx", "zyx.testing", "zyx.__main__"):
            continue  # the package's re-exports, the testing helpers and the script entry
        for name in imported(path):
            if rank[layer_of(name)] > rank[layer_of(module)]:
                wrong.append(f"{module} imports {name}")
    assert not wrong


def test_model_facing_text_lives_in_prompts() -> None:
    for path in [*(ROOT / "zyx" / "graph").glob("*.py"), ROOT / "zyx" / "make.py", ROOT / "zyx" / "embed.py"]:
        text = path.read_text()
        for literal in ('"complete_task"', '"submit_plan"', '"final_result"'):
            assert literal not in text, f"{path.name} spells {literal}: use the name in zyx._prompts"


def test_message_history_survives_the_refactor() -> None:
    """A run still returns its whole conversation (a smoke check of the rewired spec, limits and outcome)."""
    result = zyx.run("Say done.", model=model(), max_steps=3, timeout=30)
    assert result.completion is not None and result.completion.summary == "done"
    assert any(isinstance(m, AIMessage) for m in result.messages)


def test_studio_takes_the_new_options_as_settings() -> None:
    from graphs._studio import studio_graph

    graph = studio_graph({"model_settings": {"temperature": 0.1}, "instructions": "Be brief."}, plan=False,
                         execute=False)
    assert graph.context_schema is StudioSettings
    with pytest.raises(ConfigurationError, match="^model_settings:"):
        studio_graph({"model_settings": {"temperature": 9}}, plan=False, execute=False)
