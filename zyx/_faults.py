"""Model faults: which errors are worth retrying, bounded retries with backoff, and zyx errors for the rest."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from zyx.errors import ModelError

T = TypeVar("T")

MODEL_ATTEMPTS = 3
BACKOFF_BASE = 0.25
BACKOFF_MAX = 4.0
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
TRANSIENT_NAMES = frozenset({
    "RateLimitError", "APITimeoutError", "APIConnectionError", "InternalServerError", "ServiceUnavailableError",
    "TimeoutException", "ConnectError", "ReadError", "RemoteProtocolError", "OverloadedError",
})


def status_code(exc: BaseException) -> int | None:
    """The HTTP status an SDK error carries, if any."""
    for attr in ("status_code", "http_status", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def is_transient(exc: BaseException) -> bool:
    """Rate limits, timeouts, 5xx and dropped connections: worth another try. Auth or bad requests: not."""
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    status = status_code(exc)
    if status is not None:
        return status in TRANSIENT_STATUS
    return any(cls.__name__ in TRANSIENT_NAMES for cls in type(exc).__mro__)


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, in seconds, for retry number `attempt` (0-based)."""
    return random.uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt))


def provider_of(model: Any) -> str:
    """A provider name for error messages (the integration package's name)."""
    module = type(model).__module__.split(".")[0]
    return module.removeprefix("langchain_") if module.startswith("langchain_") else module


async def call_with_retries(call: Callable[[], Awaitable[T]], *, model: Any, model_name: str,
                            attempts: int | None = None) -> T:
    """Call the model, retrying transient failures; anything else, or retries spent, is a `ModelError`."""
    attempts = attempts or MODEL_ATTEMPTS
    for attempt in range(attempts):
        try:
            return await call()
        except ModelError:
            raise
        except Exception as exc:  # classified right here: retried, or re-raised as a ModelError
            transient = is_transient(exc)
            if transient and attempt + 1 < attempts:
                await asyncio.sleep(backoff(attempt))
                continue
            why = f"failed after {attempts} attempts" if transient else "failed"
            raise ModelError(f"{provider_of(model)} model {model_name!r} {why}: {type(exc).__name__}: {exc}",
                             provider=provider_of(model), model=model_name) from exc
    raise AssertionError("unreachable: the loop returns or raises")
