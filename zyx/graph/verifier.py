"""The `verifier` node: runs the user's verifier and final-answer checks on a valid completion."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._completion import to_run_completion
from zyx._scope import RunScope
from zyx.events import CompletionRejected, Verified
from zyx.graph.completion import Pending, accept, pending_completion
from zyx.graph.limits import rejection_end
from zyx.graph.progress import tell
from zyx.graph.records import attachments_of, run_deps, run_task, tool_records
from zyx.graph.spec import RunSpec
from zyx.graph.state import FailureKind, Rejection, RunState, budget_spent, bump, fail
from zyx.result import RunVerificationContext


async def verify(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Accept the completion (told as `Verified`), or send every failure back to the model as its call's result
    (told as `CompletionRejected`)."""
    pending, _ = pending_completion(state, spec.contract.tool)
    scope = RunScope.of(config)
    completion = to_run_completion(state["completion"] or {}, spec.target, scope)
    target = spec.target.type if spec.target else None
    ctx = RunVerificationContext(
        task=run_task(state, target),
        completion=completion,
        messages=list(state["messages"]),
        tool_calls=tool_records(state, scope),
        attempt=sum((state.get("rejections") or {}).values()) + 1,
        target=target,
        deps=run_deps(config),
        source=scope.source_for(state.get("source")),
        attachments=attachments_of(state),
    )
    try:
        async with asyncio.timeout(spec.limits.time_left(state, wrap_up=bool(state.get("limit")))):
            errors = [e for check in spec.checks if (e := await check(completion, ctx)) is not None]
    except TimeoutError:  # a check outran the run's deadline (checks turn their own errors into failures)
        tell(config, CompletionRejected(reason=_prompts.CHECKS_TIMED_OUT))
        return _timed_out(state, pending)
    if not errors:
        tell(config, Verified())
        return {"verified": True, **accept(state, pending, spec.contract.accepted)}
    tell(config, CompletionRejected(reason="\n".join(errors)))
    feedback = _prompts.CHECK_FAILED.format(errors="\n".join(f"- {e}" for e in errors))
    rejections = bump(state, Rejection.CHECK)
    update: dict[str, Any] = {
        "completion": None, "rejected_completion": state["completion"], "verified": False,
        "verification_error": "\n".join(errors), "rejections": rejections,
        "messages": [pending.answer(feedback, error=True)], **pending.settle(state, "rejected", feedback),
    }
    update.update(budget_spent(state, spec.limits.max_steps))
    update.update(rejection_end(state, FailureKind.VERIFICATION, rejections[Rejection.CHECK], spec.max_retries,
                                f"The completion failed verification {rejections[Rejection.CHECK]} times.", errors))
    return update


def _timed_out(state: RunState, pending: Pending) -> dict[str, Any]:
    """The checks outran the run's deadline: the run ends with `RunTimeoutError`, the call answered."""
    text = _prompts.CHECKS_TIMED_OUT
    return {"completion": None, "rejected_completion": state["completion"], "verification_error": text,
            "messages": [pending.answer(text, error=True)], **pending.settle(state, "rejected", text),
            **fail(FailureKind.TIMEOUT, "The run's timeout was reached while the completion was being verified.", [text],
                   termination="timeout")}
