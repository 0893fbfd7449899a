"""zyx.batch against asyncio.gather of arun, and the `zyx batch` command's memory as the task count grows.

    PYTHONPATH=$PWD python benchmarks/batch.py [--tasks 1000] [--rounds 3]

1. Throughput: the same N scripted runs (one tool call, then the completion; an instant model, so what is
   measured is zyx and LangGraph, not waiting), alternating per round: `asyncio.gather(*(arun(...)))`,
   `zyx.abatch(..., concurrency=N)` (same concurrency as gather), and, bounded, `abatch(concurrency=8)` against
   gather behind an `asyncio.Semaphore(8)`. Median runs/s and the ratio batch / gather (target: >= 0.90).
2. Memory: the command's own path (JSONL in, `iter_batch`, one line written per ended task, no checkpointer)
   for N/4 and N tasks; the peak of Python allocations (tracemalloc) should not grow with N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zyx
from benchmarks._task import RESULT, TASK, TOOLS, Report, zyx_policy
from zyx.testing import ScriptedChatModel

BOUND = 8


def _model(remember: bool = True) -> ScriptedChatModel:
    """The scripted model; `remember=False` forgets each call it records (it keeps them all for tests), so the
    memory measured is zyx's, not the test model's."""
    policy = zyx_policy(1)

    def forgetful(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        model._calls.clear()
        return policy(messages, tools)

    model = ScriptedChatModel(policy=policy if remember else forgetful)
    return model


async def _gather(n: int, model: ScriptedChatModel, bound: int | None) -> list[Any]:
    gate = asyncio.Semaphore(bound or n)

    async def one() -> Any:
        async with gate:
            return await zyx.arun(TASK, Report, tools=TOOLS, model=model)

    return await asyncio.gather(*(one() for _ in range(n)))


async def _batch(n: int, model: ScriptedChatModel, bound: int | None) -> list[Any]:
    return await zyx.abatch([TASK] * n, Report, tools=TOOLS, model=model, concurrency=bound or n)


async def _rate(fn: Callable[[int, ScriptedChatModel, int | None], Awaitable[list[Any]]], n: int,
                bound: int | None) -> float:
    model = _model()
    t0 = time.perf_counter()
    results = await fn(n, model, bound)
    elapsed = time.perf_counter() - t0
    assert all(isinstance(r, zyx.RunResult) and r.output == Report(**RESULT) for r in results), results[:1]
    return n / elapsed


async def throughput(n: int, rounds: int) -> None:
    await _rate(_gather, 20, None)  # warm up: graph compiled, tools converted
    await _rate(_batch, 20, None)
    pairs = {f"unbounded ({n} at once)": None, f"bounded ({BOUND} at once)": BOUND}
    print(f"Throughput, {n} scripted runs (instant model), median of {rounds} alternating rounds:")
    print(f"{'concurrency':<26}{'gather runs/s':>15}{'batch runs/s':>15}{'batch/gather':>14}")
    for label, bound in pairs.items():
        gathered, batched = [], []
        for _ in range(rounds):
            gathered.append(await _rate(_gather, n, bound))
            batched.append(await _rate(_batch, n, bound))
        g, b = statistics.median(gathered), statistics.median(batched)
        print(f"{label:<26}{g:>15.1f}{b:>15.1f}{b / g:>14.3f}")


async def _cli_peak(n: int, folder: Path) -> float:
    """Peak traced MB of the command's path for `n` tasks (model and tools as in the throughput runs)."""
    from rich.console import Console

    from zyx._batch_io import Line, read_lines
    from zyx._cli_batch import Display, Tally, drive, in_process

    tasks, out = folder / f"tasks{n}.jsonl", folder / f"results{n}.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"t{i}", "task": TASK}) + "\n" for i in range(n)))
    tally = Tally(total=n)
    lines = (e for e in read_lines(tasks, server=False) if isinstance(e, Line))
    source = in_process(lines, tally, {"tools": TOOLS, "model": _model(remember=False)}, Report, BOUND, None)
    tracemalloc.start()
    with open(os.devnull, "w") as devnull:
        await drive(source, out, Display(Console(file=devnull), tally, quiet=True))
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert sum(1 for _ in out.open()) == n
    return peak


async def memory(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _cli_peak(10, Path(tmp))  # warm up: the graph compiled, the tools converted
        small, large = await _cli_peak(max(n // 4, 1), Path(tmp)), await _cli_peak(n, Path(tmp))
    print(f"\n`zyx batch` path, peak traced memory: {n // 4} tasks {small:.1f} MB, {n} tasks {large:.1f} MB "
          f"(x{large / small:.2f} for x4 tasks)")


async def main(n: int, rounds: int) -> None:
    await throughput(n, rounds)
    await memory(n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.rounds))
