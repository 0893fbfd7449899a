"""The `complete_task` contract: its schema for the model, and checking what the model sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from zyx import _prompts
from zyx._scope import RunScope
from zyx._target import Target, format_validation_error
from zyx.result import RunCompletion

STATUSES = ("success", "failed", "skipped")


def completion_tool(target: Target | None) -> dict[str, Any]:
    """The `complete_task` tool in OpenAI format; `result` is typed by the target's JSON schema."""
    if target is None:
        result_schema: dict[str, Any] = {"type": "null", "description": _prompts.NO_RESULT}
        defs: dict[str, Any] = {}
    else:
        result_schema = dict(target.schema)
        defs = result_schema.pop("$defs", {})
        result_schema.setdefault("description", _prompts.RESULT_OF_TYPE.format(name=target.name))
    parameters: dict[str, Any] = {
        "type": "object",
        # `result` first: a model then copies values from the tool results into it, not from its own prose
        # (a small one misspells 14000000 as "140,000,000" in the summary, then copies that).
        "properties": {
            "result": result_schema,
            "summary": {"type": "string", "description": _prompts.COMPLETION_FIELDS["summary"]},
            "status": {"type": "string", "enum": list(STATUSES), "default": "success",
                       "description": _prompts.COMPLETION_FIELDS["status"]},
            "evidence": {"description": _prompts.COMPLETION_FIELDS["evidence"]},
            "verification": {"description": _prompts.COMPLETION_FIELDS["verification"]},
        },
        "required": ["result", "summary"] if target is not None else ["summary"],
    }
    if defs:
        parameters["$defs"] = defs
    return {
        "type": "function",
        "function": {"name": _prompts.COMPLETE_TASK, "description": _prompts.COMPLETE_TASK_DESCRIPTION,
                     "parameters": parameters},
    }


@dataclass(frozen=True)
class CompletionCheck:
    """The outcome of checking a `complete_task` call: its JSON form for state and the validated
    result when valid, else the feedback.

    State keeps `result` as the model sent it, the one form that validates again to the same value
    (a dump may not: aliases, computed fields, secrets, validators that transform).
    """

    completion: dict[str, Any] | None
    feedback: str | None
    value: Any = None
    problems: str | None = None
    """What was wrong, without what the model is asked to do (the error's `errors`); None: the feedback."""


def _envelope_errors(args: Any) -> list[str]:
    if not isinstance(args, dict):
        return [_prompts.COMPLETION_NOT_OBJECT.format(type=type(args).__name__)]
    errors = []
    if not isinstance(args.get("summary"), str):
        errors.append(_prompts.COMPLETION_NO_SUMMARY)
    status = args.get("status", "success")
    if status not in STATUSES:
        errors.append(_prompts.COMPLETION_BAD_STATUS.format(statuses=", ".join(STATUSES), status=status))
    return errors


def echoes_limit(args: dict[str, Any]) -> bool:
    """Whether a successful completion's summary or result quotes zyx's limit message instead of an answer."""
    if args.get("status", "success") != "success":
        return False
    text = f"{args.get('summary')} {json.dumps(args.get('result'), default=str)}".lower()
    return any(marker in text for marker in _prompts.LIMIT_MARKERS)


def check_completion(args: Any, target: Target | None, *, limit_shown: bool = False) -> CompletionCheck:
    """Validate `complete_task` arguments; `result` against the target (optional unless status is success).

    After the model was told of a limit (`limit_shown`), a "success" that echoes that message is rejected.
    """
    errors = _envelope_errors(args)
    if errors:
        return CompletionCheck(None, _prompts.ARGS_INVALID.format(errors="\n".join(errors)))
    if limit_shown and echoes_limit(args):
        return CompletionCheck(None, _prompts.LIMIT_ECHOED)
    status = args.get("status", "success")
    raw = args.get("result")
    value: Any = raw
    if target is not None and (raw is not None or status == "success"):
        try:
            value = target.validate(raw)
        except ValidationError as exc:
            return CompletionCheck(None, _prompts.RESULT_INVALID.format(errors=format_validation_error(exc)))
    completion = {
        "status": status,
        "summary": args["summary"] if args["summary"].strip() else _prompts.EMPTY_SUMMARY,
        "result": raw,
        "evidence": args.get("evidence"),
        "verification": args.get("verification"),
    }
    return CompletionCheck(completion, None, value)


def to_run_completion(data: dict[str, Any], target: Target | None, scope: RunScope | None = None) -> RunCompletion[Any]:
    """The typed `RunCompletion` for a completion kept in state: the result validated when the completion
    was checked (kept in the run's `scope`: one object for the checks and the `RunResult`), else (a resumed
    thread) the state's result validated into the target."""
    result = data.get("result")
    kept = scope.result if scope is not None else None
    if kept is not None and kept.stands_for(result):
        result = kept.value
    elif target is not None and result is not None:
        result = target.validate(result)
    return RunCompletion(
        status=data["status"],
        summary=data["summary"],
        result=result,
        evidence=data.get("evidence"),
        verification=data.get("verification"),
    )
