"""Per-library figures from measured runs, as a markdown table, and its own section of RESULTS.md."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.tasks.runners import Measured

START, END = "<!-- tasks:start -->", "<!-- tasks:end -->"


def table(runs: list[Measured], libraries: list[str]) -> str:
    """Success rate, model calls, tokens per task and per success, and wall time, one row per library.

    Prompt tokens per success are given both ways: every prompt token spent (failures included)
    divided by the successes, what one success costs; and the mean over the successful tasks alone,
    which depends on which tasks a library solves.
    """
    rows = ["| library | success | model calls / task | prompt tok / task | completion tok / task "
            "| prompt tok spent / success | prompt tok / successful task | wall s / task |",
            "|---|---|---|---|---|---|---|---|"]
    for library in libraries:
        mine = [r for r in runs if r.library == library]
        if not mine:
            continue
        won = [r for r in mine if r.success]
        n = len(mine)
        per_success = f"{sum(r.prompt_tokens for r in won) / len(won):.0f}" if won else "-"
        spent = f"{sum(r.prompt_tokens for r in mine) / len(won):.0f}" if won else "-"
        rows.append(f"| {library} | {len(won)}/{n} ({100 * len(won) / n:.0f}%) | {sum(r.model_calls for r in mine) / n:.1f} "
                    f"| {sum(r.prompt_tokens for r in mine) / n:.0f} | {sum(r.completion_tokens for r in mine) / n:.0f} "
                    f"| {spent} | {per_success} | {sum(r.seconds for r in mine) / n:.1f} |")
    return "\n".join(rows)


def per_task(runs: list[Measured], libraries: list[str]) -> str:
    """One row per task: pass/fail per library (with the error kind on failures)."""
    names = list(dict.fromkeys(r.task for r in runs))
    rows = ["| task | " + " | ".join(libraries) + " |", "|---|" + "---|" * len(libraries)]
    for name in names:
        cells = []
        for library in libraries:
            run = next((r for r in runs if r.task == name and r.library == library), None)
            cells.append("" if run is None else "pass" if run.success else
                         "fail" + (f" ({run.error.split(':')[0]})" if run.error else ""))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_section(path: Path, body: str, markers: tuple[str, str] = (START, END)) -> None:
    """Put `body` between a benchmark's markers in `path`, leaving every other section as it is."""
    start, end = markers
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n".lstrip()
    path.write_text(text, encoding="utf-8")


def kept_section(path: Path, markers: tuple[str, str] = (START, END)) -> str | None:
    """A benchmark's section of `path`, if any (so a rewrite of the file can keep it)."""
    if not path.exists():
        return None
    start, end = markers
    match = re.search(re.escape(start) + ".*?" + re.escape(end), path.read_text(encoding="utf-8"), re.S)
    return match.group(0) if match else None
