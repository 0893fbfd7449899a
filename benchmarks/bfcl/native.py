"""The native-tools peer: the same GGUF behind a second llama.cpp server, tools as plain OpenAI `tools`.

zyx's local model (`ChatLocal`) never sends OpenAI `tools`: it asks for JSON envelopes under
constrained decoding. This peer is what a user gets without that: llama.cpp's own tool-call support
(`use_jinja`: the model's chat template renders the tools, llama.cpp's parser for that template reads
the calls back) through LangChain's plain `ChatOpenAI`. The server is a `LocalServer` with the same
settings as zyx's (context, threads, sampling, seed) but its own process-wide instance, started once,
on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from zyx._local import LocalServer


class NativeToolServer(LocalServer):
    """`LocalServer` with llama.cpp's native tool-call template and parser switched on explicitly."""

    def params(self) -> Any:
        params = super().params()
        params.use_jinja = True  # the model's own chat template (with its tool section) and llama.cpp's parser for it
        return params


_models: dict[Path, BaseChatModel] = {}
_lock = threading.Lock()


def native_model(model: BaseChatModel) -> BaseChatModel:
    """A plain `ChatOpenAI` on a second server for the GGUF behind `model` (a zyx local model)."""
    server = getattr(model, "local_server", None)
    if not isinstance(server, LocalServer):
        raise ValueError(f"the native-tools peer serves the GGUF of a zyx local model (--model local or local:<name>); "
                         f"got {type(model).__name__}")
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    path = Path(server.model_path).resolve()
    with _lock:
        if path not in _models:
            native = NativeToolServer(path, n_ctx=server.n_ctx, max_tokens=server.max_tokens, seed=server.seed,
                                      threads=server.threads)
            _models[path] = ChatOpenAI(model=path.stem, base_url=native.start(), api_key=SecretStr(native.api_key),
                                       temperature=0.0, seed=native.seed, stream_usage=True, max_retries=1)
        return _models[path]
