"""Where does one zyx run's time go? Self time by package, and the costliest functions.

    python -m benchmarks.profile_run [--runs 300] [--tree]

Profiles the section-1 task (3 tool turns + completion, instant scripted model) with
pyinstrument when installed (sampling: little distortion), else cProfile. Self time is put
in buckets by source file: zyx's graph nodes, the rest of zyx, the scripted test model,
langchain-core by subpackage, LangGraph, pydantic, asyncio, and the event loop waiting
(select: time the main thread sat idle, e.g. waiting for a worker thread).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import pstats
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._task import ZyxContender, zyx_policy  # noqa: E402

IDLE = "event loop idle: waiting in select (e.g. for worker threads)"
THREADS = "handing work to worker threads (queue put, GIL hand-off)"
BUCKETS = (  # first match wins: (substring of the path, bucket)
    ("/zyx/testing.py", "scripted test model (zyx/testing.py)"),
    ("/zyx/graph/", "zyx graph nodes + routing (zyx/graph)"),
    ("/zyx/", "zyx other (run, outcome, tools, target)"),
    ("/benchmarks/", "benchmark harness"),
    ("/langchain_core/callbacks/", "langchain-core callbacks"),
    ("/langchain_core/tracers/", "langchain-core callbacks"),
    ("/langchain_core/messages/", "langchain-core messages"),
    ("/langchain_core/tools/", "langchain-core tools"),
    ("/langchain_core/language_models/", "langchain-core chat model"),
    ("/langchain_core/outputs/", "langchain-core chat model"),
    ("/langchain_core/runnables/", "langchain-core runnables/config"),
    ("/langchain_core/", "langchain-core other"),
    ("/langgraph/", "LangGraph"),
    ("/pydantic", "pydantic"),
    ("selectors.py", IDLE),
    ("epoll.poll", IDLE),
    ("select.epoll", IDLE),
    ("SimpleQueue.put", THREADS),
    ("'put' of '_queue.SimpleQueue'", THREADS),
    ("/concurrent/", THREADS),
    ("threading.py", THREADS),
    ("/asyncio/", "asyncio event loop"),
)
STDLIB = "stdlib / builtins"


def bucket(path: str) -> str:
    for needle, name in BUCKETS:
        if needle in path:
            return name
    if "site-packages" in path:
        return "other site-packages"
    return STDLIB


async def _runs(contender: ZyxContender, n: int) -> None:
    for _ in range(n):
        await contender()


def _pyinstrument(contender: ZyxContender, runs: int, tree: bool) -> tuple[dict[str, float], float, list[str]]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    asyncio.run(_runs(contender, runs))
    profiler.stop()
    session = profiler.last_session
    assert session is not None
    totals: dict[str, float] = defaultdict(float)
    by_function: dict[str, float] = defaultdict(float)

    def walk(frame: Any, inherited: str) -> Iterator[tuple[Any, str]]:
        """Frames with their bucket; stdlib/builtin frames count for the package that called them."""
        own = bucket(f"{frame.file_path or ''}:{frame.function or ''}")
        if own == STDLIB:
            own = inherited
        yield frame, own
        for child in frame.children:
            if not child.is_synthetic:  # synthetic "[self]"/"[await]" frames are in total_self_time
                yield from walk(child, own)

    root = session.root_frame()
    for frame, name in walk(root, STDLIB):
        path = frame.file_path or ""
        totals[name] += frame.total_self_time
        if "/zyx/" in path:
            by_function[f"{frame.function} ({path.split('/zyx/')[-1]}:{frame.line_no})"] += frame.total_self_time
    extra = [f"{t / runs * 1000:7.3f} ms  {name}" for name, t in sorted(by_function.items(), key=lambda kv: -kv[1])[:15]]
    if tree:
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return totals, session.duration, extra


def _cprofile(contender: ZyxContender, runs: int) -> tuple[dict[str, float], float, list[str]]:
    profile = cProfile.Profile()
    profile.enable()
    asyncio.run(_runs(contender, runs))
    profile.disable()
    stats = pstats.Stats(profile)
    totals: dict[str, float] = defaultdict(float)
    zyx_rows = []
    for (path, line, func), (_, _, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[bucket(f"{path}:{func}")] += tottime  # no call tree: builtins stay in their own bucket
        if "/zyx/" in path:
            zyx_rows.append((cumtime, f"{func} ({path.split('/zyx/')[-1]}:{line})"))
    extra = [f"{c / runs * 1000:7.3f} ms cum  {name}" for c, name in sorted(zyx_rows, reverse=True)[:15]]
    return totals, sum(totals.values()), extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    parser.add_argument("--cprofile", action="store_true", help="use cProfile even if pyinstrument is installed")
    args = parser.parse_args(argv)

    contender = ZyxContender(zyx_policy())
    asyncio.run(_runs(contender, 30))  # warm up: graph compiled and cached, imports done
    contender.reset()
    use_pyinstrument = importlib.util.find_spec("pyinstrument") is not None and not args.cprofile
    if use_pyinstrument:
        totals, duration, extra = _pyinstrument(contender, args.runs, args.tree)
        title = "pyinstrument (sampled wall time)"
    else:
        totals, duration, extra = _cprofile(contender, args.runs)
        title = "cProfile (deterministic, inflates call-heavy code)"
    print(f"# zyx.arun profile: {args.runs} runs, {title}: {duration / args.runs * 1000:.2f} ms/run\n")
    print("| self time in | ms/run | share |\n|---|---|---|")
    for name, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {t / args.runs * 1000:.3f} | {t / duration:.0%} |")
    print("\nzyx functions:\n" + "\n".join(extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
