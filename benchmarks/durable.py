"""What durability costs per run: the same scripted 3-tool run with no checkpointer, with InMemorySaver and
with SqliteSaver (a file), sequentially; median ms per run and the ratio to the plain run.

    PYTHONPATH=$PWD python benchmarks/durable.py [--runs N]

With a checkpointer every superstep is checkpointed (durability "sync") and every tool call is journaled
(recorded as started before it runs and finished after: zyx.graph.journal), so it is the number to watch
when the no-silent-re-run mechanism changes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zyx
from benchmarks._task import RESULT, TASK, TOOLS, Report, zyx_policy
from zyx.testing import ScriptedChatModel


async def _median_ms(runs: int, saver: Any) -> float:
    model = ScriptedChatModel(policy=zyx_policy(3))
    times = []
    for i in range(runs + 3):
        options: dict[str, Any] = {"checkpointer": saver, "thread_id": f"t{i}"} if saver is not None else {}
        t0 = time.perf_counter()
        result = await zyx.arun(TASK, Report, tools=TOOLS, model=model, **options)
        times.append(time.perf_counter() - t0)
        assert result.output == Report(**RESULT)
        model._calls.clear()
    return statistics.median(times[3:]) * 1000


async def main(runs: int) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    rows = [("no checkpointer", await _median_ms(runs, None)), ("InMemorySaver", await _median_ms(runs, InMemorySaver()))]
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver
    except ImportError:
        print("(langgraph-checkpoint-sqlite not installed: SQLite skipped)")
    else:
        with tempfile.TemporaryDirectory() as tmp, SqliteSaver.from_conn_string(str(Path(tmp) / "b.sqlite")) as saver:
            rows.append(("SqliteSaver (file)", await _median_ms(runs, saver)))
    base = rows[0][1]
    print(f"{'checkpointer':<22}{'median ms/run':>15}{'x plain':>10}")
    for name, ms in rows:
        print(f"{name:<22}{ms:>15.2f}{ms / base:>10.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    asyncio.run(main(parser.parse_args().runs))
