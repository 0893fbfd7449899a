"""The planner's prompt, fitted to the run's window (zyx.graph.context), and what is recorded of it:
the `context` state field, the `ContextFitted` stream event, and a bounded retry when a provider still
says the prompt was too long (an approximate count fell short)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig

from zyx._tokens import TokenCounter
from zyx.errors import ModelError
from zyx.events import ContextFitted
from zyx.graph.context import Fitted, Window, fit
from zyx.graph.progress import tell
from zyx.graph.state import RunState

CONTEXT_RETRIES = 2
"""Model calls retried on a smaller window when the provider rejects a prompt as too long."""
_OVERFLOW_MARKERS = ("context length", "context_length", "context size", "context window", "context limit",
                     "maximum context", "prompt is too long", "input is too long", "reduce the length",
                     "max_new_tokens", "too many input tokens", "input length")
"""How providers say a prompt is too long (OpenAI, Anthropic, Gemini, llama.cpp, vLLM, TGI), not a rate limit."""


@dataclass
class Fitter:
    """Fits one run's prompts (`fit()`) with the model's counter; every schema that may be bound is counted."""

    window: Window
    counter: TokenCounter
    schemas: list[dict[str, Any]]
    """Every tool schema a turn may bind (their cost is counted in full, whatever a turn binds)."""
    _tools: list[int] = field(default_factory=list)

    async def fit(self, system: str, messages: Sequence[BaseMessage], source: str | None,
                  window: Window | None = None, earlier: Mapping[str, Sequence[str]] | None = None) -> Fitted:
        """The fitted prompt; a tokenizer that is a server round trip counts in a thread, not on the loop."""
        if self.counter.exact:
            if not self._tools:
                self._tools.append(await asyncio.to_thread(self.counter.tools, self.schemas))
            await self.counter.warm(messages)
        elif not self._tools:
            self._tools.append(self.counter.tools(self.schemas))
        return fit(system, messages, window=window or self.window, counter=self.counter, tools=self._tools[0],
                   source=source, earlier=earlier)


def is_context_overflow(error: ModelError) -> bool:
    """Whether a model error says the prompt did not fit the model's context window."""
    text = " ".join(str(e) for e in (error, error.__cause__) if e is not None).lower()
    return any(m in text for m in _OVERFLOW_MARKERS)


def smaller_window(window: Window, tokens: int) -> Window:
    """A window three quarters the size of what was just refused (the prompt as counted)."""
    room = min(window.size - window.reserve, tokens) if window.size is not None else tokens
    return Window(max(1, int(room * 0.75)) + window.reserve, window.reserve)


def run_window(state: RunState, window: Window) -> Window:
    """The window of this run's next call: smaller than the run's own once a provider refused a prompt as too
    long (remembered in the `context` state field, so later turns do not meet the same refusal first)."""
    shrunk = (state.get("context") or {}).get("shrunk_window")
    if isinstance(shrunk, int) and (window.size is None or shrunk < window.size):
        return Window(shrunk, window.reserve)
    return window


def context_record(state: RunState, fitted: Fitted, window: Window | None = None) -> dict[str, Any]:
    """The `context` state field after a model call: what its prompt held and how it was fitted (and the window
    the provider's refusal shrank the run to, when `fitted` was fitted to less than the run's `window`)."""
    before = state.get("context") or {}
    shrunk = before.get("shrunk_window")
    if window is not None and fitted.window.size is not None and (window.size is None
                                                                  or fitted.window.size < window.size):
        shrunk = fitted.window.size
    return {"window": fitted.window.size, "shrunk_window": shrunk, "prompt_tokens": fitted.tokens,
            "max_prompt_tokens": max(int(before.get("max_prompt_tokens") or 0), fitted.tokens),
            "fitted_calls": int(before.get("fitted_calls") or 0) + fitted.changed, "share": fitted.share,
            "cut": dict(fitted.cut), "stubbed": list(fitted.stubbed), "dropped": fitted.dropped,
            "compacted": fitted.compacted}


def tell_fitted(config: RunnableConfig, fitted: Fitted) -> None:
    """Tell a `ContextFitted` event (zyx.graph.progress) when the prompt is not the history as it is."""
    if fitted.changed:
        tell(config, ContextFitted(prompt_tokens=fitted.tokens, window=fitted.window.size, cut=tuple(fitted.cut),
                                   stubbed=tuple(fitted.stubbed), dropped=fitted.dropped))
