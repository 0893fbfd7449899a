"""Section 4: streaming partial targets (`zyx.arun(..., stream=True)` + `apartial()`).

A scripted model streams a `complete_task` call whose `result` is 1 / 10 / 100 KB of JSON, in
20-byte chunks of arguments JSON built once and replayed (so producing a chunk costs the model
next to nothing). Two target shapes: `list[str]` of 20-character items (the typical case), and
a model with one long `str` field (the worst case: every partial carries the whole text so far).

Contenders per rep, alternating (the pieces of `benchmarks.stream_latency`), CPU time each:
- raw: the model's own `astream()` of the chunks (LangChain's callbacks and chunk merging);
- plain: the same run not streamed (the graph's fixed cost);
- graph: the run graph driven with `astream(stream_mode=["messages","tasks","values"])`,
  nothing done with what it yields (what LangGraph's streaming of the run costs);
- zyx: `arun(..., stream=True)`, every partial consumed with `apartial()`, then `afinish()`.

Per chunk: the model's stream = raw; LangGraph's share = graph - plain - raw; zyx's share =
zyx - graph (partial parsing and the hand-off to the consumer). Latency (wall clock): from the
model emitting the chunk with `result`'s first byte to LangGraph's astream yielding it, and to
`apartial()` yielding the first partial.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._harness import Config, Section, Stats, gc_time
from benchmarks.stream_latency import (
    SHAPES,
    TimedModel,
    graph_astream,
    make_result,
    model_for,
    plain_run,
    raw_astream,
    zyx_async,
)

SHAPE_LABELS = {"list": "list[str], 20-char items", "text": "one long str field"}


async def _measure_size(model: TimedModel, reps: int, runs: int, collect: bool) -> dict[str, list[Any]]:
    """CPU seconds per run of each contender (per rep: `runs` rounds of one run of each contender),
    the latencies in seconds and the partials per streamed run."""
    partial_at: list[float] = []
    delivered_at: list[float] = []
    partials: list[int] = []
    gc_spent: list[float] = []
    contenders: dict[str, Callable[[], Awaitable[float]]] = {
        "raw": lambda: raw_astream(model),
        "plain": lambda: plain_run(model),
        "graph": lambda: graph_astream(model, delivered_at),
        "zyx": lambda: zyx_async(model, partial_at, partials),
    }
    for run in contenders.values():  # warm up
        await run()
    model._calls.clear()
    for kept in (partial_at, delivered_at, partials):
        kept.clear()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(reps):
        if collect:
            gc.collect()
        spent = dict.fromkeys(contenders, 0.0)
        with gc_time() as collector:
            for _ in range(runs):  # rounds of one run each, so drift hits every contender alike
                for name, run in contenders.items():
                    spent[name] += await run()
                model._calls.clear()
        gc_spent.append(collector.seconds)
        for name in contenders:
            times[name].append(spent[name] / runs)
    return {**times, "partial": partial_at, "delivered": delivered_at, "partials": partials, "gc": gc_spent}


def _latency(values: list[float]) -> str:
    return Stats([v * 1000 for v in values]).fmt() if values else "none"


async def measure(cfg: Config) -> tuple[Section, dict[str, Any]]:
    section = Section(
        f"4. Streaming ({cfg.stream_chunk}-byte chunks, prebuilt and replayed)",
        ("target", "result", "chunks (partials)", "first result byte → first partial, ms",
         "→ LangGraph yields it, ms", "model's stream, µs/chunk", "LangGraph's share, µs/chunk",
         "zyx's share, µs/chunk", "zyx's share, ms/run"),
    )
    data: dict[Any, Any] = {}
    gc_ms = 0.0
    for shape, target in SHAPES.items():
        for kb in cfg.stream_sizes_kb:
            model, chunks = model_for(make_result(shape, kb * 1024), target, chunk_size=cfg.stream_chunk)
            runs = -(-cfg.stream_batch_chunks // chunks)  # small results: a batch of runs per rep
            t = await _measure_size(model, cfg.stream_reps, runs, cfg.collect)
            gc_ms += sum(t["gc"]) * 1000
            per_rep = list(zip(t["raw"], t["plain"], t["graph"], t["zyx"], strict=True))
            raw = Stats([r / chunks * 1e6 for r, _, _, _ in per_rep])
            langgraph = Stats([(g - p - r) / chunks * 1e6 for r, p, g, _ in per_rep])
            zyx = Stats([(z - g) / chunks * 1e6 for _, _, g, z in per_rep])
            zyx_ms = Stats([(z - g) * 1000 for _, _, g, z in per_rep])
            partials = f"{Stats(t['partials']).median:.0f}" if t["partials"] else "–"
            section.rows.append((SHAPE_LABELS[shape], f"{kb} KB", f"{chunks} ({partials})", _latency(t["partial"]),
                                 _latency(t["delivered"]), f"{raw.median:.1f}", langgraph.fmt(1), zyx.fmt(1),
                                 zyx_ms.fmt(2)))
            data[(shape, kb)] = {"chunks": chunks, "runs_per_rep": runs, "zyx_ms": zyx_ms.median, "zyx_us_per_chunk": zyx.median,
                                 "langgraph_us_per_chunk": langgraph.median, "raw_us_per_chunk": raw.median,
                                 "latency_ms": Stats(t["partial"]).median * 1000 if t["partial"] else None}

    section.notes.append(
        f"{cfg.stream_reps} rep(s) per row after one warm-up, contenders alternating (model astream, plain run, "
        f"graph astream, zyx stream) run after run; a rep is enough rounds to stream ≥ {cfg.stream_batch_chunks} "
        f"chunks per contender ({', '.join(str(data[('list', kb)]['runs_per_rep']) for kb in cfg.stream_sizes_kb)} "
        f"for {' / '.join(f'{kb} KB' for kb in cfg.stream_sizes_kb)}), gc.collect() before each rep outside the "
        f"timing ({gc_ms:.1f} ms in the cyclic GC within the timed runs, all rows together); "
        "medians (min–max) over reps; partials: how many `apartial()` yielded per run. "
        "Per chunk: model's stream = raw astream CPU; LangGraph's share = graph astream − plain run − raw "
        "astream; zyx's share = zyx apartial + afinish − graph astream (partial parsing, hand-off to the consumer "
        "and arun's own fixed cost).")
    sizes = sorted(cfg.stream_sizes_kb)
    for shape in SHAPES:
        steps = []
        for small, big in zip(sizes, sizes[1:]):
            a, b = data[(shape, small)], data[(shape, big)]
            if a["zyx_ms"] > 0:
                steps.append(f"{big} KB / {small} KB {b['zyx_ms'] / a['zyx_ms']:.1f} "
                             f"(chunks ×{b['chunks'] / a['chunks']:.1f})")
        if steps:
            section.notes.append(f"zyx's share, {SHAPE_LABELS[shape]}: {'; '.join(steps)}.")
    worst = ("The long-str target is the worst case by nature: each partial carries the whole text so far, so each "
             "chunk costs O(size so far) (at the least a copy of the string) and the total is quadratic in the size.")
    if len(sizes) > 1:
        small, big = sizes[-2], sizes[-1]
        a, b = data[("text", small)], data[("text", big)]
        if a["zyx_ms"] > 0:
            grow, more = b["zyx_ms"] / a["zyx_ms"], b["chunks"] / a["chunks"]
            seen = ("the copying is still small next to the fixed per-chunk cost" if grow < 1.3 * more
                    else "the copying shows")
            worst += f" Here {big} KB / {small} KB is {grow:.1f} for ×{more:.1f} chunks: {seen}."
    section.notes.append(worst)
    return section, data
