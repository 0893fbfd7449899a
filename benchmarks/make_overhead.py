"""make()'s overhead per call, with a model that answers instantly, next to a run of the same work.

    python -m benchmarks.make_overhead [--reps 15 --runs 40]

Contenders (alternating, in one process): `amake` answering at once (1 model call), `amake` after one
tool call (2 model calls), and `arun` doing that same tool call then `complete_task` (2 model calls),
so make()'s figures read against a run's on the same machine and load. Then streamed: a 10 KB `list[str]`
answer in 20-character chunks, consumed with `apartial()`, by `amake(stream=True)` and `arun(stream=True)`.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from pydantic import BaseModel

import zyx
from benchmarks._harness import alternate
from zyx.testing import ScriptedChatModel, call, complete


class Todo(BaseModel):
    item: str
    priority: int


GOOD = {"item": "milk", "priority": 1}


def lookup(name: str) -> int:
    """Priority of an item."""
    return 1


def _answer_after(tool_turns: int, finish: Any) -> ScriptedChatModel:
    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        done = sum(1 for m in messages if m.type == "tool")
        return call("lookup", name="milk") if done < tool_turns else finish()

    return ScriptedChatModel(policy=policy)


async def main(reps: int, runs: int) -> None:
    direct = _answer_after(0, lambda: call("final_result", **GOOD))
    with_tool = _answer_after(1, lambda: call("final_result", **GOOD))
    run_model = _answer_after(1, lambda: complete(result=GOOD))
    contenders = {
        "amake, 1 model call": lambda: zyx.amake(Todo, "milk", model=direct),
        "amake, 1 tool call + answer": lambda: zyx.amake(Todo, "milk", model=with_tool, tools=[lookup]),
        "arun, 1 tool call + complete_task": lambda: zyx.arun("milk", Todo, model=run_model, tools=[lookup]),
    }
    _table(await alternate(contenders, reps=reps, runs=runs, warmup=20))
    steps = [f"release step {i:05d}.." for i in range(420)]  # about 10 KB of JSON
    made = ScriptedChatModel(policy=lambda m, t: call("final_result", result=steps), chunk_size=20)
    ran = ScriptedChatModel(policy=lambda m, t: complete(result=steps), chunk_size=20)

    async def consume(stream: Any) -> None:
        async for _ in (await stream).apartial():
            pass

    print()
    _table(await alternate({
        "amake(stream=True), 10 KB list[str]": lambda: consume(zyx.amake(list[str], "steps", model=made, stream=True)),
        "arun(stream=True), 10 KB list[str]": lambda: consume(zyx.arun("steps", list[str], model=ran, stream=True)),
    }, reps=max(3, reps // 3), runs=max(3, runs // 8), warmup=3))


def _table(results: dict[str, Any]) -> None:
    print("| contender | ms per call (median, min-max) | CPU ms per call |")
    print("|---|---|---|")
    for name, m in results.items():
        print(f"| {name} | {m.wall.median:.2f} ({min(m.wall.values):.2f}-{max(m.wall.values):.2f}) "
              f"| {m.cpu.median:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.reps, args.runs))
