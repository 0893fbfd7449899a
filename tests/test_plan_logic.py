"""Tests for zyx.graph.plan: plan checking, reference substitution, DAG execution and result formatting."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.tools import InjectedToolCallId, StructuredTool, tool
from pydantic import BaseModel, ConfigDict

_PATH = Path(__file__).resolve().parents[1] / "zyx" / "graph" / "plan.py"
_spec = importlib.util.spec_from_file_location("zyx_graph_plan_under_test", _PATH)
P = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = P  # dataclasses/pydantic resolve annotations through sys.modules
_spec.loader.exec_module(P)


def fetch(url: str, timeout: int = 10) -> str:
    """Fetch a URL."""
    return f"page {url}"


def summarize(data: dict, style: str = "short") -> str:
    """Summarize structured data."""
    return json.dumps(data)


def count(items: list) -> int:
    """Count items."""
    return len(items)


def echo(text: str) -> str:
    """Echo text."""
    return text


def complete_task(summary: str, result: Any = None) -> str:
    """Finish the task."""
    return summary


TOOLS = {f.__name__: StructuredTool.from_function(f) for f in (fetch, summarize, count, echo, complete_task)}


def check(steps: list[dict], *, planning_interval: int | None = None, steps_left: int | None = None):
    return P.check_plan({"steps": steps}, TOOLS, planning_interval=planning_interval, steps_left=steps_left)


def problems_for(steps: list[dict], **kw) -> list[str]:
    result = check(steps, **kw)
    assert isinstance(result, list), f"expected problems, plan was accepted: {result}"
    return result


def run(plan, run_tool, **kw):
    return asyncio.run(P.execute_plan(plan, run_tool, **kw))


def recorder(outputs: dict[str, Any] | None = None, *, delay: float = 0.0, fail: set[str] = frozenset()):
    """A run_tool that records (step id, args, start, end) and returns outputs[id] or calls the real tool."""
    calls: list[tuple[str, dict, float, float]] = []

    async def run_tool(step, args):
        start = time.perf_counter()
        await asyncio.sleep(delay)
        calls.append((step.id, args, start, time.perf_counter()))
        if step.id in fail:
            raise RuntimeError(f"boom in {step.id}")
        if outputs and step.id in outputs:
            return outputs[step.id]
        return TOOLS[step.tool].func(**args)

    return run_tool, calls


# --- tool definition ---------------------------------------------------------------------------


def test_submit_plan_tool_shape():
    tool = P.submit_plan_tool()
    assert tool["type"] == "function" and tool["function"]["name"] == P.SUBMIT_PLAN == "submit_plan"
    desc = tool["function"]["description"]
    for token in ("$s1", "${s1}", "$$", "concurrently", "complete_task"):
        assert token in desc
    params = tool["function"]["parameters"]
    assert "steps" in params["properties"]
    assert json.dumps(params)  # JSON-serialisable schema


# --- check_plan: each rejection reason --------------------------------------------------------


def test_valid_plan_is_accepted():
    plan = check([{"id": "s1", "tool": "fetch", "args": {"url": "https://x"}},
                  {"id": "s2", "tool": "echo", "args": {"text": "got ${s1}"}},
                  {"id": "done", "tool": "complete_task", "args": {"summary": "ok", "result": "$s2"}}],
                 planning_interval=2, steps_left=2)
    assert isinstance(plan, P.Plan) and [s.id for s in plan.steps] == ["s1", "s2", "done"]


def test_unknown_tool():
    (problem,) = problems_for([{"id": "s1", "tool": "teleport", "args": {}}])
    assert "s1" in problem and "teleport" in problem


def test_submit_plan_cannot_be_a_step():
    (problem,) = problems_for([{"id": "s1", "tool": "submit_plan", "args": {"steps": []}}])
    assert "s1" in problem and "submit_plan" in problem


def test_unknown_reference():
    (problem,) = problems_for([{"id": "s1", "tool": "echo", "args": {"text": "$nope"}}])
    assert "s1" in problem and "nope" in problem


def test_unknown_reference_inside_template():
    (problem,) = problems_for([{"id": "s1", "tool": "echo", "args": {"text": "see ${ghost} here"}}])
    assert "s1" in problem and "ghost" in problem


def test_self_reference():
    (problem,) = problems_for([{"id": "s1", "tool": "echo", "args": {"text": "$s1"}}])
    assert "s1" in problem and "itself" in problem


def test_cyclic_reference():
    (problem,) = problems_for([{"id": "a", "tool": "echo", "args": {"text": "$b"}},
                               {"id": "b", "tool": "echo", "args": {"text": "${c}!"}},
                               {"id": "c", "tool": "echo", "args": {"text": "$a"}}])
    assert "cyclic" in problem and all(f"'{x}'" in problem for x in "abc")


def test_a_repeated_id_is_numbered_and_a_reference_means_the_latest_step_before_it():
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "a"}},
                  {"id": "s2", "tool": "echo", "args": {"text": "$s1"}},
                  {"id": "s1", "tool": "echo", "args": {"text": "b"}},
                  {"id": "s3", "tool": "echo", "args": {"text": "${s1} and $s2"}},
                  {"id": "s1", "tool": "echo", "args": {"text": "$s1"}}])
    assert not isinstance(plan, list), plan
    assert [s.id for s in plan.steps] == ["s1", "s2", "s1_2", "s3", "s1_3"]
    assert [s.args["text"] for s in plan.steps] == ["a", "$s1", "b", "${s1_2} and $s2", "$s1_2"]


def test_a_numbered_id_does_not_take_an_id_the_plan_already_has():
    plan = check([{"id": "s", "tool": "echo", "args": {"text": "a"}}, {"id": "s_2", "tool": "echo", "args": {"text": "b"}},
                  {"id": "s", "tool": "echo", "args": {"text": "c"}}])
    assert not isinstance(plan, list), plan
    assert [s.id for s in plan.steps] == ["s", "s_2", "s_3"]


def test_arguments_wrapped_in_a_copied_properties_key_are_unwrapped():
    plan = check([{"id": "a", "tool": "echo", "args": {"properties": {"text": "hi"}}}])
    assert not isinstance(plan, list), plan
    assert plan.steps[0].args == {"text": "hi"}
    (problem,) = problems_for([{"id": "a", "tool": "echo", "args": {"properties": {"txt": "hi"}}}])
    assert "properties" in problem  # inner keys the tool does not declare: left as sent, and reported


@pytest.mark.parametrize("step", [{"tool": "echo", "args": {"text": "a"}}, {"id": "", "tool": "echo", "args": {"text": "a"}},
                                  {"id": "  ", "tool": "echo", "args": {"text": "a"}}])
def test_missing_or_empty_id(step):
    (problem,) = problems_for([{"id": "s0", "tool": "echo", "args": {"text": "x"}}, step])
    assert "#2" in problem and "id" in problem


def test_malformed_step_is_reported_with_the_others():
    problems = problems_for([{"id": "s1", "tool": "echo", "args": "not a dict"},
                             {"id": "s2", "tool": "teleport"}])
    assert any("s1" in p and "args" in p for p in problems)
    assert any("s2" in p and "teleport" in p for p in problems)


def test_schema_failure_without_references():
    (problem,) = problems_for([{"id": "s1", "tool": "fetch", "args": {"url": "https://x", "timeout": "soon"}}])
    assert "s1" in problem and "timeout" in problem


def test_schema_missing_required_without_references():
    (problem,) = problems_for([{"id": "s1", "tool": "fetch", "args": {}}])
    assert "s1" in problem and "url" in problem


def test_schema_unknown_key_without_references():
    (problem,) = problems_for([{"id": "s1", "tool": "fetch", "args": {"url": "u", "verb": "GET"}}])
    assert "s1" in problem and "verb" in problem


def test_args_with_references_only_get_key_checks():
    ok = check([{"id": "s1", "tool": "fetch", "args": {"url": "u"}},
                {"id": "s2", "tool": "fetch", "args": {"url": "$s1", "timeout": "$s1"}}])  # types unknown yet
    assert isinstance(ok, P.Plan)
    problems = problems_for([{"id": "s1", "tool": "fetch", "args": {"url": "u"}},
                             {"id": "s2", "tool": "fetch", "args": {"timeout": "$s1"}},
                             {"id": "s3", "tool": "fetch", "args": {"url": "$s1", "method": "${s1}"}}])
    assert any("s2" in p and "url" in p for p in problems)
    assert any("s3" in p and "method" in p for p in problems)
    assert len(problems) == 2


def test_more_steps_than_planning_interval():
    steps = [{"id": f"s{i}", "tool": "echo", "args": {"text": "x"}} for i in range(1, 4)]
    steps.append({"id": "done", "tool": "complete_task", "args": {"summary": "x"}})
    (problem,) = problems_for(steps, planning_interval=2)
    assert "s3" in problem and "planning_interval" in problem and "3" in problem
    assert isinstance(check(steps, planning_interval=3), P.Plan)  # completion step does not count


def test_more_steps_than_steps_left():
    steps = [{"id": f"s{i}", "tool": "echo", "args": {"text": "x"}} for i in range(1, 4)]
    steps.append({"id": "done", "tool": "complete_task", "args": {"summary": "x"}})
    (problem,) = problems_for(steps, steps_left=1)
    assert "s2" in problem and "budget" in problem
    assert isinstance(check(steps, steps_left=3), P.Plan)


def test_completion_not_last():
    (problem,) = problems_for([{"id": "done", "tool": "complete_task", "args": {"summary": "x"}},
                               {"id": "s1", "tool": "echo", "args": {"text": "x"}}])
    assert "done" in problem and "last" in problem


def test_more_than_one_completion():
    problems = problems_for([{"id": "d1", "tool": "complete_task", "args": {"summary": "x"}},
                             {"id": "d2", "tool": "complete_task", "args": {"summary": "y"}}])
    assert any("d2" in p and "only one" in p for p in problems)


def test_step_cannot_reference_completion():
    problems = problems_for([{"id": "s1", "tool": "echo", "args": {"text": "$done"}},
                             {"id": "done", "tool": "complete_task", "args": {"summary": "x"}}])
    assert any("s1" in p and "done" in p for p in problems)


def test_completion_args_checked_against_its_schema():
    (problem,) = problems_for([{"id": "done", "tool": "complete_task", "args": {}}])
    assert "done" in problem and "summary" in problem


def test_string_starting_with_single_dollar_is_a_reference():
    (problem,) = problems_for([{"id": "s1", "tool": "echo", "args": {"text": "$5.00"}}])
    assert "s1" in problem and "5.00" in problem and "$$" in problem


def test_zero_steps_and_bad_shape():
    assert "zero steps" in problems_for([])[0]
    assert P.check_plan({}, TOOLS, planning_interval=None, steps_left=None) != []
    assert isinstance(P.check_plan({"plan": []}, TOOLS, planning_interval=None, steps_left=None), list)


def test_all_problems_listed_at_once():
    problems = problems_for([
        {"id": "done", "tool": "complete_task", "args": {"summary": "x"}},
        {"id": "a", "tool": "teleport", "args": {}},
        {"id": "b", "tool": "echo", "args": {"text": "$missing"}},
        {"id": "b", "tool": "echo", "args": {"text": "x"}},
        {"id": "c", "tool": "echo", "args": {"text": "$c"}},
        {"id": "d", "tool": "fetch", "args": {"url": 3}},
        {"id": "", "tool": "echo", "args": {"text": "x"}},
    ], planning_interval=2, steps_left=1)
    joined = "\n".join(problems)
    for needle in ("'done'", "teleport", "missing", "itself", "'d'", "#7", "planning_interval", "budget"):
        assert needle in joined, needle
    assert len(problems) == 8  # the repeated id "b" is numbered, not a problem


# --- references / resolve ---------------------------------------------------------------------


def test_references_nested_and_escapes():
    args = {"a": "$s1", "b": ["x", {"c": "pre ${s2} and ${s3}"}], "d": "$$HOME", "e": "$${s4}", "f": "cost $5", "g": 7}
    assert P.references(args) == {"s1", "s2", "s3"}


def test_resolve_passes_python_values_intact():
    data = {"k": [1, 2, {"z": None}]}
    out = P.resolve({"data": "$s1", "nested": {"list": ["$s2", "$s1"]}}, {"s1": data, "s2": [1, 2]})
    assert out["data"] is data and out["nested"]["list"][0] == [1, 2] and out["nested"]["list"][1] is data


def test_resolve_templates_and_escapes():
    outputs = {"s1": "hello", "s2": {"a": 1, "b": [1, 2]}, "s3": 42}
    assert P.resolve("say ${s1}!", outputs) == "say hello!"
    assert P.resolve("json ${s2} num ${s3}", outputs) == 'json {"a":1,"b":[1,2]} num 42'
    assert P.resolve("${s3}", outputs) == "42"  # a template always yields text
    assert P.resolve("$$HOME", outputs) == "$HOME"
    assert P.resolve("price: $$5 and $${s1}", outputs) == "price: $5 and ${s1}"
    assert P.resolve("$$", outputs) == "$" and P.resolve("$", outputs) == "$"
    assert P.resolve({"x": ("$s3", 1.5, None, True)}, outputs) == {"x": [42, 1.5, None, True]}


def test_resolve_non_json_output_uses_str():
    class Thing:
        def __str__(self) -> str:
            return "<thing>"

    assert P.resolve("got ${s1}", {"s1": Thing()}) == "got <thing>"


# --- execute_plan -----------------------------------------------------------------------------


def test_non_string_output_reaches_tool_intact():
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "x"}},
                  {"id": "s2", "tool": "summarize", "args": {"data": "$s1", "style": "${s1}-ish"}},
                  {"id": "s3", "tool": "count", "args": {"items": "$s4"}},
                  {"id": "s4", "tool": "echo", "args": {"text": "y"}}])
    payload, items = {"rows": [{"a": 1}]}, [1, 2, 3]
    run_tool, calls = recorder({"s1": payload, "s4": items})
    results, completion = run(plan, run_tool)
    seen = {c[0]: c[1] for c in calls}
    assert seen["s2"]["data"] is payload and seen["s2"]["style"] == '{"rows":[{"a":1}]}-ish'
    assert seen["s3"]["items"] is items and results[2].output == 3
    assert completion is None and [r.id for r in results] == ["s1", "s2", "s3", "s4"]


def test_escape_reaches_tool_unescaped():
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "$$HOME"}}])
    run_tool, calls = recorder()
    results, _ = run(plan, run_tool)
    assert calls[0][1] == {"text": "$HOME"} and results[0].output == "$HOME"


def test_independent_steps_run_concurrently():
    plan = check([{"id": "a", "tool": "echo", "args": {"text": "1"}}, {"id": "b", "tool": "echo", "args": {"text": "2"}}])
    started: list[str] = []

    async def run_tool(step, args):  # returns only once the other step has started too (by condition, 10 s at most)
        started.append(step.id)
        for _ in range(1000):
            if len(started) == 2:
                return args["text"]
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{step.id} ran alone")

    results, _ = run(plan, run_tool)
    assert [r.status for r in results] == ["ok", "ok"] and [r.output for r in results] == ["1", "2"]


def test_dependency_order_respected():
    plan = check([{"id": "c", "tool": "echo", "args": {"text": "${a}+${b}"}},
                  {"id": "b", "tool": "echo", "args": {"text": "b:${a}"}},
                  {"id": "a", "tool": "echo", "args": {"text": "a"}}])
    run_tool, calls = recorder(delay=0.05)
    results, _ = run(plan, run_tool)
    times = {c[0]: (c[2], c[3]) for c in calls}
    assert times["a"][1] <= times["b"][0] and times["b"][1] <= times["c"][0]
    assert results[0].output == "a+b:a" and results[0].args == {"text": "a+b:a"}


def test_failure_skips_dependants_transitively_independent_still_run():
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "x"}},
                  {"id": "s2", "tool": "echo", "args": {"text": "$s1"}},
                  {"id": "s3", "tool": "echo", "args": {"text": "${s2}"}},
                  {"id": "s4", "tool": "echo", "args": {"text": "free"}},
                  {"id": "done", "tool": "complete_task", "args": {"summary": "$s3"}}])
    run_tool, calls = recorder(fail={"s1"})
    results, completion = run(plan, run_tool)
    by = {r.id: r for r in results}
    assert by["s1"].status == "error" and "boom in s1" in by["s1"].error and "RuntimeError" in by["s1"].error
    assert by["s2"].status == "skipped" and "s1" in by["s2"].error
    assert by["s3"].status == "skipped" and "s2" in by["s3"].error and "s1" in by["s3"].error
    assert by["s4"].status == "ok" and by["s4"].output == "free"
    assert by["done"].status == "skipped" and "s1" in by["done"].error and completion is None
    assert sorted(c[0] for c in calls) == ["s1", "s4"]


def test_completion_resolved_with_outputs():
    plan = check([{"id": "s1", "tool": "count", "args": {"items": [1, 2]}},
                  {"id": "s2", "tool": "echo", "args": {"text": "n=${s1}"}},
                  {"id": "done", "tool": "complete_task", "args": {"summary": "${s2} ($$ok)", "result": {"n": ["$s1"]}}}])
    run_tool, calls = recorder()
    results, completion = run(plan, run_tool)
    assert completion == {"summary": "n=2 ($ok)", "result": {"n": [2]}}
    assert "done" not in [c[0] for c in calls]
    assert results[-1].id == "done" and results[-1].status == "ok"


def test_completion_template_and_whole_reference():
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "hi"}},
                  {"id": "done", "tool": "complete_task", "args": {"summary": "said ${s1} for $$1", "result": "$s1"}}])
    _, completion = run(plan, recorder()[0])
    assert completion == {"summary": "said hi for $1", "result": "hi"}


def test_completion_without_references_and_plan_without_completion():
    plan = check([{"id": "done", "tool": "complete_task", "args": {"summary": "$$nothing to do"}}])
    results, completion = run(plan, recorder()[0])
    assert completion == {"summary": "$nothing to do"} and results[0].status == "ok"
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "x"}}])
    assert run(plan, recorder()[0])[1] is None


def test_completion_unaffected_by_unrelated_failure():
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "x"}},
                  {"id": "s2", "tool": "echo", "args": {"text": "y"}},
                  {"id": "done", "tool": "complete_task", "args": {"summary": "$s2"}}])
    results, completion = run(plan, recorder(fail={"s1"})[0])
    assert completion == {"summary": "y"} and results[0].status == "error"


def test_schema_validated_after_substitution_when_tools_given():
    plan = check([{"id": "s1", "tool": "echo", "args": {"text": "x"}},
                  {"id": "s2", "tool": "fetch", "args": {"url": "u", "timeout": "$s1"}},
                  {"id": "s3", "tool": "echo", "args": {"text": "$s2"}}])
    run_tool, calls = recorder({"s1": "not-an-int"})
    results, _ = run(plan, run_tool, tools=TOOLS)
    assert results[1].status == "error" and "timeout" in results[1].error
    assert results[2].status == "skipped" and [c[0] for c in calls] == ["s1"]


def test_outer_cancellation_cancels_running_steps():
    plan = check([{"id": "a", "tool": "echo", "args": {"text": "1"}}, {"id": "b", "tool": "echo", "args": {"text": "$a"}}])
    cancelled: list[str] = []

    async def run_tool(step, args):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(step.id)
            raise

    async def main():
        task = asyncio.create_task(P.execute_plan(plan, run_tool))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    start = time.perf_counter()
    asyncio.run(main())
    assert cancelled == ["a"] and time.perf_counter() - start < 1


def test_step_result_to_dict_is_json_friendly():
    r = P.StepResult("s1", "echo", {"x": {1, 2}}, "ok", output=object(), duration=0.5)
    d = r.to_dict()
    assert json.dumps(d) and d["status"] == "ok" and isinstance(d["output"], str) and d["error"] is None
    assert P.StepResult("s2", "t", {}, "ok", output={"a": (1, 2)}).to_dict()["output"] == {"a": [1, 2]}


# --- format_results ---------------------------------------------------------------------------


def test_format_results_lines_and_truncation():
    results = [P.StepResult("s1", "fetch", {}, "ok", output="x" * 5000),
               P.StepResult("s2", "count", {}, "ok", output={"n": 3}),
               P.StepResult("s3", "echo", {}, "error", error="RuntimeError: boom"),
               P.StepResult("s4", "echo", {}, "skipped", error="dependency 's3' failed")]
    text = P.format_results(results, max_chars=100)
    assert "[truncated, 5000 chars total]" in text and "x" * 101 not in text and "x" * 100 in text
    lines = text.splitlines()
    assert len(lines) == 5 and "2 ok, 1 error, 1 skipped" in lines[0]
    assert lines[2].startswith("[s2]") and '{"n":3}' in lines[2]
    assert "s3" in lines[3] and "error" in lines[3] and "boom" in lines[3]
    assert "s4" in lines[4] and "skipped" in lines[4] and "s3" in lines[4]
    assert "truncated" not in P.format_results(results[:1], max_chars=5000)


# --- schema sources ---------------------------------------------------------------------------


def test_schema_from_dict_args_schema_and_injected_args():
    @tool
    def tagged(x: int, call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Uses the injected tool call id."""
        return call_id

    raw = StructuredTool(name="raw", description="d", func=lambda **kw: kw,
                         args_schema={"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})
    tools = {**TOOLS, "tagged": tagged, "raw": raw}
    ok = P.check_plan({"steps": [{"id": "s1", "tool": "tagged", "args": {"x": 1}},
                                 {"id": "s2", "tool": "raw", "args": {"a": "$s1"}}]}, tools, planning_interval=None, steps_left=None)
    assert isinstance(ok, P.Plan)  # injected call_id is not required from the model
    problems = P.check_plan({"steps": [{"id": "s1", "tool": "raw", "args": {"b": 1}}]}, tools, planning_interval=None, steps_left=None)
    assert len(problems) == 1 and "'a'" in problems[0] and "'b'" in problems[0]


def test_validate_args_respects_extra_policy():
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        a: int

    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int

    strict = StructuredTool(name="strict", description="d", func=lambda **kw: kw, args_schema=Strict)
    loose = StructuredTool(name="loose", description="d", func=lambda **kw: kw, args_schema=Loose)
    assert P.validate_args(strict, {"a": 1, "b": 2}).count("'b'") == 1
    assert P.validate_args(loose, {"a": 1, "b": 2}) is None
    assert "a" in P.validate_args(loose, {"a": "x"})
