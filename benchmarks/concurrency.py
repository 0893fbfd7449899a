"""Section 3: many concurrent runs (asyncio.gather), each model call sleeping `latency` seconds.

Each run is two model calls: one tool call, then the structured completion. Wall time, runs/s
and CPU time per run (time.process_time, all threads) for zyx and create_agent, alternating.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from benchmarks._harness import Config, Section, Stats, ratio
from benchmarks._task import AgentContender, ZyxContender, agent_policy, has_peer, zyx_policy


async def _burst(contender: Any, n: int, collect: bool = True) -> tuple[float, float]:
    if collect:
        gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(contender() for _ in range(n)))
    t1, c1 = time.perf_counter(), time.process_time()
    contender.reset()
    return t1 - t0, c1 - c0


async def measure(cfg: Config) -> tuple[Section, dict[str, Any]]:
    contenders: dict[str, Any] = {"zyx.arun": ZyxContender(zyx_policy(1), latency=cfg.concurrency_latency)}
    if has_peer("langchain.agents"):
        contenders["langchain create_agent"] = AgentContender(agent_policy(1), latency=cfg.concurrency_latency)
    for contender in contenders.values():  # warm up
        await _burst(contender, min(cfg.concurrency_sizes), cfg.collect)

    section = Section(
        f"3. Concurrency ({int(cfg.concurrency_latency * 1000)} ms per model call, 2 model calls per run)",
        ("concurrent runs", "contender", "wall s (min–max)", "runs/s", "CPU ms/run (min–max)",
         "zyx ÷ this: wall, CPU"),
    )
    data: dict[Any, Any] = {}
    for n in cfg.concurrency_sizes:
        wall: dict[str, list[float]] = {name: [] for name in contenders}
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(cfg.concurrency_reps):
            for name, contender in contenders.items():
                w, c = await _burst(contender, n, cfg.collect)
                wall[name].append(w)
                cpu[name].append(c * 1000 / n)
        for name in contenders:
            ws, cs = Stats(wall[name]), Stats(cpu[name])
            rw, rc = ratio(Stats(wall["zyx.arun"]), ws), ratio(Stats(cpu["zyx.arun"]), cs)
            section.rows.append((str(n), name, ws.fmt(3), f"{n / ws.median:.0f}", cs.fmt(2),
                                 "1" if name == "zyx.arun" else f"{rw.median:.2f}, {rc.median:.2f}"))
            data[(n, name)] = {"wall_s": ws.median, "cpu_ms_per_run": cs.median}
    floor = 2 * cfg.concurrency_latency
    section.notes.append(
        f"{cfg.concurrency_reps} rep(s) per size, contenders alternating; the model sleeps are {floor:.2f} s per run, "
        "so wall time above that is CPU work queued on one event loop. "
        "Sync tools run in the default thread pool in both frameworks.")
    if len(contenders) == 1:
        section.notes.append("langchain create_agent: n/a (langchain not installed)")
    return section, data
