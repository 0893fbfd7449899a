"""`zyx batch TASKS.jsonl --out RESULTS.jsonl`: run every task of a JSONL file, in-process (durable: an SQLite
checkpointer beside --out) or on an Agent Server (`--server URL`), one JSON line per task as it ends.

Input: one task per line, a JSON string or an object with `task` and optionally `id`, `context`, `source`,
`deps`, `attachments` (and, in-process, any option of `run()`). A task's id is its `id`, else its line number.
Results: `{"id", "status", "summary", "output", "termination", "usage", "error", ...}` per task, written (and
flushed) when it ends, so memory stays flat. Run again with the same --out, it skips the tasks already in
it and resumes those that were in flight. A malformed line stops the batch before anything runs (every bad
line is reported with its number); `--skip-bad-lines` reports and skips them instead.

zyx.cli registers the command; this module imports zyx.cli's exit statuses only when the command runs.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from zyx._batch_io import BadLine, Line, outcome_line, read_lines, recorded_ids
from zyx._cli_import import parse_target, parse_tools
from zyx._cli_types import UsageError

BATCH_HELP = """\
Run every task of TASKS (a JSONL file: one JSON string or {"task": ..., "id": ...} per line) and write one JSON line per task to --out as it ends: id, status, summary, output, termination, usage, error.

Durable by default: each task runs on its own thread of an SQLite checkpointer beside --out, so after a crash or Ctrl-C the same command skips the tasks already in --out and resumes those in flight (a tool call that had started is not run again unless its tool is idempotent: docs/batch.md). With --server URL the tasks run on an Agent Server (Aegra, LangSmith Deployment, `langgraph dev`) instead.
"""

CHECKPOINTS_SUFFIX = ".checkpoints.sqlite"


@dataclass
class Tally:
    """What the progress display shows."""

    total: int
    done: int = 0
    failed: int = 0
    running: int = 0
    started: float = field(default_factory=time.perf_counter)


class Display:
    """A Rich progress bar on a terminal; one plain line per ended task otherwise (stderr)."""

    def __init__(self, console: Console, tally: Tally, *, quiet: bool) -> None:
        self.console, self.tally, self.quiet = console, tally, quiet
        self.bar: Progress | None = None
        if console.is_terminal and not quiet:
            self.bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("[red]{task.fields[failed]} failed[/] · {task.fields[running]} running · "
                                           "{task.fields[rate]}/s"),
                                TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(), console=console)
            self.task = self.bar.add_task("batch", total=tally.total, failed=0, running=0, rate="0.0")

    def __enter__(self) -> Display:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, ended: dict[str, Any] | None = None) -> None:
        t = self.tally
        rate = t.done / max(time.perf_counter() - t.started, 1e-9)
        if self.bar is not None:
            self.bar.update(self.task, completed=t.done, failed=t.failed, running=t.running, rate=f"{rate:.1f}")
        elif ended is not None and not self.quiet:
            self.console.print(f"[{t.done}/{t.total}] {ended['id']}: {ended['status']} ({ended.get('seconds')} s) "
                               f"· {t.failed} failed · {t.running} running · {rate:.1f}/s", highlight=False,
                               soft_wrap=True, markup=False)

    def warn(self, text: str) -> None:
        self.console.print(Text(text, style="yellow"), soft_wrap=True, highlight=False)


async def in_process(lines: Iterator[Line], tally: Tally, options: dict[str, Any], target: Any, concurrency: int,
                     checkpoints: Path | None) -> AsyncIterator[dict[str, Any]]:
    """Run the tasks here (`zyx.batch`), durable on an SQLite file unless `checkpoints` is None."""
    from zyx.batch import iter_batch

    started: dict[int, tuple[str, float]] = {}

    def tasks() -> Iterator[dict[str, Any]]:
        for index, line in enumerate(lines):
            started[index] = (line.id, time.perf_counter())
            tally.running += 1
            yield {**line.arguments, "thread_id": line.id} if checkpoints is not None else line.arguments

    async def run(saver: Any) -> AsyncIterator[dict[str, Any]]:
        durable = {"checkpointer": saver} if saver is not None else {}
        async for index, outcome in iter_batch(tasks(), target, concurrency=concurrency, **options, **durable):
            task_id, t0 = started.pop(index)
            tally.running -= 1
            yield outcome_line(task_id, outcome, time.perf_counter() - t0)

    if checkpoints is None:
        async for line in run(None):
            yield line
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(str(checkpoints)) as saver:
        # WAL (set by the saver) without an fsync per commit: what a killed batch needs (a commit is in the
        # OS's hands at once); only an OS crash could lose the last few steps, which then run again
        saver.conn.execute("PRAGMA synchronous=NORMAL")
        async for line in run(saver):
            yield line


def _write(f: Any, line: dict[str, Any]) -> None:
    f.write(json.dumps(line, ensure_ascii=False, default=repr) + "\n")
    f.flush()  # in the OS's hands: a killed batch loses no ended task


async def drive(source: AsyncIterator[dict[str, Any]], out: Path, display: Display) -> int:
    """Write each ended task's line; the exit status (0: every task succeeded)."""
    from zyx.cli import EXIT_NOT_SUCCESS, EXIT_SUCCESS

    code = EXIT_SUCCESS
    with out.open("a", encoding="utf-8") as f, display:
        display.update()
        async for line in source:
            _write(f, line)
            display.tally.done += 1
            if line["status"] != "success":
                display.tally.failed += 1
                code = EXIT_NOT_SUCCESS
            display.update(line)
    return code


def batch_command(
    tasks_file: Annotated[Path, typer.Argument(metavar="TASKS.jsonl", help="One task per line: a JSON string, or "
                                                "{\"task\": ..., \"id\": ..., \"context\": ..., \"source\": ...}.",
                                               show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="RESULTS.jsonl",
                                      help="Where each task's result line goes (appended; tasks already in it are "
                                           "skipped).", show_default=False)],
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", metavar="N", min=1,
                                             help="Runs at once.")] = 8,
    tool: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007 (Typer needs Optional on 3.11)
        "--tool", "-t", metavar="MODULE:FUNCTION", help="A tool (as for `zyx run`); with --server, the name of a "
        "tool the server's graph offers.", show_default=False)] = None,
    target: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--target", metavar="TYPE", help="The type of every result (as for `zyx run`).", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", metavar="PROVIDER:NAME", help="The chat model (as for `zyx run`).", show_default=False)] = None,
    max_steps: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--max-steps", metavar="N", min=0, help="Most tool calls per run.", show_default=False)] = None,
    timeout: Annotated[Optional[float], typer.Option(  # noqa: UP007
        "--timeout", metavar="SECONDS", min=0, help="Seconds per run.", show_default=False)] = None,
    idempotent: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--idempotent", metavar="TOOL", help="A tool that may simply run again if a run is resumed mid-call.",
        show_default=False)] = None,
    skip_bad_lines: Annotated[bool, typer.Option(
        "--skip-bad-lines", metavar="", help="Report malformed lines and run the others (default: stop before "
        "running anything).")] = False,
    durable: Annotated[bool, typer.Option(
        "--durable/--no-durable", metavar="", help="Keep each run's checkpoints in RESULTS.jsonl"
        f"{CHECKPOINTS_SUFFIX}, so a killed batch resumes its runs in flight.")] = True,
    server: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--server", metavar="URL", help="Run the tasks on this Agent Server (langgraph-sdk) instead of here.",
        show_default=False)] = None,
    graph: Annotated[str, typer.Option("--graph", metavar="NAME", help="With --server: the graph (assistant) to run.")] = "run",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress on stderr.")] = False,
) -> None:
    """Run every task of TASKS.jsonl (see BATCH_HELP)."""
    from zyx.cli import EXIT_INTERRUPTED, EXIT_USAGE

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = _batch(tasks_file, out, concurrency=concurrency, tool=tool, target=target, model=model,
                      max_steps=max_steps, timeout=timeout, idempotent=idempotent, skip_bad_lines=skip_bad_lines,
                      durable=durable, server=server, graph=graph, err=err, quiet=quiet)
    except UsageError as exc:
        err.print(Text.assemble(("zyx: error: ", "bold red"), str(exc)), soft_wrap=True, highlight=False)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        err.print(Text("zyx: interrupted (run the same command again to resume)", style="bold red"))
        code = EXIT_INTERRUPTED
    raise typer.Exit(code)


def _batch(tasks_file: Path, out: Path, *, concurrency: int, tool: list[str] | None, target: str | None,
           model: str | None, max_steps: int | None, timeout: float | None, idempotent: list[str] | None,
           skip_bad_lines: bool, durable: bool, server: str | None, graph: str, err: Console, quiet: bool) -> int:
    from zyx.cli import EXIT_NOT_SUCCESS, EXIT_SUCCESS
    from zyx.errors import ConfigurationError

    if not tasks_file.is_file():
        raise UsageError("TASKS.jsonl", f"no such file: {tasks_file}")
    if out.resolve() == tasks_file.resolve():
        raise UsageError("--out", "must not be the tasks file")
    bad = [entry for entry in read_lines(tasks_file, server=server is not None) if isinstance(entry, BadLine)]
    for entry in bad:
        err.print(Text(f"{tasks_file}:{entry.number}: {entry.message}", style="yellow" if skip_bad_lines else "red"),
                  soft_wrap=True, highlight=False)
    if bad and not skip_bad_lines:
        raise UsageError(str(tasks_file), f"{len(bad)} malformed line(s), nothing was run (fix them, or pass "
                         "--skip-bad-lines to run the others)")
    done = recorded_ids(out)
    todo = sum(1 for e in read_lines(tasks_file, server=server is not None) if isinstance(e, Line) and e.id not in done)
    if done and not quiet:
        err.print(f"zyx: {len(done)} task(s) already in {out}: skipped", highlight=False)
    lines = (e for e in read_lines(tasks_file, server=server is not None) if isinstance(e, Line) and e.id not in done)
    tally = Tally(total=todo)
    display = Display(err, tally, quiet=quiet)
    try:
        if server is not None:
            from zyx._cli_server import server_source

            source = server_source(server, graph, lines, tally, out, concurrency=concurrency, settings=_server_settings(
                tool=tool, target=target, model=model, max_steps=max_steps, timeout=timeout))
        else:
            options: dict[str, Any] = {"tools": parse_tools(tool)}
            for name, value in (("model", model), ("max_steps", max_steps), ("timeout", timeout),
                                ("idempotent", idempotent)):
                if value is not None:
                    options[name] = value
            checkpoints = out.with_name(out.name + CHECKPOINTS_SUFFIX) if durable else None
            source = in_process(lines, tally, options, parse_target(target), concurrency, checkpoints)
        code = asyncio.run(drive(source, out, display))
    except ConfigurationError as exc:
        raise UsageError(exc.argument, str(exc).removeprefix(f"{exc.argument}: ")) from None
    return EXIT_NOT_SUCCESS if bad and code == EXIT_SUCCESS else code


def _server_settings(*, tool: list[str] | None, target: str | None, model: str | None, max_steps: int | None,
                     timeout: float | None) -> dict[str, Any]:
    """The run `context` the server graph reads its settings from (graphs/_studio.py)."""
    settings: dict[str, Any] = {}
    if tool:
        settings["tools"] = [name for spec in tool for name in spec.split(",")]
    if target is not None:
        from pydantic import TypeAdapter

        settings["target_schema"] = TypeAdapter(parse_target(target)).json_schema()
    for name, value in (("model", model), ("max_steps", max_steps), ("timeout", timeout)):
        if value is not None:
            settings[name] = value
    return settings

