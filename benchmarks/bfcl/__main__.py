"""`python -m benchmarks.bfcl`: BFCL entries through zyx and its peers on one model, scored by BFCL's checkers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bfcl.data import CATEGORIES, INSTALL_HINT, MULTI_TURN, available, load
from benchmarks.bfcl.report import MARKERS, errors, finishing, paired, per_entry, table
from benchmarks.bfcl.runners import LIBRARIES
from benchmarks.bfcl.suite import Scored, score
from benchmarks.tasks.report import write_section

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "RESULTS.md"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bfcl", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help='a zyx model spec ("local", "local:smollm2", "openai:...")')
    parser.add_argument("--sample", type=int, default=25, help="entries per category (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--categories", default=",".join(CATEGORIES), help=f"subset of {', '.join(CATEGORIES)}")
    parser.add_argument("--libraries", default="zyx,create_agent", help=f"subset of {', '.join(LIBRARIES)}")
    parser.add_argument("--max-calls", type=int, default=3,
                        help="model replies per AST entry before the run is stopped (BFCL scores the first reply "
                             "acted on; the run stops once a reply's calls ran)")
    parser.add_argument("--multi-turn-calls", type=int, default=6, help="model calls per user turn of multi_turn_base")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results file to update (its BFCL section)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--log", type=Path, help="also write every scored entry (with its first reply) as JSON lines, each as soon as it is scored")
    parser.add_argument("--from-log", type=Path, action="append", default=[],
                        help="run nothing: report the entries of these --log files (a later file wins per entry and "
                        "library), e.g. to join runs made at different times")
    parser.add_argument("--ids", default="", help="only these entry ids of the sample (comma-separated)")
    parser.add_argument("--note", default="", help="a line to add under the command in RESULTS.md (say how logs were made)")
    return parser.parse_args(argv)


def from_logs(paths: list[Path], categories: list[str], libraries: list[str]) -> list[Scored]:
    """The scored entries of `--log` files, of the categories and libraries asked for (a later file wins)."""
    kept: dict[tuple[str, str], Scored] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = Scored(**json.loads(line))
            if record.category in categories and record.library in libraries:
                kept[(record.id, record.library)] = record
    return list(kept.values())


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    # the stop after the scored replies is an exception from our callback, which LangChain also logs
    logging.getLogger("langchain_core.callbacks.manager").setLevel(logging.ERROR)
    if not available():
        raise SystemExit(f"bfcl-eval is not installed: {INSTALL_HINT}")
    categories = [c.strip() for c in args.categories.split(",") if c.strip()]
    libraries = [lib.strip() for lib in args.libraries.split(",") if lib.strip()]
    if unknown := (set(categories) - set(CATEGORIES)) | (set(libraries) - set(LIBRARIES)):
        raise SystemExit(f"unknown categories or libraries: {', '.join(sorted(unknown))}")
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    if args.from_log:
        results = from_logs(args.from_log, categories, libraries)
    else:
        from zyx._models import resolve_model

        entries = [e for c in categories for e in load(c, args.sample or None, args.seed)]
        if wanted := {i.strip() for i in args.ids.split(",") if i.strip()}:
            entries = [e for e in entries if e.id in wanted]
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(args.log.open("w", encoding="utf-8")) if args.log is not None else None

            def logged(result: Scored) -> None:  # each result as it comes: a stopped run keeps what it did
                if log is not None:
                    log.write(json.dumps(dataclasses.asdict(result), default=str) + "\n")
                    log.flush()

            results = asyncio.run(score(entries, libraries, resolve_model(args.model), args.max_calls,
                                        args.multi_turn_calls, on_result=logged))
    if args.from_log and args.log is not None:
        args.log.write_text("".join(json.dumps(dataclasses.asdict(r), default=str) + "\n" for r in results),
                            encoding="utf-8")
    summary = table(results, categories, libraries)
    command = " ".join(["python -m benchmarks.bfcl", *(argv if argv is not None else sys.argv[1:])])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"## BFCL on a real model ({stamp})\n\n`{command}`: model `{args.model}`, {args.sample or 'all'} entries "
            f"per category drawn with seed {args.seed}; the AST categories score the first model turn acted on (whose calls ran, else the last) with BFCL's AST "
            f"checker (at most {args.max_calls} model call(s) per entry); {MULTI_TURN} runs every user turn on one "
            f"thread with BFCL's API classes as tools (at most {args.multi_turn_calls} calls per turn) and BFCL's "
            f"multi-turn checker. Every library drives the same chat model object. {time.perf_counter() - started:.0f} s, "
            f"load average {load_start:.2f} at the start and {os.getloadavg()[0]:.2f} at the end."
            f"{' ' + args.note if args.note else ''}\n\n{summary}\n\n"
            f"Paired, on the same entries (exact McNemar p; above 0.05 this sample shows no difference between the "
            f"libraries):\n{paired(results, categories, libraries)}\n\n"
            f"How the scored turn finished:\n{finishing(results, libraries)}\n\nBFCL error types of the failures:\n"
            f"{errors(results, libraries)}\n\n<details><summary>per entry</summary>\n\n{per_entry(results, libraries)}"
            f"\n\n</details>\n")
    print("\n" + body, flush=True)
    if not args.no_write:
        write_section(args.out, body, MARKERS)
        print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
