"""The task benchmark (`python -m benchmarks.tasks`) end to end on a scripted model: 3 tasks, every library.

The scripted policy solves each task the obvious way (one tool call, then the library's own way
to finish), so every run must pass its checker; what is tested is the harness: the runners, the
checkers, the figures and the RESULTS.md section, which must leave the other sections alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, ToolMessage

from zyx.testing import ScriptedChatModel, call, complete

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.tasks.__main__ import main, select, suite  # noqa: E402
from benchmarks.tasks.report import END, START, table, write_section  # noqa: E402
from benchmarks.tasks.runners import RUNNERS  # noqa: E402
from benchmarks.tasks.suite import TASKS  # noqa: E402

FIRST_CALLS = {"get_weather": {"city": "Los Angeles"}, "get_order": {"order_id": "B200"}, "add": {"a": 1234, "b": 5678}}
SMOKE = "seed_weather,math_add,typed_order"  # in suite order


def policy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """Call the task's tool once, then finish with its output through whichever finishing tool is bound."""
    bound = {t["function"]["name"]: t["function"].get("parameters") or {} for t in tools}
    results = [m for m in messages if isinstance(m, ToolMessage)]
    if not results:
        name = next(n for n in bound if n in FIRST_CALLS)
        return call(name, **FIRST_CALLS[name])
    text = results[-1].text
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    if "complete_task" in bound:
        typed = bound["complete_task"]["properties"]["result"].get("type") != "null"
        return complete(text, result=value) if typed else complete(text)
    task_tools = {f.__name__ for t in TASKS for f in t.tools}
    finisher, params = next((n, p) for n, p in bound.items() if n not in task_tools)  # the output tool
    props = list(params.get("properties", {}))
    args = value if isinstance(value, dict) and set(value) >= set(params.get("required", [])) else {props[0]: value}
    return call(finisher, **args)


def test_three_tasks_pass_on_every_library() -> None:
    tasks = select(SMOKE)
    assert [t.name for t in tasks] == SMOKE.split(",")
    runs = asyncio.run(suite(ScriptedChatModel(policy=policy), tasks, list(RUNNERS), 6, echo=False))
    assert [(r.task, r.library) for r in runs] == [(t.name, lib) for t in tasks for lib in RUNNERS]
    failed = [r for r in runs if not r.success]
    assert not failed, failed
    assert all(r.model_calls == 2 for r in runs)  # the tool call, then the finish
    rows = table(runs, list(RUNNERS)).splitlines()
    assert [row.split("|")[1].strip() for row in rows[2:]] == list(RUNNERS)
    assert all("3/3 (100%)" in row for row in rows[2:])


def test_a_wrong_answer_fails_its_checker() -> None:
    def lazy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        return complete("It is sunny.")  # no tool call: the summary is not backed by get_weather

    [run] = asyncio.run(suite(ScriptedChatModel(policy=lazy), select("seed_weather"), ["zyx"], 6, echo=False))
    assert not run.success and run.model_calls == 1


def test_the_results_section_replaces_only_itself(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# zyx benchmarks\n\n## 1. Overhead\n\nkept\n", encoding="utf-8")
    write_section(out, "## Task success\n\nfirst")
    write_section(out, "## Task success\n\nsecond")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# zyx benchmarks\n\n## 1. Overhead\n\nkept\n")
    assert text.count(START) == text.count(END) == 1 and "second" in text and "first" not in text


def test_the_suite_has_every_category() -> None:
    assert len(TASKS) >= 30 and len({t.name for t in TASKS}) == len(TASKS)
    assert {t.category for t in TASKS} >= {"seed", "one_call", "choose", "two_hop", "arithmetic", "typed",
                                           "verifier", "plan", "stream", "no_completion"}


def test_unknown_selections_are_refused() -> None:
    with pytest.raises(SystemExit, match="unknown tasks"):
        select("nope")
    with pytest.raises(SystemExit, match="unknown libraries"):
        main(["--libraries", "zyx,nope", "--no-write"])


def test_split_halves_are_fixed_disjoint_and_cover_every_category() -> None:
    from benchmarks.tasks.suite import halves

    first, again = halves(TASKS), halves(TASKS)
    assert [t.name for t in first["tune"]] == [t.name for t in again["tune"]]
    tune, held = {t.name for t in first["tune"]}, {t.name for t in first["held_out"]}
    assert not tune & held and tune | held == {t.name for t in TASKS}
    assert abs(len(tune) - len(held)) <= 1
    for category in {t.category for t in TASKS}:
        members = {t.name for t in TASKS if t.category == category}
        if len(members) >= 2:
            assert members & tune and members & held, category
    assert select("", "held_out") == first["held_out"]


def test_convention_tools_answer_in_their_own_conventions() -> None:
    from benchmarks.tasks import conventions as c

    assert c.find_employee("Priya Shah") == "E-104" and "nobody" in c.find_employee("Priya")
    with pytest.raises(LookupError):
        c.customer_id("nobody@example.com")
    with pytest.raises(ValueError):
        c.customer_orders("jane@example.com")
    assert c.customer_orders("C-1207") == [] and c.search_flights("Oslo", "Cairo") == []
    assert c.distance("Paris", "Berlin") == "1,054 km" and c.file_size("report.pdf") == "2.4 MB"
