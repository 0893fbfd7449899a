"""Plan mode vs the ReAct loop on one multi-tool task: 4 independent fetches, then a summary.

Every model call sleeps `MODEL_LATENCY` (ScriptedChatModel(latency=...)) and every fetch sleeps
`TOOL_LATENCY`, so what differs is how many model calls each mode needs and whether the fetches
overlap. Contenders:

- react, one call per turn: the classic loop (one fetch per model call, then complete_task);
- react, parallel calls:    all four fetches in one turn (parallel tool calling), then complete_task;
- plan, one round:          one submit_plan whose last step is complete_task (references the pages);
- plan, two rounds:         submit_plan with the fetches, look at the results, then complete_task.

Run: `python -m benchmarks.plan_vs_react` (or `python benchmarks/plan_vs_react.py`), add `--reps N`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zyx  # noqa: E402
from zyx.testing import ScriptedChatModel, call, calls, complete  # noqa: E402

MODEL_LATENCY = 0.05
TOOL_LATENCY = 0.10
URLS = ["https://a.example", "https://b.example", "https://c.example", "https://d.example"]
TASK = "Fetch the four pages and summarise them in one line each."
Policy = Callable[[list[Any], list[dict[str, Any]]], Any]


async def fetch(url: str) -> str:
    """Fetch a web page and return its text."""
    await asyncio.sleep(TOOL_LATENCY)
    return f"<text of {url}>"


def _turns(messages: list[Any]) -> int:
    return sum(isinstance(m, AIMessage) for m in messages)


def _summary(messages: list[Any]) -> str:
    pages = [m.content for m in messages if isinstance(m, ToolMessage)]
    return f"{len(pages)} tool results read"


def react_sequential(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
    """One fetch per model call, then complete_task."""
    turn = _turns(messages)
    return call("fetch", url=URLS[turn]) if turn < len(URLS) else complete(summary=_summary(messages))


def react_parallel(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
    """All fetches in one turn (parallel tool calling), then complete_task."""
    if _turns(messages) == 0:
        return calls(*(call("fetch", url=u) for u in URLS))
    return complete(summary=_summary(messages))


def _fetch_steps() -> list[dict[str, Any]]:
    return [{"id": f"p{i}", "tool": "fetch", "args": {"url": u}} for i, u in enumerate(URLS, 1)]


def plan_one_round(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
    """One plan: four fetches and a complete_task step that references them."""
    summary = " | ".join(f"${{p{i}}}" for i in range(1, len(URLS) + 1))
    done = {"id": "done", "tool": "complete_task", "args": {"summary": summary}}
    return call("submit_plan", steps=[*_fetch_steps(), done])


def plan_two_rounds(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
    """A plan with the fetches; after reading the results, complete_task."""
    if _turns(messages) == 0:
        return call("submit_plan", steps=_fetch_steps())
    return complete(summary=_summary(messages))


CONTENDERS: dict[str, tuple[Policy, bool]] = {
    "react, one call per turn": (react_sequential, False),
    "react, parallel calls": (react_parallel, False),
    "plan, one round": (plan_one_round, True),
    "plan, two rounds": (plan_two_rounds, True),
}


@dataclass
class Measured:
    model_calls: int
    tool_calls: int
    wall: list[float]


async def _once(policy: Policy, plan: bool) -> tuple[int, int, float]:
    model = ScriptedChatModel(policy=policy, latency=MODEL_LATENCY)
    options: dict[str, Any] = {"plan": True, "planning_interval": 8} if plan else {}
    started = time.perf_counter()
    result = await zyx.arun(TASK, tools=[fetch], model=model, max_steps=10, **options)
    wall = time.perf_counter() - started
    assert result.termination == "completed" and len(result.tool_calls) == len(URLS), result
    return len(model.calls), len(result.tool_calls), wall


async def measure(reps: int) -> dict[str, Measured]:
    """Every contender `reps` times, alternating (plus one warm-up each, not timed)."""
    for policy, plan in CONTENDERS.values():
        await _once(policy, plan)
    measured: dict[str, Measured] = {}
    for _ in range(reps):
        for name, (policy, plan) in CONTENDERS.items():
            model_calls, tool_calls, wall = await _once(policy, plan)
            entry = measured.setdefault(name, Measured(model_calls, tool_calls, []))
            entry.wall.append(wall)
    return measured


def report(measured: dict[str, Measured], reps: int) -> str:
    """A markdown table: model calls, tool calls, median wall time and the ratio to the ReAct loop."""
    base = statistics.median(next(iter(measured.values())).wall)
    lines = [
        f"Task: {len(URLS)} independent fetches + a summary; model call {MODEL_LATENCY * 1000:.0f} ms, "
        f"fetch {TOOL_LATENCY * 1000:.0f} ms; median of {reps} runs (min–max).",
        "",
        "| contender | model calls | tool calls | wall ms | speed-up vs react, one call per turn |",
        "|---|---|---|---|---|",
    ]
    for name, m in measured.items():
        median = statistics.median(m.wall)
        lines.append(f"| {name} | {m.model_calls} | {m.tool_calls} | {median * 1000:.0f} "
                     f"({min(m.wall) * 1000:.0f}–{max(m.wall) * 1000:.0f}) | {base / median:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="timed runs per contender (default 5)")
    args = parser.parse_args(argv)
    print(report(asyncio.run(measure(args.reps)), args.reps))


if __name__ == "__main__":
    main()
