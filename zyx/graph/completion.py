"""The `completion` node: checks a `complete_task` call against the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig

from zyx import _prompts
from zyx._completion import check_completion
from zyx._scope import Kept, RunScope
from zyx.events import CompletionRejected
from zyx.graph.answer import check_answer, failed
from zyx.graph.coaching import second_look
from zyx.graph.limits import rejection_end
from zyx.graph.plan import SUBMIT_PLAN
from zyx.graph.progress import tell
from zyx.graph.spec import RunSpec
from zyx.graph.state import (
    CompletionStatus,
    FailureKind,
    PlanCompletionRecord,
    PlanRecord,
    Rejection,
    RunState,
    budget_spent,
    bump,
    fail,
    last_ai_message,
    settle_plan_completion,
    split_calls,
)


@dataclass(frozen=True)
class Pending:
    """The completion being handled: a direct `complete_task` call, or the completion step of a plan.

    A plan's completion is answered on its `submit_plan` call, after the step results (`report`),
    so the model sees both in the one ToolMessage that answers the call.
    """

    call_id: str
    name: str
    args: Any
    report: str | None = None

    def answer(self, text: str, *, error: bool = False) -> ToolMessage:
        """The ToolMessage answering the call with `text` (after the plan's results, for a plan)."""
        content = text if self.report is None else _prompts.PLAN_VERDICT.format(report=self.report, verdict=text)
        return ToolMessage(content, tool_call_id=self.call_id, name=self.name, status="error" if error else "success")

    def settle(self, state: RunState, status: CompletionStatus, error: str | None = None) -> dict[str, Any]:
        """The state update recording the verdict on a plan's completion step (nothing for a direct call)."""
        return settle_plan_completion(state, status, error) if self.report is not None else {}


def pending_completion(state: RunState, answer: str = _prompts.COMPLETE_TASK) -> tuple[Pending, list[ToolCall]]:
    """The completion to handle (a direct call of the answer tool first) and the turn's extra direct calls."""
    _, calls = split_calls(last_ai_message(state["messages"]), answer)
    if calls:
        return Pending(calls[0]["id"] or "", calls[0]["name"], calls[0]["args"]), calls[1:]
    plan = cast(PlanRecord, state.get("plan") or {})
    completion = cast(PlanCompletionRecord, plan["completion"])
    return Pending(plan["call_id"], SUBMIT_PLAN, completion["args"], plan.get("report") or ""), []


def accept(state: RunState, pending: Pending, text: str = _prompts.ACCEPTED) -> dict[str, Any]:
    """The update that ends a run with its completion accepted (`text`: what the model is told)."""
    return {"termination": state.get("limit") or "completed", "messages": [pending.answer(text)],
            **pending.settle(state, "accepted")}


async def judge_completion(state: RunState, config: RunnableConfig, *, spec: RunSpec) -> dict[str, Any]:
    """Validate the completion (make(): its answer); an invalid one goes back to the model as that call's result
    (and is told as `CompletionRejected`)."""
    call, extra = pending_completion(state, spec.contract.tool)
    ignored = [ToolMessage(spec.contract.duplicate, tool_call_id=c["id"] or "", name=c["name"], status="error")
               for c in extra]
    checked = check_answer(call.args, spec.target) if spec.make else \
        check_completion(call.args, spec.target, limit_shown=bool(state.get("limit")))
    if checked.feedback is not None:
        tell(config, CompletionRejected(reason=checked.feedback))
        rejections = bump(state, Rejection.INVALID)
        update: dict[str, Any] = {
            "completion": None, "rejections": rejections, "verification_error": checked.feedback,
            "rejected_completion": call.args if isinstance(call.args, dict) else None,
            "messages": [call.answer(checked.feedback, error=True), *ignored],
            **call.settle(state, "rejected", checked.feedback),
        }
        update.update(budget_spent(state, spec.limits.max_steps))
        count = rejections[Rejection.INVALID]
        if call.args == state.get("rejected_completion") and not spec.make:  # make() retries as it always did
            update.update(fail(FailureKind.VERIFICATION, _prompts.REPEATED_COMPLETION, [checked.feedback]))
        else:
            update.update(rejection_end(  # make()'s message says what it could not make
                state, FailureKind.VERIFICATION, count, spec.max_retries,
                failed(spec.target, count) if spec.make else f"The completion was invalid {count} times.",
                [checked.problems or checked.feedback]))
        return update
    if not spec.make and checked.completion is not None \
            and (look := second_look(state, spec, checked.completion)) is not None:
        text, coached = look
        tell(config, CompletionRejected(reason=text))
        return {"completion": None, **coached,
                "messages": [call.answer(text, error=True), *ignored], **call.settle(state, "rejected", text),
                **budget_spent(state, spec.limits.max_steps)}
    if checked.completion is not None:  # validated once: the same object for the checks and the `RunResult`
        RunScope.of(config).result = Kept(checked.completion["result"], checked.value)
    update = {"completion": checked.completion, "verification_error": None, "messages": ignored}
    if not spec.checks:
        accepted = accept(state, call, spec.contract.accepted)
        update.update(accepted, messages=[*accepted["messages"], *ignored])
    return update
