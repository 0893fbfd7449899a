"""Section 4: streaming partial targets (`zyx.arun(..., stream=True)`).

For a completion whose `result` holds 1 / 10 / 100 KB of text, streamed in 20-byte chunks:
- latency: from the model emitting the first byte of `result` to zyx yielding the first partial;
- parse cost: CPU of the streamed run minus CPU of the same run not streamed (alternating).

Kept on its own so it can be finished when `zyx.stream` lands: until then the section prints
"n/a (streaming not built)". It assumes `RunStream` is async-iterable over partial targets
(`RunStream.apartial()` / `afinish()`, else plain async iteration); if the API differs, the
section says so instead of failing the suite.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

import zyx
from benchmarks._harness import Config, Section, Stats
from zyx.testing import ScriptedChatModel, complete

NA = "n/a (streaming not built)"


class Doc(BaseModel):
    """A document to stream."""

    title: str
    body: str


def available() -> bool:
    return importlib.util.find_spec("zyx.stream") is not None


class _TimedModel(ScriptedChatModel):
    """Records when the chunk carrying the first byte of `complete_task`'s `result` is emitted."""

    result_offset: int = 0
    """Where `result`'s value starts in the streamed arguments JSON."""
    args_chars: int = 0
    """Length of the streamed arguments JSON."""
    first_result_at: float | None = None

    async def _astream(self, messages: Any, stop: Any = None, run_manager: Any = None,
                       **kwargs: Any) -> AsyncIterator[Any]:
        sent = 0
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            sent += sum(len(part.get("args") or "") for part in getattr(chunk.message, "tool_call_chunks", ()))
            if self.first_result_at is None and sent > self.result_offset:
                self.first_result_at = time.perf_counter()
            yield chunk


def _model(size_kb: int, chunk: int) -> _TimedModel:
    result = {"title": "t", "body": "x" * (size_kb * 1024)}
    reply = complete(summary="done", result=result)
    args = json.dumps(reply["args"])  # what ScriptedChatModel streams
    offset = args.index('"result": ') + len('"result": ')
    return _TimedModel(policy=lambda messages, tools: reply, chunk_size=chunk, result_offset=offset,
                       args_chars=len(args))


async def _partials(stream: Any) -> AsyncIterator[Any]:
    """The stream's partial targets: `apartial()` (zyx.stream's API), else iterating the stream."""
    source = stream.apartial() if hasattr(stream, "apartial") else stream
    async for partial in source:
        yield partial


async def _streamed(model: _TimedModel, collect: bool = True) -> tuple[float | None, float]:
    """(seconds from first result byte to first non-empty partial, CPU seconds) of one streamed run."""
    model.first_result_at = None
    if collect:
        gc.collect()
    c0 = time.process_time()
    stream: Any = await zyx.arun("Write the document.", Doc, stream=True, model=model)
    first: float | None = None
    async for partial in _partials(stream):
        body = partial.get("body") if isinstance(partial, dict) else getattr(partial, "body", None)
        if first is None and body:
            first = time.perf_counter()
    finish = getattr(stream, "afinish", None)
    if finish is not None:
        await finish()
    cpu = time.process_time() - c0
    latency = first - model.first_result_at if first is not None and model.first_result_at is not None else None
    return latency, cpu


async def _plain(model: _TimedModel, collect: bool = True) -> float:
    if collect:
        gc.collect()
    c0 = time.process_time()
    await zyx.arun("Write the document.", Doc, model=model)
    return time.process_time() - c0


async def measure(cfg: Config) -> tuple[Section, dict[str, Any]]:
    title = f"4. Streaming ({cfg.stream_chunk}-byte chunks)"
    if not available():
        return Section(title, notes=[NA]), {}
    section = Section(title, ("result size", "first result byte → first partial, ms", "parse cost, ms CPU",
                              "parse cost per chunk, µs", "plain run, ms CPU"))
    data: dict[Any, Any] = {}
    try:
        for kb in cfg.stream_sizes_kb:
            model = _model(kb, cfg.stream_chunk)
            await _streamed(model, cfg.collect)  # warm up
            await _plain(model, cfg.collect)
            latencies, extra, plain = [], [], []
            for _ in range(cfg.stream_reps):
                latency, cpu = await _streamed(model, cfg.collect)
                base = await _plain(model, cfg.collect)
                model._calls.clear()
                if latency is not None:
                    latencies.append(latency * 1000)
                extra.append((cpu - base) * 1000)
                plain.append(base * 1000)
            lat = Stats(latencies).fmt() if latencies else "no partial with text"
            chunks = -(-model.args_chars // cfg.stream_chunk)
            per_chunk = f"{Stats(extra).median * 1000 / chunks:.0f}"
            section.rows.append((f"{kb} KB", lat, Stats(extra).fmt(), per_chunk, Stats(plain).fmt()))
            data[kb] = {"latency_ms": Stats(latencies).median if latencies else None,
                        "parse_ms": Stats(extra).median}
    except Exception as exc:  # the stream API is still moving: report, don't sink the suite
        section.notes.append(f"n/a (streaming API not as expected: {type(exc).__name__}: {str(exc)[:160]})")
        if not section.rows:
            section.header = ()
        return section, data
    section.notes.append(
        f"{cfg.stream_reps} reps, streamed and plain runs alternating; parse cost = CPU of the streamed run minus "
        "CPU of the same run not streamed (includes LangGraph's message streaming, not only JSON parsing).")
    return section, data
