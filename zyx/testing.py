"""Offline, scripted chat model for testing zyx runs without an API key.

LangChain's `GenericFakeChatModel` has no `bind_tools` and drops `tool_calls`
when streaming; `ScriptedChatModel` supports both, streaming like OpenAI does.

Example::

    from langchain_core.messages import ToolMessage
    from zyx.testing import ScriptedChatModel, call, complete

    def policy(messages, tools):
        if not any(isinstance(m, ToolMessage) for m in messages):
            return [call("get_weather", city="LA"), call("get_weather", city="NYC")]
        return complete(summary="Weather fetched", result={"item": "x", "priority": 1})

    model = ScriptedChatModel(policy=policy)          # decide from the conversation
    model = ScriptedChatModel(responses=["hi", complete()])  # or replay a fixed script
    ...
    assert len(model.calls) == 2
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr, model_validator

from zyx._prompts import COMPLETE_TASK

__all__ = [
    "ContextWindowExceededError", "Policy", "Reply", "ScriptExhaustedError", "ScriptedCall", "ScriptedChatModel",
    "call", "calls", "complete", "last_tool_results", "text",
]

Reply: TypeAlias = AIMessage | str | Mapping[str, Any] | Sequence[Mapping[str, Any]] | BaseException
"""What a script step may be: a message, plain text, tool call(s), or an error to raise."""

Policy: TypeAlias = Callable[[list[BaseMessage], list[dict[str, Any]]], Reply | Awaitable[Reply]]
"""Decides the reply from the conversation and the bound tools (OpenAI tool dicts)."""

COMPLETE_TOOL = COMPLETE_TASK
_OMITTED: Any = object()


class ContextWindowExceededError(ValueError):
    """A scripted model's refusal of a prompt over the `max_input_tokens` of its profile (as a provider's 400)."""


class ScriptExhaustedError(AssertionError):
    """Raised when a `responses` script is asked for more replies than it holds."""


@dataclass
class ScriptedCall:
    """One recorded model call: the input messages and the names of the bound tools.

    Attributes:
        messages: The messages the model was called with (system prompt included).
        tools: The names of the tools bound for the call, in order.
        tool_choice: The `tool_choice` the call was bound with, or None.
    """

    messages: list[BaseMessage]
    tools: list[str] = field(default_factory=list)
    tool_choice: Any = None


def text(content: str) -> AIMessage:
    """A plain text answer.

    Args:
        content: The answer's text.
    """
    return AIMessage(content=content)


def call(name: str, /, **args: Any) -> dict[str, Any]:
    """A tool call request; `id` None means the model assigns `call_N` when replying.

    Also valid inside `AIMessage(tool_calls=[...])`, which requires the `id` key.

    Args:
        name: The tool to call (positional only, so a tool argument may be called `name` too).
        **args: The tool's arguments.
    """
    return {"name": name, "args": args, "id": None}


def calls(*tool_calls: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Several tool calls in one reply (parallel tool calling).

    Args:
        *tool_calls: The calls, e.g. from `call()` or `complete()`; each is copied.
    """
    return [dict(tc) for tc in tool_calls]


def complete(
    summary: str = "done", result: Any = _OMITTED, status: str = "success", **extra: Any
) -> dict[str, Any]:
    """A `complete_task` call; `extra` may add `evidence` or `verification`.

    Args:
        summary: What the model says it did.
        result: The result for the run's target; left out of the call when not given.
        status: `"success"`, `"failed"` or `"skipped"`.
        **extra: More `complete_task` arguments: `evidence`, `verification` (or anything
            else, e.g. to test how an invalid call is handled).
    """
    args: dict[str, Any] = {"summary": summary, "status": status, **extra}
    if result is not _OMITTED:
        args["result"] = result
    return call(COMPLETE_TOOL, **args)


def last_tool_results(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    """The ToolMessages after the last AIMessage, in order (results of the latest calls).

    Args:
        messages: The conversation, e.g. as a policy receives it.
    """
    found: list[ToolMessage] = []
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            break
        if isinstance(message, ToolMessage):
            found.append(message)
    return found[::-1]


def _size(message: BaseMessage) -> int:
    """Characters of a message's content plus its tool-call JSON (for token estimates)."""
    content = message.content if isinstance(message.content, str) else json.dumps(message.content, default=str)
    tool_calls = getattr(message, "tool_calls", None) or []
    extra = json.dumps([[tc["name"], tc["args"]] for tc in tool_calls], default=str) if tool_calls else ""
    return len(content) + len(extra)


def _run_sync(awaitable: Awaitable[Reply]) -> Reply:
    """Resolve an async policy's result from sync code, even inside a running loop."""

    async def wait() -> Reply:
        return await awaitable

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wait()).result()


class ScriptedChatModel(BaseChatModel):
    """Chat model whose replies come from a `policy` function or a `responses` script.

    Supports `bind_tools`, `with_structured_output` and real (chunked) streaming of
    text and tool calls, so LangGraph `stream_mode="messages"` sees token chunks.
    Give exactly one of `policy` and `responses` (else pydantic raises a `ValidationError`).

    Attributes:
        policy: Called for every model call with the messages and the bound tools (OpenAI tool
            dicts); returns the reply (a `Reply`), or an awaitable of one.
        responses: The replies, one per model call, in order; one call too many raises
            `ScriptExhaustedError`.
        latency: Seconds to wait before each reply.
        chunk_size: Characters per streamed chunk of text and of tool-call arguments (at least 1).
        model_name: The model's name, as replies' metadata and `Result.model` report it.
    """

    policy: Policy | None = None
    responses: list[Any] | None = None
    latency: float = 0.0
    chunk_size: int = Field(default=8, ge=1)
    model_name: str = "scripted"

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _calls: list[ScriptedCall] = PrivateAttr(default_factory=list)
    _cursor: int = PrivateAttr(default=0)
    _ids: int = PrivateAttr(default=0)

    @model_validator(mode="after")
    def _one_source(self) -> ScriptedChatModel:
        if (self.policy is None) == (self.responses is None):
            raise ValueError("ScriptedChatModel needs exactly one of `policy` or `responses`.")
        return self

    @property
    def _llm_type(self) -> str:
        return "zyx-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    @property
    def calls(self) -> list[ScriptedCall]:
        """Snapshot of every call made so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (converted to OpenAI tool dicts) so the policy receives them.

        Args:
            tools: The tools, in any form `convert_to_openai_tool` takes (functions, LangChain
                tools, pydantic models, OpenAI tool dicts...).
            tool_choice: Recorded on each `ScriptedCall`; it does not change the replies.
            **kwargs: Other keyword arguments bound to every call, as with `Runnable.bind`.
        """
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    # -- reply computation (shared by every sync/async, streaming/non-streaming path) --

    def _next_reply(self, messages: list[BaseMessage], kwargs: Mapping[str, Any]) -> Reply | Awaitable[Reply]:
        """Record the call, then take the next scripted reply or ask the policy."""
        tools: list[dict[str, Any]] = list(kwargs.get("tools") or [])
        names = [t.get("function", t).get("name", "?") for t in tools]
        with self._lock:
            self._calls.append(ScriptedCall(list(messages), names, kwargs.get("tool_choice")))
        self._check_window(messages, tools)
        with self._lock:
            if self.responses is not None:
                if self._cursor >= len(self.responses):
                    raise ScriptExhaustedError(
                        f"ScriptedChatModel script exhausted: {len(self.responses)} response(s) were "
                        f"scripted but call #{len(self._calls)} was made "
                        f"(last message: {messages[-1].content!r:.200})."
                    )
                self._cursor += 1
                return self.responses[self._cursor - 1]
        assert self.policy is not None
        return self.policy(list(messages), tools)

    def _check_window(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> None:
        """A prompt over the `max_input_tokens` of the model's profile is refused as a provider would refuse it
        (counted with langchain-core's approximate counter); the call is still recorded."""
        window = (self.profile or {}).get("max_input_tokens")
        if isinstance(window, int) and (size := count_tokens_approximately(messages, tools=cast(Any, tools) or None)) > window:
            raise ContextWindowExceededError(
                f"This model's maximum context length is {window} tokens, but the prompt has about {size} tokens "
                "(context_length_exceeded).")

    def _next_id(self, taken: set[str]) -> str:
        """The next `call_N` of this model that the conversation does not hold yet.

        Numbering per model keeps scripted ids readable and repeatable; skipping the ids already in
        the conversation keeps them unique in it, also when another model (or process) wrote the
        earlier turns, as when a durable run is resumed.
        """
        with self._lock:
            while True:
                self._ids += 1
                if (candidate := f"call_{self._ids}") not in taken:
                    taken.add(candidate)
                    return candidate

    def _build(self, reply: Reply, messages: list[BaseMessage]) -> AIMessage:
        """Turn a reply into an AIMessage with tool-call ids and usage, or raise it."""
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, str):
            message = AIMessage(content=reply)
        elif isinstance(reply, AIMessage):
            message = reply.model_copy(deep=True)
        elif isinstance(reply, Mapping):
            message = AIMessage(content="", tool_calls=[_as_tool_call(reply)])
        elif isinstance(reply, Sequence) and not isinstance(reply, str):  # str is handled above; mypy needs it here
            message = AIMessage(content="", tool_calls=[_as_tool_call(tc) for tc in reply])
        else:
            raise TypeError(f"Unsupported scripted reply of type {type(reply).__name__}: {reply!r}")
        taken = _ids_in(messages) | {tc["id"] for tc in [*message.tool_calls, *message.invalid_tool_calls] if tc["id"]}
        for tc in [*message.tool_calls, *message.invalid_tool_calls]:
            tc["id"] = tc.get("id") or self._next_id(taken)
        input_tokens = sum(_size(m) for m in messages) // 4 + 1
        output_tokens = _size(message) // 4 + 1
        message.usage_metadata = message.usage_metadata or {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        message.response_metadata = {"model_name": self.model_name, **message.response_metadata}
        return message

    def _respond(self, messages: list[BaseMessage], kwargs: Mapping[str, Any]) -> AIMessage:
        reply = self._next_reply(messages, kwargs)
        if inspect.isawaitable(reply):
            reply = _run_sync(reply)
        if self.latency > 0:
            time.sleep(self.latency)
        return self._build(reply, messages)

    async def _arespond(self, messages: list[BaseMessage], kwargs: Mapping[str, Any]) -> AIMessage:
        reply = self._next_reply(messages, kwargs)
        if inspect.isawaitable(reply):
            reply = await reply
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return self._build(reply, messages)

    # -- BaseChatModel hooks --

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._respond(messages, kwargs))])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=await self._arespond(messages, kwargs))])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in _to_chunks(self._respond(messages, kwargs), self.chunk_size):
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in _to_chunks(await self._arespond(messages, kwargs), self.chunk_size):
            yield ChatGenerationChunk(message=chunk)
            await asyncio.sleep(0)  # let consumers (e.g. LangGraph) see each chunk as it comes


def _ids_in(messages: Sequence[BaseMessage]) -> set[str]:
    """The tool-call ids a conversation already holds (requests and answers)."""
    ids = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    for m in messages:
        if isinstance(m, AIMessage):
            ids.update(tc["id"] for tc in [*m.tool_calls, *m.invalid_tool_calls] if tc["id"])
    return ids


def _as_tool_call(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a `{"name", "args"[, "id"]}` dict into a ToolCall dict."""
    if "name" not in spec:
        raise TypeError(f"A tool-call reply needs a 'name' key, got {dict(spec)!r}")
    return {"name": spec["name"], "args": dict(spec.get("args") or {}), "id": spec.get("id"), "type": "tool_call"}


def _to_chunks(message: AIMessage, size: int) -> Iterator[AIMessageChunk]:
    """Split a message into OpenAI-style chunks that sum back to the same message (an invalid call
    comes back as LangChain merges a provider's stream: same name, id and raw arguments, no error text)."""
    content = message.content
    pieces = [content[i : i + size] for i in range(0, len(content), size)] if isinstance(content, str) else [content]
    for piece in pieces:
        yield AIMessageChunk(content=piece, id=message.id)
    # invalid calls stream their raw arguments, as a provider does: merged, they do not parse again
    streamed: list[tuple[str | None, str | None, str]] = [
        (tc["name"], tc["id"], json.dumps(tc["args"])) for tc in message.tool_calls]
    streamed += [(tc["name"], tc["id"], tc["args"] or "") for tc in message.invalid_tool_calls]
    for index, (name, call_id, args) in enumerate(streamed):
        first = tool_call_chunk(name=name, args="", id=call_id, index=index)
        yield AIMessageChunk(content="", id=message.id, tool_call_chunks=[first])
        for i in range(0, len(args), size):
            part = tool_call_chunk(name=None, args=args[i : i + size], id=None, index=index)
            yield AIMessageChunk(content="", id=message.id, tool_call_chunks=[part])
    yield AIMessageChunk(
        content="",
        id=message.id,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        usage_metadata=message.usage_metadata,
        chunk_position="last",
    )
