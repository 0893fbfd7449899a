"""zyx's run graph served on Aegra: runs/s and added latency per run on 1 vs 2 instances, against the same
runs in-process; and the recovery time after a SIGKILL of an instance.

    python -m benchmarks.server                       # ~3 min; writes benchmarks/SERVER_RESULTS.md
    python -m benchmarks.server --quick --no-write    # small sizes, prints only

Needs what tests/test_server.py needs: the Aegra venv (`scripts/aegra-env`), a PostgreSQL
(`--postgres`, default $ZYX_TEST_POSTGRES_URL) and a Redis (`--redis`, default $ZYX_TEST_REDIS_URL,
else a private `redis-server`). Every contender runs the same task (calculator, then complete_task
with a typed result) against the same scripted OpenAI-compatible model server, which answers at once:
the figures are what the server itself adds (HTTP, its database rows, Redis), not model time.

- latency: one run at a time, median ms per run (`threads.create` + `runs.stream` to the run's last
  values on the server, `zyx.arun` in-process); "added" is the server's median minus in-process's,
  per repetition. `runs.wait`'s latency is shown apart (Aegra 0.11 polls for it every 2 s).
- throughput: `--runs` runs, `--concurrency` in flight, runs/s; on 2 instances the client sends
  alternate runs to each. In-process and server repetitions alternate.
- recovery: on 2 instances, a batch of slow runs (0.3 s per model reply); one instance is SIGKILLed
  while its workers hold runs; time from the kill until the last of those runs has finished on the
  other instance, and until the whole batch has.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "scripts", ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from aegra_cluster import AegraCluster, Instance, RedisServer, read_env_file  # noqa: E402
from openai_server import OpenAIServer, Reply, reply  # noqa: E402

from benchmarks._harness import Stats  # noqa: E402
from benchmarks.machine import describe  # noqa: E402

OUT = ROOT / "benchmarks" / "SERVER_RESULTS.md"
ANSWER = {"type": "object", "properties": {"answer": {"type": "number"}}, "required": ["answer"]}
CONTEXT: Any = {"target_schema": ANSWER, "tools": ["calculator"]}
TASK = "What is 6 * 7?"
SLOW = 0.3


def _model(request: dict[str, Any]) -> Reply:
    """calculator, then complete_task with its answer; tasks ending in "(slow)" wait SLOW s per reply."""
    task = next(m["content"] for m in request["messages"] if m["role"] == "user")
    latency = SLOW if task.endswith("(slow)") else 0.0
    tools = [m for m in request["messages"] if m["role"] == "tool"]
    if not tools:
        return reply(tool_calls=[("calculator", {"expression": "6 * 7"})], latency=latency)
    return reply(tool_calls=[("complete_task", {"summary": "6 * 7 = 42", "status": "success",
                                                "result": {"answer": float(tools[-1]["content"])}})], latency=latency)


Run = Callable[[int], Awaitable[None]]
SHORT_STREAMS: list[str] = []
"""Streamed server runs whose stream ended without the run's final values (the run then read from its thread)."""


def in_process(model: OpenAIServer) -> Run:
    """The same task with `zyx.arun` in this process, through the same model server and tool."""
    os.environ.update(OPENAI_BASE_URL=model.base_url, OPENAI_API_KEY="bench-key")
    import zyx
    from graphs._studio import schema_type
    from graphs.tools import calculator

    target = schema_type(ANSWER)

    async def run(index: int) -> None:
        result = await zyx.arun(TASK, target=target, tools=[calculator], model="openai:gpt-4o-mini")
        assert result.completion is not None and result.completion.status == "success", result

    return run


def on_server(instances: list[Instance], *, wait: bool = False) -> Run:
    """One run through langgraph-sdk on a new thread, instance by index (round robin): streamed
    (`runs.stream`, stream_mode "values", the last values), or with `wait=True` through `runs.wait`."""
    from langgraph_sdk import get_client

    clients = [get_client(url=instance.url) for instance in instances]
    task: Any = {"messages": [{"role": "user", "content": TASK}]}

    async def run(index: int) -> None:
        client = clients[index % len(clients)]
        thread = await client.threads.create()
        final: Any
        if wait:
            final = await client.runs.wait(thread["thread_id"], "run", input=task, context=CONTEXT)
        else:
            final, events = {}, []
            async for part in client.runs.stream(thread["thread_id"], "run", input=task, context=CONTEXT,
                                                 stream_mode="values"):
                events.append(part.event if part.event != "error" else f"error {part.data}")
                if part.event == "values":
                    final = part.data
            if "completion" not in final:  # the stream ended before the run's last values: what did the run do?
                for listed in await client.runs.list(thread["thread_id"]):
                    await client.runs.join(thread["thread_id"], listed["run_id"])
                final = (await client.threads.get_state(thread["thread_id"]))["values"]
                SHORT_STREAMS.append(f"events {events[-3:]}; the run itself: termination "
                                     f"{final.get('termination')!r}")
        assert final["completion"]["status"] == "success", final

    return run


async def latency(run: Run, n: int) -> float:
    """Median seconds of `n` runs one after another."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        await run(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_seconds(pids: list[int] | None) -> float:
    """CPU time (user + system) of these processes so far; None: this process."""
    if pids is None:
        return time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def throughput(run: Run, n: int, concurrency: int, pids: list[int] | None) -> tuple[float, float]:
    """Runs per second for `n` runs with at most `concurrency` in flight, and CPU ms per run spent by
    `pids` (the server instances) or, for None, by this process."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await run(i)

    start, cpu = time.perf_counter(), cpu_seconds(pids)
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - start), (cpu_seconds(pids) - cpu) * 1000 / n


async def compare(local: Run, instances: list[Instance], args: argparse.Namespace) -> dict[str, Stats]:
    """Latency and throughput, in-process and server repetitions alternating; and `runs.wait`'s latency."""
    server = on_server(instances)
    await latency(local, 3)  # warm both: graph compile, HTTP pools, the server's first runs
    await latency(server, 3)
    rows: dict[str, list[float]] = {"local_ms": [], "server_ms": [], "added_ms": [], "local_rps": [], "server_rps": [],
                                    "local_cpu": [], "server_cpu": []}
    pids = [instance.server_pid() for instance in instances]
    rows["wait_ms"] = [await latency(on_server(instances, wait=True), args.wait_runs) * 1000]
    for _ in range(args.reps):
        local_s, server_s = await latency(local, args.latency_runs), await latency(server, args.latency_runs)
        rows["local_ms"].append(local_s * 1000)
        rows["server_ms"].append(server_s * 1000)
        rows["added_ms"].append((server_s - local_s) * 1000)
        for name, run, where in (("local", local, None), ("server", server, pids)):
            rps, cpu = await throughput(run, args.runs, args.concurrency, where)
            rows[f"{name}_rps"].append(rps)
            rows[f"{name}_cpu"].append(cpu)
    return {key: Stats(values) for key, values in rows.items()}


async def recovery(cluster: AegraCluster, batch: int) -> tuple[float, float, int]:
    """SIGKILL one of two instances while its workers hold runs: seconds until those runs, and the whole
    batch, have finished elsewhere; and how many runs the killed instance held."""
    from langgraph_sdk import get_client

    victim, survivor = [instance for instance in cluster.started if instance.alive()][-2:]
    clients = [get_client(url=victim.url), get_client(url=survivor.url)]

    async def create(i: int) -> tuple[str, str]:
        thread = await clients[i % 2].threads.create()
        slow: Any = {"messages": [{"role": "user", "content": f"{TASK} (slow)"}]}
        run = await clients[i % 2].runs.create(thread["thread_id"], "run", input=slow, context=CONTEXT)
        return thread["thread_id"], run["run_id"]

    runs = await asyncio.gather(*(create(i) for i in range(batch)))
    owner = f"%-{victim.server_pid()}-worker-%"
    held: list[str] = []
    deadline = time.monotonic() + 60
    while len(held) < 3 and time.monotonic() < deadline:
        held = [r[0] for r in cluster.query(
            "SELECT run_id FROM runs WHERE status = 'running' AND claimed_by LIKE %s", owner)]
        await asyncio.sleep(0.05)
    killed = time.monotonic()
    cluster.kill(victim)
    finished: dict[str, float] = {}

    async def join(thread_id: str, run_id: str) -> None:
        await clients[1].runs.join(thread_id, run_id)
        status = (await clients[1].runs.get(thread_id, run_id))["status"]
        assert status == "success", (run_id, status)
        finished[run_id] = time.monotonic() - killed

    await asyncio.wait_for(asyncio.gather(*(join(*ids) for ids in runs)), timeout=300)
    return max(finished[r] for r in held), max(finished.values()), len(held)


@contextmanager
def services(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    postgres = args.postgres or os.environ.get("ZYX_TEST_POSTGRES_URL")
    if not postgres:
        raise SystemExit("no PostgreSQL: pass --postgres URL or set ZYX_TEST_POSTGRES_URL (.ci/run shows how to start one)")
    redis = args.redis or os.environ.get("ZYX_TEST_REDIS_URL")
    with ExitStack() as stack:
        if not redis:
            binary = shutil.which("redis-server")
            if binary is None:
                raise SystemExit("no Redis: pass --redis URL, set ZYX_TEST_REDIS_URL or install redis-server")
            redis = stack.enter_context(RedisServer(binary)).url
        yield postgres, redis


def aegra_version() -> str:
    """Aegra's and its Python's versions, from the venv the cluster runs."""
    from aegra_cluster import aegra_venv

    code = "import sys, aegra_api; print(f'Aegra {aegra_api.__version__} on Python {sys.version.split()[0]}')"
    done = subprocess.run([str(aegra_venv() / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          timeout=60)
    return done.stdout.strip() or "Aegra (version unknown)"


async def measure(args: argparse.Namespace) -> str:
    load_start = os.getloadavg()[0]
    lines = ["## Serving on Aegra", ""]
    with services(args) as (postgres, redis), OpenAIServer(_model) as model, \
            tempfile.TemporaryDirectory(prefix="zyx-bench-aegra-") as logs:
        env = {"ZYX_MODEL": "openai:gpt-4o-mini", "OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "bench-key"}
        local = in_process(model)
        with AegraCluster(postgres, redis, instances=1, env=env, log_dir=Path(logs)) as cluster:
            one = await compare(local, cluster.started, args)
            cluster.wait_healthy(cluster.add_instance())
            two = await compare(local, cluster.started, args)
            to_held, to_all, held = await recovery(cluster, args.recovery_batch)
    settings = read_env_file()
    lines += [
        f"{aegra_version()}; load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"(on {os.cpu_count()} cores: other work shared the machine when above that).",
        "",
        f"The run task of section 3 (calculator, then `complete_task` with a typed result; 2 model calls, 1 tool "
        f"call) against a scripted OpenAI-compatible model server that answers at once, so every figure is the "
        f"server's own cost. Median (min–max) of {args.reps} repetitions; in-process and server repetitions "
        f"alternate. Latency: {args.latency_runs} runs one at a time; throughput: {args.runs} runs, "
        f"{args.concurrency} in flight. Server runs: `threads.create` + `runs.stream` through `langgraph-sdk`; "
        f"on 2 instances the client alternates between them. Everything (PostgreSQL, Redis, the instances, the "
        f"model server and this client) shares the same cores.",
        "",
        "| contender | ms per run, one at a time | added by the server, ms | runs/s | CPU ms per run |",
        "|---|---|---|---|---|",
        *(f"| {label} | {rows[f'{side}_ms'].fmt(1)} | {rows['added_ms'].fmt(1) if side == 'server' else ''} | "
          f"{rows[f'{side}_rps'].fmt(1)} | {rows[f'{side}_cpu'].fmt(1)} |"
          for rows, n in ((one, 1), (two, 2)) for side, label in (
              ("local", f"in-process `zyx.arun` (next to {n} instance{'s' if n > 1 else ''})"),
              ("server", f"Aegra, {n} instance{'s' if n > 1 else ''}"))),
        "",
        "CPU ms per run: of the Aegra instances' processes (not PostgreSQL's or Redis's) during the throughput "
        "batches; in-process, of the benchmark's own process, which also serves the scripted model. CPU time "
        "depends far less on the other work on the machine than wall time does.",
        "",
        f"Server runs above are streamed (`runs.stream`, stream_mode `values`: the run's end reaches the client "
        f"through Redis pub/sub). Through `runs.wait` the same run takes {one['wait_ms'].median:.0f} ms on 1 "
        f"instance and {two['wait_ms'].median:.0f} ms on 2 (median of {args.wait_runs}, one at a time): with "
        f"the Redis broker, Aegra 0.11's wait and join poll the run's status every 2 s.",
        "",
        (f"Of the streamed server runs, {len(SHORT_STREAMS)} ended their stream before the run's final values "
         f"(the run itself had completed; read from its thread): {'; '.join(sorted(set(SHORT_STREAMS))[:3])}."
         if SHORT_STREAMS else "Every streamed server run's stream ended with the run's final values."),
        "",
        f"**Recovery after SIGKILL** (2 instances, {args.recovery_batch} runs with {SLOW} s model replies, "
        f"`LEASE_DURATION_SECONDS={settings['LEASE_DURATION_SECONDS']}` "
        f"`HEARTBEAT_INTERVAL_SECONDS={settings['HEARTBEAT_INTERVAL_SECONDS']}` "
        f"`REAPER_INTERVAL_SECONDS={settings['REAPER_INTERVAL_SECONDS']}` from `deploy/aegra.env`): the killed "
        f"instance held {held} running runs; the last of them finished on the other instance "
        f"**{to_held:.1f} s** after the kill, the whole batch after {to_all:.1f} s. Every run ended with success.",
        "",
        "On 2 cores a second instance mostly competes for the same CPU: it is for availability (a run survives "
        "an instance), and adds throughput only with cores (or machines) of its own. Shared machines make these "
        "figures noisy; the ranges show how much.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL (default: $ZYX_TEST_POSTGRES_URL)")
    parser.add_argument("--redis", help="Redis URL (default: $ZYX_TEST_REDIS_URL, else a private redis-server)")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds of measuring)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not write {OUT.name}")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.reps, args.latency_runs, args.runs, args.concurrency, args.recovery_batch, args.wait_runs = (
        (1, 5, 20, 10, 20, 2) if args.quick else (5, 20, 100, 25, 40, 5))
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        os.environ[name] = "false"
    section = asyncio.run(measure(args))
    print(section)
    if not args.no_write:
        machine = describe().replace("## Machine", "### Machine (this benchmark)", 1)
        args.out.write_text(f"{section}\n\n{machine}\n", encoding="utf-8")
        print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
