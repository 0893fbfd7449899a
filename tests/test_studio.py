"""Studio: the `graphs/` factories and example tools, and a live `langgraph dev` server driven by langgraph-sdk.

The live test starts `langgraph dev` (the `studio` extra) in the folder of `langgraph.json`, as
LangGraph documents it, on a free loopback port, with the scripted OpenAI-compatible server as its
model, so runs go through the real langchain-openai client; both servers are stopped when the test
ends, pass or fail. `langgraph dockerfile` is checked too: the deployable image serves both graphs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer, Reply, reply
from pydantic import BaseModel, ValidationError

from graphs import run as run_module
from graphs import run_plan as run_plan_module
from graphs._studio import PLACEHOLDER_MODEL, StudioSettings, schema_type, settings_from, studio_graph
from graphs.tools import TOOLS, calculator, current_utc_time, read_text_file
from zyx.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "langgraph.json"
CLI_ENV = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false"}
ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "number", "description": "The result"}},
                 "required": ["answer"]}


# -- example tools ---------------------------------------------------------------------------------


def test_calculator_evaluates_arithmetic_without_eval() -> None:
    assert calculator("(17 + 25) * 3") == 126
    assert calculator("2 ** 10 - 7 // 2 + 7 % 4") == 1024
    assert calculator("sqrt(16) + abs(-2) + round(2.6) + max(1, 5)") == 14
    assert calculator("-pi * 0") == 0
    for bad in ("__import__('os').system('true')", "open('x')", "[1, 2]", "x + 1", "2 ** 99999", "1 +", "a.b"):
        with pytest.raises(ValueError):
            calculator(bad)
    with pytest.raises(ZeroDivisionError):
        calculator("1 / 0")


@pytest.mark.parametrize("expression", [
    "10**1000 * 10**300", "max(10**1000, 1) * 10**300", "(2**1000)**5",
    "(-8) ** 0.5", "1e308 * 10", "sqrt(10**1000)", "1.5 ** 1000 * 1e300",
])
def test_calculator_refuses_unbounded_work_with_a_readable_error(expression: str) -> None:
    with pytest.raises(ValueError, match="too large|out of range|not a real number"):
        calculator(expression)
    assert calculator("9 ** 999") == 9**999 and calculator("(-2) ** 999") == -(2**999)  # big, but bounded


def test_calculator_cannot_freeze_the_process() -> None:
    """Huge big-int work holds the GIL, so no tool_timeout could stop it: it must be refused up front.

    Run in a child process with a wide limit, so the test cannot hang the suite: today it answers in
    well under a millisecond, while computing the power would take far longer than the limit.
    """
    code = ("from graphs.tools import calculator\n"
            "try:\n    calculator('((9**999)**999)**999')\nexcept ValueError as exc:\n    print('refused:', exc)")
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("calculator('((9**999)**999)**999') was still computing after 60 s")
    assert done.returncode == 0 and done.stdout.startswith("refused: the result would be too large"), done.stderr


def test_clock_gives_utc_iso_time() -> None:
    from datetime import datetime

    now = datetime.fromisoformat(current_utc_time())
    assert now.tzinfo is not None and now.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_read_text_file_stays_in_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = tmp_path / "sandbox"
    (sandbox / "sub").mkdir(parents=True)
    (sandbox / "a.txt").write_text("hello")
    (sandbox / "sub" / "b.txt").write_text("deeper")
    (tmp_path / "secret.txt").write_text("nope")
    (sandbox / "link.txt").symlink_to(tmp_path / "secret.txt")
    monkeypatch.setenv("ZYX_SANDBOX_DIR", str(sandbox))
    assert read_text_file("a.txt") == "hello"
    assert read_text_file("sub/../sub/b.txt") == "deeper"
    assert read_text_file(".") == "Files: a.txt, link.txt, sub/b.txt"
    for escape in ("../secret.txt", str(tmp_path / "secret.txt"), "link.txt", "sub/../../secret.txt"):
        with pytest.raises(PermissionError):
            read_text_file(escape)
    with pytest.raises(FileNotFoundError):
        read_text_file("missing.txt")


def test_the_shipped_sandbox_has_the_example_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZYX_SANDBOX_DIR", raising=False)
    assert "Oslo" in read_text_file("notes.txt")


# -- settings and the JSON Schema target -------------------------------------------------------------


def test_schema_type_builds_a_pydantic_model() -> None:
    schema = {"title": "Trip", "type": "object", "additionalProperties": False, "required": ["city", "days"],
              "properties": {"city": {"type": "string", "minLength": 2}, "days": {"type": "integer", "minimum": 1},
                             "tags": {"type": "array", "items": {"type": "string"}},
                             "mode": {"enum": ["train", "plane"]},
                             "budget": {"type": ["number", "null"]},
                             "hotel": {"type": "object", "properties": {"name": {"type": "string"}},
                                       "required": ["name"]}}}
    tp = schema_type(schema)
    assert issubclass(tp, BaseModel) and tp.__name__ == "Trip"
    trip = tp.model_validate({"city": "Oslo", "days": 3, "tags": ["x"], "mode": "train", "hotel": {"name": "H"}})
    assert trip.hotel.name == "H" and trip.budget is None
    for bad in ({"city": "O", "days": 3}, {"city": "Oslo", "days": 0}, {"city": "Oslo", "days": 2, "extra": 1},
                {"city": "Oslo", "days": 2, "mode": "car"}, {"days": 2}):
        with pytest.raises(ValidationError):
            tp.model_validate(bad)
    assert schema_type(json.dumps(schema)) is tp  # cached by content: one compiled graph per schema
    assert schema_type({"type": "array", "items": {"type": "integer"}}) == list[int]
    assert schema_type(None) is None and schema_type({}) is None


@pytest.mark.parametrize("schema", [
    {"$ref": "#/defs/x"}, {"anyOf": [{"type": "string"}]}, {"type": "object", "properties": {"a": {"oneOf": []}}},
    {"type": "object", "properties": {"a b": {"type": "string"}}}, {"type": "wat"}, "not json", [1],
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]},
    {"type": "object", "properties": {"a": {"type": "integer", "pattern": "x"}}},
])
def test_unsupported_schemas_are_refused(schema: Any) -> None:
    with pytest.raises(ConfigurationError, match="target_schema"):
        schema_type(schema)


def test_settings_come_from_configurable_then_context() -> None:
    class Execution:
        context = {"max_steps": 3, "model": "openai:x", "ignored": 1}

    class Runtime:
        execution_runtime = Execution()

    config = {"configurable": {"max_steps": 9, "instructions": "Be brief.", "thread_id": "t"}}
    assert settings_from(config, Runtime()) == {"max_steps": 3, "instructions": "Be brief.", "model": "openai:x"}
    assert settings_from(config) == {"max_steps": 9, "instructions": "Be brief."}


def test_factories_build_cached_graphs_with_studio_settings_as_context() -> None:
    settings = {"target_schema": ANSWER_SCHEMA, "max_steps": 4, "tools": ["calculator"]}
    graph = studio_graph(settings, plan=False, execute=False)
    assert studio_graph(dict(settings), plan=False, execute=False) is graph
    assert graph.context_schema is StudioSettings
    assert set(graph.get_context_jsonschema()["properties"]) >= {"model", "target_schema", "max_steps", "tools"}
    assert {"planner", "tool_executor", "completion", "verifier"} <= set(graph.get_graph().nodes)
    plan_graph = run_plan_module.graph({"configurable": {"__is_for_execution__": False}})
    assert plan_graph.name == "zyx_run_plan" and plan_graph is not run_module.graph(
        {"configurable": {"__is_for_execution__": False}})
    with pytest.raises(ConfigurationError, match="tools"):
        studio_graph({"tools": ["rm_rf"]}, plan=False, execute=False)
    with pytest.raises(ConfigurationError, match="planning_interval"):
        studio_graph({"planning_interval": 2}, plan=False, execute=False)
    assert PLACEHOLDER_MODEL.model_name == "zyx-studio-placeholder"
    assert sorted(TOOLS) == ["calculator", "current_utc_time", "read_text_file"]


# -- the live server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _langgraph_cli() -> str | None:
    local = Path(sys.executable).parent / "langgraph"
    return str(local) if local.exists() else shutil.which("langgraph")


def _model_script(request: dict[str, Any]) -> Reply:
    """Plays the model: calculator first (or one plan), then complete_task with the tool's answer."""
    tools = [t["function"]["name"] for t in request.get("tools", [])]
    tool_results = [m for m in request["messages"] if m["role"] == "tool"]
    if "submit_plan" in tools:
        if tool_results:
            return reply("Done.")
        return reply(tool_calls=[("submit_plan", {"steps": [
            {"id": "s1", "tool": "calculator", "args": {"expression": "6 * 7"}},
            {"id": "done", "tool": "complete_task", "args": {"summary": "Computed.", "result": {"answer": "$s1"}}},
        ]})])
    if not tool_results:
        return reply(tool_calls=[("calculator", {"expression": "6 * 7"})])
    answer = float(tool_results[-1]["content"])
    return reply(tool_calls=[("complete_task", {"summary": f"6 * 7 = {answer:g}", "status": "success",
                                                "result": {"answer": answer}})])


@pytest.fixture
def model_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(_model_script) as server:
        yield server


@pytest.fixture
def studio_url(model_server: OpenAIServer, tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("langgraph_api", reason='needs the studio extra: pip install -e ".[studio]"')
    cli = _langgraph_cli()
    if cli is None:
        pytest.skip("the langgraph CLI is not installed (studio extra)")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    env.update(OPENAI_BASE_URL=model_server.base_url, OPENAI_API_KEY="test-key", ZYX_MODEL="openai:gpt-4o-mini",
               PYTHONUNBUFFERED="1", **CLI_ENV)
    log = (tmp_path / "langgraph-dev.log").open("w")
    server = subprocess.Popen(  # in the config's own folder, with the default --config (langgraph.json)
        [cli, "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"],
        cwd=CONFIG.parent, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            if server.poll() is not None:
                pytest.fail(f"langgraph dev exited with {server.returncode}:\n{(tmp_path / 'langgraph-dev.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/ok", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not answer /ok:\n{(tmp_path / 'langgraph-dev.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        log.close()


def test_the_config_follows_langgraphs_layout() -> None:
    """Paths in langgraph.json are relative to its folder: the repository root, next to pyproject.toml."""
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    assert (CONFIG.parent / "pyproject.toml").is_file()
    for dependency in config["dependencies"]:
        assert (CONFIG.parent / dependency).is_dir(), dependency
    assert set(config["graphs"]) == {"run", "run_plan"}
    for target in config["graphs"].values():
        path, _, variable = target.partition(":")
        assert (CONFIG.parent / path).is_file() and variable == "graph", target
    assert not (ROOT / "graphs" / "langgraph.json").exists()  # one config, where `langgraph` looks for it


def test_langgraph_dockerfile_builds_an_image_serving_both_graphs(tmp_path: Path) -> None:
    """`langgraph dockerfile` (used by `langgraph build` / `up`) resolves the config from any folder."""
    cli = _langgraph_cli()
    if cli is None:
        pytest.skip("the langgraph CLI is not installed (studio extra)")
    out = tmp_path / "Dockerfile"
    env = {**os.environ, **CLI_ENV}
    done = subprocess.run([cli, "dockerfile", "-c", str(CONFIG), str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    dockerfile = out.read_text(encoding="utf-8")
    served = json.loads(next(line for line in dockerfile.splitlines()
                             if line.startswith("ENV LANGSERVE_GRAPHS="))[len("ENV LANGSERVE_GRAPHS="):].strip("'"))
    assert set(served) == {"run", "run_plan"}
    root_in_image = f"/deps/{ROOT.name}/"
    for graph_id, file in (("run", "graphs/run.py"), ("run_plan", "graphs/run_plan.py")):
        assert served[graph_id] == f"{root_in_image}{file}:graph"
    assert f"ADD . {root_in_image.rstrip('/')}" in dockerfile  # the project, installed from pyproject.toml
    # the factories import `graphs.*`, which the zyx distribution does not ship: the image installs it too
    assert 'name = "graphs"' in dockerfile


def test_the_server_brings_the_persistence() -> None:
    """LangGraph's server adds its own checkpointer and store; a graph that brings one is refused by `dev`."""
    for module in (run_module, run_plan_module):
        graph = module.graph({"configurable": {"__is_for_execution__": False}})
        assert graph.checkpointer is None and graph.store is None


def test_langgraph_dev_serves_and_runs_both_graphs(studio_url: str, model_server: OpenAIServer) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=studio_url)
    assistants = {a["graph_id"]: a for a in client.assistants.search()}
    assert {"run", "run_plan"} <= set(assistants)

    for graph_id in ("run", "run_plan"):
        drawing = client.assistants.get_graph(assistants[graph_id]["assistant_id"])
        assert {"planner", "tool_executor", "completion", "verifier"} <= {n["id"] for n in drawing["nodes"]}
    schemas = client.assistants.get_schemas(assistants["run"]["assistant_id"])
    assert {"model", "target_schema", "max_steps", "tools"} <= set(schemas["context_schema"]["properties"])

    # a run in normal mode, settings in the run's context (Studio's form), streamed
    thread = client.threads.create()
    updates = [chunk.data for chunk in client.runs.stream(
        thread["thread_id"], "run", input={"messages": [{"role": "user", "content": "What is 6 * 7?"}]},
        context={"target_schema": ANSWER_SCHEMA, "max_steps": 5, "tools": ["calculator", "current_utc_time"]},
        stream_mode="updates") if chunk.event == "updates"]
    nodes = [node for update in updates for node in update]
    # the server has a checkpointer: each tool call is journaled in its pending writes (docs/durability.md),
    # not a step of its own
    assert nodes == ["planner", "tool_executor", "planner", "completion"]
    state = client.threads.get_state(thread["thread_id"])["values"]
    assert state["completion"]["result"] == {"answer": 42.0}
    assert state["termination"] == "completed" and state["completion"]["status"] == "success"
    assert [c["name"] for c in state["tool_calls"]] == ["calculator"] and state["tool_calls"][0]["output"] == 42

    # what the model was sent: the real ChatOpenAI request, with the configured tools and target
    first = model_server.requests[0]
    assert first["model"] == "gpt-4o-mini"
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator", "current_utc_time", "complete_task"]
    completion_args = first["tools"][-1]["function"]["parameters"]
    assert "answer" in json.dumps(completion_args["properties"]["result"])

    # plan mode, settings in the assistant-style configurable, waited for
    plan_thread = client.threads.create()
    final = client.runs.wait(plan_thread["thread_id"], "run_plan",
                             input={"messages": [{"role": "user", "content": "What is 6 * 7?"}]},
                             config={"configurable": {"target_schema": ANSWER_SCHEMA, "planning_interval": 3}})
    assert final["completion"]["result"] == {"answer": 42}
    assert final["plan"]["status"] == "executed" and len(model_server.requests) == 3  # the plan ran calculator and completed in one model call


def test_the_drawing_in_docs_is_the_real_graph() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import draw_graph

    assert draw_graph.main(["--check"]) == 0, "docs/studio.md is stale: run python scripts/draw_graph.py"
    assert "planner -.-> tool_executor" in draw_graph.mermaid()
