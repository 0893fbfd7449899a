"""`make(stream=True)`: the answer loop with a streaming model call, as run events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.runnables import Runnable

from zyx._result_stream import NOTHING, ResultPartials
from zyx._target import Target
from zyx.events import ModelTurnStarted, PartialOutput, RunEvent, RunFinished, TextDelta
from zyx.result import Result

Answer = Callable[[Callable[[Runnable[Any, Any], list[BaseMessage]], Awaitable[AIMessage]]],
                  Awaitable[tuple[Any, list[BaseMessage], dict[str, int]]]]
_DONE = object()


def _merge(chunks: list[AIMessageChunk]) -> AIMessage:
    """One message from a model's streamed chunks, merged once (not re-parsed per chunk)."""
    merged = add_ai_message_chunks(chunks[0], *chunks[1:]) if len(chunks) > 1 else chunks[0]
    return AIMessage(content=merged.content, tool_calls=merged.tool_calls, invalid_tool_calls=merged.invalid_tool_calls,
                     usage_metadata=merged.usage_metadata, response_metadata=merged.response_metadata, id=merged.id)


async def make_events(answer: Answer, target: Target, model: str) -> AsyncIterator[RunEvent]:
    """Run make()'s answer loop with streamed model calls, yielding text, partial values and the result."""
    from zyx.make import ANSWER_TOOL

    queue: asyncio.Queue[Any] = asyncio.Queue()
    partials = ResultPartials(target, ANSWER_TOOL, None if target.schema.get("type") == "object" else "result")
    plain = target.type is str

    turns = 0

    async def invoke(bound: Runnable[Any, Any], messages: list[BaseMessage]) -> AIMessage:
        nonlocal turns
        turns += 1
        queue.put_nowait(ModelTurnStarted(turn=turns))
        chunks: list[AIMessageChunk] = []
        async for chunk in bound.astream(messages):
            chunks.append(chunk)
            queue.put_nowait(chunk)
        return _merge(chunks)

    task = asyncio.ensure_future(answer(invoke))
    task.add_done_callback(lambda _: queue.put_nowait(_DONE))
    text = ""
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, ModelTurnStarted):
                text = ""
                yield item
                continue
            if item.text:
                text += item.text
                yield TextDelta(item.text)
                if plain:
                    yield PartialOutput(text)
            if not plain and (value := partials.feed(item)) is not NOTHING:
                yield PartialOutput(value)
        output, messages, usage = task.result()
        yield RunFinished(Result(output=output, messages=messages, usage=usage, model=model))
    finally:
        task.cancel()
