"""Timing, statistics and table helpers shared by every benchmark section.

Every comparison is measured in one process with the contenders alternating
(A, B, C, A, B, C, ...), so drift (thermal, other load, GC growth) hits all of them alike.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

RunOnce = Callable[[], Awaitable[Any]]


@dataclass
class Config:
    """Sizes for one invocation of the suite (`quick` is for the smoke test)."""

    quick: bool = False
    # section 1: overhead
    overhead_reps: int = 25
    overhead_runs: int = 40
    overhead_warmup: int = 30
    # section 3: concurrency
    concurrency_sizes: tuple[int, ...] = (200, 1000)
    concurrency_reps: int = 5
    concurrency_latency: float = 0.05
    # section 4: streaming
    stream_sizes_kb: tuple[int, ...] = (1, 10, 100)
    stream_chunk: int = 20
    stream_reps: int = 9
    stream_batch_chunks: int = 6000
    """Each rep runs every contender enough times to stream at least this many chunks (small results)."""
    # section 5: graph build
    build_reps: int = 5
    build_n: int = 20
    cache_hit_n: int = 2000
    collect: bool = True
    """gc.collect() before each timed batch (outside the timing): steadier, but ~0.1 s a call."""

    @classmethod
    def make(cls, quick: bool) -> Config:
        if not quick:
            return cls()
        return cls(quick=True, overhead_reps=2, overhead_runs=3, overhead_warmup=1,
                   concurrency_sizes=(5, 10), concurrency_reps=1,
                   stream_sizes_kb=(1,), stream_reps=1, stream_batch_chunks=1,
                   build_reps=2, build_n=1, cache_hit_n=50, collect=False)


@dataclass
class Stats:
    """Median, min and max of repeated measurements."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def scaled(self, factor: float) -> Stats:
        return Stats([v * factor for v in self.values])

    def fmt(self, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} ({self.min:.{digits}f}–{self.max:.{digits}f})"


def ratio(a: Stats, b: Stats) -> Stats:
    """Per-repetition ratios a[i] / b[i] (both measured in the same round)."""
    return Stats([x / y for x, y in zip(a.values, b.values, strict=True) if y])


@dataclass
class Measurement:
    """Per-repetition wall and CPU time for one contender (per unit: per run by default)."""

    wall: Stats = field(default_factory=lambda: Stats([]))
    cpu: Stats = field(default_factory=lambda: Stats([]))


async def alternate(contenders: dict[str, RunOnce], *, reps: int, runs: int, warmup: int,
                    collect: bool = True) -> dict[str, Measurement]:
    """Time `runs` sequential runs of each contender, `reps` rounds, alternating; ms per run."""
    for run_once in contenders.values():
        for _ in range(warmup):
            await run_once()
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(reps):
        for name, run_once in contenders.items():
            if collect:
                gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(runs):
                await run_once()
            t1, c1 = time.perf_counter(), time.process_time()
            wall[name].append((t1 - t0) * 1000 / runs)
            cpu[name].append((c1 - c0) * 1000 / runs)
    return {name: Measurement(Stats(wall[name]), Stats(cpu[name])) for name in contenders}


def time_sync(fn: Callable[[], Any], *, n: int, reps: int, collect: bool = True) -> Stats:
    """ms per call of a sync function: `reps` batches of `n` calls."""
    fn()
    values = []
    for _ in range(reps):
        if collect:
            gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        values.append((time.perf_counter() - t0) * 1000 / n)
    return Stats(values)


@dataclass
class GCTime:
    """Time spent in Python's cyclic garbage collector while a `gc_time()` block ran."""

    seconds: float = 0.0
    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    """Collections per generation (0, 1, 2)."""
    by_generation: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """Seconds per generation collected (a collection of generation 2 is a full one)."""
    _started: float | None = None

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            spent = time.perf_counter() - self._started
            self.seconds += spent
            self.collections[info["generation"]] += 1
            self.by_generation[info["generation"]] += spent
            self._started = None


@contextmanager
def gc_time() -> Iterator[GCTime]:
    """Measure the cyclic GC's time (wall clock between its start and stop callbacks) in the block.

    A collection runs on whichever thread allocated, holding the GIL, so its wall time is CPU
    time taken from everything else. Explicit `gc.collect()` calls in the block count too.
    """
    acc = GCTime()
    gc.callbacks.append(acc._callback)
    try:
        yield acc
    finally:
        gc.callbacks.remove(acc._callback)


@dataclass
class Section:
    """One section of the report: a title, an optional note, and a markdown table (or a line)."""

    title: str
    header: Sequence[str] = ()
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        if self.header:
            lines.append("| " + " | ".join(self.header) + " |")
            lines.append("|" + "|".join("---" for _ in self.header) + "|")
            lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
            lines.append("")
        lines += [f"{note}  " if i < len(self.notes) - 1 else note for i, note in enumerate(self.notes)]
        if self.notes:
            lines.append("")
        return "\n".join(lines)
