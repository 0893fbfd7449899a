"""BFCL figures as markdown: accuracy per category and library, what it cost, and how zyx finished."""

from __future__ import annotations

import math
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


def mcnemar(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value of paired pass/fail outcomes: how likely a split of the discordant
    entries at least this uneven is when neither library is better."""
    n, k = only_a + only_b, min(only_a, only_b)
    return min(1.0, 2 * sum(math.comb(n, j) for j in range(k + 1)) / 2 ** n) if n else 1.0


def paired(results: list[Scored], categories: list[str], libraries: list[str], base: str = "zyx") -> str:
    """Per category and peer: entries only `base` passed, entries only the peer passed, and McNemar's p
    (a small sample of a 0.5B model flips answers on any prompt change: is a difference more than that?)."""
    lines = []
    passed = {(r.category, r.library, r.id): r.valid for r in results}
    for peer in [lib for lib in libraries if lib != base] if base in libraries else []:
        cells = []
        for category in categories:
            ids = {i for (c, lib, i) in passed if c == category and lib == base}
            ids &= {i for (c, lib, i) in passed if c == category and lib == peer}
            if not ids:
                continue
            mine = sum(passed[category, base, i] and not passed[category, peer, i] for i in ids)
            theirs = sum(passed[category, peer, i] and not passed[category, base, i] for i in ids)
            cells.append(f"{category} {mine} vs {theirs} (p={mcnemar(mine, theirs):.2f})")
        if cells:
            lines.append(f"- {base} vs {peer}, entries only one passed: " + "; ".join(cells))
    return "\n".join(lines)


def finishing(results: list[Scored], libraries: list[str]) -> str:
    """How the scored turn ended, per library: irrelevance passes that declined vs. invented an answer, and
    parallel entries finished in the same turn after fewer calls than asked for."""
    lines = []
    for library in libraries:
        irrelevant = [r for r in results if r.library == library and r.category == "irrelevance"]
        if irrelevant:
            kinds = Counter(r.first_finish for r in irrelevant if r.valid)
            lines.append(f"- {library}, irrelevance passes by the scored turn's finish: "
                         + (", ".join(f"{k}: {v}" for k, v in sorted(kinds.items(), key=str)) or "none"))
        later = [r for r in results if r.library == library and r.scored_reply > 0 and r.first_valid is not None]
        if later:
            lines.append(f"- {library}: {len(later)} entries scored on a later reply, the first not acted on "
                         f"(validation error, zyx's look at invented values); {sum(r.valid for r in later)} of them "
                         f"pass, {sum(bool(r.first_valid) for r in later)} would pass on the first reply")
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
