"""Run the zyx benchmark suite, print the table, and write it (with the machine) to a results file.

    python -m benchmarks                # full run (~5 min on 2 cores), writes benchmarks/RESULTS.md
    python -m benchmarks --quick --out /tmp/r.md    # tiny sizes, for the smoke test
    python benchmarks/run_all.py --only overhead,build

Sections: overhead, calls, concurrency, streaming, build.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/run_all.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECTIONS = ("overhead", "calls", "concurrency", "streaming", "build")
DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds, for the smoke test)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results file (default: {DEFAULT_OUT.name} beside this script in full mode; "
                        "none in --quick mode)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    if args.out is None and not args.quick:
        args.out = DEFAULT_OUT
    return args


async def _suite(args: argparse.Namespace) -> list[str]:
    from benchmarks import concurrency, graph_build, model_calls, overhead, streaming
    from benchmarks._harness import Config

    cfg = Config.make(args.quick)
    blocks: list[str] = []

    def emit(markdown: str) -> None:
        print(markdown, flush=True)
        blocks.append(markdown)


    run_ms = None
    if "overhead" in args.only:
        sections, data = await overhead.measure(cfg)
        run_ms = data["zyx_ms"]
        for section in sections:
            emit(section.markdown())
    if "calls" in args.only:
        emit((await model_calls.measure(cfg))[0].markdown())
    if "concurrency" in args.only:
        emit((await concurrency.measure(cfg))[0].markdown())
    if "streaming" in args.only:
        emit((await streaming.measure(cfg))[0].markdown())
    if "build" in args.only:
        emit((await graph_build.measure(cfg, run_ms))[0].markdown())
    return blocks


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):  # no network, no tracer cost
        os.environ.pop(name, None)
    from benchmarks import machine

    started = time.perf_counter()
    mode = "quick" if args.quick else "full"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = f"; load average {os.getloadavg()[0]:.2f} at the start" if hasattr(os, "getloadavg") else ""
    head = f"# zyx benchmarks ({mode} mode, {stamp}{load})\n"
    print(head, flush=True)
    blocks = asyncio.run(_suite(args))
    load = f", load average {os.getloadavg()[0]:.2f} at the end" if hasattr(os, "getloadavg") else ""
    tail = f"Suite took {time.perf_counter() - started:.0f} s{load}.\n"
    print(tail, flush=True)
    about = machine.describe()
    print(about, flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        from benchmarks.bfcl.report import MARKERS as BFCL_MARKERS
        from benchmarks.tasks.report import kept_section

        # the sections `python -m benchmarks.tasks` and `python -m benchmarks.bfcl` write stay as they are
        kept = [s + "\n" for s in (kept_section(args.out), kept_section(args.out, BFCL_MARKERS)) if s]
        args.out.write_text("\n".join([head, *blocks, tail, about, *kept]), encoding="utf-8")
        print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
