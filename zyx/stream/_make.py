"""`make(stream=True)`: the answer loop with a streaming model call, as an event source for `RunStream`.

`MakeEvents.run` runs make()'s answer loop on the stream's driver task, its model calls
streamed: it emits `ModelTurnStarted` per call, each chunk raw, then `RunFinished`.
`translate` turns the chunks into text and partial values on the consumer's side (see
`zyx.stream`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.runnables import Runnable

from zyx._prompts import FINAL_RESULT
from zyx._target import Target
from zyx.events import ModelTurnStarted, PartialOutput, RunEvent, RunFinished, TextDelta
from zyx.result import Result
from zyx.stream._results import ResultPartials, chunk_events
from zyx.usage import Usage

Invoke = Callable[[Runnable[Any, Any], list[BaseMessage]], Awaitable[AIMessage]]
Answer = Callable[[Invoke], Awaitable[tuple[Any, list[BaseMessage], Usage]]]
_NONE: tuple[RunEvent, ...] = ()


def _merge(chunks: list[AIMessageChunk]) -> AIMessage:
    """One message from a model's streamed chunks, merged once (not re-parsed per chunk)."""
    if not chunks:
        return AIMessage(content="")
    merged = add_ai_message_chunks(chunks[0], *chunks[1:]) if len(chunks) > 1 else chunks[0]
    return AIMessage(content=merged.content, tool_calls=merged.tool_calls, invalid_tool_calls=merged.invalid_tool_calls,
                     usage_metadata=merged.usage_metadata, response_metadata=merged.response_metadata, id=merged.id)


class MakeEvents:
    """One streamed make(), as an event source for `RunStream`."""

    def __init__(self, answer: Answer, target: Target, model: str) -> None:
        self.answer, self.target, self.model = answer, target, model
        self.plain = target.type is str  # the answer is the reply's text
        field = None if target.schema.get("type") == "object" else "result"
        self.partials = None if self.plain else ResultPartials(target, FINAL_RESULT, field)
        self._text = ""

    async def run(self, emit: Callable[[Any], None]) -> None:
        turns = 0

        async def invoke(bound: Runnable[Any, Any], messages: list[BaseMessage]) -> AIMessage:
            nonlocal turns
            turns += 1
            emit(ModelTurnStarted(turn=turns))
            chunks: list[AIMessageChunk] = []
            async for chunk in bound.astream(messages):
                chunks.append(chunk)
                emit(chunk)
            return _merge(chunks)

        output, messages, usage = await self.answer(invoke)
        emit(RunFinished(Result(output=output, messages=messages, usage=usage, model=self.model)))

    def translate(self, item: Any) -> Sequence[RunEvent]:
        if type(item) is not AIMessageChunk:
            if type(item) is ModelTurnStarted:
                self._text = ""  # a str answer restarts with each reply
            return (item,)
        content = item.content
        text = content if type(content) is str else item.text
        if self.plain:
            if not text:
                return _NONE
            self._text += text
            return (TextDelta(text), PartialOutput(self._text))
        return chunk_events(item, self.partials)


def make_events(answer: Answer, target: Target, model: str) -> MakeEvents:
    """The event source of a streamed make() (see `MakeEvents`)."""
    return MakeEvents(answer, target, model)
