"""Prompt text as data: what the model is told, in one place."""

from __future__ import annotations

COMPLETE_TASK = "complete_task"

SYSTEM = """\
You are an agent. Carry out the task step by step with the tools: each step is a tool call; read its result \
before the next step. Never invent values: if a tool needs something you do not know yet, first call the tool that \
finds it. When the results answer the task, call `complete_task` with `summary` (the answer, with its values), \
`status` ("success"; "failed" only if the tools cannot answer; "skipped" if the task should not be done) and \
`result`: {result_rule} Only `complete_task` finishes the task: a plain-text answer does not."""

RESULT_WITH_TARGET = "the answer as data, matching the `result` schema exactly."
RESULT_WITHOUT_TARGET = "leave it null (this task has no typed result: the answer goes in `summary`)."

PLAN_SYSTEM = """
Plan mode: you cannot call the task's tools directly. Call `submit_plan` with every tool call you can decide now
(its description lists the tools and their arguments); later steps can use earlier outputs through "$id" references.
The steps run without you, independent ones at the same time, and you get all their results at once as the result
of `submit_plan`. Plan again if you need more, or call `complete_task`.
If the plan can finish the task, end it with a `complete_task` step whose arguments reference the results it needs:
the task then finishes without another turn. If that step is rejected, the reason comes with the `submit_plan` result."""

COMPLETE_TASK_DESCRIPTION = (
    "Finish the task, once you have the answer (from the tool results) or know it cannot be done: "
    "the answer goes in `summary` (and `result`). Only this call finishes the task."
)

LOCAL_TOOLS = """\
You can use these tools:
{listing}
Answer with one JSON object {{"name": <tool name>, "arguments": {{...}}}} calling one tool, or a JSON array of such objects to call several tools at once."""
LOCAL_TOOL_RESULT = "Result of {name}({arguments}):\n{result}"

NUDGE = (
    "That plain-text answer does not finish the task: only a `complete_task` call does. If you still need "
    "information, call a tool; otherwise call `complete_task` now, with your answer in `summary` (and `result`)."
)

WRAP_UP = (
    "The {limit} limit of this run has been reached: no more tools can run. Call `complete_task` now. "
    "If the tool results above answer the task, report them with status \"success\"; "
    "use status \"failed\" only if they do not."
)

REPEATED_CALL = (
    "{result}\n\n(Note: {name} was already called with these arguments and gave this same result, which is "
    "above. Use it: take the next step, or call `complete_task` if you have the answer.)"
)

RESULT_INVALID = "The completion was rejected: `result` does not match the required schema.\n{errors}\nFix the result and call `complete_task` again."
ARGS_INVALID = "The completion was rejected: its arguments are invalid.\n{errors}\nCall `complete_task` again with valid arguments."
CHECK_FAILED = (
    "The completion was rejected by verification:\n{errors}\n"
    "Fix this (call tools if you need more information) and call `complete_task` again."
)
LIMIT_ECHOED = (
    "The completion was rejected: it repeats zyx's message about a run limit instead of answering the task. "
    "Put the answer you found in `summary` and `result`, or use status \"failed\" if you have none."
)
LIMIT_MARKERS = ("limit of this run", "max_steps limit", "max_model_calls limit", "max_tokens limit", "timeout limit")
"""Phrases of zyx's limit messages; a successful completion quoting one is an echo, not an answer."""
CHECK_FALSE = "check {name} returned False"
ACCEPTED = "Completion accepted."
REPEATED_COMPLETION = "The model sent the same invalid completion twice in a row; asking again would not help."
DUPLICATE_COMPLETION = "Ignored: only one `complete_task` call is handled per turn."
UNKNOWN_TOOL = "Error: there is no tool named {name!r}. Available tools: {available}."
BAD_ARGUMENTS = "Error: the arguments of this call are not valid JSON: {error}"
BUDGET_SPENT = "Not run: the {limit} limit of this run has been reached."
NO_COMPLETION_SUMMARY = "No completion tool call was made."

PLAN_REJECTED = (
    "The plan was rejected; nothing was run. Fix every problem below and call `submit_plan` again:\n{problems}"
)
PLAN_DIRECT_CALL = (
    "Error: in plan mode tools are not called directly. Call `submit_plan` with a step that uses {name!r} "
    "(or `complete_task` if you are done)."
)
PLAN_DUPLICATE = "Ignored: only one `submit_plan` call is handled per turn; put every step in one plan."
PLAN_VERDICT = "{report}\n\nThe plan's complete_task step: {verdict}"
PLAN_COMPLETION_SKIPPED = (
    "The plan's complete_task step did not run because a step it references did not succeed; "
    "the task is not finished."
)
PLAN_COMPLETION_IGNORED = (
    "The plan's complete_task step was ignored: `complete_task` was also called directly in this turn."
)


def system_prompt(*, has_target: bool, instructions: str | None, plan: bool) -> str:
    """The system prompt for a run spec, built once per compiled graph."""
    text = SYSTEM.format(result_rule=RESULT_WITH_TARGET if has_target else RESULT_WITHOUT_TARGET)
    if plan:
        text += "\n" + PLAN_SYSTEM
    if instructions:
        text += "\n\nInstructions:\n" + instructions
    return text
