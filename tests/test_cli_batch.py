"""`zyx batch TASKS.jsonl --out RESULTS.jsonl`, driven as a user would: `python -m zyx batch ...` in a subprocess,
its model the scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer, Reply, reply
from test_studio import model_server, studio_url  # noqa: F401 (fixtures: `langgraph dev` with a scripted model)

TESTS = Path(__file__).parent
ROOT = TESTS.parent
MODEL = ["--model", "openai:gpt-4o-mini"]

TOOLS = textwrap.dedent('''
    """Batch test tools: every charge is logged (a side effect to count); one can kill the batch mid-call."""
    import os, signal

    LEDGER = os.environ["LEDGER"]

    def charge(order: int) -> str:
        """Charge an order."""
        with open(LEDGER, "a") as f:
            f.write(f"{order}\\n")
        if str(order) == os.environ.get("KILL_AT") and not os.path.exists(LEDGER + ".killed"):
            open(LEDGER + ".killed", "w").close()
            os.kill(os.getpid(), signal.SIGKILL)  # the batch process dies inside this call
        return f"charged {order}"
''')


def _script(request: dict[str, Any]) -> Reply:
    """Charge the order named in the task, then complete with its number."""
    messages = request["messages"]
    task = next(m["content"] for m in messages if m["role"] == "user")
    order = int(task.split()[-1])
    if "broken" in task:
        return reply(content="I will not do that.")
    if not any(m["role"] == "tool" for m in messages):
        return reply(tool_calls=[("charge", {"order": order})])
    return reply(tool_calls=[("complete_task", {"summary": f"order {order}", "status": "success", "result": order})])


@pytest.fixture
def srv() -> Any:
    with OpenAIServer(_script) as server:
        yield server


def zyx_batch(tmp: Path, *args: str, srv: OpenAIServer | None, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ZYX_", "LANGSMITH_", "LANGCHAIN_"))}
    environ.update(PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT)]), NO_COLOR="1", LEDGER=str(tmp / "ledger"))
    if srv is not None:
        environ.update(OPENAI_BASE_URL=srv.base_url, OPENAI_API_KEY="test")
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "zyx", "batch", *args], env=environ, capture_output=True, text=True,
                          timeout=timeout, cwd=tmp)


def _setup(tmp: Path, lines: list[Any]) -> Path:
    (tmp / "batch_tools.py").write_text(TOOLS)
    tasks = tmp / "tasks.jsonl"
    raw = [line if isinstance(line, str) and (line == "" or line.startswith("{")) else json.dumps(line)
           for line in lines]  # a blank line, a malformed one as given, else a JSON line
    tasks.write_text("".join(line + "\n" for line in raw))
    return tasks


def _results(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()]


def _ledger(tmp: Path) -> list[int]:
    path = tmp / "ledger"
    return [int(x) for x in path.read_text().split()] if path.exists() else []


ARGS = ["tasks.jsonl", "--out", "results.jsonl", "--tool", "batch_tools:charge", "--target", "int", *MODEL]


def test_each_task_ends_once_in_the_results_with_its_id(tmp_path: Path, srv: OpenAIServer) -> None:
    _setup(tmp_path, [{"id": "a", "task": "Charge order 1"}, "Charge order 2", "",
                      {"id": 7, "task": "Charge order 3", "source": "the customer file"}, "Charge broken order 4"])
    done = zyx_batch(tmp_path, *ARGS, "--concurrency", "2", srv=srv)

    assert done.returncode == 1, done.stderr  # one task did not succeed
    results = {r["id"]: r for r in _results(tmp_path / "results.jsonl")}
    assert set(results) == {"a", "2", "7", "5"}  # the id, else the line number
    assert [results[i]["output"] for i in ("a", "2", "7")] == [1, 2, 3]
    assert {results[i]["status"] for i in ("a", "2", "7")} == {"success"}
    assert results["5"]["status"] == "error" and results["5"]["error"]["type"] == "TaskNotCompletedError"
    assert all({"termination", "usage", "error", "summary"} <= set(r) for r in results.values())
    assert sorted(_ledger(tmp_path)) == [1, 2, 3]
    assert "[4/4]" in done.stderr  # not a terminal: one plain progress line per ended task
    assert (tmp_path / "results.jsonl.checkpoints.sqlite").exists()  # durable by default

    again = zyx_batch(tmp_path, *ARGS, srv=srv)  # the same --out: every task is already there
    assert again.returncode == 0 and "4 task(s) already in" in again.stderr
    assert len(_results(tmp_path / "results.jsonl")) == 4 and sorted(_ledger(tmp_path)) == [1, 2, 3]


def test_a_batch_killed_mid_tool_call_resumes_without_running_any_call_twice(tmp_path: Path, srv: OpenAIServer) -> None:
    _setup(tmp_path, [f"Charge order {i}" for i in range(1, 9)])
    killed = zyx_batch(tmp_path, *ARGS, "--concurrency", "3", srv=srv, env={"KILL_AT": "5"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ended_before = {r["id"] for r in _results(tmp_path / "results.jsonl")}
    assert "5" not in ended_before

    resumed = zyx_batch(tmp_path, *ARGS, "--concurrency", "3", srv=srv)

    results = _results(tmp_path / "results.jsonl")
    assert sorted(r["id"] for r in results) == [str(i) for i in range(1, 9)]  # each task ends exactly once
    ledger = _ledger(tmp_path)
    assert len(ledger) == len(set(ledger))  # no charge ran twice
    flagged = {int(r["id"]) for r in results if r["tool_calls"][0].get("may_have_run")}
    assert 5 in flagged  # the call killed mid-way: the model was told, the tool not re-run
    # a call in flight may have been killed after it was recorded as started but before its body ran: it is
    # reported the same way ("may or may not"); every other charge ran exactly once
    assert set(ledger) | flagged == set(range(1, 9)) and set(ledger) - flagged == set(range(1, 9)) - flagged
    for r in results:
        if int(r["id"]) in flagged:
            assert "may or may not have taken effect" in r["tool_calls"][0]["error"]
    assert resumed.returncode == 0, resumed.stderr


def test_idempotent_tools_run_again_after_a_kill(tmp_path: Path, srv: OpenAIServer) -> None:
    _setup(tmp_path, [f"Charge order {i}" for i in range(1, 4)])
    args = [*ARGS, "--idempotent", "charge", "--concurrency", "1"]
    assert zyx_batch(tmp_path, *args, srv=srv, env={"KILL_AT": "2"}).returncode == -signal.SIGKILL
    assert zyx_batch(tmp_path, *args, srv=srv).returncode == 0
    assert sorted(_ledger(tmp_path)) == [1, 2, 2, 3]  # declared idempotent: simply re-run
    assert [r["output"] for r in _results(tmp_path / "results.jsonl")] == [1, 2, 3]


def test_a_malformed_line_stops_the_batch_before_anything_runs(tmp_path: Path, srv: OpenAIServer) -> None:
    _setup(tmp_path, ["Charge order 1", "{not json", {"id": "y", "context": "no task"},
                      {"id": "x", "task": "Charge order 4"}, {"id": "x", "task": "Charge order 5"}])
    stopped = zyx_batch(tmp_path, *ARGS, srv=srv)
    assert stopped.returncode == 2
    for number in ("tasks.jsonl:2:", "tasks.jsonl:3:", "tasks.jsonl:5: duplicate id"):
        assert number in stopped.stderr
    assert "nothing was run" in stopped.stderr and "--skip-bad-lines" in stopped.stderr
    assert not (tmp_path / "results.jsonl").exists() and srv.requests == []

    skipped = zyx_batch(tmp_path, *ARGS, "--skip-bad-lines", srv=srv)
    assert skipped.returncode == 1  # the batch ran, but not every line
    assert sorted(r["id"] for r in _results(tmp_path / "results.jsonl")) == ["1", "x"]
    assert "tasks.jsonl:2:" in skipped.stderr


def test_an_unreachable_server_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    _setup(tmp_path, ["Charge order 1"])
    started = time.perf_counter()
    done = zyx_batch(tmp_path, "tasks.jsonl", "--out", "results.jsonl", "--server", "http://127.0.0.1:9", srv=None,
                     timeout=60)
    assert done.returncode == 2
    assert "cannot reach an Agent Server at http://127.0.0.1:9" in done.stderr
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "results.jsonl").exists() or _results(tmp_path / "results.jsonl") == []


def test_a_missing_tasks_file_is_a_usage_error(tmp_path: Path) -> None:
    done = zyx_batch(tmp_path, "nope.jsonl", "--out", "r.jsonl", srv=None)
    assert done.returncode == 2 and "no such file" in done.stderr


def test_batch_on_an_agent_server_langgraph_dev(tmp_path: Path, studio_url: str,  # noqa: F811 (fixtures)
                                                model_server: OpenAIServer) -> None:  # noqa: F811
    """--server: the same command submits the tasks to `langgraph dev` (tests/test_studio.py starts it) through
    langgraph-sdk; same results file; run again without it, each task's ended thread gives its result."""
    (tmp_path / "answer_types.py").write_text("from pydantic import BaseModel\n\n\nclass Answer(BaseModel):\n"
                                              "    answer: float\n")
    _setup(tmp_path, [{"id": "q1", "task": "What is 6 * 7?"}, "What is 7 * 6?", {"id": "q3", "task": "Six sevens?"}])
    args = ["tasks.jsonl", "--out", "results.jsonl", "--server", studio_url, "--graph", "run", "--tool", "calculator",
            "--target", "answer_types:Answer", "--max-steps", "5"]

    done = zyx_batch(tmp_path, *args, srv=None)

    assert done.returncode == 0, done.stderr
    results = {r["id"]: r for r in _results(tmp_path / "results.jsonl")}
    assert set(results) == {"q1", "2", "q3"}
    assert all(r["status"] == "success" and r["output"] == {"answer": 42.0} for r in results.values())
    assert all(r["termination"] == "completed" and r["tool_calls"][0]["name"] == "calculator" for r in results.values())
    model_calls = len(model_server.requests)
    assert model_calls == 6

    (tmp_path / "results.jsonl").unlink()  # lost: the server's threads still hold every ended run
    again = zyx_batch(tmp_path, *args, srv=None)
    assert again.returncode == 0, again.stderr
    assert sorted(r["id"] for r in _results(tmp_path / "results.jsonl")) == ["2", "q1", "q3"]
    assert len(model_server.requests) == model_calls  # no task ran again


def test_on_a_terminal_progress_is_a_bar_with_done_failed_running_rate_and_eta(tmp_path: Path, srv: OpenAIServer) -> None:
    _setup(tmp_path, ["Charge order 1", "Charge broken order 2", "Charge order 3"])
    done = zyx_batch(tmp_path, *ARGS, "--no-durable", srv=srv, env={"TTY_COMPATIBLE": "1", "COLUMNS": "160"})
    assert done.returncode == 1, done.stderr
    assert "3/3" in done.stderr and "1 failed" in done.stderr and "0 running" in done.stderr
    assert "/s" in done.stderr and "ETA" in done.stderr
    assert "[3/3]" not in done.stderr  # no plain lines on a terminal
    assert not (tmp_path / "results.jsonl.checkpoints.sqlite").exists()  # --no-durable
