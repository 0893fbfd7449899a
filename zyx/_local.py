"""Embedded local chat model: a bundled GGUF served in-process by llama.cpp.

Small local models cannot emit reliable native tool calls, so `ChatLocal` asks for JSON
"envelopes" (`{"name": <tool>, "arguments": {...}}`, or an array of them) under JSON-schema
constrained decoding (zyx/_envelope.py) and turns the answer back into ordinary LangChain
tool calls. Where the model files come from: zyx/_local_files.py.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import threading
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.tool import ToolCallChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from pydantic import Field, SecretStr

from zyx._envelope import EnvelopeStream, envelope_format, render_history, tool_message, with_instruction
from zyx._http import chat_openai_clients
from zyx._local_files import (
    INSTALL_HINT,
    LocalModelCacheError,
    LocalModelCorrupt,
    LocalModelUnavailable,
    resolve_local_model,
)

__all__ = ["ChatLocal", "LocalModelCacheError", "LocalModelCorrupt", "LocalModelUnavailable", "LocalServer",
           "make_local_chat_model", "resolve_local_model"]

class LocalServer:
    """One in-process llama.cpp HTTP server per GGUF, on loopback behind a random API key.

    Started lazily and thread-safely, stopped at interpreter exit; greedy sampling
    with a fixed seed keeps runs reproducible.
    """

    def __init__(
        self, model_path: Path, *, n_ctx: int = 4096, max_tokens: int = 1024, seed: int = 42, threads: int | None = None
    ) -> None:
        self.model_path, self.n_ctx, self.max_tokens, self.seed = model_path, n_ctx, max_tokens, seed
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        # Half the cores: llama.cpp threads spin-wait on each other, and on a busy 2-core
        # machine two threads ran a 135M model 10-20x slower than one (measured).
        self.threads = threads or max(1, min(8, cores // 2))
        self.api_key = secrets.token_urlsafe(24)
        self._server: Any = None
        self._base_url: str | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, `http://127.0.0.1:PORT/v1`; starts the server if needed."""
        return self.start()

    def start(self) -> str:
        """Load the model and listen on a free loopback port (idempotent); return the base URL."""
        with self._lock:
            if self._base_url is None:
                try:
                    import xllamacpp
                except ImportError:
                    raise LocalModelUnavailable(f"runtime 'xllamacpp' is not installed; run: {INSTALL_HINT}") from None
                params = xllamacpp.CommonParams()
                params.model.path = str(self.model_path)
                params.hostnames, params.port, params.api_keys = ["127.0.0.1"], 0, [self.api_key]
                params.ui, params.verbosity = False, 1  # no web UI; log errors only
                params.n_ctx, params.n_parallel, params.n_predict = self.n_ctx, 1, self.max_tokens
                params.cpuparams.n_threads = params.cpuparams_batch.n_threads = self.threads
                params.sampling.temp, params.sampling.seed = 0.0, self.seed
                params.sampling.penalty_repeat = 1.1  # greedy tiny models otherwise loop inside strings
                self._server = xllamacpp.Server(params)  # blocks until the model is loaded and listening
                self._base_url = self._server.listening_address.rstrip("/") + "/v1"
                atexit.register(self.stop)
            return self._base_url

    def stop(self) -> None:
        """Shut the server down: the native server stops when its last handle is released."""
        with self._lock:
            self._server = self._base_url = None

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` under the served model's own tokenizer."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        body = json.dumps({"content": text}).encode()
        request = urllib.request.Request(self.base_url.removesuffix("/v1") + "/tokenize", body, headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)["tokens"]


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


class ChatLocal(ChatOpenAI):
    """`ChatOpenAI` on the embedded llama.cpp server, with tool calls made by constrained JSON.

    Bound tools are not sent as OpenAI `tools`: each request instead carries a JSON-schema
    `response_format` for one call envelope plus an instruction listing the tools, and
    the answer comes back as tool calls. So every turn with tools calls one tool or several
    (`tool_choice="none"` turns them off; a tool name restricts the turn to one call of it).
    """

    local_server: Any = Field(default=None, exclude=True)  # the LocalServer behind base_url

    @property
    def _llm_type(self) -> str:
        return "zyx-local"

    def get_token_ids(self, text: str) -> list[int]:
        """Count with the model's own tokenizer; tiktoken would try to download encodings."""
        return self.local_server.tokenize(text)

    def get_num_tokens_from_messages(
        self,
        messages: Sequence[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
        *,
        allow_fetching_images: bool = True,
    ) -> int:
        """`BaseChatModel`'s tokenizer-agnostic count (OpenAI's needs tiktoken); no images are fetched."""
        return BaseChatModel.get_num_tokens_from_messages(self, list(messages), tools)

    def _prepare(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[list[BaseMessage], bool]:
        """Flatten tool turns and swap bound `tools` for the envelope (in `kwargs`); True if tools apply."""
        tools = [t["function"] for t in kwargs.pop("tools", None) or [] if t.get("type") == "function"]
        choice = kwargs.pop("tool_choice", None)
        kwargs.pop("parallel_tool_calls", None)
        messages = render_history(messages)
        if not tools or choice == "none":
            return messages, False
        if "response_format" in kwargs:
            raise ValueError("the local model cannot combine bound tools with a response_format")
        named = isinstance(choice, dict) and "function" in choice
        if named:
            tools = [t for t in tools if t["name"] == choice["function"]["name"]] or tools
        # Sent via extra_body, not response_format=, so ChatOpenAI keeps its plain create/stream
        # path: a truncated envelope then becomes an invalid tool call instead of raising.
        extra_body = kwargs.get("extra_body") or self.extra_body or {}
        kwargs["extra_body"] = {**extra_body, "response_format": envelope_format(tools, several=not named)}
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


_chat_models: dict[Path, ChatLocal] = {}
_chat_models_lock = threading.Lock()


def make_local_chat_model(spec: str = "local") -> ChatLocal:
    """The process-wide `ChatLocal` for a local model spec; starts that model's server on first use."""
    path = resolve_local_model(spec).resolve()
    with _chat_models_lock:  # one server per model file, even when threads race here
        if path not in _chat_models:
            server = LocalServer(path)
            _chat_models[path] = ChatLocal(
                model=path.stem,
                base_url=server.start(),
                api_key=SecretStr(server.api_key),
                temperature=0.0,
                seed=server.seed,
                stream_usage=True,
                max_retries=1,
                local_server=server,
                **chat_openai_clients(),  # shared by every event loop that runs the local model
            )
        return _chat_models[path]
