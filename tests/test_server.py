"""zyx's graphs served on Aegra (the open-source LangGraph Agent Server), two instances, driven by langgraph-sdk.

What docs/deploy.md describes, on 127.0.0.1: two `aegra serve --config langgraph.json` instances
with the settings of `deploy/aegra.env`, sharing a fresh PostgreSQL database and a Redis key
prefix (`scripts/aegra_cluster.py`), serving the unchanged `langgraph.json`. The model is the
scripted OpenAI-compatible server of the other server tests (`ZYX_MODEL=openai:...` with
`OPENAI_BASE_URL`), so runs go through the real langchain-openai client.

Needs the Python >= 3.12 venv of `scripts/aegra-env`, a PostgreSQL (`ZYX_TEST_POSTGRES_URL`) and a
Redis (`ZYX_TEST_REDIS_URL`, else a private `redis-server` this module starts); `.ci/run` sets all
three up. Without them the tests are skipped, each saying what is missing. Everything started here
is stopped when the module ends, pass or fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer, Reply, reply

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from aegra_cluster import AegraCluster, Instance, RedisServer, aegra_venv  # noqa: E402

pytestmark = [pytest.mark.server, pytest.mark.timeout(600)]

ANSWER = {"type": "object", "properties": {"answer": {"type": "number"}}, "required": ["answer"]}
STEPS = {"type": "object", "properties": {"steps": {"type": "array", "items": {"type": "string"}}},
         "required": ["steps"]}
TRIP = [f"Step {i}: take the {i}th train of the day towards the coast and write it down" for i in range(1, 9)]
CALCULATE = {"target_schema": ANSWER, "tools": ["calculator"]}
BATCH = 50
SLOW = 0.4
"""Seconds each model reply of the SIGKILL batch waits: runs stay in flight long enough to be killed."""
CHUNK_DELAY = 0.02
"""Seconds between the streamed chunks of the partial-target reply."""


def _model(request: dict[str, Any]) -> Reply:
    """Plays the model. "What is 6 * 7?" (any task but the trip): calculator, then complete_task with its
    answer; a task ending in "(slow)" waits SLOW s per reply. "Plan the trip.": complete_task at once,
    with eight steps streamed in small chunks."""
    task = next(m["content"] for m in request["messages"] if m["role"] == "user")
    if "trip" in task:
        return reply(tool_calls=[("complete_task", {"summary": "Planned.", "status": "success",
                                                    "result": {"steps": TRIP}})], fragment=6, delay=CHUNK_DELAY)
    latency = SLOW if task.endswith("(slow)") else 0.0
    tool_results = [m for m in request["messages"] if m["role"] == "tool"]
    if not tool_results:
        return reply(tool_calls=[("calculator", {"expression": "6 * 7"})], latency=latency)
    answer = float(tool_results[-1]["content"])
    return reply(tool_calls=[("complete_task", {"summary": f"6 * 7 = {answer:g}", "status": "success",
                                                "result": {"answer": answer}})], latency=latency)


# -- what the module needs, each skipped with its reason ---------------------------------------------------


@pytest.fixture(scope="module")
def venv() -> Path:
    pytest.importorskip("langgraph_sdk", reason='needs langgraph-sdk (the studio extra: pip install -e ".[studio]")')
    path = aegra_venv()
    if not (path / "bin" / "aegra").exists():
        pytest.skip(f"no Aegra venv at {path} (Aegra needs Python >= 3.12): run scripts/aegra-env (.ci/run does)")
    return path


@pytest.fixture(scope="module")
def postgres_url() -> str:
    pytest.importorskip("psycopg", reason='needs psycopg (the postgres extra: pip install -e ".[postgres]")')
    url = os.environ.get("ZYX_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL: set ZYX_TEST_POSTGRES_URL (.ci/run starts one)")
    return url


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    url = os.environ.get("ZYX_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis: set ZYX_TEST_REDIS_URL or install redis-server (.ci/run does both)")
    with RedisServer(binary) as server:
        yield server.url


@pytest.fixture(scope="module")
def model_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(_model) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(venv: Path, postgres_url: str, redis_url: str, model_server: OpenAIServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[AegraCluster]:
    """Two instances (the second started once the first is up), stopped when the module ends."""
    env = {"ZYX_MODEL": "openai:gpt-4o-mini", "OPENAI_BASE_URL": model_server.base_url, "OPENAI_API_KEY": "test-key"}
    with AegraCluster(postgres_url, redis_url, instances=2, env=env, venv=venv,
                      log_dir=tmp_path_factory.mktemp("aegra")) as running:
        yield running


def _live(cluster: AegraCluster) -> list[Instance]:
    live = [instance for instance in cluster.started if instance.alive()]
    assert len(live) >= 2, "the cluster lost an instance outside the SIGKILL test"
    return live[-2:]


def _client(instance: Instance) -> Any:
    from langgraph_sdk import get_client

    return get_client(url=instance.url)


def _task(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def _completed(state: dict[str, Any], result: dict[str, Any]) -> None:
    """The thread's final values hold a successful, accepted completion with `result`."""
    assert state["termination"] == "completed", state.get("termination")
    assert state["completion"]["status"] == "success" and state["completion"]["result"] == result


# -- the tests ------------------------------------------------------------------------------------------------


async def test_fifty_runs_on_two_instances_all_end_with_completions(cluster: AegraCluster) -> None:
    """50 concurrent runs, created half through each instance; Aegra's workers share them through Redis."""
    clients = [_client(instance) for instance in _live(cluster)]

    threads: list[str] = []

    async def one(index: int) -> dict[str, Any]:
        client = clients[index % 2]
        thread = await client.threads.create()
        threads.append(thread["thread_id"])
        return await client.runs.wait(thread["thread_id"], "run", input=_task("What is 6 * 7?"), context=CALCULATE)

    finals = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(BATCH))), timeout=240)
    for final in finals:
        _completed(final, {"answer": 42.0})
        assert [call["name"] for call in final["tool_calls"]] == ["calculator"]
    assert cluster.query("SELECT status, count(*) FROM runs WHERE thread_id = ANY(%s) GROUP BY status",
                         threads) == [("success", BATCH)]  # one run per thread, none left over or failed


async def test_partial_targets_stream_through_the_server(cluster: AegraCluster) -> None:
    """`messages-tuple` carries the planner's complete_task arguments chunk by chunk, as the model writes
    them: zyx's partial parser turns them, on the client, into growing partial targets."""
    from langchain_core.messages import AIMessageChunk

    from graphs._studio import schema_type
    from zyx._prompts import COMPLETE_TASK
    from zyx._target import make_target
    from zyx.stream._results import NOTHING, ResultPartials

    client = _client(_live(cluster)[1])
    target = make_target(schema_type(STEPS))
    assert target is not None
    partials = ResultPartials(target, COMPLETE_TASK)
    seen: list[tuple[float, list[str]]] = []
    thread = await client.threads.create()
    async for part in client.runs.stream(thread["thread_id"], "run", input=_task("Plan the trip."),
                                         context={"target_schema": STEPS}, stream_mode="messages-tuple"):
        if part.event != "messages":
            continue
        message, metadata = part.data
        if message.get("type") != "AIMessageChunk" or metadata.get("langgraph_node") != "planner":
            continue
        chunk = AIMessageChunk(content=message["content"], id=message["id"],
                               tool_call_chunks=message.get("tool_call_chunks") or [])
        value = partials.feed(chunk)
        if value is not NOTHING:
            seen.append((time.monotonic(), list(value.steps or [])))
    steps = [s for _, s in seen]
    assert len(steps) >= 2 * len(TRIP), f"too few partial targets: {len(steps)}"
    assert steps[-1] == TRIP
    for before, after in zip(steps, steps[1:]):  # each partial extends the one before
        assert len(after) >= len(before) and after[:len(before) - 1] == before[:-1]
        assert not before or after[len(before) - 1].startswith(before[-1])
    # streamed as the model wrote them, not buffered until the run ended
    assert seen[-1][0] - seen[0][0] > 0.3 * CHUNK_DELAY * len(seen)
    _completed((await client.threads.get_state(thread["thread_id"]))["values"], {"steps": TRIP})


async def test_an_approval_paused_on_one_instance_is_decided_through_the_other(cluster: AegraCluster) -> None:
    """An assistant carries the settings (approve the calculator) for the paused run and the resuming one."""
    first, second = (_client(instance) for instance in _live(cluster))
    assistant = await first.assistants.create(graph_id="run", config={"configurable": {**CALCULATE,
                                                                                       "approve": ["calculator"]}})
    thread = await first.threads.create()
    await first.runs.wait(thread["thread_id"], assistant["assistant_id"], input=_task("What is 6 * 7?"))

    assert (await second.threads.get(thread["thread_id"]))["status"] == "interrupted"
    state = await second.threads.get_state(thread["thread_id"])
    pending = [call for interrupt in state["interrupts"] for call in interrupt["value"]["pending"]]
    assert [(call["name"], call["args"]) for call in pending] == [("calculator", {"expression": "6 * 7"})]
    assert not state["values"].get("tool_calls")  # nothing ran before the decision

    final = await second.runs.wait(thread["thread_id"], assistant["assistant_id"],
                                   command={"resume": {pending[0]["id"]: "approve"}})
    _completed(final, {"answer": 42.0})
    assert [call["name"] for call in final["tool_calls"]] == ["calculator"]


async def test_sigkill_of_an_instance_mid_batch_loses_no_run(cluster: AegraCluster) -> None:
    """Background runs, half created through each instance; one instance is SIGKILLed while its workers
    hold runs. Their leases expire, the other instance's reaper queues them again, and every run ends
    with its completion. Then a fresh instance takes the killed one's place."""
    victim, survivor = _live(cluster)
    clients = [_client(victim), _client(survivor)]

    async def create(index: int) -> tuple[str, str]:
        client = clients[index % 2]
        thread = await client.threads.create()
        run = await client.runs.create(thread["thread_id"], "run", input=_task("What is 6 * 7? (slow)"),
                                       context=CALCULATE)
        return thread["thread_id"], run["run_id"]

    runs = await asyncio.wait_for(asyncio.gather(*(create(i) for i in range(BATCH))), timeout=120)
    owner = f"%-{victim.server_pid()}-worker-%"
    held: list[str] = []
    deadline = time.monotonic() + 60
    while len(held) < 3:  # until the victim's workers are executing a few runs
        held = [row[0] for row in cluster.query(
            "SELECT run_id FROM runs WHERE status = 'running' AND claimed_by LIKE %s", owner)]
        assert time.monotonic() < deadline, "the instance to kill never held 3 running runs"
        await asyncio.sleep(0.05)
    killed_at = time.monotonic()
    cluster.kill(victim)

    try:
        survivor_client = clients[1]

        async def final(thread_id: str, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
            await survivor_client.runs.join(thread_id, run_id)
            run = await survivor_client.runs.get(thread_id, run_id)
            return run, (await survivor_client.threads.get_state(thread_id))["values"]

        outcomes = await asyncio.wait_for(asyncio.gather(*(final(*ids) for ids in runs)), timeout=180)
        recovered_in = time.monotonic() - killed_at
        for run, values in outcomes:
            assert run["status"] == "success", run
            _completed(values, {"answer": 42.0})
        assert set(held) <= {run["run_id"] for run, _ in outcomes}
        assert cluster.query("SELECT status, count(*) FROM runs WHERE run_id = ANY(%s) GROUP BY status",
                             [run_id for _, run_id in runs]) == [("success", BATCH)]
        # lease 6 s + reaper every 2 s (deploy/aegra.env) + the re-run: far below Aegra's default ~40 s
        assert recovered_in < 60, f"the killed instance's runs took {recovered_in:.0f} s to finish elsewhere"
    finally:
        cluster.wait_healthy(cluster.add_instance())  # the next tests find two instances again


def test_the_documented_client_example_runs_a_task_on_the_cluster(cluster: AegraCluster) -> None:
    """`examples/server_client.py`, which docs/deploy.md shows, against an instance: steps, then the typed result."""
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "server_client.py"), _live(cluster)[0].url,
                           "What is 6 * 7?"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["step: planner", "step: tool_executor",
                                        "step: planner", "step: completion",
                                        "completion: [success] 6 * 7 = 42", "result: {'answer': 42.0}"]
