"""The files of `zyx batch`: tasks read from a JSONL file one line at a time (each checked, ids unique) and
result lines (from a `RunResult`, an exception, or a server run's final state), and which tasks a results
file already records as ended."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENDED = frozenset({"success", "failed", "skipped", "error", "interrupted"})
"""The statuses of a result line: every one means the task ended (a re-run skips it)."""


@dataclass
class Line:
    """One task read from the input file."""

    number: int
    id: str
    arguments: dict[str, Any]


@dataclass
class BadLine:
    number: int
    message: str


def read_lines(path: Path, *, server: bool) -> Iterator[Line | BadLine]:
    """The input file's tasks, one at a time (blank lines ignored), each checked; ids must be unique."""
    from zyx.batch import task_arguments
    from zyx.errors import ConfigurationError

    seen: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield BadLine(number, f"not JSON: {exc.msg} (column {exc.colno})")
                continue
            if isinstance(item, dict):
                item = dict(item)
                task_id = item.pop("id", None)
            else:
                task_id = None
            if task_id is not None and (isinstance(task_id, bool) or not isinstance(task_id, (str, int)) or task_id == ""):
                yield BadLine(number, f"\"id\" must be a non-empty string or an integer, got {task_id!r}")
                continue
            task_id = str(task_id) if task_id is not None else str(number)
            try:
                arguments = task_arguments(item, number)
                if isinstance(item, dict) and "thread_id" in item:
                    raise ConfigurationError("thread_id", "is set by zyx batch (one thread per task id)")
                if isinstance(item, dict) and "target" in item:
                    raise ConfigurationError("target", "is the same for every task: give it with --target")
                if server and set(arguments) - {"task", "context", "source"}:
                    raise ConfigurationError(sorted(set(arguments) - {"task", "context", "source"})[0],
                                             "with --server a line may only give task, context and source")
            except ConfigurationError as exc:
                yield BadLine(number, str(exc).removeprefix(f"tasks[{number}]: "))
                continue
            if task_id in seen:
                yield BadLine(number, f"duplicate id {task_id!r}")
                continue
            seen.add(task_id)
            yield Line(number, task_id, arguments)


def recorded_ids(out: Path) -> set[str]:
    """The ids of tasks already recorded as ended in --out. A last line cut short (the batch was killed while
    writing it) is removed, so the file stays valid JSONL."""
    if not out.exists():
        return set()
    ids: set[str] = set()
    good = 0
    with out.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                entry = json.loads(raw)
            except ValueError:
                break
            good += len(raw)
            if isinstance(entry, dict) and entry.get("status") in ENDED and "id" in entry:
                ids.add(str(entry["id"]))
    if good < out.stat().st_size:
        with out.open("r+b") as f:
            f.truncate(good)
    return ids


def outcome_line(task_id: str, outcome: Any, seconds: float) -> dict[str, Any]:
    """A result line for an in-process run's outcome (`RunResult` or exception)."""
    from zyx._cli_output import error_json, result_json
    from zyx.result import RunResult

    if isinstance(outcome, RunResult):
        line = {"id": task_id, **result_json(outcome, seconds), "error": None}
        for entry, record in zip(line["tool_calls"], outcome.tool_calls):
            if record.may_have_run:
                entry["may_have_run"] = True
        if outcome.interrupted:
            line["status"] = "interrupted"
            line["pending"] = [{"id": p.id, "name": p.name, "args": p.args, "may_have_run": p.may_have_run}
                               for p in outcome.pending]
        return line
    return {"id": task_id, **error_json(outcome, seconds)}


def state_line(task_id: str, values: dict[str, Any], seconds: float) -> dict[str, Any]:
    """A result line from a server run's final state values."""
    completion = values.get("completion") or {}
    error = values.get("error")
    interrupted = bool(values.get("__interrupt__"))
    status = "interrupted" if interrupted else "error" if error or not completion else completion.get("status")
    return {"id": task_id, "status": status, "summary": completion.get("summary"), "output": completion.get("result"),
            "termination": values.get("termination"), "verified": values.get("verified"),
            "tool_calls": [{k: c.get(k) for k in ("name", "args", "output", "error", "duration")}
                           for c in values.get("tool_calls") or []],
            "usage": values.get("usage") or {}, "seconds": round(seconds, 3),
            "error": {"type": error.get("kind"), "message": error.get("message"), "errors": error.get("errors", [])}
            if error else None}
