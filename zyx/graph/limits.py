"""Run limits in the units users mean (`RunLimits`), each checked before the work it would exceed."""

from __future__ import annotations

import dataclasses
import time
import typing
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolCall

from zyx import _prompts
from zyx._options import DEFAULT_MAX_STEPS
from zyx.graph.state import FailureKind, RunState, fail

WRAP_UP_GRACE_MAX = 30.0
"""Seconds past `timeout` a wrap-up turn may take (at most; a fifth of `timeout` when smaller)."""


@dataclass(frozen=True)
class RunLimits:
    """A run's limits, grouped (like pydantic-ai's `UsageLimits`), with the checks that enforce them.

    Built from the checked options of the same names (declared, with their docs, in `zyx._options`).
    """

    max_steps: int
    max_model_calls: int | None
    tool_limits: Mapping[str, int]
    max_tokens_total: int | None
    timeout: float | None
    tool_timeout: float | None

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> RunLimits:
        """The limits among checked options; `max_steps=None` means the default budget."""
        limits = {f.name: values[f.name] for f in dataclasses.fields(cls)}
        if limits["max_steps"] is None:
            limits["max_steps"] = DEFAULT_MAX_STEPS
        return cls(**limits)

    def before_model_call(self, state: RunState) -> str | None:
        """The limit this model call must respect by being the wrap-up turn, if any.

        Tokens cannot be known before a call, so a call that would likely cross `max_tokens_total`
        (assuming it costs what the last one did) becomes the wrap-up turn.
        """
        if self.max_model_calls is not None and state.get("model_calls", 0) + 1 >= self.max_model_calls:
            return "max_model_calls"
        if self.max_tokens_total is not None:
            used = (state.get("usage") or {}).get("total_tokens", 0)
            if used + _last_call_tokens(state) >= self.max_tokens_total:
                return "max_tokens"
        deadline = state.get("deadline")
        if deadline is not None and time.time() >= deadline:
            return "timeout"
        return None

    def spent_tools(self, called: Iterable[str]) -> set[str]:
        """The tools whose `tool_limits` cap the calls made so far (`called`, by name) have reached."""
        used = Counter(called)
        return {name for name, cap in self.tool_limits.items() if used[name] >= cap}

    def admit(self, calls: list[ToolCall], state: RunState) -> tuple[list[int], dict[int, str], str | None]:
        """Which calls run now and which are refused (by position in `calls`, with the reason), and the
        limit that refused them. Positions, not call ids: providers may repeat an id."""
        used = Counter(entry["name"] for entry in state.get("tool_calls", []))
        budget = self.steps_left(state)
        admitted: list[int] = []
        refused: dict[int, str] = {}
        limit: str | None = None
        for i, call in enumerate(calls):
            cap = self.tool_limits.get(call["name"])
            if len(admitted) >= budget:
                refused[i], limit = _prompts.BUDGET_SPENT.format(limit="max_steps"), limit or "max_steps"
            elif cap is not None and used[call["name"]] >= cap:
                refused[i] = _prompts.BUDGET_SPENT.format(limit=f"{call['name']} tool")
                limit = limit or "tool_limit"
            else:
                admitted.append(i)
                used[call["name"]] += 1
        return admitted, refused, limit

    def steps_left(self, state: RunState) -> int:
        """Tool calls the run may still make."""
        return max(self.max_steps - state.get("steps", 0), 0)

    def time_left(self, state: RunState, *, wrap_up: bool = False) -> float | None:
        """Seconds the next piece of work may take before the run's deadline (plus grace for a wrap-up)."""
        deadline = state.get("deadline")
        if deadline is None or self.timeout is None:
            return None
        grace = min(WRAP_UP_GRACE_MAX, self.timeout / 5) if wrap_up else 0.0
        return max(deadline + grace - time.time(), 0.0)

    def tool_call_timeout(self, run_left: float | None) -> float | None:
        """Seconds one tool call may take: `tool_timeout` or what is left of the run, whichever is less."""
        bounds = [t for t in (self.tool_timeout, run_left) if t is not None]
        return min(bounds) if bounds else None


def _per_run_default(hint: Any) -> Any:
    origin = typing.get_origin(hint) or hint
    return [] if origin is list else {} if origin is dict else 0 if origin is int else None


KEPT_FIELDS = frozenset({"messages", "task", "source"})
"""State a thread keeps from one run to the next (the conversation, its goal and source; a new task sets them)."""
PER_RUN_FIELDS: dict[str, Any] = {
    name: _per_run_default(hint) for name, hint in typing.get_type_hints(RunState).items() if name not in KEPT_FIELDS}
"""Fields that start afresh when a finished thread is given a new task: every field of `RunState` but the kept."""


def fresh_run(state: RunState, limits: RunLimits) -> dict[str, Any]:
    """Start-of-run fields to reset (after a finished run on the same thread) and the deadline to set."""
    update: dict[str, Any] = {}
    if state.get("termination") or state.get("error"):
        update.update({k: v.copy() if isinstance(v, (list, dict)) else v for k, v in PER_RUN_FIELDS.items()})
    if limits.timeout is not None and (update or state.get("deadline") is None):
        update["deadline"] = time.time() + limits.timeout
    return update


def limit_failure(limit: str, errors: list[str] | None = None) -> dict[str, Any]:
    """The update that ends a run whose wrap-up turn did not produce an accepted completion."""
    return fail(FailureKind.of_limit(limit), f"The {limit} limit was reached and the model did not "
                "complete the task in its wrap-up turn.", errors, termination=limit)


def rejection_end(state: RunState, kind: FailureKind, count: int, max_retries: int, message: str,
                  errors: list[str]) -> dict[str, Any]:
    """After a rejected completion: end the run if this was the wrap-up turn or retries are spent."""
    limit = state.get("limit")
    if limit:
        return limit_failure(limit, errors)
    if count > max_retries:
        return fail(kind, message, errors)
    return {}


def wrap_up_message(limit: str, text: str = _prompts.WRAP_UP) -> HumanMessage:
    """Tells the model a limit was reached and only its answer is left (`complete_task`; `text`: the contract's)."""
    return HumanMessage(text.format(limit=limit), name="zyx")


def _last_call_tokens(state: RunState) -> int:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, AIMessage):
            return message.usage_metadata.get("total_tokens", 0) if message.usage_metadata else 0
    return 0
