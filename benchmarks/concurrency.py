"""Section 3: many concurrent runs (asyncio.gather), each model call sleeping `latency` seconds.

Each run is two model calls: one tool call, then the structured completion. Contenders,
alternating: zyx.arun, langchain.agents.create_agent, and LangGraph's floor: a bare
StateGraph of the same supersteps as a zyx run of this task, whose planner steps sleep like
the model does (what LangGraph itself costs for that many supersteps, no model, no tools).
Per burst: wall time, runs/s, CPU time per run (time.process_time, all threads), and the
time Python's cyclic garbage collector took (gc.callbacks).
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass
from typing import Any

from benchmarks._harness import Config, Section, Stats, gc_time, ratio
from benchmarks._task import AgentContender, ZyxContender, agent_policy, has_peer, zyx_policy
from benchmarks.overhead import floor_graph, zyx_supersteps

ZYX = "zyx.arun"
AGENT = "langchain create_agent"
TARGET = 1.5
"""The issue's target: zyx at this multiple of create_agent's runs/s."""


class FloorContender:
    """The bare LangGraph floor, run like a contender: `steps` supersteps, planner steps sleeping."""

    def __init__(self, steps: list[str], latency: float) -> None:
        self.steps = steps
        self.graph = floor_graph(steps, sleep={"planner": latency})

    async def __call__(self) -> Any:
        state = await self.graph.ainvoke({"i": 0})
        assert state["i"] == len(self.steps), state
        return state

    def reset(self) -> None:
        pass


@dataclass
class Burst:
    wall: float
    """Seconds."""
    cpu: float
    """CPU seconds, all threads."""
    gc: float
    """Seconds in the cyclic GC."""
    gen2: int
    """Full (generation 2) collections."""
    gen2_seconds: float
    """Seconds in full collections."""


async def _burst(contender: Any, n: int, collect: bool = True) -> Burst:
    if collect:
        gc.collect()
    with gc_time() as spent:
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(contender() for _ in range(n)))
        t1, c1 = time.perf_counter(), time.process_time()
    contender.reset()
    return Burst(t1 - t0, c1 - c0, spent.seconds, spent.collections[2], spent.by_generation[2])


async def measure(cfg: Config) -> tuple[Section, dict[str, Any]]:
    latency = cfg.concurrency_latency
    zyx_run = ZyxContender(zyx_policy(1), latency=latency)
    steps = await zyx_supersteps(zyx_run)
    zyx_run.reset()
    floor_name = f"LangGraph floor ({len(steps)} supersteps)"
    contenders: dict[str, Any] = {ZYX: zyx_run}
    if has_peer("langchain.agents"):
        contenders[AGENT] = AgentContender(agent_policy(1), latency=latency)
    contenders[floor_name] = FloorContender(steps, latency)
    for contender in contenders.values():  # warm up
        await _burst(contender, min(cfg.concurrency_sizes), cfg.collect)

    section = Section(
        f"3. Concurrency ({int(latency * 1000)} ms per model call, 2 model calls per run)",
        ("concurrent runs", "contender", "wall s (min–max)", "runs/s", "CPU ms/run (min–max)",
         "GC ms/run (share of CPU)", "full GCs/burst", "zyx ÷ this: wall, CPU"),
    )
    data: dict[Any, Any] = {}
    for n in cfg.concurrency_sizes:
        bursts: dict[str, list[Burst]] = {name: [] for name in contenders}
        for _ in range(cfg.concurrency_reps):
            for name, contender in contenders.items():
                bursts[name].append(await _burst(contender, n, cfg.collect))
        zyx_wall, zyx_cpu = Stats([b.wall for b in bursts[ZYX]]), Stats([b.cpu for b in bursts[ZYX]])
        for name, runs in bursts.items():
            ws, cs = Stats([b.wall for b in runs]), Stats([b.cpu * 1000 / n for b in runs])
            gcs = Stats([b.gc * 1000 / n for b in runs])
            share = Stats([b.gc / b.cpu for b in runs if b.cpu])
            gen2 = Stats([float(b.gen2) for b in runs])
            full_share = Stats([b.gen2_seconds / b.gc for b in runs if b.gc])
            rw, rc = ratio(zyx_wall, ws), ratio(zyx_cpu, Stats([b.cpu for b in runs]))
            section.rows.append((str(n), name, ws.fmt(3), f"{n / ws.median:.0f}", cs.fmt(2),
                                 f"{gcs.median:.2f} ({share.median:.0%})", f"{gen2.median:g}",
                                 "1" if name == ZYX else f"{rw.median:.2f}, {rc.median:.2f}"))
            data[(n, name)] = {"wall_s": ws.median, "runs_per_s": n / ws.median, "cpu_ms_per_run": cs.median,
                               "gc_ms_per_run": gcs.median, "gc_share": share.median, "full_gcs": gen2.median,
                               "full_gc_share": full_share.median if full_share.values else 0.0}

    sleeps = 2 * latency
    section.notes.append(
        f"{cfg.concurrency_reps} rep(s) per size, contenders alternating, gc.collect() before each burst "
        f"(outside the timing); the model sleeps are {sleeps:.2f} s per run, so wall time above that is CPU "
        "work queued on one event loop. Sync tools run in the default thread pool in both frameworks.")
    section.notes.append(
        f"{floor_name}: a bare StateGraph of zyx's supersteps for this task ({' → '.join(steps)}), trivial async "
        f"nodes on plain edges, each planner step awaiting asyncio.sleep({latency:g}) as the model call does; "
        "no messages, model or tools.")
    section.notes.append(
        "GC ms/run: time inside Python's cyclic garbage collector during the burst (gc.callbacks start → stop), "
        "per run; full GCs: generation-2 collections per burst (each one traverses every tracked object "
        "alive at the time, including all runs in flight).")
    n = max(cfg.concurrency_sizes)
    shares = ", ".join(f"{name} {data[(n, name)]['gc_share']:.0%} ({data[(n, name)]['full_gc_share']:.0%} of it in "
                       "full collections)" for name in contenders)
    section.notes.append(f"Share of CPU in the cyclic GC at {n} concurrent runs: {shares}.")
    floor = data[(n, floor_name)]
    if AGENT in contenders:
        budget = 1000 / (TARGET * data[(n, AGENT)]["runs_per_s"])
        zyx = data[(n, ZYX)]
        busy = zyx["cpu_ms_per_run"] * n / 1000 / zyx["wall_s"]
        bound = (f"the burst is CPU-bound: CPU {busy:.0%} of wall" if busy > 0.8 else
                 f"a wall-time budget: at this size the burst is not CPU-bound, CPU {busy:.0%} of wall")
        section.notes.append(
            f"{TARGET:g}× create_agent's runs/s at {n} would need ≤ {budget:.2f} ms CPU per zyx run ({bound}); "
            f"zyx uses {zyx['cpu_ms_per_run']:.2f} ms "
            f"({zyx['cpu_ms_per_run'] - zyx['gc_ms_per_run']:.2f} ms outside the GC), and the bare LangGraph graph "
            f"of the same supersteps costs {floor['cpu_ms_per_run']:.2f} ms ({floor['gc_share']:.0%} of it in GC, "
            f"{floor['cpu_ms_per_run'] - floor['gc_ms_per_run']:.2f} ms outside).")
    else:
        section.notes.append("langchain create_agent: n/a (langchain not installed)")
    return section, {"steps": steps, **data}
