"""The `zyx` command line: `zyx run "task" --tool module:function --target 'list[str]'`.

Progress goes to stderr (Rich), the completion and its output to stdout (`--json` for
scripts). Exit status: 0 accepted "success" completion, 1 "failed"/"skipped" completion,
2 bad invocation or configuration (nothing was run), 3 the run ended without an accepted
completion (a zyx `RunError`, model errors included), 130 interrupted.
"""

from __future__ import annotations

import ast
import datetime
import decimal
import importlib
import importlib.util
import json
import operator
import os
import re
import sys
import time
import typing
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

if TYPE_CHECKING:
    from zyx.events import RunEvent
    from zyx.result import RunResult

EXIT_SUCCESS = 0
EXIT_NOT_SUCCESS = 1
EXIT_USAGE = 2
EXIT_RUN_ERROR = 3
EXIT_INTERRUPTED = 130

EXAMPLES = """\
[bold]Examples[/bold]

  zyx run "Check the weather in Paris." --tool weather_tools:get_weather

  zyx run "List three primary colours." --target 'list\\[str]' --stream

  zyx run "Plan a launch." --target myapp.models:Checklist --json

[bold]Exit status[/bold]

  0    the completion was accepted with status "success"
  1    the completion was "failed" or "skipped"
  2    bad arguments or configuration: nothing was run
  3    the run ended without an accepted completion (a zyx RunError:
       model error, retries or limits spent)
  130  interrupted

Docs: docs/cli.md
"""

RUN_HELP = """\
Carry out TASK with an LLM agent until it calls [bold]complete_task[/bold] with a valid result.

Progress (model turns, tool calls and their durations, rejected completions) goes to stderr; the completion and the output go to stdout. TASK '-' reads the task from stdin.
"""

app = typer.Typer(
    name="zyx",
    help="zyx: an LLM agent carries out a task with tools and proves it finished.",
    epilog=EXAMPLES,
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


class UsageError(Exception):
    """A bad command-line value, reported like a ConfigurationError (exit status 2)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")


# ---- --target: a small, safe type language, or module:Name -------------------------------------

TYPE_NAMES: dict[str, Any] = {
    "str": str, "int": int, "float": float, "bool": bool, "bytes": bytes,
    "list": list, "dict": dict, "set": set, "frozenset": frozenset, "tuple": tuple,
    "None": None, "Any": typing.Any, "Optional": typing.Optional, "Union": typing.Union,
    "Literal": typing.Literal, "List": typing.List, "Dict": typing.Dict, "Set": typing.Set,  # noqa: UP006
    "Tuple": typing.Tuple,  # noqa: UP006
    "date": datetime.date, "datetime": datetime.datetime, "time": datetime.time,
    "timedelta": datetime.timedelta, "Decimal": decimal.Decimal, "UUID": uuid.UUID,
}
"""Every name a `--target` type expression may use; anything else needs `module:Name`."""
GENERIC_NAMES = frozenset({"list", "dict", "set", "frozenset", "tuple", "Optional", "Union", "Literal",
                           "List", "Dict", "Set", "Tuple"})

MAX_TYPE_EXPRESSION = 300


def parse_type_expression(text: str) -> Any:
    """`list[str]`, `dict[str, int]`, `int | None`, `Literal['a', 'b']` ... evaluated without `eval`.

    Only the names in `TYPE_NAMES`, subscripts, `|` unions and (inside `Literal[...]`) plain
    constants are accepted: the expression is walked as a syntax tree, never executed.
    """
    if len(text) > MAX_TYPE_EXPRESSION:
        raise UsageError("--target", f"type expression longer than {MAX_TYPE_EXPRESSION} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise UsageError("--target", f"not a type expression: {text!r} ({exc.msg})") from None
    from zyx._target import make_target
    from zyx.errors import ConfigurationError

    try:
        tp = _type_of(tree.body, text, literal=False)
        make_target(tp)  # what the run will do with it: a type pydantic cannot build a schema for is refused now
    except UsageError:
        raise
    except Exception as exc:  # typing's and pydantic's own refusals (Literal[()], int | Literal, dict[str], ...)
        reason = exc.message if isinstance(exc, ConfigurationError) else f"{type(exc).__name__}: {exc}"
        raise UsageError("--target", f"invalid type {text!r}: {_short(reason)}") from None
    return tp


def _type_of(node: ast.expr, text: str, *, literal: bool) -> Any:
    if isinstance(node, ast.Name):
        if node.id not in TYPE_NAMES:
            allowed = ", ".join(n for n in TYPE_NAMES if n != "None")
            raise UsageError("--target", f"unknown type name {node.id!r} in {text!r}; built-in names: {allowed} "
                               "(for your own types use module:Name, e.g. myapp.models:Todo)")
        return TYPE_NAMES[node.id]
    if isinstance(node, ast.Constant):
        if node.value is None or node.value is Ellipsis:
            return node.value
        if literal and isinstance(node.value, (str, int, bool)):
            return node.value
        raise UsageError("--target", f"unexpected constant {node.value!r} in {text!r} (constants only go in Literal[...])")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _type_of(node.left, text, literal=False), _type_of(node.right, text, literal=False)
        try:
            return operator.or_(left, right)
        except TypeError:
            return typing.Union[left, right]
    if isinstance(node, ast.Subscript):
        if not (isinstance(node.value, ast.Name) and node.value.id in GENERIC_NAMES):
            raise UsageError("--target", f"cannot subscript {ast.unparse(node.value)!r} in {text!r} "
                               f"(only {', '.join(sorted(GENERIC_NAMES))} take [...])")
        base = TYPE_NAMES[node.value.id]
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args = tuple(_type_of(arg, text, literal=base is typing.Literal) for arg in inner)
        if not args and base is not tuple and base is not typing.Tuple:  # noqa: UP006 - only tuple[()] is a type
            raise UsageError("--target", f"{node.value.id}[()] in {text!r} needs at least one type argument")
        return base[args if len(args) != 1 else args[0]]
    raise UsageError("--target", f"unsupported syntax {ast.unparse(node)!r} in {text!r}; use names like "
                       "str, int, list[str], dict[str, int], int | None, Literal['a', 'b'], or module:Name")


def import_object(spec: str, option: str) -> Any:
    """`package.module:name` (or `path/to/file.py:name`, or `module:Outer.Inner`) imported from the current directory."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(option, f"expected module:name (e.g. mytools:search), got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: modules next to you are importable
    try:
        module = _load_file(module_name) if module_name.endswith(".py") else importlib.import_module(module_name)
    except UsageError:
        raise
    except ImportError as exc:
        raise UsageError(option, f"cannot import {module_name!r}: {exc}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the user's module failed (or called sys.exit()) while importing: nothing ran
        raise UsageError(option, f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    value: Any = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise UsageError(option, f"{module_name!r} has no attribute {attr!r}") from None
    return value


def _load_file(path: str) -> Any:
    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError("--tool/--target", f"no such file: {path}")
    name = f"_zyx_cli_{file.stem}_{abs(hash(str(file.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:  # a half-run module must not be found by the next import
        sys.modules.pop(name, None)
        raise
    return module


def parse_target(text: str | None) -> Any:
    """The `--target` option as a type: a safe type expression, or `module:Name`."""
    if text is None:
        return None
    text = text.strip()
    if ":" in text and "[" not in text and "'" not in text and '"' not in text:
        return import_object(text, "--target")
    return parse_type_expression(text)


def parse_tools(specs: list[str] | None) -> list[Any]:
    """Each `--tool module:function`, imported; `module:a,b` imports several from one module."""
    tools = []
    for spec in specs or []:
        module_name, _, names = spec.rpartition(":")
        for name in names.split(","):
            tool = import_object(f"{module_name}:{name.strip()}", "--tool")
            if not callable(tool) and not hasattr(tool, "invoke"):
                raise UsageError("--tool", f"{spec!r} is not a function or a LangChain tool")
            tools.append(tool)
    return tools


# ---- progress on stderr ------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal acts on instead of showing (C0 but tab and newline, DEL, C1, bidi overrides)."""
_JSON_CONTROL = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""The ones `json.dumps(ensure_ascii=False)` leaves raw (it escapes C0 itself)."""


def _visible(text: Any) -> str:
    """`text` with every control character escaped (`\\x1b`): model-written text cannot clear the screen,
    retitle the window or rewrite a line (CWE-150). Rich markup needs no escaping: only `Text` is printed."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def _json_line(value: Any) -> Text:
    """One JSON document for stdout, with the control characters JSON allows raw escaped as `\\u009b`."""
    text = json.dumps(value, ensure_ascii=False)
    return Text(_JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(value: Any, *, indent: int | None = None) -> str:
    from pydantic_core import to_jsonable_python

    return json.dumps(to_jsonable_python(value, fallback=repr), indent=indent, ensure_ascii=False)


def _call_text(name: str, args: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={_short(json.dumps(v, ensure_ascii=False, default=repr), 60)}" for k, v in args.items())
    return f"{name}({shown})"


class Progress:
    """Prints a run's events as they happen: one line each on a pipe, with a live status line on a terminal."""

    def __init__(self, console: Console, *, partials: bool, quiet: bool) -> None:
        self.console = console
        self.partials = partials
        self.quiet = quiet
        self.text: list[str] = []
        self.last_partial: str | None = None
        self.partial_shown = True
        self.live: Live | None = None
        self.turns = 0

    def __enter__(self) -> Progress:
        if not self.quiet and self.console.is_terminal:
            self.live = Live(Spinner("dots", "starting…"), console=self.console, transient=True,
                             refresh_per_second=12)
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._flush()
        if self.live is not None:
            self.live.stop()
            self.live = None

    def line(self, *parts: str | tuple[str, str]) -> None:
        """Print one line; every part is shown with its control characters escaped (see `_visible`)."""
        if not self.quiet:
            shown = [(_visible(p[0]), p[1]) if isinstance(p, tuple) else _visible(p) for p in parts]
            self.console.print(Text.assemble(*shown), soft_wrap=True, highlight=False)

    def status(self, text: str) -> None:
        if self.live is not None:
            self.live.update(Spinner("dots", Text(_visible(_short(text, max(20, self.console.width - 4))))))

    def _flush(self) -> None:
        """Print what piled up: the model's plain text, and on a terminal the last partial."""
        if self.text:
            self.line(("  model: ", "dim"), _short("".join(self.text), 300))
            self.text = []
        if not self.partial_shown and self.last_partial is not None:
            self.line(("  … partial ", "cyan"), self.last_partial)
            self.partial_shown = True

    def event(self, event: RunEvent) -> None:
        from zyx import events as ev

        if isinstance(event, ev.TextDelta):
            self.text.append(event.text)
            self.status("model: " + "".join(self.text)[-200:])
            return
        if isinstance(event, ev.PartialOutput):
            if self.partials:
                self._partial(_json(event.value))  # the value is live: render it now
            return
        self._flush()
        if isinstance(event, ev.ModelTurnStarted):
            self.turns = event.turn
            self.line((f"turn {event.turn}", "bold"))
            self.status(f"turn {event.turn}: waiting for the model…")
        elif isinstance(event, ev.ToolCallStarted):
            self.line(("  → ", "blue"), _call_text(event.name, event.args))
            self.status(f"running {event.name}…")
        elif isinstance(event, ev.ToolCallFinished):
            if event.error is None:
                self.line(("  ✓ ", "green"), event.name, (f"  {event.duration:.2f}s", "dim"))
            else:
                self.line(("  ✗ ", "red"), event.name, (f"  {event.duration:.2f}s  ", "dim"), _short(event.error))
        elif isinstance(event, ev.CompletionRejected):
            self.line(("  ✗ completion rejected: ", "yellow"), _short(event.reason, 400))
        elif isinstance(event, ev.Verified):
            self.line(("  ✓ completion verified", "green"))

    def _partial(self, rendered: str) -> None:
        if rendered == self.last_partial:
            return
        self.last_partial = rendered
        if self.live is not None:
            self.partial_shown = False
            self.status("partial " + rendered)
        else:
            self.line(("  … partial ", "cyan"), _short(rendered, 400))

    def replay(self, result: RunResult[Any] | None, tool_calls: list[Any]) -> None:
        """After a run without live events (no target, or plan mode): its tool calls, from the record."""
        for call in tool_calls:
            self.line(("  → ", "blue"), _call_text(call.name, call.args))
            if call.error is None:
                self.line(("  ✓ ", "green"), call.name, (f"  {call.duration:.2f}s", "dim"))
            else:
                self.line(("  ✗ ", "red"), call.name, (f"  {call.duration:.2f}s  ", "dim"), _short(call.error))
        if result is not None:
            self.turns = sum(1 for m in result.messages if m.type == "ai")


# ---- running -----------------------------------------------------------------------------------

def _events_or_none(task: str, target: Any, options: dict[str, Any]) -> Any:
    """A `RunStream` of the run's events; None where this zyx cannot stream the run (no target, plan mode).

    Asking and falling back on zyx's own `ConfigurationError` (raised before any model call)
    keeps this right if zyx later streams those runs too.
    """
    import zyx
    from zyx.errors import ConfigurationError

    try:
        return zyx.run(task, target, stream=True, **options)
    except ConfigurationError as exc:
        if exc.argument == "stream":
            return None
        raise


def execute(task: str, target: Any, options: dict[str, Any], progress: Progress) -> RunResult[Any]:
    """Run the task, feeding `progress`; returns the result or raises the run's zyx error."""
    import zyx
    from zyx.errors import RunError
    from zyx.events import RunFinished

    stream = _events_or_none(task, target, options)
    if stream is None:
        progress.status("running…")
        try:
            result = zyx.run(task, target, **options)
        except RunError as exc:
            progress.replay(None, exc.tool_calls)
            raise
        progress.replay(result, result.tool_calls)
        return result
    with stream:
        result = None
        for event in stream.events():
            if isinstance(event, RunFinished):
                result = event.result
            progress.event(event)
    assert result is not None
    return result  # type: ignore[return-value]


def _summary_line(result: RunResult[Any], elapsed: float, turns: int) -> Text:
    usage = result.usage
    parts = [f"model {result.model}", f"{turns} model turn{'s' * (turns != 1)}",
             f"{len(result.tool_calls)} tool call{'s' * (len(result.tool_calls) != 1)}"]
    if usage.get("total_tokens"):
        parts.append(f"{usage['total_tokens']} tokens")
    parts += [f"{elapsed:.1f}s", f"termination {result.termination}"]
    return Text(_visible(" · ".join(parts)), style="dim")


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


def print_result(out: Console, result: RunResult[Any]) -> None:
    """Human output on stdout: the completion, then the output (plain for text, JSON otherwise)."""
    completion = result.completion
    status = completion.status if completion else "none"
    style = {"success": "bold green", "failed": "bold red", "skipped": "bold yellow"}.get(status, "bold")
    out.print(Text.assemble((status, style), ": ", _visible(completion.summary if completion else "")),
              soft_wrap=True, highlight=False)
    if result.output is not None:
        text = result.output if isinstance(result.output, str) else _json(result.output, indent=2)
        out.print(Text(_visible(text)), soft_wrap=True, highlight=False)


def _read_task(task: str) -> str:
    if task != "-":
        return task
    text = sys.stdin.read().strip()
    if not text:
        raise UsageError("TASK", "'-' reads the task from stdin, but stdin was empty")
    return text


def _show_version(show: bool) -> None:
    """`zyx --version`: print the version and exit (eager, so no command is needed)."""
    if show:
        from zyx._version import __version__

        typer.echo(f"zyx {__version__}")
        raise typer.Exit(EXIT_SUCCESS)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", metavar="", callback=_show_version, is_eager=True,
                                          help="Print zyx's version and exit.")] = False,
) -> None:
    """zyx: an LLM agent carries out a task with tools and proves it finished."""


@app.command("run", help=RUN_HELP, epilog=EXAMPLES, no_args_is_help=True)
def run_command(
    task: Annotated[str, typer.Argument(metavar="TASK", help="What to do, in plain words; '-' reads it from stdin.",
                                        show_default=False)],
    tool: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007 (Typer needs Optional on 3.11)
        "--tool", "-t", metavar="MODULE:FUNCTION",
        help="A tool the agent may call: a typed Python function (its docstring is the description), "
             "imported from MODULE (or a path/to/file.py). Repeat for more; MODULE:f,g imports several.",
        show_default=False)] = None,
    target: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--target", metavar="TYPE",
        help="The type of the result: str, int, float, bool, list\\[str], dict\\[str, int], int | None, "
             "Literal\\['a', 'b'] ... or MODULE:Name for your own pydantic model / dataclass / TypedDict.",
        show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", metavar="PROVIDER:NAME",
        help="e.g. openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, local. "
             "Default: $ZYX_MODEL, else openai:gpt-4o-mini when OPENAI_API_KEY is set, else the local model.",
        show_default=False)] = None,
    instructions: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--instructions", "-i", metavar="TEXT", help="Extra system instructions for the agent.", show_default=False)] = None,
    plan: Annotated[bool, typer.Option("--plan", metavar="", help="Plan mode: the agent submits a plan of tool calls first.")] = False,
    stream: Annotated[bool, typer.Option(
        "--stream", metavar="", help="Show the result as it streams (partial values on stderr); needs --target.")] = False,
    max_steps: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--max-steps", metavar="N", min=0, help="Most tool calls in the run (zyx's default: 50).", show_default=False)] = None,
    timeout: Annotated[Optional[float], typer.Option(  # noqa: UP007
        "--timeout", metavar="SECONDS", min=0, help="Seconds for the whole run.", show_default=False)] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", metavar="", help="Print one JSON object on stdout: status, summary, output, termination, verified, "
                       "tool_calls, usage, model, seconds (and error when the run failed).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress on stderr.")] = False,
) -> None:
    """Carry out TASK (see RUN_HELP)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)
    started = time.perf_counter()
    try:
        if stream and target is None:
            raise UsageError("--stream", "streaming shows partial results, so it needs --target (e.g. --target 'list[str]')")
        if stream and plan:
            raise UsageError("--stream", "streaming is not available with --plan")
        task = _read_task(task)
        options: dict[str, Any] = {"tools": parse_tools(tool)}
        target_type = parse_target(target)
        for name, value in (("model", model), ("instructions", instructions), ("max_steps", max_steps),
                            ("timeout", timeout)):
            if value is not None:
                options[name] = value
        if plan:
            options["plan"] = True
        code = _run_and_report(task, target_type, options, err, out, json_output=json_output,
                               partials=stream, quiet=quiet, started=started)
    except UsageError as exc:
        code = _report_failure(exc, err, out, json_output, "error", EXIT_USAGE)
    raise typer.Exit(code)


def _run_and_report(task: str, target: Any, options: dict[str, Any], err: Console, out: Console, *,
                    json_output: bool, partials: bool, quiet: bool, started: float) -> int:
    from zyx.errors import ConfigurationError, RunError

    progress = Progress(err, partials=partials, quiet=quiet)
    try:
        with progress:
            result = execute(task, target, options, progress)
    except ConfigurationError as exc:
        return _report_failure(exc, err, out, json_output, "configuration error", EXIT_USAGE)
    except RunError as exc:
        return _report_failure(exc, err, out, json_output, type(exc).__name__, EXIT_RUN_ERROR,
                               elapsed=time.perf_counter() - started)
    except KeyboardInterrupt:
        err.print(Text("zyx: interrupted", style="bold red"))
        return EXIT_INTERRUPTED
    elapsed = time.perf_counter() - started
    if not quiet:
        err.print(_summary_line(result, elapsed, progress.turns))
    if json_output:
        out.print(_json_line(result_json(result, elapsed)), soft_wrap=True, highlight=False)
    else:
        print_result(out, result)
    status = result.completion.status if result.completion else None
    return EXIT_SUCCESS if status == "success" else EXIT_NOT_SUCCESS


def _report_failure(exc: BaseException, err: Console, out: Console, json_output: bool, label: str, code: int,
                    elapsed: float | None = None) -> int:
    err.print(Text.assemble((f"zyx: {label}: ", "bold red"), _visible(exc)), soft_wrap=True, highlight=False)
    if json_output:
        out.print(_json_line(error_json(exc, elapsed)), soft_wrap=True, highlight=False)
    return code


from zyx._cli_batch import BATCH_HELP, batch_command  # noqa: E402 (it uses the helpers above)

app.command("batch", help=BATCH_HELP, no_args_is_help=True)(batch_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point for the `zyx` script and `python -m zyx`; returns the exit status."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="zyx", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return EXIT_SUCCESS

