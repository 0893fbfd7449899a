"""Chat models: a `"provider:name"` string or a `BaseChatModel` becomes the model a run calls."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import FrameType
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from zyx._providers import MAPPED, Integration, ollama_kwargs, refusal
from zyx.errors import ConfigurationError, describe, redact
from zyx.usage import add_usage  # noqa: F401  (re-exported: the planner and make() sum usage with it)

DEFAULT_OPENAI_MODEL = "openai:gpt-4o-mini"
LOCAL_NOTICE = (
    "zyx: no model given and no OPENAI_API_KEY set, so the embedded local model is answering (Qwen2.5-Coder "
    "0.5B; pass model=... or set ZYX_MODEL, e.g. ZYX_MODEL=openai:gpt-4o-mini, for a stronger one)."
)


def default_model_spec() -> str:
    """The model used when none is given: `ZYX_MODEL`, else OpenAI when a key is set, else local."""
    if env := os.environ.get("ZYX_MODEL"):
        return env
    if os.environ.get("OPENAI_API_KEY"):
        return DEFAULT_OPENAI_MODEL
    # Shown once per calling place, as warnings are: the user's call, not the zyx line that resolves the model.
    warnings.warn(LOCAL_NOTICE, UserWarning, stacklevel=_callers_level())
    return "local"


_MACHINERY = ("zyx", "asyncio", "concurrent", "contextvars", "threading", "langgraph", "langchain", "langchain_core")
"""Packages between the user's call and the warning: zyx, and what drives its coroutines and graph."""


def _callers_level() -> int:
    """The `stacklevel` of the first frame outside zyx and the machinery driving it (the user's `run()` /
    `await arun()` / `make()` line), counted from the caller of this function; 2 if there is none."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] not in _MACHINERY:
            return level
        frame, level = frame.f_back, level + 1
    return 2


def resolve_model(model: str | BaseChatModel | None) -> BaseChatModel:
    """The chat model for a `model=` argument; errors name what to fix before any request is made.

    A string is `"local"`, `"local:<name>"`, `"envelope:<model>@<base_url>"` (any OpenAI-compatible server, tools
    by zyx's envelope protocol: `zyx.ChatEnvelope`), or `"provider:name"`: `openai` is zyx's own `ChatOpenAI`; the
    prefixes of pydantic-ai model strings (`openai-chat:`, `anthropic:`, `google-gla:`, `groq:`, ...) go to
    their LangChain integration (`zyx._providers`); anything else to `init_chat_model` as a LangChain provider.
    """
    if isinstance(model, BaseChatModel):
        return model
    if model is None:
        model = default_model_spec()
    if not isinstance(model, str):
        raise ConfigurationError("model", f"expected a LangChain BaseChatModel or a 'provider:name' string, got {describe(model)}")
    if model == "local" or model.startswith("local:"):
        return _local_model(model)
    if model == "test":
        raise ConfigurationError("model", "'test' is pydantic-ai's TestModel; in zyx, pass a scripted chat model, "
                                 "e.g. model=zyx.testing.ScriptedChatModel(responses=[...])")
    if model.startswith("envelope:"):  # any OpenAI-compatible server, tools by constrained JSON
        from zyx._envelope_model import envelope_model

        return envelope_model(model)
    provider, sep, name = model.partition(":")
    if not sep or not provider or not name:
        raise ConfigurationError("model", f"expected 'provider:name' (e.g. 'openai:gpt-4o-mini'), got {describe(model)}")
    if (why := refusal(provider, name)) is not None:
        raise ConfigurationError("model", f"{describe(model)} is not supported: {why}")
    integration = MAPPED.get(provider)
    if integration is not None and integration.provider == "openai":
        if not (api_key := os.environ.get("OPENAI_API_KEY")):
            raise ConfigurationError("model", f"{describe(model)} needs the OPENAI_API_KEY environment variable (none "
                                     "is set); set it, or pass another model")
        return _openai_model(name, api_key, os.environ.get("OPENAI_BASE_URL"),
                             bool(integration.kwargs.get("use_responses_api")))
    extra = tuple(sorted(ollama_kwargs().items())) if integration is not None and integration.provider == "ollama" else ()
    return _other_model(provider, name, extra)


def model_name(model: BaseChatModel) -> str:
    """A readable name for a chat model instance."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


@lru_cache(maxsize=32)
def _openai_model(name: str, api_key: str, base_url: str | None, responses: bool = False) -> BaseChatModel:
    """zyx's own `ChatOpenAI` (cached: one HTTP client pool per model and settings)."""
    from langchain_openai import ChatOpenAI

    from zyx._http import chat_openai_clients

    # The model is cached, so its async HTTP client must serve whichever event loop calls it.
    # zyx owns the retry budget (MODEL_ATTEMPTS in zyx._faults): the SDK's own retries would multiply it.
    clients = chat_openai_clients(os.environ.get("OPENAI_PROXY"))
    kwargs: dict[str, Any] = {"model": name, "api_key": api_key, "stream_usage": True, "max_retries": 0, **clients}
    if base_url:
        kwargs["base_url"] = base_url
    if responses:
        kwargs["use_responses_api"] = True
    return ChatOpenAI(**kwargs)


@lru_cache(maxsize=32)
def _other_model(provider: str, name: str, extra: tuple[tuple[str, Any], ...] = ()) -> BaseChatModel:
    """A LangChain chat model for `provider` (a pydantic-ai prefix of `MAPPED`, or a LangChain provider key)."""
    spelled = describe(provider + ":" + name)
    integration = MAPPED.get(provider)
    package = integration.package if integration else f"langchain-{provider.replace('_', '-')}"
    kwargs = {**(integration.kwargs if integration else {}), **dict(extra)}
    try:
        make = _maker(integration, provider, name)
    except ImportError as exc:
        raise ConfigurationError("model", _missing(spelled, integration, package, exc)) from None
    try:
        model = make(**kwargs)
        if "max_retries" in type(model).model_fields:  # the SDK retries too: zyx owns the retry budget
            model = make(**kwargs, max_retries=0)
        return model
    except ImportError as exc:
        raise ConfigurationError("model", _missing(spelled, integration, package, exc)) from None
    except ValueError as exc:
        if integration is None and str(exc).startswith("Unsupported provider"):
            raise ConfigurationError("model", f"unknown provider {provider!r} in {spelled}: expected one of "
                                     "LangChain's init_chat_model providers (e.g. 'anthropic', 'google_genai', "
                                     f"'mistralai') or of pydantic-ai's model-string prefixes ({', '.join(MAPPED)})"
                                     ) from None
        raise ConfigurationError("model", f"cannot build {spelled}: {redact(str(exc), name)}") from None


def _maker(integration: Integration | None, provider: str, name: str) -> Callable[..., BaseChatModel]:
    """What builds the chat model: the integration's class, or `init_chat_model` (imported here: ImportError)."""
    if integration is not None and integration.cls is not None:
        module, cls = integration.cls
        chat_class = getattr(importlib.import_module(module), cls)
        return lambda **kwargs: chat_class(model=name, **kwargs)
    from langchain.chat_models import init_chat_model

    key = integration.provider if integration else provider
    return lambda **kwargs: init_chat_model(name, model_provider=key, **kwargs)


def _missing(spelled: str, integration: Integration | None, package: str, exc: ImportError) -> str:
    """The pip hint for a model whose LangChain integration (or `langchain` itself) is not installed."""
    if (exc.name or "").partition(".")[0] == "langchain":  # init_chat_model itself is missing
        return f'{spelled} needs the `langchain` package and its integration: pip install "zyx[providers]" {package}'
    if integration is None:  # a LangChain provider key: LangChain's own message names the package
        return f"{spelled} needs its LangChain integration: {exc}"
    return f"{spelled} needs its LangChain integration {package}: pip install {package}"


def _local_model(spec: str) -> BaseChatModel:
    try:
        from zyx._local import LocalModelUnavailable, make_local_chat_model
    except ImportError as exc:  # the module itself imports optional packages lazily
        raise ConfigurationError("model", f"the local model needs its extra: pip install \"zyx[local]\" ({exc})") from None
    try:
        return make_local_chat_model(spec)
    except LocalModelUnavailable as exc:
        raise ConfigurationError("model", str(exc)) from None
    except (ValueError, FileNotFoundError, RuntimeError) as exc:  # unknown name, missing or broken .gguf
        raise ConfigurationError("model", f"cannot start the local model {describe(spec)}: "
                                 f"{redact(str(exc), spec, spec.partition(':')[2])}") from None


def bind(model: BaseChatModel, tools: Sequence[dict[str, Any]],
         settings: Mapping[str, Any] | None = None) -> Runnable[Any, Any]:
    """Bind tool schemas (and per-run model settings, as call keywords) to a chat model, leaving the model as it
    is; a zyx error if the model cannot call tools."""
    try:
        bound = model.bind_tools(tools)
    except NotImplementedError:
        raise ConfigurationError("model", f"{type(model).__name__} does not support tool calling") from None
    return bound.bind(**settings) if settings else bound
