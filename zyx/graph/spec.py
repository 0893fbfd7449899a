"""RunSpec: everything fixed for a run (model, tools, target, checks, limits), kept out of graph state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from typing_extensions import TypedDict

from zyx import _prompts
from zyx._checks import CheckFn, prepare_check
from zyx._completion import completion_tool
from zyx._models import model_name, resolve_model
from zyx._target import Target, make_target
from zyx._tool_args import ArgumentCheck, argument_check
from zyx._tools import openai_schemas, to_tools
from zyx.errors import ConfigurationError
from zyx.graph.approval import Approve, approval_rule
from zyx.graph.plan import submit_plan_tool
from zyx.result import PendingToolCall

DEFAULT_MAX_STEPS = 50
"""Tool calls a run may make when `max_steps` is not given: every run ends."""

Check = Callable[..., Any]


class GraphOptions(TypedDict, total=False):
    """The options that fix a run graph (everything of `run()` but the task, target, context and stream)."""

    model: str | BaseChatModel | None
    instructions: str | None
    tools: Sequence[Any] | None
    verifier: Check | None
    final_answer_checks: Sequence[Check] | None
    require_completion: bool
    plan: bool
    planning_interval: int | None
    max_steps: int | None
    max_retries: int
    max_model_calls: int | None
    tool_limits: Mapping[str, int] | None
    max_tokens_total: int | None
    timeout: float | None
    tool_timeout: float | None
    approve: Approve
    approve_plan: bool



@dataclass(frozen=True, eq=False)
class RunSpec:
    """The fixed part of a run. Callables and types live here, never in graph state."""

    model: BaseChatModel
    tools: tuple[BaseTool, ...] = ()
    target: Target | None = None
    instructions: str | None = None
    verifier: Check | None = None
    final_answer_checks: tuple[Check, ...] = ()
    require_completion: bool = True
    plan: bool = False
    planning_interval: int | None = None
    max_steps: int = DEFAULT_MAX_STEPS
    max_retries: int = 2
    max_model_calls: int | None = None
    tool_limits: Mapping[str, int] = field(default_factory=dict)
    max_tokens_total: int | None = None
    timeout: float | None = None
    tool_timeout: float | None = None
    approve: Approve = None
    approve_plan: bool = False
    tools_by_name: Mapping[str, BaseTool] = field(init=False)
    system_prompt: str = field(init=False)
    model_name: str = field(init=False)
    completion_schema: dict[str, Any] = field(init=False)
    bound_model: Runnable[Any, Any] = field(init=False)
    wrap_up_model: Runnable[Any, Any] = field(init=False)
    checks: tuple[CheckFn, ...] = field(init=False)
    approval: Callable[[PendingToolCall], bool] | None = field(init=False)
    """Which tool calls pause for a human decision (from `approve`)."""
    argument_checks: Mapping[str, ArgumentCheck] = field(init=False)
    """Per tool: its arguments checked against the schema the model is shown, before it runs."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "tools_by_name", {t.name: t for t in self.tools})
        set_(self, "argument_checks", {t.name: argument_check(t) for t in self.tools})
        set_(self, "system_prompt", _prompts.system_prompt(
            has_target=self.target is not None, instructions=self.instructions, plan=self.plan))
        set_(self, "model_name", model_name(self.model))
        set_(self, "completion_schema", completion_tool(self.target))
        wrap_up = bind(self.model, [self.completion_schema])
        full = bind(self.model, [*self.turn_tools(), self.completion_schema]) if self.max_steps else wrap_up
        set_(self, "bound_model", full)
        set_(self, "wrap_up_model", wrap_up)
        verifier = (prepare_check(self.verifier, "verifier"),) if self.verifier else ()
        set_(self, "checks", verifier + tuple(prepare_check(c, "final_answer_checks") for c in self.final_answer_checks))
        set_(self, "approval", approval_rule(self.approve, [t.name for t in self.tools]))

    def turn_tools(self) -> list[dict[str, Any]]:
        """Tool schemas bound next to `complete_task`: the user tools, or in plan mode `submit_plan` listing them."""
        schemas = openai_schemas(self.tools)
        if not self.plan:
            return schemas
        return [submit_plan_tool(_prompts.COMPLETE_TASK, schemas, max_tool_steps=self.planning_interval)]


def bind(model: BaseChatModel, tools: Sequence[dict[str, Any]]) -> Runnable[Any, Any]:
    """Bind tool schemas to a chat model, with a zyx error if the model cannot call tools."""
    try:
        return model.bind_tools(tools)
    except NotImplementedError:
        raise ConfigurationError("model", f"{type(model).__name__} does not support tool calling") from None


def _non_negative_int(name: str, value: Any, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(name, f"expected a non-negative integer{' or None' if allow_none else ''}, got {value!r}")


def _positive_number(name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(name, f"expected a positive number of seconds or None, got {value!r}")


def _check_tool_limits(tool_limits: Any, tools: tuple[BaseTool, ...]) -> dict[str, int]:
    if tool_limits is None:
        return {}
    if not isinstance(tool_limits, Mapping):
        raise ConfigurationError("tool_limits", f"expected a dict of tool name -> max calls, got {tool_limits!r}")
    names = {t.name for t in tools}
    for name, cap in tool_limits.items():
        if name not in names:
            raise ConfigurationError("tool_limits", f"{name!r} is not one of the run's tools ({', '.join(sorted(names))})")
        _non_negative_int("tool_limits", cap, allow_none=False)
    return dict(tool_limits)


def _callable_or_none(name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise ConfigurationError(name, f"expected a function (completion) or (completion, ctx), got {value!r}")


def build_spec(
    *,
    model: str | BaseChatModel | None = None,
    tools: Sequence[Any] | None = None,
    target: Any = None,
    instructions: str | None = None,
    verifier: Check | None = None,
    final_answer_checks: Sequence[Check] | None = None,
    require_completion: bool = True,
    plan: bool = False,
    planning_interval: int | None = None,
    max_steps: int | None = None,
    max_retries: int = 2,
    max_model_calls: int | None = None,
    tool_limits: Mapping[str, int] | None = None,
    max_tokens_total: int | None = None,
    timeout: float | None = None,
    tool_timeout: float | None = None,
    approve: Approve = None,
    approve_plan: bool = False,
) -> RunSpec:
    """Check every option (naming the bad one) and build the spec; no model is called."""
    _non_negative_int("max_steps", max_steps)
    _non_negative_int("max_retries", max_retries, allow_none=False)
    _non_negative_int("planning_interval", planning_interval)
    for name, value in (("max_model_calls", max_model_calls), ("max_tokens_total", max_tokens_total)):
        _non_negative_int(name, value)
        if value == 0:
            raise ConfigurationError(name, "expected a positive integer or None, got 0")
    _positive_number("timeout", timeout)
    _positive_number("tool_timeout", tool_timeout)
    if approve not in (None, False) and plan:
        raise ConfigurationError("approve", "in plan mode, use approve_plan=True to review the whole plan")
    if not isinstance(approve_plan, bool) or (approve_plan and not plan):
        raise ConfigurationError("approve_plan", "expected True or False, and True only with plan=True")
    if planning_interval == 0:
        raise ConfigurationError("planning_interval", "expected a positive integer or None, got 0")
    if planning_interval is not None and not plan:
        raise ConfigurationError("planning_interval", "only applies with plan=True")
    if instructions is not None and not isinstance(instructions, str):
        raise ConfigurationError("instructions", f"expected a string, got {instructions!r}")
    _callable_or_none("verifier", verifier)
    if final_answer_checks is not None and (
        callable(final_answer_checks) or not isinstance(final_answer_checks, Sequence)
    ):
        raise ConfigurationError("final_answer_checks", f"expected a list of functions, got {final_answer_checks!r}")
    for check in final_answer_checks or ():
        _callable_or_none("final_answer_checks", check)
    for flag_name, flag in (("require_completion", require_completion), ("plan", plan)):
        if not isinstance(flag, bool):
            raise ConfigurationError(flag_name, f"expected True or False, got {flag!r}")
    converted = to_tools(tools)
    return RunSpec(
        model=resolve_model(model),
        tools=converted,
        target=make_target(target),
        instructions=instructions,
        verifier=verifier,
        final_answer_checks=tuple(final_answer_checks or ()),
        require_completion=require_completion,
        plan=plan,
        planning_interval=planning_interval,
        max_steps=DEFAULT_MAX_STEPS if max_steps is None else max_steps,
        max_retries=max_retries,
        max_model_calls=max_model_calls,
        tool_limits=_check_tool_limits(tool_limits, converted),
        max_tokens_total=max_tokens_total,
        timeout=timeout,
        tool_timeout=tool_timeout,
        approve=approve,
        approve_plan=approve_plan,
    )
