"""Verifiers and final-answer checks: called as f(completion) or f(completion, ctx), sync or async.

A sync check runs in a worker thread, so one that blocks does not stop the event loop (and the
run's timeout can end the run while it runs: Python cannot stop the thread, which finishes on its own).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from zyx import _prompts
from zyx._aio import call_user, is_async_callable
from zyx.errors import ConfigurationError
from zyx.result import RunCompletion, RunVerificationContext

CheckFn = Callable[[RunCompletion[Any], RunVerificationContext[Any]], Awaitable[str | None]]


def _check_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _wants_context(fn: Callable[..., Any], argument: str) -> bool:
    """Whether `fn` takes the context as a second argument, decided once from its signature."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    if len(required) > 2 or (not positional and not varargs):
        raise ConfigurationError(argument, f"{_check_name(fn)} must take (completion) or (completion, ctx)")
    return varargs or len(positional) >= 2


def prepare_check(fn: Callable[..., Any], argument: str) -> CheckFn:
    """Wrap a user check into one async call that returns None (passed) or the failure message."""
    with_ctx = _wants_context(fn, argument)
    name = _check_name(fn)
    is_async = is_async_callable(fn)

    async def check(completion: RunCompletion[Any], ctx: RunVerificationContext[Any]) -> str | None:
        args = (completion, ctx) if with_ctx else (completion,)
        try:
            outcome = await call_user(fn, *args, is_async=is_async)
        except Exception as exc:  # a raising check is a failed check, reported to the model
            return str(exc) or _prompts.CHECK_RAISED.format(name=name, kind=type(exc).__name__)
        if outcome is None or outcome is True:
            return None
        if outcome is False:
            return _prompts.CHECK_FALSE.format(name=name)
        if isinstance(outcome, str):
            return outcome or _prompts.CHECK_FALSE.format(name=name)
        return _prompts.CHECK_BAD_RETURN.format(name=name, outcome=outcome)

    return check
