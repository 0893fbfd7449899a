"""Token counts for fitting prompts into a model's window, offline and cached per message.

The model's own tokenizer is used where it works offline (the embedded local model's); otherwise an
approximate count in the way of langchain-core's `count_tokens_approximately` (~4 characters a token),
never `get_num_tokens*` of a provider model (tiktoken would download its encodings). Non-ASCII
characters (CJK, emoji) count a token each, so such text is not undercounted fourfold, and content
blocks count by kind (images flat, files by their data, reasoning by its text).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

PER_MESSAGE = 4
"""Tokens a chat template adds around each message (role markers), on top of its text."""
_CACHE_SIZE = 4096


def _approximate(text: str) -> int:
    """~4 characters a token for ASCII, 1 token a character beyond it (CJK, emoji), summed per kind."""
    if text.isascii():
        return len(text) // 4 + 1
    wide = sum(1 for ch in text if ord(ch) > 127)
    return (len(text) - wide) // 4 + wide + 1


IMAGE_TOKENS = 1000
"""An image block, whatever its size in base64 (providers bill images by tiles: ~765 for a 1024 px square)."""


class TokenCounter:
    """Counts the tokens of messages, texts and tool listings for one chat model.

    `exact` is True when the model's own tokenizer answers (local model); counts of messages are cached
    by message id and content, so a turn counts only what is new.
    """

    def __init__(self, model: BaseChatModel | None = None) -> None:
        self._tokenize: Callable[[str], list[int]] | None = _own_tokenizer(model)
        self._messages: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._texts: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._lock = threading.Lock()  # one counter serves every run of a spec, in any thread

    @property
    def exact(self) -> bool:
        return self._tokenize is not None

    def text(self, text: str) -> int:
        """Tokens of a plain text (cached by content)."""
        if not text:
            return 0
        key = (hash(text), len(text))
        with self._lock:
            if (hit := self._texts.get(key)) is not None:
                self._texts.move_to_end(key)
                return hit
        tokenize = self._tokenize
        count = len(tokenize(text)) if tokenize is not None else _approximate(text)
        with self._lock:
            _put(self._texts, key, count)
        return count

    def message(self, message: BaseMessage) -> int:
        """Tokens of one message: its text, other content blocks (files by size, images flat, reasoning by its
        text), its tool calls (malformed ones too: providers are sent their raw arguments), the template's cost."""
        calls = [*(getattr(message, "tool_calls", None) or []), *(getattr(message, "invalid_tool_calls", None) or [])]
        content = message.content if isinstance(message.content, str) else json.dumps(
            message.content, ensure_ascii=False, default=str)
        call_text = "".join(f"{c.get('name')}{_args_text(c.get('args'))}" for c in calls)
        key = (message.type, message.id, hash(content), len(content), hash(call_text), len(call_text))
        with self._lock:
            if (hit := self._messages.get(key)) is not None:
                self._messages.move_to_end(key)
                return hit
        count = PER_MESSAGE + sum(self._block(b) for b in _blocks(message.content)) + sum(
            self.text(c.get("name") or "") + self.text(_args_text(c.get("args"))) + 8 for c in calls)
        with self._lock:
            _put(self._messages, key, count)
        return count

    def _block(self, block: Any) -> int:
        if isinstance(block, str):
            return self.text(block)
        kind = block.get("type")
        if kind == "text":
            return self.text(str(block.get("text") or ""))
        if kind in ("image", "image_url"):
            return IMAGE_TOKENS
        if kind in ("thinking", "reasoning"):
            return self.text(str(block.get("thinking") or block.get("reasoning") or block.get("text") or ""))
        return _approximate(json.dumps(block, ensure_ascii=False, default=str))  # files, audio: their data

    def messages(self, messages: Iterable[BaseMessage]) -> int:
        return sum(self.message(m) for m in messages)

    def tools(self, schemas: Sequence[dict[str, Any]]) -> int:
        """Tokens the bound tools add to a prompt: their JSON schemas, or the local model's listing of them."""
        if not schemas:
            return 0
        if self._tokenize is not None:  # the local model lists the tools in its system prompt (zyx._envelope)
            from zyx._envelope import with_instruction

            listing = with_instruction([], [s.get("function", s) for s in schemas])[0]
            return self.text(listing.text)
        return self.text(json.dumps(schemas, ensure_ascii=False, default=str)) + 8 * len(schemas)

    async def warm(self, messages: Sequence[BaseMessage]) -> None:
        """Count uncached messages in a thread when the tokenizer is a server round trip (no blocked loop)."""
        if self._tokenize is not None:
            await asyncio.to_thread(lambda: [self.message(m) for m in messages])


def _put(cache: OrderedDict[Any, int], key: Any, value: int) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _blocks(content: Any) -> list[Any]:
    """A message's content as blocks: a string is one text block."""
    if isinstance(content, str):
        return [content] if content else []
    return [b for b in content if isinstance(b, (str, dict))] if isinstance(content, list) else [str(content)]


def _args_text(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False, default=str)


def _own_tokenizer(model: BaseChatModel | None) -> Callable[[str], list[int]] | None:
    """The embedded local model's tokenizer (its llama.cpp server's /tokenize); None for other models."""
    server = getattr(model, "local_server", None)
    tokenize = getattr(server, "tokenize", None)
    return tokenize if callable(tokenize) else None
