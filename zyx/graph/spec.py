"""RunSpec: everything fixed for a run (model, tools, target, checks, limits), kept out of graph state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from zyx import _prompts
from zyx._checks import CheckFn, prepare_check
from zyx._completion import completion_tool
from zyx._envelope_model import ChatEnvelope
from zyx._models import bind, model_name, resolve_model
from zyx._option_rules import check_graph
from zyx._options import GraphOptions, Instructions, checked, declared
from zyx._target import Target, make_target
from zyx._tokens import TokenCounter
from zyx._tool_args import ArgumentCheck, argument_check, runtime_parameter
from zyx._tools import openai_schemas
from zyx._usage_limits import merge as merge_usage_limits
from zyx.errors import ConfigurationError
from zyx.graph import answer
from zyx.graph.answer import RUN, Contract, make_contract
from zyx.graph.approval import approval_rule
from zyx.graph.context import resolve_window
from zyx.graph.limits import RunLimits
from zyx.graph.plan import submit_plan_tool
from zyx.graph.prompt import Fitter
from zyx.graph.reader import reader_tool
from zyx.result import PendingToolCall


@dataclass(frozen=True, eq=False)
class RunSpec:
    """The fixed part of a run, resolved from checked options (see `zyx._options`); never in graph state.

    Callables, types and the chat model live here; defaults and checks live with the options.
    """

    model: BaseChatModel
    tools: tuple[BaseTool, ...]
    target: Target | None
    instructions: Instructions
    """A string (part of `system_prompt`) or a function of the `RunContext`, called before each model call."""
    model_settings: Mapping[str, Any]
    context_window: int | None
    """The `context_window` option (None: from the model); the resolved window is `window`."""
    checks: tuple[CheckFn, ...]
    """The verifier, then each final-answer check, ready to await: what the `verifier` node runs."""
    require_completion: bool
    coach: bool
    """See the `coach` option and zyx.graph.coaching."""
    check_invented: bool | None
    """See the `check_invented` option and zyx.graph.grounding (`looks_for_invented` says whether it applies)."""
    plan: bool
    planning_interval: int | None
    max_retries: int
    limits: RunLimits
    approval: Callable[[PendingToolCall], bool] | None
    """Which tool calls pause for a human decision (from `approve`)."""
    approve_plan: bool
    idempotent: frozenset[str] | bool = frozenset()
    """The tools named idempotent (True: all), which simply run again after a crash (`zyx.graph.journal`)."""
    make: bool = False
    """make()'s answer contract (`final_result`, see zyx.graph.answer) instead of run()'s `complete_task`."""
    contract: Contract = field(init=False)
    """The answer tool's name and what the model is told about it."""
    tools_by_name: Mapping[str, BaseTool] = field(init=False)
    """The tools calls may name: the user's, and the built-in `read_tool_output`."""
    fitter: Fitter = field(init=False)
    """Fits each prompt to the model's window (`fitter.window`), counting with the model's own tokenizer where
    it works offline, cached per message."""
    system_prompt: str = field(init=False)
    model_name: str = field(init=False)
    completion_schema: dict[str, Any] | None = field(init=False)
    """The answer tool's schema (None: make()'s `str` target, answered in plain text)."""
    bound_model: Runnable[Any, Any] = field(init=False)
    """The model with the turn's tools and `complete_task` bound."""
    wrap_up_model: Runnable[Any, Any] = field(init=False)
    """The model with only `complete_task` bound, for the wrap-up turn after a limit."""
    argument_checks: Mapping[str, ArgumentCheck] = field(init=False)
    """Per tool: its arguments checked against the schema the model is shown, before it runs."""
    runtime_parameters: Mapping[str, str] = field(init=False)
    """The tools that take a `ToolRuntime` (the run's deps as `runtime.context`), by name: the parameter."""
    _focused: dict[tuple[Any, ...], Runnable[Any, Any]] = field(init=False, default_factory=dict, repr=False, compare=False)
    """Models bound to a subset of the tools, for coached turns (`focused_model`, `planning_model`), and with
    `read_tool_output` added, by (tool names, reading)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        counter = TokenCounter(self.model)
        executable = (*self.tools, reader_tool(counter))
        set_(self, "tools_by_name", {t.name: t for t in executable})
        set_(self, "argument_checks", {t.name: argument_check(t) for t in executable})
        set_(self, "runtime_parameters", {t.name: p for t in executable if (p := runtime_parameter(t))})
        instructions = self.instructions if isinstance(self.instructions, str) else None
        set_(self, "contract", make_contract(self.target) if self.make else RUN)
        set_(self, "system_prompt", answer.system_prompt(self.target, instructions) if self.make else
             _prompts.system_prompt(has_target=self.target is not None, plan=self.plan, instructions=instructions))
        set_(self, "model_name", model_name(self.model))
        set_(self, "completion_schema", answer.answer_schema(self.target) if self.make else completion_tool(self.target))
        wrap_up = self._bind(self._answer())
        full = self._bind([*self.turn_tools(), *self._answer()]) if self.limits.max_steps else wrap_up
        set_(self, "bound_model", full)
        set_(self, "wrap_up_model", wrap_up)
        set_(self, "fitter", Fitter(resolve_window(self.context_window, self.model, self.model_settings), counter,
                                    [*self.turn_tools(), *self._reader(True), *self._answer()]))

    @property
    def looks_for_invented(self) -> bool:
        """Whether calls with invented values get their look (the `check_invented` option; None: under `coach`, for
        models driven through the envelope protocol, whose constrained decoding makes a model with no fitting tool
        fill one in)."""
        if self.check_invented is not None:
            return self.check_invented
        return self.coach and isinstance(self.model, ChatEnvelope)

    def _answer(self) -> list[dict[str, Any]]:
        return [self.completion_schema] if self.completion_schema is not None else []

    def _bind(self, schemas: list[dict[str, Any]]) -> Runnable[Any, Any]:
        """The model with these tools bound (and the run's settings); with none, the model as it is: make() of
        a `str` without tools works with a model that cannot call tools."""
        if schemas:
            return bind(self.model, schemas, self.model_settings)
        return self.model.bind(**self.model_settings) if self.model_settings else self.model

    def focused_model(self, names: Sequence[str], *, reading: bool = False) -> Runnable[Any, Any]:
        """The model with only the named tools bound (`complete_task` if named; the
        answer tool alone if only it is named), for one coached turn; the
        usual one when none of them is a tool of this spec (a thread resumed on other tools) or no tool may run."""
        key = tuple(names)
        tools = tuple(t for t in self.tools if t.name in key)
        if key == (self.contract.tool,) and self.completion_schema is not None:
            return self.wrap_up_model  # the answer tool alone
        if not tools or not self.limits.max_steps:
            return self.turn_model(reading=reading)
        if (key, reading) not in self._focused:
            completion = self._answer() if self.contract.tool in key else []
            self._focused[key, reading] = self._bind([*openai_schemas(tools), *self._reader(reading), *completion])
        return self._focused[key, reading]

    def turn_model(self, *, reading: bool = False) -> Runnable[Any, Any]:
        """The usual turn's model (`bound_model`), with `read_tool_output` too once an output was cut."""
        if not reading or not self.limits.max_steps:
            return self.bound_model
        if ("*", True) not in self._focused:
            self._focused["*", True] = self._bind([*self.turn_tools(), *self._reader(True), *self._answer()])
        return self._focused["*", True]

    def planning_model(self, *, reading: bool = False) -> Runnable[Any, Any]:
        """Plan mode: the model with only `submit_plan` bound (a plan can still hold just a completion step)."""
        if ((), reading) not in self._focused:
            self._focused[(), reading] = self._bind([*self.turn_tools(), *self._reader(reading)])
        return self._focused[(), reading]

    def _reader(self, reading: bool) -> list[dict[str, Any]]:
        return openai_schemas([self.tools_by_name[_prompts.READ_TOOL_OUTPUT]]) if reading else []

    def turn_tools(self) -> list[dict[str, Any]]:
        """Tool schemas bound next to `complete_task`: the user tools, or in plan mode `submit_plan` listing them."""
        schemas = openai_schemas(self.tools)
        if not self.plan:
            return schemas
        return [submit_plan_tool(_prompts.COMPLETE_TASK, schemas, max_tool_steps=self.planning_interval)]


def check_graph_options(options: Mapping[str, Any], *, make: bool = False) -> dict[str, Any]:
    """Every graph option checked (naming the bad one), the model not yet resolved; no model is called."""
    values = checked(options, GraphOptions)
    merge_usage_limits(values)
    check_graph(values, make=make)
    rule = approval_rule(values["approve"], [t.name for t in values["tools"]])
    # reading on in a cut output changes nothing: it never waits for a human
    values["approval"] = None if rule is None else lambda call: call.name != _prompts.READ_TOOL_OUTPUT and rule(call)
    return values


def build_spec(*, target: Any = None, **options: Any) -> RunSpec:
    """Check every option (naming the bad one) and build the spec; no model is called."""
    unknown = set(options) - set(declared(GraphOptions))
    if unknown:
        raise ConfigurationError(sorted(unknown)[0], "not an option of a run graph")
    return spec_from(check_graph_options(options), target=make_target(target))


def spec_from(values: Mapping[str, Any], *, target: Target | None, model: BaseChatModel | None = None,
              make: bool = False) -> RunSpec:
    """The spec for checked options (`check_graph_options`), with the model resolved unless given; `make`:
    make()'s answer contract (zyx.graph.answer)."""
    verifier = (prepare_check(values["verifier"], "verifier"),) if values["verifier"] else ()
    checks = verifier + tuple(prepare_check(c, "final_answer_checks") for c in values["final_answer_checks"])
    return RunSpec(
        model=model if model is not None else resolve_model(values["model"]), tools=values["tools"], target=target,
        instructions=values["instructions"], model_settings=values["model_settings"],
        context_window=values["context_window"], checks=checks, require_completion=values["require_completion"],
        coach=values["coach"], check_invented=values["check_invented"], plan=values["plan"], planning_interval=values["planning_interval"], max_retries=values["max_retries"],
        limits=RunLimits.from_options(values), approval=values["approval"], approve_plan=values["approve_plan"],
        idempotent=values["idempotent"], make=make)
