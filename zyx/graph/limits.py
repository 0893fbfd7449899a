"""Run limits in the units users mean, checked before the work they would exceed."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from zyx import _prompts
from zyx.graph.spec import RunSpec
from zyx.graph.state import RunState, fail

WRAP_UP_GRACE_MAX = 30.0
"""Seconds past `timeout` a wrap-up turn may take (at most; a fifth of `timeout` when smaller)."""

PER_RUN_FIELDS: dict[str, Any] = {
    "completion": None, "rejected_completion": None, "verified": None, "verification_error": None,
    "tool_calls": [], "steps": 0, "model_calls": 0, "rejections": {}, "limit": None, "termination": None,
    "error": None, "usage": {}, "deadline": None, "plan": None, "plans": [],
}
"""Fields that start afresh when a finished thread is given a new task."""


def fresh_run(state: RunState, spec: RunSpec) -> dict[str, Any]:
    """Start-of-run fields to reset (after a finished run on the same thread) and the deadline to set."""
    update: dict[str, Any] = {}
    if state.get("termination") or state.get("error"):
        update.update(PER_RUN_FIELDS)
    if spec.timeout is not None and (update or state.get("deadline") is None):
        update["deadline"] = time.time() + spec.timeout
    return update


LIMIT_ERRORS = {"max_steps": "max_steps", "timeout": "timeout"}
"""Error kind per limit; every other limit raises `LimitExceededError`."""


def limit_failure(limit: str, errors: list[str] | None = None) -> dict[str, Any]:
    """The update that ends a run whose wrap-up turn did not produce an accepted completion."""
    return fail(LIMIT_ERRORS.get(limit, "limit"), f"The {limit} limit was reached and the model did not "
                "complete the task in its wrap-up turn.", errors, termination=limit)


def rejection_end(state: RunState, kind: str, count: int, max_retries: int, message: str,
                  errors: list[str]) -> dict[str, Any]:
    """After a rejected completion: end the run if this was the wrap-up turn or retries are spent."""
    limit = state.get("limit")
    if limit:
        return limit_failure(limit, errors)
    if count > max_retries:
        return fail(kind, message, errors)
    return {}


def wrap_up_message(limit: str) -> HumanMessage:
    """Tells the model a limit was reached and only `complete_task` is left."""
    return HumanMessage(_prompts.WRAP_UP.format(limit=limit), name="zyx")


def _last_call_tokens(state: RunState) -> int:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, AIMessage):
            return message.usage_metadata.get("total_tokens", 0) if message.usage_metadata else 0
    return 0


def limit_before_model_call(state: RunState, spec: RunSpec) -> str | None:
    """The limit this model call must respect by being the wrap-up turn, if any.

    Tokens cannot be known before a call, so a call that would likely cross `max_tokens_total`
    (assuming it costs what the last one did) becomes the wrap-up turn.
    """
    if spec.max_model_calls is not None and state.get("model_calls", 0) + 1 >= spec.max_model_calls:
        return "max_model_calls"
    if spec.max_tokens_total is not None:
        used = (state.get("usage") or {}).get("total_tokens", 0)
        if used + _last_call_tokens(state) >= spec.max_tokens_total:
            return "max_tokens"
    deadline = state.get("deadline")
    if deadline is not None and time.time() >= deadline:
        return "timeout"
    return None


def time_left(state: RunState, spec: RunSpec, *, wrap_up: bool = False) -> float | None:
    """Seconds the next piece of work may take before the run's deadline (plus grace for a wrap-up)."""
    deadline = state.get("deadline")
    if deadline is None or spec.timeout is None:
        return None
    grace = min(WRAP_UP_GRACE_MAX, spec.timeout / 5) if wrap_up else 0.0
    return max(deadline + grace - time.time(), 0.0)
