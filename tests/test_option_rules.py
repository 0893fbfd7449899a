"""The rules between options live in one module (zyx._option_rules) and every entry point applies them alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import zyx
from zyx import ConfigurationError
from zyx._option_rules import CLI, check_stream
from zyx.embed import as_tool
from zyx.graph import build_run_graph
from zyx.testing import ScriptedChatModel, complete

ROOT = Path(__file__).resolve().parent.parent


def model() -> ScriptedChatModel:
    return ScriptedChatModel(responses=[complete("done")])


def test_each_rule_is_written_once() -> None:
    """Each rule's message appears in one source file (the rules module; the checkpointer: its option check)."""
    rules = ("pausing for a human", "cannot pause for a human", "streaming yields partial targets",
             "streaming is not available with", "only applies when a task is given", "only applies with plan=True",
             "is reserved by make()", "needs thread_id=...", "a thread id needs a checkpointer",
             "is not one of the run's tools", "expected a LangGraph BaseCheckpointSaver")
    for rule in rules:
        where = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "zyx").rglob("*.py") if rule in p.read_text())
        assert len(where) == 1, (rule, where)


@pytest.mark.parametrize("option", ["approve", "decisions"])
def test_pausing_is_refused_by_each_entry_point_that_cannot_resume(option: str) -> None:
    calls: list[tuple[str, Any]] = [
        ("pausing for a human needs checkpointer", lambda: zyx.run("x", model=model(), **{option: True})),
        ("make\\(\\) cannot pause", lambda: zyx.make(str, "x", model=model(), **{option: True})),
    ]
    if option == "approve":
        calls.append(("delegated sub-run cannot pause",
                      lambda: as_tool(name="t", description="d", model=model(), approve=True)))
    for message, call in calls:
        with pytest.raises(ConfigurationError, match=f"^{option}: .*{message}"):
            call()


def test_the_checkpointer_is_checked_by_one_function() -> None:
    with pytest.raises(ConfigurationError, match="^checkpointer: expected a LangGraph BaseCheckpointSaver or None"):
        zyx.run("x", model=model(), checkpointer=5, thread_id="t")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError,
                       match="^checkpointer: expected a LangGraph BaseCheckpointSaver, True/False or None"):
        build_run_graph(model=model(), checkpointer=5)  # type: ignore[arg-type]
    assert build_run_graph(model=model(), checkpointer=False) is not None


def test_the_cli_applies_the_same_stream_rule_in_its_own_spelling() -> None:
    with pytest.raises(ConfigurationError, match=r"^stream: .*needs --target"):
        check_stream(True, None, False, CLI)
    with pytest.raises(ConfigurationError, match=r"^stream: .*needs target=\.\.\."):
        check_stream(True, None, False)
    with pytest.raises(ConfigurationError, match=r"^stream: streaming is not available with --plan"):
        check_stream(True, str, True, CLI)
