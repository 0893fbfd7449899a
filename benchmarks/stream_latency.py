"""Streaming latency and per-chunk overhead of `arun(..., stream=True)` / `run(..., stream=True)`.

A scripted model streams a `complete_task` call whose `result` (a `list[str]`) arrives in about
2,000 small argument chunks (4 characters each). By default the model replays chunks built once,
so the model itself costs next to nothing per chunk (`--scripted` builds each chunk while
streaming, as `ScriptedChatModel` does). Contenders alternate in one process, CPU time per run:

- raw: consuming the same model's own `astream()` of the same chunks (no graph, no zyx);
- plain: the same run not streamed (the graph's fixed cost; the model answers in one piece);
- graph astream: the run graph driven with `astream(stream_mode=["messages","tasks","values"])`,
  nothing done with what it yields (LangChain's callbacks + LangGraph's messages stream);
- zyx async / zyx sync: consuming every partial with `apartial()` / `partial()`, then finish.

Latency (wall clock) is from the model emitting the chunk with the first byte of `result` to
LangGraph's astream yielding that chunk, and to the user receiving the first partial.
Per-chunk overhead is (streamed run - raw astream) / chunks, split into LangGraph's share
(graph astream - plain - raw) and zyx's share (zyx stream - graph astream).

    python -m benchmarks.stream_latency [--chunks 2000] [--reps 15] [--scripted] [--profile]

Section 4 of the suite (`benchmarks/streaming.py`) reuses these pieces with `model_for`,
`make_result` and `SHAPES`: results of 1 / 10 / 100 KB in 20-byte chunks, as a `list[str]` and
as one long `str` field (the model's `target`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from pydantic import BaseModel

import zyx
from zyx.graph._cache import cached_run_graph
from zyx.stream import RunStream
from zyx.testing import ScriptedChatModel, complete

TASK = "List the release steps."
clock = time.process_time  # CPU seconds of this process: totals hold up on a loaded machine
CHUNK = 4  # characters of arguments JSON per streamed chunk


class TimedModel(ScriptedChatModel):
    """Streams one fixed reply; records when the chunk holding `result`'s first byte is emitted.

    With `prebuilt`, the reply's chunks are built once and replayed, so the model itself costs
    next to nothing per chunk and what is measured is LangChain's, LangGraph's and zyx's work.
    """

    result_offset: int = 0
    first_result_at: float | None = None
    prebuilt: list[Any] | None = None
    target: Any = list[str]
    """The run's target type, matching the scripted `result`."""

    async def _astream(self, messages: Any, stop: Any = None, run_manager: Any = None,
                       **kwargs: Any) -> AsyncIterator[Any]:
        source: AsyncIterator[Any] = self._replay(messages, kwargs) if self.prebuilt is not None else \
            super()._astream(messages, stop, run_manager, **kwargs)
        sent = 0
        async for chunk in source:
            if self.first_result_at is None:
                sent += sum(len(part.get("args") or "") for part in getattr(chunk.message, "tool_call_chunks", []))
                if sent > self.result_offset:
                    self.first_result_at = time.perf_counter()
            yield chunk

    async def _replay(self, messages: Any, kwargs: Any) -> AsyncIterator[Any]:
        self._next_reply(messages, kwargs)  # recorded like any call
        for chunk in self.prebuilt or ():
            yield chunk
            await asyncio.sleep(0)  # like a network stream: one chunk per event-loop turn


class Text(BaseModel):
    """One long string field: every partial carries the whole text received so far."""

    text: str


SHAPES: dict[str, Any] = {"list": list[str], "text": Text}
"""Result shapes by name, with the target type each streams as."""


def make_result(shape: str, chars: int) -> Any:
    """A `result` whose JSON is about `chars` characters: `"list"`, 20-character strings; `"text"`,
    `{"text": ...}` with one long string."""
    if shape == "list":
        return [f"release step {i:05d}.." for i in range(max(1, round(chars / 24)))]  # '"release step 00000..", '
    if shape == "text":
        words = "".join(f"release note {i:06d}. " for i in range(chars // 21 + 1))
        return {"text": words[:max(1, chars - len('{"text": ""}'))]}
    raise ValueError(f"unknown shape {shape!r} (expected one of {', '.join(SHAPES)})")


def model_for(result: Any, target: Any = list[str], *, chunk_size: int = CHUNK,
              prebuilt: bool = True) -> tuple[TimedModel, int]:
    """A model streaming a `complete_task` call with this `result` for `target`, in `chunk_size`
    characters of arguments JSON per chunk; and the exact chunk count."""
    reply = complete(summary="done", result=result)
    args = json.dumps(reply["args"])
    offset = args.index('"result": ') + len('"result": ')
    model = TimedModel(policy=lambda messages, tools: reply, chunk_size=chunk_size, result_offset=offset,
                       target=target)
    built = [ChatGenerationChunk(message=c) for c in model.stream(TASK)]
    for c in built:
        c.message.id = "lc_run--prebuilt"
    if prebuilt:
        model.prebuilt = built
    model._calls.clear()
    return model, len(built)


def make_model(chunks: int, prebuilt: bool = True) -> tuple[TimedModel, int]:
    """A model whose reply (a `list[str]`) streams in about `chunks` chunks, and the exact chunk count."""
    items = max(1, (chunks * CHUNK - 60) // 20)
    return model_for([f"release step {i:05d}" for i in range(items)], prebuilt=prebuilt)


async def raw_astream(model: TimedModel) -> float:
    t0 = clock()
    async for _ in model.astream(TASK):
        pass
    return clock() - t0


async def plain_run(model: TimedModel) -> float:
    t0 = clock()
    await zyx.arun(TASK, model.target, model=model)
    return clock() - t0


async def graph_astream(model: TimedModel, latencies: list[float]) -> float:
    """LangGraph's own streaming of the run, nothing done with what it yields but noting when
    the first chunk holding a byte of `result` arrives."""
    model.first_result_at = None
    t0 = clock()
    _, graph = cached_run_graph({"model": model, "target": model.target})
    received, first = 0, None
    async for mode, payload in graph.astream({"messages": [("user", TASK)], "task": TASK},
                                             stream_mode=["messages", "tasks", "values"]):
        if first is None and mode == "messages" and type(payload[0]) is AIMessageChunk:
            received += sum(len(part.get("args") or "") for part in payload[0].tool_call_chunks)
            if received > model.result_offset:
                first = time.perf_counter()
    elapsed = clock() - t0
    if first is not None and model.first_result_at is not None:
        latencies.append(first - model.first_result_at)
    return elapsed


async def zyx_async(model: TimedModel, latencies: list[float], partials: list[int] | None = None) -> float:
    """CPU seconds of one streamed run, every partial consumed; notes the first partial's latency
    (and, with `partials`, how many partials the run yielded)."""
    model.first_result_at = None
    t0 = clock()
    stream: RunStream[Any] = await zyx.arun(TASK, model.target, model=model, stream=True)
    first: float | None = None
    count = 0
    async for _ in stream.apartial():
        if first is None:
            first = time.perf_counter()
        count += 1
    await stream.afinish()
    elapsed = clock() - t0
    if first is not None and model.first_result_at is not None:
        latencies.append(first - model.first_result_at)
    if partials is not None:
        partials.append(count)
    return elapsed


def zyx_sync(model: TimedModel) -> float:
    t0 = clock()
    stream: RunStream[Any] = zyx.run(TASK, model.target, model=model, stream=True)
    for _ in stream.partial():
        pass
    stream.finish()
    return clock() - t0


def stats(values: list[float], scale: float = 1.0) -> str:
    ordered = sorted(v * scale for v in values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):8.2f}  p95 {p95:8.2f}"


def measure(model: TimedModel, reps: int) -> dict[str, list[float]]:
    """Every contender once per rep, alternating; async ones each on a fresh `asyncio.run` loop."""
    latency: list[float] = []
    delivered: list[float] = []
    contenders: dict[str, Callable[[], float]] = {
        "raw": lambda: asyncio.run(raw_astream(model)),
        "plain": lambda: asyncio.run(plain_run(model)),
        "graph": lambda: asyncio.run(graph_astream(model, delivered)),
        "async": lambda: asyncio.run(zyx_async(model, latency)),
        "sync": lambda: zyx_sync(model),
    }
    for fn in contenders.values():  # warm up
        fn()
    latency.clear()
    delivered.clear()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(reps):
        for name, fn in contenders.items():
            gc.collect()
            times[name].append(fn())
            model._calls.clear()
    times["latency"], times["delivered"] = latency, delivered
    return times


def profile(model: TimedModel) -> None:
    """Where a streamed run's time goes (pyinstrument, 5 runs)."""
    from pyinstrument import Profiler

    asyncio.run(zyx_async(model, []))
    profiler = Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    for _ in range(5):
        asyncio.run(zyx_async(model, []))
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--scripted", action="store_true",
                        help="build every chunk while streaming (ScriptedChatModel) instead of replaying them")
    parser.add_argument("--profile", action="store_true", help="profile streamed runs with pyinstrument")
    args = parser.parse_args(argv)
    model, n = make_model(args.chunks, prebuilt=not args.scripted)
    if args.profile:
        profile(model)
        return
    t = measure(model, args.reps)
    kind = "ScriptedChatModel building each chunk" if args.scripted else "prebuilt chunks replayed"
    print(f"Python {sys.version.split()[0]}; {n} chunks of {CHUNK} chars of arguments JSON ({kind}); "
          f"{args.reps} reps, contenders alternating")
    print("latency from the model emitting the first byte of `result`, us:")
    print(f"  to LangGraph's astream yielding it      {stats(t['delivered'], 1e6)}")
    print(f"  to the user receiving the first partial {stats(t['latency'], 1e6)}")
    print("total CPU time of one run, ms:")
    for name, label in (("raw", "raw model astream"), ("plain", "run, not streamed"),
                        ("graph", "graph astream only"), ("async", "zyx apartial + afinish"),
                        ("sync", "zyx partial + finish")):
        print(f"  {label:40s} {stats(t[name], 1e3)}")

    def per_chunk(a: str, *minus: str) -> str:
        return stats([(x - sum(ys)) / n for x, *ys in zip(t[a], *(t[m] for m in minus))], 1e6)

    print("per-chunk overhead, us:")
    print(f"  zyx async stream vs raw astream         {per_chunk('async', 'raw')}")
    print(f"  zyx sync stream vs raw astream          {per_chunk('sync', 'raw')}")
    print(f"    of which LangGraph (graph astream - plain run - raw astream) {per_chunk('graph', 'plain', 'raw')}")
    print(f"    of which zyx async (zyx stream - graph astream)             {per_chunk('async', 'graph')}")
    print(f"    of which zyx sync  (zyx stream - graph astream)             {per_chunk('sync', 'graph')}")


if __name__ == "__main__":
    main()
