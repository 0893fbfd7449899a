"""`python -m benchmarks.tasks`: run the task suite per library, print the table, write RESULTS.md."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from benchmarks.tasks.report import per_task, table, write_section
from benchmarks.tasks.runners import RUNNERS, Measured, measure
from benchmarks.tasks.suite import SPLIT_SEED, TASKS, Task, halves

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "RESULTS.md"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tasks", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help='a zyx model spec ("local", "local:smollm2", '
                        '"local:<path.gguf>", "openai:...")')
    parser.add_argument("--tasks", default="", help="comma-separated task names or categories (default: all)")
    parser.add_argument("--split", choices=("all", "tune", "held_out"), default="all",
                        help=f"half of the suite (split by category with seed {SPLIT_SEED}): tune on one, report the other")
    parser.add_argument("--libraries", default=",".join(RUNNERS), help=f"comma-separated subset of {', '.join(RUNNERS)}")
    parser.add_argument("--max-calls", type=int, default=8, help="cap of model calls per task and library")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results file to update (its tasks section)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args(argv)


def select(spec: str, split: str = "all") -> list[Task]:
    """Tasks named (or of a category named) in a comma-separated list, of one half of the split; all for ''."""
    wanted = {w.strip() for w in spec.split(",") if w.strip()}
    pool = TASKS if split == "all" else halves(TASKS)[split]
    tasks = [t for t in pool if not wanted or t.name in wanted or t.category in wanted]
    if unknown := wanted - {t.name for t in TASKS} - {t.category for t in TASKS}:
        raise SystemExit(f"unknown tasks or categories: {', '.join(sorted(unknown))}")
    return tasks


async def suite(model: BaseChatModel, tasks: list[Task], libraries: list[str], max_calls: int,
                *, echo: bool = True) -> list[Measured]:
    """Every (library, task) once; libraries alternate task by task so machine load hits them alike."""
    runs: list[Measured] = []
    for task in tasks:
        for library in libraries:
            if task.zyx_only and library != "zyx":
                continue
            run = await measure(library, RUNNERS[library], task, model, max_calls)
            runs.append(run)
            if not echo:
                continue
            mark = "pass" if run.success else f"FAIL {run.error or ''}"
            print(f"{task.name:24} {library:13} {mark[:110]:110} calls={run.model_calls} "
                  f"prompt={run.prompt_tokens} completion={run.completion_tokens} {run.seconds:.1f}s", flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    libraries = [name.strip() for name in args.libraries.split(",") if name.strip()]
    if unknown := set(libraries) - set(RUNNERS):
        raise SystemExit(f"unknown libraries: {', '.join(sorted(unknown))}")
    tasks = select(args.tasks, args.split)
    started = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    from zyx._models import resolve_model

    runs = asyncio.run(suite(resolve_model(args.model), tasks, libraries, args.max_calls))
    summary = table(runs, libraries)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    command = " ".join(["python -m benchmarks.tasks", *(argv if argv is not None else sys.argv[1:])])
    body = (f"## Task success on a real model ({stamp})\n\n`{command}`: model `{args.model}`, {len(tasks)} tasks"
            f"{'' if args.split == 'all' else f' (the {args.split} half, split seed {SPLIT_SEED})'}, "
            f"at most {args.max_calls} model calls per task; {time.perf_counter() - started:.0f} s, load average "
            f"{load:.2f} at the start and {end_load:.2f} at the end (a shared machine: wall times are noisy, "
            f"success rates are what count). Every library drives the same chat model object; "
            f"`make()`-only tasks run for zyx alone.\n\n{summary}\n\n<details><summary>per task</summary>\n\n"
            f"{per_task(runs, libraries)}\n\n</details>\n")
    print("\n" + summary, flush=True)
    if not args.no_write:
        write_section(args.out, body)
        print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
