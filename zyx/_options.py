"""Every keyword option of zyx's entry points, declared once: its type, default, check and doc.

An option is a key of one of the TypedDicts below, annotated with an `Option` that holds its
default, its check (which may also normalise the value) and a one-line doc. Everything else is
derived from them: which keywords `make()`, `run()`, `build_run_graph()` and `as_tool()` accept,
their defaults and checks, Studio's settings form (`studio=True`), and the options table in
docs/run.md (`options_table()`, kept current by a test).

    MakeOptions     make() / amake()                  (run(task=None): all but the LoopOptions)
    GraphOptions    + what fixes a run graph           build_run_graph(), as_tool()
    RunOptions      + what varies per call             run() / arun()
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from typing_extensions import TypedDict

from zyx import _option_checks as checks
from zyx._usage_limits import usage_limits
from zyx.errors import ConfigurationError
from zyx.result import PendingToolCall

DEFAULT_MAX_STEPS = 50
"""Tool calls a run may make when `max_steps` is not given: every run ends."""

Check = Callable[..., Any]
Instructions = str | Sequence[str] | Callable[..., Any] | None
Approve = bool | Sequence[str] | Callable[[PendingToolCall], bool] | None


@dataclass(frozen=True)
class Option:
    """How an option is declared: its default, its check and what it does (one line, for docs and Studio)."""

    default: Any
    doc: str
    check: Callable[[str, Any], Any] = lambda name, value: value
    """`check(name, value)` returns the value to use (possibly normalised) or raises `ConfigurationError`."""
    studio: bool | Any = False
    """Offered in Studio's settings form: True (as the option's type without None) or the form's JSON type."""


# -- the options --------------------------------------------------------------------------------------------

class ModelOptions(TypedDict, total=False):
    """The options of the model's side of a run, shared by `make()` and run graphs."""

    model: Annotated[str | BaseChatModel | None, Option(
        None, 'The chat model: "provider:name" (e.g. "openai:gpt-4o-mini", "local"; LangChain\'s providers and '
        "pydantic-ai's model strings) or a LangChain chat model; None: $ZYX_MODEL, else OpenAI when "
        "OPENAI_API_KEY is set, else the local model.", checks.model)]
    instructions: Annotated[Instructions, Option(
        None, "Extra system instructions: a string, a function of the run's `RunContext` (sync or async, "
        "called before each model call; None or \"\" adds nothing), or a list of those.", checks.instructions, studio=str)]
    tools: Annotated[Sequence[Any] | None, Option(
        None, "Functions or LangChain tools the model may call.", checks.tools)]
    max_retries: Annotated[int, Option(
        2, "How many times each kind of rejection (invalid result, failed check, plain-text answer) is sent "
        "back to the model before the run fails.", checks.count(none=False), studio=True)]
    context_window: Annotated[int | None, Option(
        None, "The model's input window in tokens: every prompt is fitted to it (big outputs cut with a way to read "
        "on, old outputs stubbed, old turns left out). None: the model's profile (`max_input_tokens`) or the local "
        "model's context size, else no window (then only outputs over 16,000 tokens are cut).",
        checks.count(zero=False), studio=True)]
    model_settings: Annotated[Mapping[str, Any] | None, Option(
        None, "Per-run model settings (temperature, max_tokens, top_p, seed, stop, timeout, provider extras), "
        "bound to the model's calls; the model instance is never changed.", checks.model_settings, studio=dict[str, Any])]


class CallOptions(TypedDict, total=False):
    """What goes with one call: handed to tools and checks, shown to the model, never part of the graph."""

    deps: Annotated[Any, Option(
        None, "A value for tools and checks (LangGraph runtime context): a tool receives it through a "
        "`ToolRuntime` parameter (`runtime.context`), checks and dynamic instructions as `ctx.deps`.")]
    source: Annotated[Any, Option(
        None, "The material the task is about (text, a pydantic object, a dict or list, a file path), shown "
        "to the model in a delimited section and to checks as `ctx.source`.", checks.source)]
    attachments: Annotated[Sequence[Any] | None, Option(
        None, "Files, images, audio or documents that go with the task (paths, bytes, URLs, data URIs or "
        "LangChain content blocks), sent as content blocks.", checks.attachments)]


class LoopOptions(TypedDict, total=False):
    """The limits of the agent loop (tool calls, model calls, tokens, time): the same loop, with the same
    meaning, in `run()` and `make()`."""

    max_steps: Annotated[int | None, Option(
        None, f"The most tool calls in the run (None: {DEFAULT_MAX_STEPS}).", checks.count(), studio=True)]
    max_model_calls: Annotated[int | None, Option(
        None, "The most model calls in the run (the last one is the wrap-up turn).", checks.count(zero=False), studio=True)]
    tool_limits: Annotated[Mapping[str, int] | None, Option(
        None, "The most calls per tool, by tool name.", checks.tool_limits)]
    max_tokens_total: Annotated[int | None, Option(
        None, "The most tokens (input + output) the run's model calls may spend.", checks.count(zero=False), studio=True)]
    usage_limits: Annotated[Any, Option(
        None, "pydantic-ai's UsageLimits (or a mapping of its fields), for ported code: request_limit, "
        "total_tokens_limit and tool_calls_limit set max_model_calls, max_tokens_total and max_steps.",
        usage_limits)]
    timeout: Annotated[float | None, Option(None, "Seconds the whole run may take.", checks.seconds, studio=True)]
    tool_timeout: Annotated[float | None, Option(None, "Seconds one tool call may take.", checks.seconds, studio=True)]


class MakeOptions(ModelOptions, LoopOptions, CallOptions, total=False):
    """The options of `make()` / `amake()`."""


class GraphOptions(ModelOptions, LoopOptions, total=False):
    """The options that fix a run graph: everything of `run()` but the task, target, context, stream and per-call options."""

    verifier: Annotated[Check | None, Option(
        None, "A check f(completion) or f(completion, ctx) -> True / None (pass), False or a message (reject); "
        "sync or async.", checks.check_fn)]
    final_answer_checks: Annotated[Sequence[Check] | None, Option(
        None, "More checks like `verifier`, run after it, in order.", checks.check_fns)]
    require_completion: Annotated[bool, Option(
        True, "False: a plain-text answer ends the run (status \"skipped\") instead of a nudge to call "
        "complete_task.", checks.flag, studio=True)]
    coach: Annotated[bool, Option(
        True, "Help weaker models where they go wrong, for one turn at a time: after failed calls, offer the untried "
        "tools, then the failed one again; after repeated calls, the other tools (twice in a row: only "
        "complete_task); plan mode's first turn: only submit_plan. See docs/run.md#coaching.", checks.flag,
        studio=True)]
    check_invented: Annotated[bool | None, Option(
        None, "Once per run, a tool call none of whose values appear in the task, context or earlier results is "
        "not run: the model is told so, and gives up or makes the call again (which then runs). None: on for "
        "models zyx drives through its envelope protocol (ChatLocal, ChatEnvelope) unless coach=False. See "
        "docs/run.md#coaching.", checks.flag_or_auto, studio=True)]
    plan: Annotated[bool, Option(
        False, "Plan mode: the model submits whole plans of tool calls (submit_plan) that run without it.", checks.flag)]
    planning_interval: Annotated[int | None, Option(
        None, "Plan mode only: the most tool steps in one plan.", checks.count(zero=False), studio=True)]
    approve: Annotated[Approve, Option(
        None, "Pause for a human decision before tool calls: True (all), a list of tool names, or a predicate "
        "over the pending call; needs checkpointer and thread_id.", checks.approve, studio=bool | list[str])]
    approve_plan: Annotated[bool, Option(
        False, "Plan mode: pause for a human decision on each submitted plan.", checks.flag, studio=True)]
    idempotent: Annotated[bool | Sequence[str] | None, Option(
        None, "Tools that may simply run again when a run resumes after a crash or cancel interrupted their "
        "call: True (all) or tool names; a tool can also declare it (`metadata={\"idempotent\": True}`, MCP "
        "`idempotentHint`). Other interrupted calls are not re-run: the model (under approve=, a human) is told "
        "they may or may not have taken effect.", checks.idempotent)]


class RunOptions(GraphOptions, CallOptions, total=False):
    """All options of `run()` / `arun()`: the graph options plus what varies per call."""

    config: Annotated[RunnableConfig | None, Option(
        None, "A LangChain RunnableConfig for the graph invocation (callbacks, tags, metadata, ...).", checks.config)]
    checkpointer: Annotated[BaseCheckpointSaver[Any] | None, Option(
        None, "A LangGraph checkpointer that persists every step (with thread_id): durable, resumable runs.",
        checks.checkpointer)]
    thread_id: Annotated[str | None, Option(
        None, "The checkpointer's thread: the same id resumes an unfinished run or continues a finished one.")]
    decisions: Annotated[Mapping[str, Any] | None, Option(
        None, "Human decisions for a paused run's pending tool calls, by tool_call_id.")]


@cache
def declared(options: type) -> dict[str, Option]:
    """The options a TypedDict declares, by name, in declaration order."""
    hints = get_type_hints(options, include_extras=True)
    return {name: next(m for m in hint.__metadata__ if isinstance(m, Option)) for name, hint in hints.items()}


@cache
def python_type(options: type, name: str) -> Any:
    """An option's declared type, without its `Option` annotation."""
    return get_args(get_type_hints(options, include_extras=True)[name])[0]


MAKE_OPTIONS = frozenset(MakeOptions.__annotations__)
LOOP_OPTIONS = frozenset(LoopOptions.__annotations__)
WITHOUT_TASK_OPTIONS = MAKE_OPTIONS - LOOP_OPTIONS
"""What `run(task=None)` (make() from a context) takes: make()'s options but the loop's limits (a limit given
to run() without a task is taken for a forgotten task; make() itself takes them)."""
GRAPH_OPTIONS = frozenset(GraphOptions.__annotations__)
CALL_OPTIONS = frozenset(CallOptions.__annotations__)
RUN_OPTIONS = frozenset(RunOptions.__annotations__)


def check_keywords(options: Mapping[str, Any], allowed: frozenset[str], caller: str) -> None:
    """Unknown keyword arguments are a configuration error naming them (and saying where they apply)."""
    for name in options:
        if name not in allowed:
            where = "" if name not in RUN_OPTIONS else f" ({name} is an option of run())"
            raise ConfigurationError(name, f"{caller}() got an unexpected keyword argument{where}")


def checked(options: Mapping[str, Any], kind: type = GraphOptions) -> dict[str, Any]:
    """Every option of `kind`: the given value (checked, normalised) or its default."""
    table = declared(kind)
    return {name: option.check(name, options[name]) if name in options else option.check(name, option.default)
            for name, option in table.items()}


def studio_form_type(name: str) -> Any:
    """The JSON type of a Studio setting: the option's type without None."""
    form = declared(RunOptions)[name].studio
    if form is not True:
        return form
    tp = python_type(RunOptions, name)
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        tp = rest[0] if len(rest) == 1 else Union[tuple(rest)]
    return tp


def options_table() -> str:
    """The options table of docs/run.md (Markdown), from the declarations."""
    rows = ["| option | default | applies to | what it does |", "|---|---|---|---|"]
    for name, option in declared(RunOptions).items():
        where = ", ".join(w for w, names in (("make", MAKE_OPTIONS), ("run", RUN_OPTIONS), ("graph", GRAPH_OPTIONS))
                          if name in names)
        studio = ", Studio" if option.studio else ""
        rows.append(f"| `{name}` | `{option.default!r}` | {where}{studio} | {option.doc} |")
    return "\n".join(rows)
