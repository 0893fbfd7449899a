"""Every keyword option of zyx's entry points, declared once: its type, default, check and doc.

An option is a key of one of the TypedDicts below, annotated with an `Option` that holds its
default, its check (which may also normalise the value) and a one-line doc. Everything else is
derived from them: which keywords `make()`, `run()`, `build_run_graph()` and `as_tool()` accept,
their defaults and checks, Studio's settings form (`studio=True`), and the options table in
docs/run.md (`options_table()`, kept current by a test).

    MakeOptions     make() / amake()                  (and run(task=None))
    GraphOptions    + what fixes a run graph           build_run_graph(), as_tool()
    RunOptions      + what varies per call             run() / arun()
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from typing_extensions import TypedDict

from zyx._inputs import check_source, to_attachment_blocks
from zyx._tools import to_tools
from zyx.errors import ConfigurationError, describe
from zyx.result import PendingToolCall

DEFAULT_MAX_STEPS = 50
"""Tool calls a run may make when `max_steps` is not given: every run ends."""

MAX_SECONDS = 10.0**9
"""The largest `timeout` / `tool_timeout` accepted (about 31 years): beyond it clocks overflow."""

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


# -- checks ---------------------------------------------------------------------------------------------

def _count(*, none: bool = True, zero: bool = True) -> Callable[[str, Any], Any]:
    """An integer count; None allowed when `none`, 0 allowed when `zero`."""
    expected = f"a {'non-negative' if zero else 'positive'} integer{' or None' if none else ''}"

    def check(name: str, value: Any) -> Any:
        if value is None and none:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
            raise ConfigurationError(name, f"expected {expected}, got {describe(value)}")
        return value
    return check


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if ok:
        try:
            seconds = float(value)
        except OverflowError:
            ok = False
        else:
            ok = math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS
    if not ok:
        raise ConfigurationError(name, f"expected a positive number of seconds (at most {MAX_SECONDS:g}) or None, "
                                 f"got {describe(value)}")
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(name, f"expected True or False, got {describe(value)}")
    return value


def _text(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(name, f"expected a string or None, got {describe(value)}")
    return value


def _instructions(name: str, value: Any) -> Any:
    """A string, a function, or a list of those: joined into one string when it holds only strings."""
    if value is None or isinstance(value, str) or callable(value):
        return value
    if isinstance(value, Sequence) and all(isinstance(v, str) or callable(v) for v in value):
        return "\n\n".join(value) if all(isinstance(v, str) for v in value) else tuple(value)
    raise ConfigurationError(name, f"expected a string, a function of the run context, or a list of those, "
                             f"got {describe(value)}")


_SETTING_CHECKS: dict[str, Callable[[Any], bool]] = {
    "temperature": lambda v: _is_number(v) and 0 <= v <= 2,
    "top_p": lambda v: _is_number(v) and 0 <= v <= 1,
    "max_tokens": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
    "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "stop": lambda v: isinstance(v, str) or (isinstance(v, Sequence) and all(isinstance(s, str) for s in v)),
    "timeout": lambda v: _is_number(v) and 0 < v <= MAX_SECONDS,
}
"""The common settings and what each must be; any other key is passed to the provider as it is."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _model_settings(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigurationError(name, f"expected a dict of setting name -> value, got {describe(value)}")
    for key, setting in value.items():
        if key in _SETTING_CHECKS and not _SETTING_CHECKS[key](setting):
            raise ConfigurationError(name, f"{key}: not a valid value ({describe(setting)})")
    return dict(value)


def _source(name: str, value: Any) -> Any:
    return check_source(value)


def _attachments(name: str, value: Any) -> Any:
    return to_attachment_blocks(value)


def _model(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, (str, BaseChatModel)):
        raise ConfigurationError(name, 'expected a "provider:name" string, a LangChain chat model or None, '
                                 f"got {describe(value)}")
    return value


def _tools(name: str, value: Any) -> Any:
    return to_tools(value)


def _check_fn(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise ConfigurationError(name, f"expected a function (completion) or (completion, ctx), got {describe(value)}")
    return value


def _check_fns(name: str, value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if callable(value) or isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigurationError(name, f"expected a list of functions, got {describe(value)}")
    for check in value:
        _check_fn(name, check)
    return tuple(value)


def _tool_limits(name: str, value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(name, f"expected a dict of tool name -> max calls, got {describe(value)}")
    return {key: _count(none=False)(name, cap) for key, cap in value.items()}


def _approve(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool) or callable(value):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(name, f"expected True, a list of tool names or a predicate, got {describe(value)}")
    return tuple(value)


def _config(name: str, value: Any) -> RunnableConfig | None:
    """A LangChain RunnableConfig whose keys zyx or LangGraph read have the types they need."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(name, f"expected a LangChain RunnableConfig dict, got {describe(value)}")
    limit = value.get("recursion_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigurationError(name, f"recursion_limit: expected a positive integer, got {describe(limit)}")
    for key in ("configurable", "metadata"):
        if value.get(key) is not None and not isinstance(value[key], Mapping):
            raise ConfigurationError(name, f"{key}: expected a dict, got {describe(value[key])}")
    tags = value.get("tags")
    if tags is not None and (isinstance(tags, str) or not isinstance(tags, Sequence)):
        raise ConfigurationError(name, f"tags: expected a list of strings, got {describe(tags)}")
    callbacks = value.get("callbacks")
    if callbacks is not None and not isinstance(callbacks, (list, tuple, BaseCallbackManager)):
        raise ConfigurationError(name, f"callbacks: expected a list of callback handlers or a callback manager, "
                                 f"got {describe(callbacks)}")
    return dict(value)  # type: ignore[return-value]


def _checkpointer(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, BaseCheckpointSaver):
        raise ConfigurationError(name, f"expected a LangGraph BaseCheckpointSaver or None, got {describe(value)}")
    return value


# -- the options --------------------------------------------------------------------------------------------

class ModelOptions(TypedDict, total=False):
    """The options of the model's side of a run, shared by `make()` and run graphs."""

    model: Annotated[str | BaseChatModel | None, Option(
        None, 'The chat model: "provider:name" (e.g. "openai:gpt-4o-mini", "local") or a LangChain chat model; '
        "None: $ZYX_MODEL, else OpenAI when OPENAI_API_KEY is set, else the local model.", _model)]
    instructions: Annotated[Instructions, Option(
        None, "Extra system instructions: a string, a function of the run's `RunContext` (sync or async, "
        "called before each model call; None or \"\" adds nothing), or a list of those.", _instructions, studio=str)]
    tools: Annotated[Sequence[Any] | None, Option(
        None, "Functions or LangChain tools the model may call.", _tools)]
    max_retries: Annotated[int, Option(
        2, "How many times each kind of rejection (invalid result, failed check, plain-text answer) is sent "
        "back to the model before the run fails.", _count(none=False), studio=True)]
    model_settings: Annotated[Mapping[str, Any] | None, Option(
        None, "Per-run model settings (temperature, max_tokens, top_p, seed, stop, timeout, provider extras), "
        "bound to the model's calls; the model instance is never changed.", _model_settings, studio=dict[str, Any])]


class CallOptions(TypedDict, total=False):
    """What goes with one call: handed to tools and checks, shown to the model, never part of the graph."""

    deps: Annotated[Any, Option(
        None, "A value for tools and checks (LangGraph runtime context): a tool receives it through a "
        "`ToolRuntime` parameter (`runtime.context`), checks and dynamic instructions as `ctx.deps`.")]
    source: Annotated[Any, Option(
        None, "The material the task is about (text, a pydantic object, a dict or list, a file path), shown "
        "to the model in a delimited section and to checks as `ctx.source`.", _source)]
    attachments: Annotated[Sequence[Any] | None, Option(
        None, "Files, images, audio or documents that go with the task (paths, bytes, URLs, data URIs or "
        "LangChain content blocks), sent as content blocks.", _attachments)]


class MakeOptions(ModelOptions, CallOptions, total=False):
    """The options of `make()` / `amake()`."""


class GraphOptions(ModelOptions, total=False):
    """The options that fix a run graph: everything of `run()` but the task, target, context, stream and per-call options."""

    verifier: Annotated[Check | None, Option(
        None, "A check f(completion) or f(completion, ctx) -> True / None (pass), False or a message (reject); "
        "sync or async.", _check_fn)]
    final_answer_checks: Annotated[Sequence[Check] | None, Option(
        None, "More checks like `verifier`, run after it, in order.", _check_fns)]
    require_completion: Annotated[bool, Option(
        True, "False: a plain-text answer ends the run (status \"skipped\") instead of a nudge to call "
        "complete_task.", _flag, studio=True)]
    plan: Annotated[bool, Option(
        False, "Plan mode: the model submits whole plans of tool calls (submit_plan) that run without it.", _flag)]
    planning_interval: Annotated[int | None, Option(
        None, "Plan mode only: the most tool steps in one plan.", _count(zero=False), studio=True)]
    max_steps: Annotated[int | None, Option(
        None, f"The most tool calls in the run (None: {DEFAULT_MAX_STEPS}).", _count(), studio=True)]
    max_model_calls: Annotated[int | None, Option(
        None, "The most model calls in the run (the last one is the wrap-up turn).", _count(zero=False), studio=True)]
    tool_limits: Annotated[Mapping[str, int] | None, Option(
        None, "The most calls per tool, by tool name.", _tool_limits)]
    max_tokens_total: Annotated[int | None, Option(
        None, "The most tokens (input + output) the run's model calls may spend.", _count(zero=False), studio=True)]
    timeout: Annotated[float | None, Option(None, "Seconds the whole run may take.", _seconds, studio=True)]
    tool_timeout: Annotated[float | None, Option(None, "Seconds one tool call may take.", _seconds, studio=True)]
    approve: Annotated[Approve, Option(
        None, "Pause for a human decision before tool calls: True (all), a list of tool names, or a predicate "
        "over the pending call; needs checkpointer and thread_id.", _approve)]
    approve_plan: Annotated[bool, Option(
        False, "Plan mode: pause for a human decision on each submitted plan.", _flag)]


class RunOptions(GraphOptions, CallOptions, total=False):
    """All options of `run()` / `arun()`: the graph options plus what varies per call."""

    config: Annotated[RunnableConfig | None, Option(
        None, "A LangChain RunnableConfig for the graph invocation (callbacks, tags, metadata, ...).", _config)]
    checkpointer: Annotated[BaseCheckpointSaver[Any] | None, Option(
        None, "A LangGraph checkpointer that persists every step (with thread_id): durable, resumable runs.",
        _checkpointer)]
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
