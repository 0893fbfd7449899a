"""BFCL figures as markdown: accuracy per category and library, what it cost, and how zyx finished."""

from __future__ import annotations

from collections import Counter

from benchmarks.bfcl.suite import Scored

MARKERS = ("<!-- bfcl:start -->", "<!-- bfcl:end -->")


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def table(results: list[Scored], categories: list[str], libraries: list[str]) -> str:
    """Accuracy per category (rows) and library (columns), then model calls and prompt tokens per entry."""
    head = ["category", *[f"{lib} accuracy" for lib in libraries], *[f"{lib} calls / prompt tok" for lib in libraries]]
    rows = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for category in categories:
        cells, costs = [], []
        for library in libraries:
            mine = [r for r in results if r.category == category and r.library == library]
            cells.append(_pct(sum(r.valid for r in mine), len(mine)))
            n = len(mine) or 1
            costs.append(f"{sum(r.model_calls for r in mine) / n:.1f} / {sum(r.prompt_tokens for r in mine) / n:.0f}"
                         if mine else "-")
        rows.append(f"| {category} | " + " | ".join(cells + costs) + " |")
    return "\n".join(rows)


def finishing(results: list[Scored], libraries: list[str]) -> str:
    """How the first turn ended, per library: irrelevance passes that declined vs. invented an answer, and
    parallel entries finished in the same turn after fewer calls than asked for."""
    lines = []
    for library in libraries:
        irrelevant = [r for r in results if r.library == library and r.category == "irrelevance"]
        if irrelevant:
            kinds = Counter(r.first_finish for r in irrelevant if r.valid)
            lines.append(f"- {library}, irrelevance passes by the first turn's finish: "
                         + (", ".join(f"{k}: {v}" for k, v in sorted(kinds.items(), key=str)) or "none"))
        parallel = [r for r in results if r.library == library and r.category.startswith("parallel")]
        if parallel:
            early = sum(1 for r in parallel if not r.valid and r.first_finish is not None and r.first_calls > 0)
            single = sum(1 for r in parallel if r.first_calls == 1)
            lines.append(f"- {library}, parallel categories: {single}/{len(parallel)} first turns made one call; "
                         f"{early} failed ones finished (or claimed an answer) in that same turn")
    return "\n".join(lines)


def errors(results: list[Scored], libraries: list[str]) -> str:
    """BFCL's error types of the failures, per library."""
    lines = []
    for library in libraries:
        kinds = Counter(r.error_type.split(":")[-1] for r in results if r.library == library and not r.valid)
        if kinds:
            lines.append(f"- {library}: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    return "\n".join(lines)


def per_entry(results: list[Scored], libraries: list[str]) -> str:
    """One row per entry: pass, or BFCL's error type, per library."""
    ids = list(dict.fromkeys(r.id for r in results))
    rows = ["| entry | " + " | ".join(libraries) + " |", "|---|" + "---|" * len(libraries)]
    for entry_id in ids:
        cells = []
        for library in libraries:
            r = next((r for r in results if r.id == entry_id and r.library == library), None)
            cells.append("" if r is None else "pass" if r.valid else r.error_type.split(":")[-1] or "fail")
        rows.append(f"| {entry_id} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
