"""The `zyx` command line, driven as a user would: `python -m zyx run ...` in a subprocess.

The subprocess talks to the scripted OpenAI-compatible server on 127.0.0.1 through the real
`langchain-openai` client (`--model openai:gpt-4o-mini`, OPENAI_BASE_URL, OPENAI_API_KEY=test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, Optional, Union

import pytest
from openai_server import OpenAIServer, Reply, error, reply

from zyx.cli import UsageError, main, parse_target, parse_type_expression

TESTS = Path(__file__).parent
ROOT = TESTS.parent
MODEL = ["--model", "openai:gpt-4o-mini"]


def complete(summary: str = "Done.", status: str = "success", result: Any = None, **kw: Any) -> Reply:
    args: dict[str, Any] = {"summary": summary, "status": status}
    if result is not None:
        args["result"] = result
    return reply(tool_calls=[("complete_task", args)], **kw)


def zyx_cli(*args: str, srv: OpenAIServer | None = None, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m zyx ARGS` with the scripted server as its OpenAI endpoint; no network, no real key."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ZYX_", "LANGSMITH_", "LANGCHAIN_"))}
    environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT)])
    environ["NO_COLOR"] = "1"
    if srv is not None:
        environ.update(OPENAI_BASE_URL=srv.base_url, OPENAI_API_KEY="test")
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "zyx", *args], env=environ, input=stdin, capture_output=True,
                          text=True, timeout=90, cwd=ROOT)


def point_at(monkeypatch: pytest.MonkeyPatch, srv: OpenAIServer) -> None:
    """For in-process `main()` calls: this process's OpenAI settings point at the scripted server."""
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")


def tool_named(request: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t["function"] for t in request["tools"] if t["function"]["name"] == name)


# ---- help ----


def test_help_explains_with_an_example() -> None:
    top = zyx_cli("--help")
    assert top.returncode == 0, top.stderr
    assert "zyx run" in top.stdout and "--tool weather_tools:get_weather" in top.stdout
    assert "Exit status" in top.stdout


def test_version_option_prints_the_package_version() -> None:
    import zyx

    shown = zyx_cli("--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"zyx {zyx.__version__}\n" and zyx.__version__[0].isdigit()



def test_run_help_lists_the_options_and_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--tool", "--target", "--model", "--plan", "--stream", "--max-steps", "--json"):
        assert option in out
    assert "list[str]" in out  # Rich markup did not eat the brackets
    assert "130" in out and "RunError" in out


# ---- successful runs ----


def test_success_prints_the_completion_and_exits_0() -> None:
    with OpenAIServer([complete("The task is done.")]) as srv:
        proc = zyx_cli("run", "Say that the task is done.", *MODEL, srv=srv)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "success: The task is done."
    assert "model gpt-4o-mini" in proc.stderr and "1 model turn" in proc.stderr
    assert srv.requests[0]["messages"][-1] == {"role": "user", "content": "Say that the task is done."}


def test_tool_from_a_module_is_called_and_shown() -> None:
    script = [reply(tool_calls=[("get_weather", {"city": "Paris"})]), complete("Paris is sunny.")]
    with OpenAIServer(script) as srv:
        proc = zyx_cli("run", "Weather in Paris?", "--tool", "cli_tools:get_weather", *MODEL, srv=srv)

    assert proc.returncode == 0, proc.stderr
    assert "success: Paris is sunny." in proc.stdout
    assert '→ get_weather(city="Paris")' in proc.stderr
    assert "✓ get_weather" in proc.stderr
    assert [t["function"]["name"] for t in srv.requests[0]["tools"]] == ["get_weather", "complete_task"]
    assert tool_named(srv.requests[0], "get_weather")["description"] == "Get the current weather for a city."
    assert srv.requests[1]["messages"][-1]["content"] == "Paris: 72F and sunny"


def test_target_list_of_str_with_live_progress() -> None:
    script = [reply(tool_calls=[("add", {"a": 2, "b": 3})]),
              complete("Listed.", result=["red", "green", "blue"])]
    with OpenAIServer(script) as srv:
        proc = zyx_cli("run", "List three colours.", "--target", "list[str]", "--tool", "cli_tools:add", *MODEL,
                       srv=srv)

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "success: Listed."
    assert json.loads("\n".join(lines[1:])) == ["red", "green", "blue"]
    # live events, in order: turn 1, the tool call, turn 2
    stderr = proc.stderr
    assert stderr.index("turn 1") < stderr.index("→ add(a=2, b=3)") < stderr.index("✓ add") < stderr.index("turn 2")
    result_schema = tool_named(srv.requests[0], "complete_task")["parameters"]["properties"]["result"]
    assert result_schema["type"] == "array" and result_schema["items"] == {"type": "string"}


def test_json_output_has_the_fields() -> None:
    script = [reply(tool_calls=[("get_weather", {"city": "Oslo"})]),
              complete("Oslo is sunny.", result={"item": "pack sunglasses", "priority": 1})]
    with OpenAIServer(script) as srv:
        proc = zyx_cli("run", "Plan for Oslo.", "--json", "--tool", "cli_tools:get_weather",
                       "--target", "cli_tools:Todo", *MODEL, srv=srv)

    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "success"
    assert data["summary"] == "Oslo is sunny."
    assert data["output"] == {"item": "pack sunglasses", "priority": 1}
    assert data["termination"] == "completed"
    assert data["model"] == "gpt-4o-mini"
    [call] = data["tool_calls"]
    assert (call["name"], call["args"], call["output"], call["error"]) == (
        "get_weather", {"city": "Oslo"}, "Oslo: 72F and sunny", None)
    assert call["duration"] >= 0
    assert data["usage"]["total_tokens"] == data["usage"]["input_tokens"] + data["usage"]["output_tokens"] > 0
    assert isinstance(data["seconds"], float)
    schema = tool_named(srv.requests[0], "complete_task")["parameters"]
    assert "Todo" in json.dumps(schema)  # the imported model shaped the completion tool


def test_stream_prints_partials_to_stderr() -> None:
    colours = ["crimson", "forest green", "navy blue"]
    with OpenAIServer([complete("Listed.", result=colours, fragment=3)]) as srv:
        proc = zyx_cli("run", "List three colours.", "--target", "list[str]", "--stream", *MODEL, srv=srv)

    assert proc.returncode == 0, proc.stderr
    partials = [line.split("… partial ", 1)[1] for line in proc.stderr.splitlines() if "… partial " in line]
    assert len(set(partials)) >= 3, proc.stderr
    assert json.loads(partials[-1]) == colours
    assert srv.requests[0]["stream"] is True
    assert json.loads("\n".join(proc.stdout.splitlines()[1:])) == colours  # stdout still has the final output


def test_task_from_stdin_and_quiet() -> None:
    with OpenAIServer([complete("Read it.")]) as srv:
        proc = zyx_cli("run", "-", "-q", *MODEL, srv=srv, stdin="A task from a pipe.\n")

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert srv.requests[0]["messages"][-1]["content"] == "A task from a pipe."


def test_failed_tool_and_rejected_completion_are_shown() -> None:
    script = [reply(tool_calls=[("broken", {"city": "Atlantis"})]),
              complete("Here.", result="not a number"),
              complete("Here.", result=7)]
    with OpenAIServer(script) as srv:
        proc = zyx_cli("run", "Pick a number.", "--target", "int", "--tool", "cli_tools:broken", *MODEL, srv=srv)

    assert proc.returncode == 0, proc.stderr
    assert "✗ broken" in proc.stderr and "no weather station in Atlantis" in proc.stderr
    assert "completion rejected" in proc.stderr
    assert proc.stdout.splitlines() == ["success: Here.", "7"]


def test_plan_mode(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIServer([complete("Nothing to plan.", result=["x"])]) as srv:
        point_at(monkeypatch, srv)
        code = main(["run", "Plan it.", "--plan", "--target", "list[str]", "--tool", "cli_tools:get_weather", *MODEL])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[0] == "success: Nothing to plan."
    assert "submit_plan" in [t["function"]["name"] for t in srv.requests[0]["tools"]]


# ---- exit statuses ----


def test_failed_completion_exits_1() -> None:
    with OpenAIServer([complete("Cannot be done: no such city.", status="failed")]) as srv:
        proc = zyx_cli("run", "Weather on Mars?", *MODEL, srv=srv)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.strip() == "failed: Cannot be done: no such city."



def test_skipped_completion_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIServer([complete("Not needed.", status="skipped")]) as srv:
        point_at(monkeypatch, srv)
        code = main(["run", "Nothing to do.", "--json", *MODEL])
    assert code == 1
    assert json.loads(capsys.readouterr().out)["status"] == "skipped"


def test_model_error_exits_3_with_the_message() -> None:
    with OpenAIServer(lambda request: error(401, "bad key")) as srv:
        proc = zyx_cli("run", "Anything.", "--target", "str", *MODEL, srv=srv)
    assert proc.returncode == 3
    assert "ModelError" in proc.stderr and "openai model 'gpt-4o-mini' failed" in proc.stderr
    assert "bad key" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert len(srv.requests) == 1  # not retried



def test_model_error_as_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIServer(lambda request: error(401, "bad key")) as srv:
        point_at(monkeypatch, srv)
        code = main(["run", "Anything.", "--json", *MODEL])
    assert code == 3
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "error" and data["error"]["type"] == "ModelError"
    assert "bad key" in data["error"]["message"]
    assert data["model"] == "gpt-4o-mini" and data["output"] is None


def test_retries_spent_exits_3() -> None:
    plain = [reply("I think it is sunny.")] * 3  # never calls complete_task
    with OpenAIServer(plain) as srv:
        proc = zyx_cli("run", "Weather?", *MODEL, srv=srv)
    assert proc.returncode == 3
    assert "TaskNotCompletedError" in proc.stderr
    assert len(srv.requests) == 3


def test_bad_target_exits_2_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    proc = zyx_cli("run", "Anything.", "--target", f"__import__('pathlib').Path({str(marker)!r}).touch()",
                   env={"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "zyx: error: --target: unsupported syntax" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not marker.exists()  # the expression was parsed, never executed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "list[foo]"], "unknown type name 'foo'"),
        (["--target", "list[str"], "not a type expression"),
        (["--target", "cli_tools:Missing"], "has no attribute 'Missing'"),
        (["--tool", "cli_tools:NOT_A_TOOL"], "is not a function"),
        (["--tool", "no_such_module:f"], "cannot import 'no_such_module'"),
        (["--stream"], "needs --target"),
        (["--stream", "--target", "str", "--plan"], "not available with --plan"),
        (["--max-steps", "-1"], "Invalid value for '--max-steps'"),
        (["--model", "gpt-4o"], "configuration error: model: expected 'provider:name'"),
        (["--model", "openai:gpt-4o"], "configuration error: model: 'openai:gpt-4o' needs the OPENAI_API_KEY"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "Anything.", *args])  # in process: nothing here reaches a model
    captured = capsys.readouterr()
    assert code == 2, (captured.out, captured.err)
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_missing_key_is_a_configuration_error() -> None:
    proc = zyx_cli("run", "Anything.", *MODEL, "--json")
    assert proc.returncode == 2
    assert "OPENAI_API_KEY" in proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "ConfigurationError"


# ---- the --target type language, in process ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("str", str),
        ("int", int),
        ("float", float),
        ("bool", bool),
        ("list[str]", list[str]),
        ("list[int]", list[int]),
        ("dict[str, int]", dict[str, int]),
        ("dict[str, list[float]]", dict[str, list[float]]),
        ("tuple[int, ...]", tuple[int, ...]),
        ("int | None", Optional[int]),
        ("Optional[str]", Optional[str]),
        ("Union[int, str]", Union[int, str]),
        ("Literal['low', 'high']", Literal["low", "high"]),
        ("list[Literal[1, 2]]", list[Literal[1, 2]]),
        ("Any", Any),
    ],
)
def test_type_expressions(text: str, expected: Any) -> None:
    assert parse_type_expression(text) == expected


@pytest.mark.parametrize(
    "text",
    ["open", "list[str]()", "str.mro", "[str]", "lambda: str", "list['x']", "(1).__class__", "os:system" * 0 + "x" * 400,
     "list[str][int]", "int[str]"],
)
def test_type_expressions_refuse_anything_else(text: str) -> None:
    with pytest.raises(UsageError, match="--target"):
        parse_type_expression(text)


def test_target_import() -> None:
    from cli_tools import Todo

    assert parse_target("cli_tools:Todo") is Todo
    assert parse_target(" list[str] ") == list[str]
    assert parse_target("Literal['a:b']") == Literal["a:b"]  # a colon inside quotes is not an import
    assert parse_target(None) is None


# ---- docs/cli.md says what the command does ----


def test_cli_docs_match_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    from zyx import cli

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert main(["run", "--help"]) == 0
    help_text = capsys.readouterr().out
    documented = set(re.findall(r"`(--[a-z][a-z-]*)", doc))
    assert documented >= {"--tool", "--target", "--model", "--plan", "--stream", "--max-steps", "--json"}
    assert not {o for o in documented if o not in help_text} - {"--version", "--help"}
    statuses = {int(s) for s in re.findall(r"^\| `(\d+)` \|", doc, re.MULTILINE)}
    assert statuses == {cli.EXIT_SUCCESS, cli.EXIT_NOT_SUCCESS, cli.EXIT_USAGE, cli.EXIT_RUN_ERROR, cli.EXIT_INTERRUPTED}
    for name in cli.TYPE_NAMES:  # every name the type language accepts is documented
        assert name in doc or name in {"None", "List", "Dict", "Set", "Tuple", "bytes", "frozenset"}
