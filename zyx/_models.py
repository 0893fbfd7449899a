"""Chat models: a `"provider:name"` string or a `BaseChatModel` becomes the model a run calls."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

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
    warnings.warn(LOCAL_NOTICE, UserWarning, stacklevel=3)  # shown once per calling place, as warnings are
    return "local"


def resolve_model(model: str | BaseChatModel | None) -> BaseChatModel:
    """The chat model for a `model=` argument; errors name what to fix before any request is made."""
    if isinstance(model, BaseChatModel):
        return model
    if model is None:
        model = default_model_spec()
    if not isinstance(model, str):
        raise ConfigurationError("model", f"expected a LangChain BaseChatModel or a 'provider:name' string, got {describe(model)}")
    if model == "local" or model.startswith("local:"):
        return _local_model(model)
    provider, sep, name = model.partition(":")
    if not sep or not provider or not name:
        raise ConfigurationError("model", f"expected 'provider:name' (e.g. 'openai:gpt-4o-mini'), got {describe(model)}")
    if provider == "openai":
        return _openai_model(name, os.environ.get("OPENAI_API_KEY"), os.environ.get("OPENAI_BASE_URL"))
    return _other_model(provider, name)


def model_name(model: BaseChatModel) -> str:
    """A readable name for a chat model instance."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


@lru_cache(maxsize=32)
def _openai_model(name: str, api_key: str | None, base_url: str | None) -> BaseChatModel:
    if not api_key:
        raise ConfigurationError(
            "model", f"{describe('openai:' + name)} needs the OPENAI_API_KEY environment variable (none is set); "
            "set it, or pass another model"
        )
    from langchain_openai import ChatOpenAI

    from zyx._http import chat_openai_clients

    # The model is cached, so its async HTTP client must serve whichever event loop calls it.
    # zyx owns the retry budget (MODEL_ATTEMPTS in zyx._faults): the SDK's own retries would multiply it.
    clients = chat_openai_clients(os.environ.get("OPENAI_PROXY"))
    kwargs: dict[str, Any] = {"model": name, "api_key": api_key, "stream_usage": True, "max_retries": 0, **clients}
    if base_url:
        kwargs["base_url"] = base_url
    return ChatOpenAI(**kwargs)


@lru_cache(maxsize=32)
def _other_model(provider: str, name: str) -> BaseChatModel:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ConfigurationError(
            "model", f"provider {provider!r} needs the `langchain` package and its integration: "
            f'pip install "zyx[providers]" langchain-{provider}'
        ) from None
    try:
        model = init_chat_model(name, model_provider=provider)
        if "max_retries" in type(model).model_fields:  # the SDK retries too: zyx owns the retry budget
            model = init_chat_model(name, model_provider=provider, max_retries=0)
        return model
    except ImportError as exc:
        raise ConfigurationError("model", f"provider {provider!r} is not installed: {exc}") from None
    except ValueError as exc:
        raise ConfigurationError("model", f"cannot build {describe(provider + ':' + name)}: "
                                 f"{redact(str(exc), name)}") from None


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
