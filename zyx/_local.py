"""Embedded local chat model: a bundled GGUF served in-process by llama.cpp.

Small local models cannot emit reliable native tool calls, so `ChatLocal` is a `ChatEnvelope`
(zyx/_envelope_model.py): tool calls as JSON "envelopes" under JSON-schema constrained decoding.
Where the model files come from: zyx/_local_files.py.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import threading
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr

from zyx._envelope_model import ChatEnvelope
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
                self._server = xllamacpp.Server(self.params())  # blocks until the model is loaded and listening
                self._base_url = self._server.listening_address.rstrip("/") + "/v1"
                atexit.register(self.stop)
            return self._base_url

    def params(self) -> Any:
        """The server's `xllamacpp.CommonParams` (a subclass may adjust them, e.g. a benchmark's peer server)."""
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.hostnames, params.port, params.api_keys = ["127.0.0.1"], 0, [self.api_key]
        params.ui, params.verbosity = False, 1  # no web UI; log errors only
        params.n_ctx, params.n_parallel, params.n_predict = self.n_ctx, 1, self.max_tokens
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = self.threads
        params.sampling.temp, params.sampling.seed = 0.0, self.seed
        params.sampling.penalty_repeat = 1.1  # greedy tiny models otherwise loop inside strings
        return params

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


class ChatLocal(ChatEnvelope):
    """`ChatEnvelope` on the embedded llama.cpp server (zyx's local model), counting tokens with its tokenizer."""

    local_server: Any = Field(default=None, exclude=True)  # the LocalServer behind base_url

    @property
    def _llm_type(self) -> str:
        return "zyx-local"

    def get_token_ids(self, text: str) -> list[int]:
        """Count with the model's own tokenizer; tiktoken would try to download encodings."""
        return self.local_server.tokenize(text)


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
