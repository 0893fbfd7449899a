"""What the command line shows a person: a run's progress on stderr (Rich: one line per event, a live status line on a
terminal) and its completion and output on stdout. Model-written text is printed with control characters escaped."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from zyx._cli_types import short

if TYPE_CHECKING:
    from zyx.events import RunEvent
    from zyx.result import RunResult

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal acts on instead of showing (C0 but tab and newline, DEL, C1, bidi overrides)."""


def visible(text: Any) -> str:
    """`text` with every control character escaped (`\\x1b`): model-written text cannot clear the screen,
    retitle the window or rewrite a line (CWE-150). Rich markup needs no escaping: only `Text` is printed."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def json_text(value: Any, *, indent: int | None = None) -> str:
    """Any value as JSON text (pydantic's JSON form; what it cannot convert, as its repr)."""
    from pydantic_core import to_jsonable_python

    return json.dumps(to_jsonable_python(value, fallback=repr), indent=indent, ensure_ascii=False)


def call_text(name: str, args: dict[str, Any]) -> str:
    """A tool call as one short line: `name(arg=value, ...)`, each value cut to 60 characters."""
    shown = ", ".join(f"{k}={short(json.dumps(v, ensure_ascii=False, default=repr), 60)}" for k, v in args.items())
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
            shown = [(visible(p[0]), p[1]) if isinstance(p, tuple) else visible(p) for p in parts]
            self.console.print(Text.assemble(*shown), soft_wrap=True, highlight=False)

    def status(self, text: str) -> None:
        if self.live is not None:
            self.live.update(Spinner("dots", Text(visible(short(text, max(20, self.console.width - 4))))))

    def _flush(self) -> None:
        """Print what piled up: the model's plain text, and on a terminal the last partial."""
        if self.text:
            self.line(("  model: ", "dim"), short("".join(self.text), 300))
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
                self._partial(json_text(event.value))  # the value is live: render it now
            return
        self._flush()
        if isinstance(event, ev.ModelTurnStarted):
            self.turns = event.turn
            self.line((f"turn {event.turn}", "bold"))
            self.status(f"turn {event.turn}: waiting for the model…")
        elif isinstance(event, ev.ToolCallStarted):
            self.line(("  → ", "blue"), call_text(event.name, event.args))
            self.status(f"running {event.name}…")
        elif isinstance(event, ev.ToolCallFinished):
            if event.error is None:
                self.line(("  ✓ ", "green"), event.name, (f"  {event.duration:.2f}s", "dim"))
            else:
                self.line(("  ✗ ", "red"), event.name, (f"  {event.duration:.2f}s  ", "dim"), short(event.error))
        elif isinstance(event, ev.CompletionRejected):
            self.line(("  ✗ completion rejected: ", "yellow"), short(event.reason, 400))
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
            self.line(("  … partial ", "cyan"), short(rendered, 400))

    def replay(self, result: RunResult[Any] | None, tool_calls: list[Any]) -> None:
        """After a run without live events (no target, or plan mode): its tool calls, from the record."""
        for call in tool_calls:
            self.line(("  → ", "blue"), call_text(call.name, call.args))
            if call.error is None:
                self.line(("  ✓ ", "green"), call.name, (f"  {call.duration:.2f}s", "dim"))
            else:
                self.line(("  ✗ ", "red"), call.name, (f"  {call.duration:.2f}s  ", "dim"), short(call.error))
        if result is not None:
            self.turns = sum(1 for m in result.messages if m.type == "ai")


def summary_line(result: RunResult[Any], elapsed: float, turns: int) -> Text:
    """The run's last progress line: model, turns, tool calls, tokens, seconds and termination."""
    usage = result.usage
    parts = [f"model {result.model}", f"{turns} model turn{'s' * (turns != 1)}",
             f"{len(result.tool_calls)} tool call{'s' * (len(result.tool_calls) != 1)}"]
    if usage.get("total_tokens"):
        parts.append(f"{usage['total_tokens']} tokens")
    parts += [f"{elapsed:.1f}s", f"termination {result.termination}"]
    return Text(visible(" · ".join(parts)), style="dim")


def print_result(out: Console, result: RunResult[Any]) -> None:
    """Human output on stdout: the completion, then the output (plain for text, JSON otherwise)."""
    completion = result.completion
    status = completion.status if completion else "none"
    style = {"success": "bold green", "failed": "bold red", "skipped": "bold yellow"}.get(status, "bold")
    out.print(Text.assemble((status, style), ": ", visible(completion.summary if completion else "")),
              soft_wrap=True, highlight=False)
    if result.output is not None:
        text = result.output if isinstance(result.output, str) else json_text(result.output, indent=2)
        out.print(Text(visible(text)), soft_wrap=True, highlight=False)
