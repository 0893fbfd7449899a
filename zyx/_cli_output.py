"""The command line's `--json` output: one JSON object per run (a result, or an error), as `zyx run --json` and
`zyx batch` print it."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from rich.text import Text

if TYPE_CHECKING:
    from zyx.result import RunResult

_JSON_CONTROL = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""The control characters a terminal acts on that `json.dumps(ensure_ascii=False)` leaves raw (it escapes C0
itself; `zyx._cli_view` escapes all of them in human output)."""


def json_line(value: Any) -> Text:
    """One JSON document for stdout, with the control characters JSON allows raw escaped as `\\u009b`."""
    text = json.dumps(value, ensure_ascii=False)
    return Text(_JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def result_json(result: RunResult[Any], elapsed: float) -> dict[str, Any]:
    """The `--json` object for a run that ended with a completion."""
    from pydantic_core import to_jsonable_python

    completion = result.completion
    return {
        "status": completion.status if completion else None,
        "summary": completion.summary if completion else None,
        "output": to_jsonable_python(result.output, fallback=repr),
        "termination": result.termination,
        "verified": result.verified,
        "tool_calls": [_tool_call_json(c) for c in result.tool_calls],
        "usage": dict(result.usage or {}),
        "model": result.model,
        "seconds": round(elapsed, 3),
    }


def _tool_call_json(call: Any) -> dict[str, Any]:
    from pydantic_core import to_jsonable_python

    return {"name": call.name, "args": to_jsonable_python(call.args, fallback=repr),
            "output": to_jsonable_python(call.output, fallback=repr), "error": call.error,
            "duration": round(call.duration, 6)}


def error_json(exc: BaseException, elapsed: float | None = None) -> dict[str, Any]:
    """The `--json` object for a run that failed, or never started."""
    completion = getattr(exc, "completion", None)
    return {
        "status": "error",
        "error": {"type": type(exc).__name__, "message": str(exc), "errors": list(getattr(exc, "errors", []) or [])},
        "summary": completion.summary if completion is not None else None,
        "output": None,
        "termination": getattr(exc, "termination", None),
        "tool_calls": [_tool_call_json(c) for c in getattr(exc, "tool_calls", [])],
        "usage": dict(getattr(exc, "usage", None) or {}),
        "model": getattr(exc, "model", None),
        "seconds": round(elapsed, 3) if elapsed is not None else None,
    }
