"""pydantic-ai's model-string prefixes (what the original zyx took) -> the LangChain integration that serves them.

`model="anthropic:claude-sonnet-4-5"` or the original zyx's default `"openai-chat:gpt-4o-mini"` keep working: every
provider prefix of pydantic-ai (1.x and 2.x) with a LangChain chat integration is mapped to it (`init_chat_model`'s
provider key, or the integration's class), and the rest are refused with a message naming the LangChain way to
reach the same API. Nothing here makes a request; the integration is imported only when the model is built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Integration:
    """The LangChain chat model a model-string prefix is built with."""

    provider: str
    """`init_chat_model`'s provider key, or `"openai"` for zyx's own `ChatOpenAI` (see `zyx._models`)."""
    package: str
    """What to `pip install` when it is missing."""
    cls: tuple[str, str] | None = None
    """(module, class) for integrations `init_chat_model` does not know; None: `init_chat_model`."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Constructor keywords that make the LangChain model do what the pydantic-ai prefix meant."""


def _init(provider: str, package: str, **kwargs: Any) -> Integration:
    return Integration(provider, package, None, kwargs)


OPENAI = _init("openai", "langchain-openai")
MAPPED: dict[str, Integration] = {
    "openai": OPENAI,  # zyx's own ChatOpenAI (Chat Completions), as "openai:" always meant here
    "openai-chat": OPENAI,
    "openai-responses": _init("openai", "langchain-openai", use_responses_api=True),
    "azure": _init("azure_openai", "langchain-openai"),
    "azure-responses": _init("azure_openai", "langchain-openai", use_responses_api=True),
    "anthropic": _init("anthropic", "langchain-anthropic"),
    "google": _init("google_genai", "langchain-google-genai"),
    "google-gla": _init("google_genai", "langchain-google-genai"),
    "google-vertex": _init("google_vertexai", "langchain-google-vertexai"),
    "google-cloud": _init("google_vertexai", "langchain-google-vertexai"),
    "groq": _init("groq", "langchain-groq"),
    "mistral": _init("mistralai", "langchain-mistralai"),
    "cohere": _init("cohere", "langchain-cohere"),
    "bedrock": _init("bedrock_converse", "langchain-aws"),
    "bedrock-mantle": _init("bedrock_mantle_openai", "langchain-aws"),
    "deepseek": _init("deepseek", "langchain-deepseek"),
    "xai": _init("xai", "langchain-xai"),
    "grok": _init("xai", "langchain-xai"),
    "fireworks": _init("fireworks", "langchain-fireworks"),
    "together": _init("together", "langchain-together"),
    "openrouter": _init("openrouter", "langchain-openrouter"),
    "ollama": _init("ollama", "langchain-ollama"),
    "litellm": _init("litellm", "langchain-litellm"),
    "meta": _init("meta", "langchain-meta"),
    # pydantic-ai calls Hugging Face's hosted inference; init_chat_model's default would download the model.
    "huggingface": _init("huggingface", "langchain-huggingface", backend="endpoint"),
    "cerebras": Integration("cerebras", "langchain-cerebras", ("langchain_cerebras", "ChatCerebras")),
    "sambanova": Integration("sambanova", "langchain-sambanova", ("langchain_sambanova", "ChatSambaNova")),
    "nebius": Integration("nebius", "langchain-nebius", ("langchain_nebius", "ChatNebius")),
}
"""pydantic-ai prefixes with a LangChain integration. Other prefixes that are `init_chat_model` keys (e.g.
`google_genai`, `mistralai`, `bedrock_converse`) are LangChain's own spelling and go to it as they are."""

_OPENAI_COMPATIBLE: dict[str, tuple[str, str]] = {
    "heroku": ("https://us.inference.heroku.com/v1", "HEROKU_INFERENCE_KEY"),
    "vercel": ("https://ai-gateway.vercel.sh/v1", "VERCEL_AI_GATEWAY_API_KEY"),
    "github": ("https://models.github.ai/inference", "GITHUB_API_KEY"),
    "moonshotai": ("https://api.moonshot.ai/v1", "MOONSHOTAI_API_KEY"),
    "ovhcloud": ("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", "OVHCLOUD_API_KEY"),
    "alibaba": ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY"),
    "crusoe": ("https://api.inference.crusoecloud.com/v1", "CRUSOE_API_KEY"),
    "zai": ("https://api.z.ai/api/paas/v4", "ZAI_API_KEY"),
    "vllm": ("<your vLLM server>/v1", "VLLM_API_KEY"),
    "snowflake": ("https://<account>.snowflakecomputing.com/api/v2/cortex/v1", "SNOWFLAKE_TOKEN"),
    "system-one": ("<your System One server>", "SYSTEM_ONE_API_KEY"),
    "typesafe": ("https://api.typesafe.ai", "TYPESAFE_API_KEY"),
}
"""pydantic-ai prefixes of OpenAI-compatible APIs with no LangChain chat integration of their own: (URL, key)."""

_SIGN_IN = {"openai-codex": "ChatGPT", "openai-chatgpt": "ChatGPT", "github-copilot": "GitHub Copilot"}
_NOT_CHAT = {"elevenlabs": "speech", "voyageai": "embeddings", "sentence-transformers": "embeddings"}


def refusal(provider: str, name: str) -> str | None:
    """Why a pydantic-ai prefix cannot be used here, naming the LangChain equivalent; None for other prefixes."""
    if provider in _OPENAI_COMPATIBLE:
        url, key = _OPENAI_COMPATIBLE[provider]
        return (f"pydantic-ai's {provider!r} provider has no LangChain integration to map it to; its API is "
                f"OpenAI-compatible, so pass model=ChatOpenAI(model={name!r}, base_url={url!r}, "
                f"api_key=os.environ[{key!r}]) (from langchain_openai)")
    if provider in _SIGN_IN:
        return (f"pydantic-ai's {provider!r} provider signs in with a {_SIGN_IN[provider]} subscription, which "
                "LangChain cannot do: use an API key instead, e.g. 'openai:<model>' with OPENAI_API_KEY")
    if provider in ("openai-decisions", "google-decisions"):
        upstream = "openai" if provider.startswith("openai") else "google_genai"
        return (f"pydantic-ai's {provider!r} decision-model endpoint has no LangChain equivalent; use a chat "
                f"model, e.g. '{upstream}:<model>'")
    if provider in _NOT_CHAT:
        return f"pydantic-ai's {provider!r} provider serves {_NOT_CHAT[provider]}, not chat models"
    if provider.startswith("gateway/"):
        upstream = provider.removeprefix("gateway/")
        return ("LangChain has no client for the Pydantic AI Gateway: call the provider directly "
                f"({upstream + ':' + name!r}), or pass model=ChatOpenAI(model={name!r}, base_url=<your gateway's "
                "OpenAI-compatible URL>, api_key=...) (from langchain_openai)")
    return None


def ollama_kwargs() -> dict[str, Any]:
    """pydantic-ai's `OLLAMA_BASE_URL` (OpenAI-compatible, ending in /v1) as `ChatOllama`'s `base_url`, if set."""
    url = os.environ.get("OLLAMA_BASE_URL")
    if not url:
        return {}
    url = url.rstrip("/")
    return {"base_url": url.removesuffix("/v1")}
