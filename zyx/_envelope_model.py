"""`ChatEnvelope`: zyx's envelope protocol for any OpenAI-compatible chat endpoint.

Small models served by llama.cpp, vLLM, Ollama or LM Studio often cannot emit reliable native
tool calls. `ChatEnvelope` asks for JSON "envelopes" (`{"name": <tool>, "arguments": {...}}`, or
an array of them) under the server's JSON-schema constrained decoding (zyx/_envelope.py) and turns
the answer back into ordinary LangChain tool calls. The embedded local model (`ChatLocal`) is one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.tool import ToolCallChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI

from zyx._envelope import EnvelopeStream, envelope_format, render_history, tool_message, with_instruction

__all__ = ["ChatEnvelope"]


def _finish_reason(info: dict[str, Any] | None) -> dict[str, Any] | None:
    """A completed envelope is a tool call; other reasons (e.g. "length") stay as they are."""
    return {**info, "finish_reason": "tool_calls"} if info and info.get("finish_reason") == "stop" else info


def _tool_chunk(chunk: ChatGenerationChunk, calls: list[ToolCallChunk]) -> ChatGenerationChunk:
    """Replace a streamed envelope text chunk by its tool-call chunks, keeping its metadata."""
    message = AIMessageChunk(
        content="",
        tool_call_chunks=calls,
        id=chunk.message.id,
        usage_metadata=getattr(chunk.message, "usage_metadata", None),
        response_metadata=chunk.message.response_metadata,
    )
    return ChatGenerationChunk(message=message, generation_info=_finish_reason(chunk.generation_info))


class ChatEnvelope(ChatOpenAI):
    """`ChatOpenAI` for any OpenAI-compatible server, with tool calls made by constrained JSON.

    For small models behind llama.cpp's server, vLLM, Ollama or LM Studio, whose native tool-call
    parsing is unreliable. Bound tools are not sent as OpenAI `tools`: each request instead carries
    a JSON-schema `response_format` for one call envelope (or an array of them) plus an instruction
    listing the tools, and the answer comes back as ordinary tool calls. So every turn with tools
    calls one tool or several (`tool_choice="none"` turns them off; a tool name restricts the turn
    to one call of it; `parallel_tool_calls=False` to one call). The server must support
    `response_format` of type `json_schema`.
    """

    @property
    def _llm_type(self) -> str:
        return "zyx-envelope"

    def get_num_tokens_from_messages(
        self,
        messages: Sequence[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
        *,
        allow_fetching_images: bool = True,
    ) -> int:
        """`BaseChatModel`'s tokenizer-agnostic count (OpenAI's needs tiktoken); no images are fetched.

        Args:
            messages: The messages to count.
            tools: Tool schemas bound to the call, counted too.
            allow_fetching_images: Ignored: images are never fetched.
        """
        return BaseChatModel.get_num_tokens_from_messages(self, list(messages), tools)

    def _prepare(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[list[BaseMessage], bool]:
        """Flatten tool turns and swap bound `tools` for the envelope (in `kwargs`); True if tools apply."""
        tools = [t["function"] for t in kwargs.pop("tools", None) or [] if t.get("type") == "function"]
        choice = kwargs.pop("tool_choice", None)
        parallel = kwargs.pop("parallel_tool_calls", None)
        messages = render_history(messages)
        if not tools or choice == "none":
            return messages, False
        if "response_format" in kwargs:
            raise ValueError("the envelope protocol cannot combine bound tools with a response_format")
        named = isinstance(choice, dict) and "function" in choice
        several = not named and parallel is not False  # OpenAI's parallel_tool_calls=False: one call per turn
        if named:
            tools = [t for t in tools if t["name"] == choice["function"]["name"]] or tools
        # Sent via extra_body, not response_format=, so ChatOpenAI keeps its plain create/stream
        # path: a truncated envelope then becomes an invalid tool call instead of raising.
        extra_body = kwargs.get("extra_body") or self.extra_body or {}
        kwargs["extra_body"] = {**extra_body, "response_format": envelope_format(tools, several=several)}
        return with_instruction(messages, tools), True

    @staticmethod
    def _convert(result: ChatResult, tooled: bool) -> ChatResult:
        for generation in result.generations if tooled else []:
            generation.message = tool_message(generation.message)  # type: ignore[arg-type]
            generation.generation_info = _finish_reason(generation.generation_info)
        return result

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        messages, tooled = self._prepare(messages, kwargs)
        return self._convert(super()._generate(messages, stop, run_manager, **kwargs), tooled)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        messages, tooled = self._prepare(messages, kwargs)
        return self._convert(await super()._agenerate(messages, stop, run_manager, **kwargs), tooled)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        messages, tooled = self._prepare(messages, kwargs)
        envelope = EnvelopeStream()
        # With tools, raw envelope text must not reach callbacks; LangChain reports the converted chunks.
        for chunk in super()._stream(messages, stop, None if tooled else run_manager, **kwargs):
            yield _tool_chunk(chunk, envelope.feed(chunk.text)) if tooled else chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        messages, tooled = self._prepare(messages, kwargs)
        envelope = EnvelopeStream()
        async for chunk in super()._astream(messages, stop, None if tooled else run_manager, **kwargs):
            yield _tool_chunk(chunk, envelope.feed(chunk.text)) if tooled else chunk


ENVELOPE_PREFIX = "envelope:"
API_KEY_ENV = "ZYX_ENVELOPE_API_KEY"


def envelope_model(spec: str) -> ChatEnvelope:
    """The `ChatEnvelope` for a model string `"envelope:<model>@<base_url>"` (or `"envelope:<model>"` with the
    base URL in `OPENAI_BASE_URL`); the key, if the server wants one, comes from `ZYX_ENVELOPE_API_KEY`."""
    from pydantic import SecretStr

    from zyx._http import chat_openai_clients
    from zyx.errors import ConfigurationError, describe

    name, at, base_url = spec.removeprefix(ENVELOPE_PREFIX).rpartition("@")
    if not at:
        name, base_url = base_url, os.environ.get("OPENAI_BASE_URL", "")
    if not name or not base_url.startswith(("http://", "https://")):
        raise ConfigurationError("model", f"expected 'envelope:<model>@<base_url>' (e.g. "
                                 f"'envelope:qwen2.5-0.5b@http://127.0.0.1:8080/v1'), or 'envelope:<model>' with "
                                 f"OPENAI_BASE_URL set, got {describe(spec)}")
    # zyx owns the retry budget (zyx._faults); the client is shared by every event loop that calls the model
    return ChatEnvelope(model=name, base_url=base_url, api_key=SecretStr(os.environ.get(API_KEY_ENV) or "none"),
                        max_retries=0, stream_usage=True, **chat_openai_clients())
