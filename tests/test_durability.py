"""Durable runs: `checkpointer` + `thread_id` persist every step; a run resumes, a finished thread continues."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_valid_history
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

import zyx
from zyx.graph import build_run_graph
from zyx.graph._cache import cached_run_graph
from zyx.testing import ScriptedChatModel, call, complete

ROOT = Path(__file__).resolve().parent.parent


class Crash(PermissionError):
    """Stops a run mid-way, resumable: the model fails (a `ModelError`, not retried). A tool's exception
    cannot do it: whatever a tool raises is the model's feedback. Real deaths (SIGKILL) are below."""


class Steps:
    """Two tools run one per turn, every execution logged; the model can crash once after both ran."""

    def __init__(self, crash: bool = True) -> None:
        self.log: list[str] = []
        self.crash = crash

    def policy(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        """`two_steps_policy`, crashing (the first time) on the turn after step_two."""
        decision = two_steps_policy(messages, tools)
        if self.crash and isinstance(messages[-1], ToolMessage) and messages[-1].name == "step_two":
            self.crash = False
            raise Crash()
        return decision

    def tools(self) -> list[Any]:
        def step_one() -> str:
            """First step."""
            self.log.append("one")
            return "1"

        def step_two() -> str:
            """Second step."""
            self.log.append("two")
            return "2"

        return [step_one, step_two]


def two_steps_policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """step_one, then step_two, then complete with how many tool results this run's task saw."""
    since_task = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage) and message.name != "zyx":
            break
        since_task += isinstance(message, ToolMessage)
    if since_task == 0:
        return call("step_one")
    if since_task == 1:
        return call("step_two")
    return complete(summary="both steps done", result=3)


def _run(steps: Steps, model: ScriptedChatModel, task: str | None, saver: Any, thread_id: str = "t1") -> zyx.RunResult:
    return zyx.run(task, int, model=model, tools=steps.tools(), checkpointer=saver, thread_id=thread_id)


def test_an_interrupted_run_resumes_without_repeating_finished_tool_calls() -> None:
    saver, steps = InMemorySaver(), Steps()
    model = ScriptedChatModel(policy=steps.policy)
    tools = steps.tools()
    with pytest.raises(zyx.ModelError, match="Crash"):
        zyx.run("Do both steps.", int, model=model, tools=tools, checkpointer=saver, thread_id="t1")
    assert steps.log == ["one", "two"]
    calls_before = len(model.calls)

    result = zyx.run(None, int, model=model, tools=tools, checkpointer=saver, thread_id="t1")

    assert result.output == 3
    assert steps.log == ["one", "two"]  # no finished tool call repeated
    assert len(model.calls) - calls_before == 1  # only the interrupted turn after step_two
    assert [c.name for c in result.tool_calls] == ["step_one", "step_two"]
    assert result.task is not None and result.task.goal == "Do both steps."
    assert_valid_history(result.messages)


async def test_resume_with_the_same_task_async() -> None:
    saver, steps = InMemorySaver(), Steps()
    model = ScriptedChatModel(policy=steps.policy)
    tools = steps.tools()
    with pytest.raises(zyx.ModelError, match="Crash"):
        await zyx.arun("Do both steps.", int, model=model, tools=tools, checkpointer=saver, thread_id="a")
    result = await zyx.arun("Do both steps.", int, model=model, tools=tools, checkpointer=saver, thread_id="a")
    assert result.output == 3
    assert steps.log == ["one", "two"]


def test_a_finished_thread_given_a_new_task_starts_a_new_run_with_the_conversation_as_context() -> None:
    saver, steps = InMemorySaver(), Steps(crash=False)
    model = ScriptedChatModel(policy=two_steps_policy)
    tools = steps.tools()
    first = zyx.run("First task.", int, model=model, tools=tools, checkpointer=saver, thread_id="t")
    second = zyx.run("Second task.", int, model=model, tools=tools, checkpointer=saver, thread_id="t")

    assert first.output == second.output == 3
    assert steps.log == ["one", "two", "one", "two"]
    # per-run fields start afresh...
    assert [c.name for c in second.tool_calls] == ["step_one", "step_two"]
    assert second.task is not None and second.task.goal == "Second task."
    # ...and the model sees the earlier run as context
    seen = [m.content for m in model.calls[3].messages if isinstance(m, HumanMessage)]
    assert seen == ["First task.", "Second task."]
    assert len(second.messages) == len(first.messages) + 1 + len(first.messages) - 1
    assert_valid_history(second.messages)
    # another thread on the same saver is independent
    other = zyx.run("Elsewhere.", int, model=model, tools=tools, checkpointer=saver, thread_id="other")
    assert [m.content for m in other.messages if isinstance(m, HumanMessage)] == ["Elsewhere."]


def test_a_run_stopped_by_a_model_error_resumes_with_another_model() -> None:
    saver, charges = InMemorySaver(), []

    def charge_card(amount: float) -> str:
        """Charge the card."""
        charges.append(amount)
        return "charged"

    broken = ScriptedChatModel(responses=[call("charge_card", amount=25.0), PermissionError("API key revoked")])
    with pytest.raises(zyx.ModelError, match="API key revoked"):
        zyx.run("Charge 25.", model=broken, tools=[charge_card], checkpointer=saver, thread_id="o")
    fixed = ScriptedChatModel(responses=[complete("Charged once.")])
    result = zyx.run(None, model=fixed, tools=[charge_card], checkpointer=saver, thread_id="o")
    assert result.completion is not None and result.completion.summary == "Charged once."
    assert charges == [25.0]
    assert result.tool_calls[0].output == "charged"  # the JSON form kept in the checkpoint


def test_thread_and_task_mismatches_are_configuration_errors() -> None:
    saver, steps = InMemorySaver(), Steps()
    model = ScriptedChatModel(policy=steps.policy)
    tools = steps.tools()
    with pytest.raises(zyx.ConfigurationError, match="no unfinished run"):
        zyx.run(None, int, model=model, tools=tools, checkpointer=saver, thread_id="t")
    with pytest.raises(zyx.ModelError, match="Crash"):
        zyx.run("Do both steps.", int, model=model, tools=tools, checkpointer=saver, thread_id="t")
    with pytest.raises(zyx.ConfigurationError, match="unfinished run"):
        zyx.run("Something else.", int, model=model, tools=tools, checkpointer=saver, thread_id="t")
    assert zyx.run(None, int, model=model, tools=tools, checkpointer=saver, thread_id="t").output == 3


def test_checkpointer_and_thread_id_go_together() -> None:
    model = ScriptedChatModel(responses=[complete()])
    with pytest.raises(zyx.ConfigurationError, match="thread_id"):
        zyx.run("x", model=model, thread_id="t")
    with pytest.raises(zyx.ConfigurationError, match="checkpointer"):
        zyx.run("x", model=model, checkpointer=InMemorySaver())
    with pytest.raises(zyx.ConfigurationError, match="checkpointer"):
        zyx.run("x", model=model, checkpointer=object(), thread_id="t")  # type: ignore[arg-type]
    with pytest.raises(zyx.ConfigurationError, match="thread_id"):
        zyx.run("x", model=model, checkpointer=InMemorySaver(), thread_id="")
    with pytest.raises(zyx.ConfigurationError, match="differs"):
        zyx.run("x", model=model, checkpointer=InMemorySaver(), thread_id="a",
                config={"configurable": {"thread_id": "b"}})
    assert model.calls == []


def test_thread_id_may_come_from_config() -> None:
    saver = InMemorySaver()
    model = ScriptedChatModel(policy=lambda messages, tools: complete(summary="ok"))
    zyx.run("x", model=model, checkpointer=saver, config={"configurable": {"thread_id": "cfg"}})
    assert saver.get_tuple({"configurable": {"thread_id": "cfg"}}) is not None


def test_every_step_is_checkpointed() -> None:
    saver = InMemorySaver()
    model = ScriptedChatModel(policy=two_steps_policy)
    zyx.run("Do both steps.", int, model=model, tools=Steps(crash=False).tools(), checkpointer=saver, thread_id="t")
    checkpoints = list(saver.list({"configurable": {"thread_id": "t"}}))
    # the input (step -1), then one after each of planner, tool_executor, planner, tool_executor,
    # planner, completion (steps 0-5: each holds the writes of the node that ran next), and the end (6)
    assert sorted(c.metadata["step"] for c in checkpoints) == list(range(-1, 7))


def test_the_graph_cache_keys_on_the_checkpointer_by_identity() -> None:
    model = ScriptedChatModel(responses=[])
    a, b = InMemorySaver(), InMemorySaver()
    _, plain = cached_run_graph({"model": model})
    _, with_a = cached_run_graph({"model": model}, checkpointer=a)
    _, with_a_again = cached_run_graph({"model": model}, checkpointer=a)
    _, with_b = cached_run_graph({"model": model}, checkpointer=b)
    assert with_a is with_a_again
    assert len({id(plain), id(with_a), id(with_b)}) == 3
    assert with_a.checkpointer is a and with_b.checkpointer is b and plain.checkpointer is None


def test_build_run_graph_takes_a_checkpointer() -> None:
    saver = InMemorySaver()
    graph = build_run_graph(model=ScriptedChatModel(policy=lambda m, t: complete(summary="ok")), checkpointer=saver)
    config = {"configurable": {"thread_id": "g"}}
    graph.invoke({"messages": [HumanMessage("hi")]}, config)
    assert graph.get_state(config).values["completion"]["summary"] == "ok"


async def test_async_sqlite_saver_survives_a_new_saver_on_the_same_file(tmp_path: Path) -> None:
    pytest.importorskip("langgraph.checkpoint.sqlite", reason='needs the studio extra: pip install -e ".[studio]"')
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    db = str(tmp_path / "runs.sqlite")
    steps = Steps()
    model = ScriptedChatModel(policy=steps.policy)
    tools = steps.tools()
    async with AsyncSqliteSaver.from_conn_string(db) as saver:
        with pytest.raises(zyx.ModelError, match="Crash"):
            await zyx.arun("Do both steps.", int, model=model, tools=tools, checkpointer=saver, thread_id="s")
    async with AsyncSqliteSaver.from_conn_string(db) as reopened:  # as a restarted process would
        result = await zyx.arun(None, int, model=model, tools=tools, checkpointer=reopened, thread_id="s")
    assert result.output == 3
    assert steps.log == ["one", "two"]


WORKER = textwrap.dedent('''
    """Runs (or resumes) a two-step task on an SQLite thread; step_two kills the process the first time."""
    import json, os, sys
    from langchain_core.messages import HumanMessage, ToolMessage
    from langgraph.checkpoint.sqlite import SqliteSaver
    import zyx
    from zyx.testing import ScriptedChatModel, call, complete

    db, marker, mode = sys.argv[1:4]
    options = {"idempotent": ["step_two"]} if sys.argv[4:] == ["idempotent"] else {}

    def mark(name):
        with open(marker, "a") as f:
            f.write(name + "\\n")
            f.flush()
            os.fsync(f.fileno())

    def executed():
        return open(marker).read().split() if os.path.exists(marker) else []

    def step_one() -> str:
        """First step."""
        mark("one")
        return "1"

    def step_two() -> str:
        """Second step."""
        first_time = "two" not in executed()
        mark("two")
        if mode == "crash" and first_time:
            os._exit(17)  # the process dies between two tool calls' checkpoints: no cleanup, no exception
        return "2"

    def policy(messages, tools):
        done = sum(isinstance(m, ToolMessage) for m in messages)
        return [call("step_one"), call("step_two")][done] if done < 2 else complete(summary="done", result=3)

    model = ScriptedChatModel(policy=policy)
    with SqliteSaver.from_conn_string(db) as saver:
        task = "Do both steps." if mode == "crash" else None
        result = zyx.run(task, int, model=model, tools=[step_one, step_two], checkpointer=saver, thread_id="job-1",
                         **options)
    print(json.dumps({"output": result.output, "tools": [c.name for c in result.tool_calls],
                      "model_calls": len(model.calls), "executed": executed(),
                      "may_have_run": [c.may_have_run for c in result.tool_calls],
                      "told": [m.content for m in result.messages if isinstance(m, ToolMessage)][1]}))
''')


def _worker(script: Path, db: Path, marker: Path, mode: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ZYX_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, str(script), str(db), str(marker), mode, *extra], capture_output=True,
                          text=True, timeout=60, env=env, cwd=ROOT)


def test_a_second_process_resumes_a_killed_run_from_sqlite(tmp_path: Path) -> None:
    pytest.importorskip("langgraph.checkpoint.sqlite", reason='needs the studio extra: pip install -e ".[studio]"')
    script, db, marker = tmp_path / "worker.py", tmp_path / "runs.sqlite", tmp_path / "executed.txt"
    script.write_text(WORKER)

    killed = _worker(script, db, marker, "crash")
    assert killed.returncode == 17, killed.stderr
    assert marker.read_text().split() == ["one", "two"]

    resumed = _worker(script, db, marker, "resume")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert report["output"] == 3
    assert report["executed"] == ["one", "two"]  # each ran once: step_two had started, so it is not re-run...
    assert report["tools"] == ["step_one", "step_two"]
    assert report["may_have_run"] == [False, True]
    assert "may or may not have taken effect" in report["told"]  # ...and the model is told so
    assert report["model_calls"] == 1  # the second process only asked for the completion


def test_an_idempotent_tool_killed_mid_call_simply_runs_again(tmp_path: Path) -> None:
    pytest.importorskip("langgraph.checkpoint.sqlite", reason='needs the studio extra: pip install -e ".[studio]"')
    script, db, marker = tmp_path / "worker.py", tmp_path / "runs.sqlite", tmp_path / "executed.txt"
    script.write_text(WORKER)
    assert _worker(script, db, marker, "crash", "idempotent").returncode == 17

    report = _report(_worker(script, db, marker, "resume", "idempotent"))

    assert report["executed"] == ["one", "two", "two"]  # declared idempotent: re-run, not reported
    assert report["may_have_run"] == [False, False] and report["told"] == "2"


@contextlib.contextmanager
def _postgres_saver(url: str) -> Iterator[Any]:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        yield saver


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("ZYX_TEST_POSTGRES_URL"), reason="set ZYX_TEST_POSTGRES_URL to run")
def test_postgres_resume_and_continue() -> None:
    import uuid

    url = os.environ["ZYX_TEST_POSTGRES_URL"]
    thread = f"zyx-test-{uuid.uuid4()}"
    steps = Steps()
    model = ScriptedChatModel(policy=steps.policy)  # crashes once, on the turn after step_two
    tools = steps.tools()
    with _postgres_saver(url) as saver, pytest.raises(zyx.ModelError, match="Crash"):
        zyx.run("Do both steps.", int, model=model, tools=tools, checkpointer=saver, thread_id=thread)
    with _postgres_saver(url) as saver:  # a new connection, as another machine would have
        resumed = zyx.run(None, int, model=model, tools=tools, checkpointer=saver, thread_id=thread)
        again = zyx.run("Second task.", int, model=model, tools=tools, checkpointer=saver, thread_id=thread)
        saver.delete_thread(thread)
    assert resumed.output == again.output == 3
    assert steps.log == ["one", "two", "one", "two"]  # the resumed run repeats no finished call


KILLED_TURN_WORKER = textwrap.dedent('''
    """One turn of parallel calls on an SQLite thread; `kill_once` SIGKILLs the process (the first time) once
    the results of the other calls are saved. Scenario "parallel": two charges; "approved": one charge that
    needs approval. Modes: start (a new run), decide (approve the pending charge), resume (task=None)."""
    import json, os, signal, sqlite3, sys, time
    from langchain_core.messages import ToolMessage
    from langgraph.checkpoint.sqlite import SqliteSaver
    import zyx
    from zyx.testing import ScriptedChatModel, call, calls, complete

    db, marker, mode, scenario = sys.argv[1:5]
    charges = [1, 2] if scenario == "parallel" else [25]
    dies = scenario == "charge_dies"  # the approved charge itself is killed mid-call

    def mark(name):
        with open(marker, "a") as f:
            f.write(name + "\\n")
            f.flush()
            os.fsync(f.fileno())

    def executed():
        return open(marker).read().split() if os.path.exists(marker) else []

    def saved_results():
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from writes where channel = 'zyx:tool_call' "
                                "and task_id like '%:finished'").fetchone()[0]

    def charge(amount: int) -> str:
        """Charge the card."""
        first_time = f"charge{amount}" not in executed()
        mark(f"charge{amount}")
        if dies and first_time:
            os.kill(os.getpid(), signal.SIGKILL)
        return "charged"

    def kill_once() -> str:
        """Dies the first time, once the charges' results are saved (or after 20 s if they never are)."""
        if "killed" not in executed():
            deadline = time.time() + 20
            while saved_results() < len(charges) and time.time() < deadline:
                time.sleep(0.05)
            mark("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        mark("kill_once")
        return "ok"

    def policy(messages, tools):
        if not any(isinstance(m, ToolMessage) for m in messages):
            if dies:
                return call("charge", amount=25)
            return calls(*(call("charge", amount=a) for a in charges), call("kill_once"))
        return complete(summary="done")

    options = {"approve": ["charge"], "idempotent": ["kill_once"]} if scenario == "approved" else {}
    if dies:
        options = {"approve": True}
    decisions = {"decide": {"call_1": "approve"}, "refuse": {"call_1": {"reject": "already paid"}}}.get(mode)
    with SqliteSaver.from_conn_string(db) as saver:
        result = zyx.run("Pay." if mode == "start" else None, model=ScriptedChatModel(policy=policy),
                         tools=[charge, kill_once], checkpointer=saver, thread_id="job", decisions=decisions,
                         **options)
    print(json.dumps({"interrupted": result.interrupted, "tools": [c.name for c in result.tool_calls],
                      "outputs": [c.output for c in result.tool_calls], "executed": executed(),
                      "errors": [c.error for c in result.tool_calls],
                      "may_have_run": [c.may_have_run for c in result.tool_calls],
                      "pending": [[p.id, p.name, p.may_have_run] for p in result.pending]}))
''')


def _turn_worker(tmp_path: Path, mode: str, scenario: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "turn_worker.py"
    script.write_text(KILLED_TURN_WORKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ZYX_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, str(script), str(tmp_path / "runs.sqlite"), str(tmp_path / "executed"),
                           mode, scenario], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_finished_parallel_calls_do_not_run_again_after_a_sigkill(tmp_path: Path) -> None:
    pytest.importorskip("langgraph.checkpoint.sqlite", reason='needs the studio extra: pip install -e ".[studio]"')
    killed = _turn_worker(tmp_path, "start", "parallel")
    assert killed.returncode == -9, killed.stderr  # SIGKILL: no cleanup, no exception

    report = _report(_turn_worker(tmp_path, "resume", "parallel"))

    # each call ran once (the two charges run concurrently, so in either order)
    assert sorted(report["executed"][:2]) == ["charge1", "charge2"] and report["executed"][2:] == ["killed"]
    assert report["tools"] == ["charge", "charge", "kill_once"]
    assert report["outputs"] == ["charged", "charged", None]  # the finished charges' saved results
    assert report["may_have_run"] == [False, False, True]  # the call killed mid-way is reported, not re-run
    assert "may or may not have taken effect" in report["errors"][2]


def test_approval_decisions_are_kept_after_a_sigkill(tmp_path: Path) -> None:
    pytest.importorskip("langgraph.checkpoint.sqlite", reason='needs the studio extra: pip install -e ".[studio]"')
    paused = _report(_turn_worker(tmp_path, "start", "approved"))
    assert paused["interrupted"] and paused["executed"] == []
    killed = _turn_worker(tmp_path, "decide", "approved")
    assert killed.returncode == -9, killed.stderr

    report = _report(_turn_worker(tmp_path, "resume", "approved"))  # no decisions given again

    assert report["executed"] == ["charge25", "killed", "kill_once"]  # the approved charge ran once
    assert not report["interrupted"] and report["tools"] == ["charge", "kill_once"]  # kill_once: idempotent


def test_an_approved_call_killed_mid_way_goes_back_to_the_human_flagged(tmp_path: Path) -> None:
    pytest.importorskip("langgraph.checkpoint.sqlite", reason='needs the studio extra: pip install -e ".[studio]"')
    assert _report(_turn_worker(tmp_path, "start", "charge_dies"))["interrupted"]
    assert _turn_worker(tmp_path, "decide", "charge_dies").returncode == -9  # killed inside the approved charge

    asked = _report(_turn_worker(tmp_path, "resume", "charge_dies"))

    assert asked["interrupted"] and asked["pending"] == [["call_1", "charge", True]]  # may have run: a human decides
    assert asked["executed"] == ["charge25"]
    report = _report(_turn_worker(tmp_path, "refuse", "charge_dies"))
    assert not report["interrupted"] and report["executed"] == ["charge25"]  # never run twice
    assert report["may_have_run"] == [True] and "already paid" in report["errors"][0]


async def test_decisions_once_given_are_kept_and_cannot_be_changed() -> None:
    import asyncio

    saver, runs, started, gate = InMemorySaver(), [], asyncio.Event(), asyncio.Event()

    async def charge(amount: int) -> str:
        """Charge the card."""
        runs.append(amount)
        started.set()
        await gate.wait()
        return "charged"

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        done = any(isinstance(m, ToolMessage) and m.name == "charge" for m in messages)
        return complete(summary="paid") if done else call("charge", amount=25)

    options: dict[str, Any] = {"tools": [charge], "model": ScriptedChatModel(policy=policy), "approve": True,
                               "checkpointer": saver, "thread_id": "t"}
    paused = await zyx.arun("Pay.", **options)
    assert paused.interrupted
    acting = asyncio.create_task(zyx.arun(None, decisions={"call_1": "approve"}, **options))
    await started.wait()
    acting.cancel()  # stopped while acting on the decision: the thread keeps it
    with pytest.raises(asyncio.CancelledError):
        await acting
    with pytest.raises(zyx.ConfigurationError, match="already given decisions"):
        await zyx.arun(None, decisions={"call_1": {"reject": "changed my mind"}}, **options)
    gate.set()
    asked = await zyx.arun(None, **options)  # no decisions needed again for the first question...
    # ...but the cancelled charge had started: it may have taken effect, so a human decides about running it again
    assert asked.interrupted and [(p.id, p.may_have_run) for p in asked.pending] == [("call_1", True)]
    assert runs == [25]
    result = await zyx.arun(None, decisions={"call_1": "approve"}, **options)
    assert result.completion is not None and result.completion.summary == "paid" and not result.interrupted
    assert runs == [25, 25]  # run again because a human approved it, knowing it may have run


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("ZYX_TEST_POSTGRES_URL"), reason="set ZYX_TEST_POSTGRES_URL to run")
async def test_postgres_a_call_in_flight_is_not_run_again_by_another_connection() -> None:
    import asyncio
    import uuid

    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    url, thread = os.environ["ZYX_TEST_POSTGRES_URL"], f"zyx-test-{uuid.uuid4()}"
    charges, started, gate = [], asyncio.Event(), asyncio.Event()

    async def charge(amount: int) -> str:
        """Charge the card."""
        charges.append(amount)
        started.set()
        await gate.wait()
        return "charged"

    def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        return complete(summary="done") if any(isinstance(m, ToolMessage) for m in messages) else call("charge", amount=9)

    options: dict[str, Any] = {"tools": [charge], "model": ScriptedChatModel(policy=policy), "thread_id": thread}
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
        acting = asyncio.create_task(zyx.arun("Pay.", checkpointer=saver, **options))
        await started.wait()
        acting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await acting
    gate.set()
    async with AsyncPostgresSaver.from_conn_string(url) as saver:  # a new connection, as another worker would
        result = await zyx.arun(None, checkpointer=saver, **options)
        await saver.adelete_thread(thread)
    assert charges == [9] and result.tool_calls[0].may_have_run
