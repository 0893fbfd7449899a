"""The `zyx` command line: `zyx run "task" --tool module:function --target 'list[str]'`.

Progress goes to stderr (Rich), the completion and its output to stdout (`--json` for
scripts). Exit status: 0 accepted "success" completion, 1 "failed"/"skipped" completion,
2 bad invocation or configuration (nothing was run), 3 the run ended without an accepted
completion (a zyx `RunError`, model errors included), 130 interrupted.

This module is the Typer app and the `run` command; the jobs it calls on live beside it: the `--target` type
language (`_cli_types`), importing tools and targets (`_cli_import`), the progress and result view
(`_cli_view`), the `--json` output (`_cli_output`), and `zyx batch` (`_cli_batch`, `_cli_server`).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from zyx._cli_import import import_object, parse_target, parse_tools
from zyx._cli_output import error_json, json_line, result_json
from zyx._cli_types import GENERIC_NAMES, MAX_TYPE_EXPRESSION, TYPE_NAMES, UsageError, parse_type_expression
from zyx._cli_view import Progress, print_result, summary_line, visible

if TYPE_CHECKING:
    from zyx.result import RunResult

__all__ = [
    "EXIT_INTERRUPTED", "EXIT_NOT_SUCCESS", "EXIT_RUN_ERROR", "EXIT_SUCCESS", "EXIT_USAGE", "GENERIC_NAMES",
    "MAX_TYPE_EXPRESSION", "TYPE_NAMES", "Progress", "UsageError", "app", "error_json", "execute", "import_object",
    "main", "parse_target", "parse_tools", "parse_type_expression", "print_result", "result_json", "run_command",
]

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
        from zyx._option_rules import CLI, check_stream
        from zyx.errors import ConfigurationError

        try:
            check_stream(stream, target, plan, CLI)
        except ConfigurationError as exc:
            raise UsageError(f"--{exc.argument}", exc.message) from None
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
        err.print(summary_line(result, elapsed, progress.turns))
    if json_output:
        out.print(json_line(result_json(result, elapsed)), soft_wrap=True, highlight=False)
    else:
        print_result(out, result)
    status = result.completion.status if result.completion else None
    return EXIT_SUCCESS if status == "success" else EXIT_NOT_SUCCESS


def _report_failure(exc: BaseException, err: Console, out: Console, json_output: bool, label: str, code: int,
                    elapsed: float | None = None) -> int:
    err.print(Text.assemble((f"zyx: {label}: ", "bold red"), visible(exc)), soft_wrap=True, highlight=False)
    if json_output:
        out.print(json_line(error_json(exc, elapsed)), soft_wrap=True, highlight=False)
    return code


from zyx._cli_batch import BATCH_HELP, batch_command  # noqa: E402 (it imports the exit statuses above)

app.command("batch", help=BATCH_HELP, no_args_is_help=True)(batch_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point for the `zyx` script and `python -m zyx`; returns the exit status."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="zyx", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return EXIT_SUCCESS

