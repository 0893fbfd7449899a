"""Benchmark: stream JSON tool-call arguments in 20-byte chunks through PartialJSONParser +
PartialTarget, reading the typed partial after every chunk, and check the cost stays linear.

Compared with the naive approach (pydantic_core.from_json(buffer, allow_partial=True) on the
whole buffer after every chunk, parsing only). Ratios use CPU time, steadier than wall time
on a shared machine. "one long string" streams a single str result: every read must build
the full text so far, so that case is O(n^2) in memory copying by nature.

Run: .venv/bin/python benchmarks/partial_parse.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zyx.stream._json import PartialJSONParser  # noqa: E402
from zyx.stream._partial import PartialTarget  # noqa: E402

CHUNK = 20
SIZES = {"1K": 1_000, "10K": 10_000, "100K": 100_000, "1M": 1_000_000}
BASELINE_SIZES = ("1K", "10K", "100K")
RUNS = 3


class Task(BaseModel):
    name: str
    priority: int
    status: Literal["todo", "doing", "done"]
    tags: list[str]


def sized(make_item: Any, size: int, **dump: Any) -> str:
    """The smallest `{"summary", "result": [items]}` document of at least `size` characters."""
    items: list[Any] = []
    length = 0
    while length < size:
        item = make_item(len(items))
        items.append(item)
        length += len(json.dumps(item, **dump)) + 4
    return json.dumps({"summary": "Streamed result", "result": items}, **dump)


def strings_doc(size: int) -> str:
    return sized(lambda i: f"Step {i}: run the tests and build the image \u00e9\n", size)


def objects_doc(size: int) -> str:
    statuses = ["todo", "doing", "done"]
    return sized(
        lambda i: {"name": f"task {i}", "priority": i % 5, "status": statuses[i % 3], "tags": ["a", f"t{i}"]},
        size,
        indent=1,
    )


def text_doc(size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        words.append(f"word {len(words)} \u00e9\n" if len(words) % 8 == 7 else f"word {len(words)} ")
        length += len(json.dumps(words[-1])) - 2
    return json.dumps({"summary": "One long text", "result": "".join(words)})


def chunks(doc: str) -> list[str]:
    return [doc[i : i + CHUNK] for i in range(0, len(doc), CHUNK)]


def stream(doc: str, target: Any) -> tuple[float, float, Any]:
    """Feed `doc` chunk by chunk, converting the partial `result` after every chunk;
    return wall and CPU seconds and the last partial."""
    parts = chunks(doc)
    parser, conv = PartialJSONParser(), PartialTarget(target)
    partial, seen = None, -1
    start, cpu = time.perf_counter(), time.process_time()
    for part in parts:
        parser.feed(part)
        if parser.value_version != seen:
            seen = parser.value_version
            value = parser.value
            if type(value) is dict and "result" in value:
                partial = conv.convert(value["result"], parser)
    return time.perf_counter() - start, time.process_time() - cpu, partial


def baseline(doc: str) -> float:
    """Naive: re-parse the whole buffer on every chunk."""
    buf = ""
    start = time.perf_counter()
    for part in chunks(doc):
        buf += part
        pydantic_core.from_json(buf, allow_partial=True)
    return time.perf_counter() - start


def report(name: str, make_doc: Any, target: Any) -> None:
    print(f"\n== {name} -> {target}, {CHUNK}-byte chunks, best of {RUNS} ==")
    print(f"{'size':>6} {'chunks':>7} {'wall s':>8} {'cpu s':>8} {'us/chunk':>9} {'naive s':>8} {'naive/ours':>10}")
    totals: dict[str, float] = {}
    for label, size in SIZES.items():
        doc = make_doc(size)
        n = len(chunks(doc))
        wall, cpu, result = stream(doc, target)
        for _ in range(RUNS - 1):  # keep no other run's result alive: a bigger heap slows the GC
            w, c, _ = stream(doc, target)
            wall, cpu = min(wall, w), min(cpu, c)
        expected = json.loads(doc)["result"]
        assert (
            result if isinstance(result, str) else [p.model_dump() if isinstance(p, BaseModel) else p for p in result]
        ) == expected
        totals[label] = cpu
        naive = baseline(doc) if label in BASELINE_SIZES else None
        cols = f"{naive:8.3f} {naive / wall:10.1f}" if naive is not None else f"{'-':>8} {'-':>10}"
        print(f"{label:>6} {n:>7} {wall:8.3f} {cpu:8.3f} {cpu / n * 1e6:9.2f} {cols}")
    labels = list(SIZES)
    ratios = ", ".join(f"{b}/{a} = {totals[b] / totals[a]:.1f}" for a, b in zip(labels, labels[1:]))
    print(f"cpu-time ratios: {ratios}")


def main() -> None:
    print(f"python {sys.version.split()[0]}, pydantic-core {pydantic_core.__version__}")
    report("list of strings", strings_doc, list[str])
    report("list of objects", objects_doc, list[Task])
    report("one long string", text_doc, str)


if __name__ == "__main__":
    main()
