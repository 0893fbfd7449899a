"""How the model hands in its answer: run()'s `complete_task` contract, or make()'s `final_result`.

One run graph serves both `run()` and `make()`: the same nodes, routing, tool execution, limits, timeouts
and context fitting. What differs is the answer contract, fixed in the spec (`RunSpec.make`):

    run()   `complete_task`: a completion (status, summary, evidence) whose `result` validates against the
            target; a plain-text turn is nudged back; checks may reject it (the verifier node).
    make()  `final_result`: the target's own JSON schema (scalars wrapped in `{result}`); a plain-text turn is
            the answer for a `str` target, else an invalid answer; every rejection counts as "invalid"
            (make() has no checks), and running out of retries is a `VerificationError`.

The nodes ask the spec's `Contract` for the answer tool's name and texts, and this module for make()'s checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, HumanMessage
from pydantic import ValidationError

from zyx import _prompts
from zyx._completion import CompletionCheck
from zyx._target import Target, format_validation_error
from zyx.graph.limits import limit_failure
from zyx.graph.state import FailureKind, Rejection, RunState, bump, fail

if TYPE_CHECKING:
    from zyx.graph.spec import RunSpec


@dataclass(frozen=True)
class Contract:
    """The answer tool of a run graph and what the model is told about it."""

    tool: str
    """The answer tool's name: the calls that answer, not tools to run."""
    accepted: str
    duplicate: str
    wrap_up: str
    """The message of a wrap-up turn (a limit reached): `{limit}` is the limit's name."""


RUN = Contract(_prompts.COMPLETE_TASK, _prompts.ACCEPTED, _prompts.DUPLICATE_COMPLETION, _prompts.WRAP_UP)


def make_contract(target: Target | None) -> Contract:
    """make()'s contract for `target`: answer with `final_result`, or for a `str` target in plain text."""
    wrap_up = _prompts.MAKE_WRAP_UP_TEXT if plain_text(target) else _prompts.MAKE_WRAP_UP
    return Contract(_prompts.FINAL_RESULT, _prompts.MAKE_ACCEPTED, _prompts.MAKE_DUPLICATE_ANSWER, wrap_up)


def plain_text(target: Target | None) -> bool:
    """make()'s `str` target: the model's text is the answer, and no answer tool is bound."""
    return target is None or target.type is str


def answer_schema(target: Target | None) -> dict[str, Any] | None:
    """make()'s answer tool: the target's own schema when it is an object, else `{result}`; None for `str`."""
    if target is None or plain_text(target):
        return None
    schema = dict(target.schema)
    if schema.get("type") != "object":
        defs = schema.pop("$defs", None)
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        if defs:
            schema["$defs"] = defs
    return {"type": "function", "function": {
        "name": _prompts.FINAL_RESULT, "description": _prompts.MAKE_ANSWER_DESCRIPTION.format(name=target.name),
        "parameters": schema}}


def wrapped(target: Target) -> bool:
    """Whether make()'s answer carries the value in a `result` argument (a target that is not an object)."""
    return target.schema.get("type") != "object"


def system_prompt(target: Target | None, instructions: str | None) -> str:
    """make()'s system prompt: how to answer (nothing for a `str` target), then the instructions."""
    text = "" if target is None or plain_text(target) else _prompts.MAKE_SYSTEM.format(name=target.name)
    if instructions:
        text = (text + _prompts.INSTRUCTIONS_SECTION.format(instructions=instructions)).lstrip()
    return text


def _made(result: Any) -> dict[str, Any]:
    """The completion state keeps for make()'s answer (`result` as sent)."""
    return {"status": "success", "summary": "", "result": result, "evidence": None, "verification": None}


def check_answer(args: Any, target: Target | None) -> CompletionCheck:
    """Validate `final_result` arguments against the target; the feedback for the model when invalid."""
    raw = args.get("result") if isinstance(args, dict) and (target is None or wrapped(target)) else args
    try:
        value = raw if target is None else target.validate(raw)
    except ValidationError as exc:
        errors = format_validation_error(exc)
        return CompletionCheck(None, _prompts.MAKE_RETRY.format(errors=errors), problems=errors)
    return CompletionCheck(_made(raw), None, value)


def failed(target: Target | None, tries: int) -> str:
    """The message of make()'s `VerificationError` (the errors follow it, one per line)."""
    return f"make() got no valid {target.name if target else 'str'} after {tries} tries:"


def no_answer(state: RunState, spec: RunSpec, reply: AIMessage, limit: str | None) -> dict[str, Any]:
    """make()'s turn without `final_result`: for a `str` target the text is the answer (unless a wrap-up turn
    only asked for tools); else an invalid answer, sent back until `max_retries` is spent."""
    if plain_text(spec.target) and not (limit and (reply.tool_calls or reply.invalid_tool_calls)):
        return {"completion": _made(reply.text), "termination": limit or "completed"}
    if limit:
        return limit_failure(limit)
    rejections = bump(state, Rejection.INVALID)
    if rejections[Rejection.INVALID] > spec.max_retries:
        return {"rejections": rejections, **fail(FailureKind.VERIFICATION, failed(spec.target, rejections[Rejection.INVALID]),
                                                 [_prompts.MAKE_PLAIN_TEXT])}
    feedback = _prompts.MAKE_RETRY.format(errors=_prompts.MAKE_PLAIN_TEXT)
    return {"rejections": rejections, "messages": [HumanMessage(feedback, name="zyx")]}
