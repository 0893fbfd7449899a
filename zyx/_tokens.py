"""Token counts for fitting prompts into a model's window, offline and cached per message.

The model's own tokenizer is used where it works offline (the embedded local model's); otherwise
langchain-core's approximate counter, never `get_num_tokens*` of a provider model (tiktoken would
download its encodings). The approximate counter assumes ~4 characters a token: text that is mostly
non-ASCII (CJK, emoji) is counted at ~1 character a token instead, so it is not undercounted fourfold.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from zyx._tool_output import content_text

PER_MESSAGE = 4
"""Tokens a chat template adds around each message (role markers), on top of its text."""
_CACHE_SIZE = 4096


def _chars_per_token(text: str) -> float:
    """~4 characters a token for ASCII text, ~1 for text that is all non-ASCII; linear in between."""
    if not text:
        return 4.0
    wide = sum(1 for ch in text if ord(ch) > 127) / len(text) if not text.isascii() else 0.0
    return 4.0 - 3.0 * wide


class TokenCounter:
    """Counts the tokens of messages, texts and tool listings for one chat model.

    `exact` is True when the model's own tokenizer answers (local model); counts of messages are cached
    by message id and content, so a turn counts only what is new.
    """

    def __init__(self, model: BaseChatModel | None = None) -> None:
        self._tokenize: Callable[[str], list[int]] | None = _own_tokenizer(model)
        self._messages: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._texts: OrderedDict[tuple[int, int], int] = OrderedDict()

    @property
    def exact(self) -> bool:
        return self._tokenize is not None

    def text(self, text: str) -> int:
        """Tokens of a plain text (cached by content)."""
        if not text:
            return 0
        key = (hash(text), len(text))
        if (hit := self._texts.get(key)) is not None:
            self._texts.move_to_end(key)
            return hit
        tokenize = self._tokenize
        count = len(tokenize(text)) if tokenize is not None else int(len(text) / _chars_per_token(text)) + 1
        _put(self._texts, key, count)
        return count

    def message(self, message: BaseMessage) -> int:
        """Tokens of one message: its text (and tool calls), plus the template's per-message cost."""
        text = content_text(message.content)
        calls = getattr(message, "tool_calls", None) or []
        key = (message.type, message.id, hash(text), len(text), len(calls))
        if (hit := self._messages.get(key)) is not None:
            self._messages.move_to_end(key)
            return hit
        if self._tokenize is not None or not isinstance(message.content, str):
            count = self.text(text) + PER_MESSAGE + sum(
                self.text(json.dumps(c.get("args"), ensure_ascii=False, default=str)) + 8 for c in calls)
            count += _blocks_cost(message.content)
        else:
            count = int(count_tokens_approximately([message], chars_per_token=_chars_per_token(text))) + 1
        _put(self._messages, key, count)
        return count

    def messages(self, messages: Iterable[BaseMessage]) -> int:
        return sum(self.message(m) for m in messages)

    def tools(self, schemas: Sequence[dict[str, Any]]) -> int:
        """Tokens the bound tools add to a prompt: their JSON schemas, or the local model's listing of them."""
        if not schemas:
            return 0
        if self._tokenize is not None:  # the local model lists the tools in its system prompt (zyx._envelope)
            from zyx._envelope import with_instruction

            listing = with_instruction([], [s.get("function", s) for s in schemas])[0]
            return self.text(content_text(listing.content))
        return self.text(json.dumps(schemas, ensure_ascii=False, default=str)) + 8 * len(schemas)

    async def warm(self, messages: Sequence[BaseMessage]) -> None:
        """Count uncached messages in a thread when the tokenizer is a server round trip (no blocked loop)."""
        if self._tokenize is not None:
            await asyncio.to_thread(lambda: [self.message(m) for m in messages])


def _put(cache: OrderedDict[Any, int], key: Any, value: int) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _blocks_cost(content: Any) -> int:
    """Non-text content blocks (images, files): langchain-core's flat estimate per block."""
    if not isinstance(content, list):
        return 0
    return sum(85 for part in content if isinstance(part, dict) and part.get("type") not in (None, "text"))


def _own_tokenizer(model: BaseChatModel | None) -> Callable[[str], list[int]] | None:
    """The embedded local model's tokenizer (its llama.cpp server's /tokenize); None for other models."""
    server = getattr(model, "local_server", None)
    tokenize = getattr(server, "tokenize", None)
    return tokenize if callable(tokenize) else None
