"""Plan mode: the model submits a whole DAG of tool calls, zyx checks it and runs it without the model.

References between steps: a value that is exactly `"$id"` becomes step `id`'s output (the Python
value), `"${id}"` inside a string becomes the output's text, and `$$` is a literal `$`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import textwrap
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import to_json

from zyx import _prompts
from zyx._prompts import COMPLETE_TASK, SUBMIT_PLAN
from zyx._tool_args import unwrap_schema_echo
from zyx.graph.state import StepStatus

_TEMPLATE = re.compile(r"\$\$|\$\{([^{}]*)\}")


class PlanStep(BaseModel):
    """One tool call of a plan."""

    id: str = Field(description=_prompts.PLAN_STEP_ID)
    tool: str = Field(description=_prompts.PLAN_STEP_TOOL)
    args: dict[str, Any] = Field(default_factory=dict, description=_prompts.PLAN_STEP_ARGS)


class Plan(BaseModel):
    """A plan of tool calls that runs without further input from the model."""

    steps: list[PlanStep] = Field(description=_prompts.PLAN_STEPS)


class StepError(Exception):
    """A step failure whose message is already the error text to report (no exception type prefix)."""


def describe_tools(tool_schemas: Sequence[Mapping[str, Any]]) -> str:
    """The tools a plan may use, one per line with name, description and JSON args schema.

    In plan mode the user tools are not bound to the model, so this is how it learns them.
    """
    if not tool_schemas:
        return _prompts.PLAN_NO_TOOLS
    lines = [_prompts.PLAN_TOOLS_HEADER]
    for schema in tool_schemas:
        function = schema.get("function", schema)
        description = " ".join(str(function.get("description") or "").split()) or _prompts.NO_DESCRIPTION
        args = json.dumps(function.get("parameters") or {}, separators=(",", ":"), ensure_ascii=False)
        lines.append(_prompts.PLAN_TOOL_LINE.format(name=function.get("name"), description=description, args=args))
    return "\n".join(lines)


def submit_plan_tool(completion_tool: str = COMPLETE_TASK, tool_schemas: Sequence[Mapping[str, Any]] | None = None,
                     *, max_tool_steps: int | None = None) -> dict:
    """OpenAI-style tool dict for `submit_plan` (what the model sees in plan mode).

    `tool_schemas` (OpenAI tool dicts) are listed in the description, since only `submit_plan` and
    the completion tool are bound in plan mode; `max_tool_steps` (the planning interval) is stated too.
    """
    description = _prompts.SUBMIT_PLAN_DESCRIPTION.format(completion_tool=completion_tool)
    if max_tool_steps is not None:
        description += _prompts.PLAN_MAX_STEPS.format(max_tool_steps=max_tool_steps, completion_tool=completion_tool)
    if tool_schemas is not None:
        description += "\n\n" + describe_tools(tool_schemas)
    parameters = Plan.model_json_schema()
    if tool_schemas is not None:  # the step's tool as an enum: constrained decoding then cannot invent one
        names = [s["function"]["name"] if "function" in s else s["name"] for s in tool_schemas]
        parameters["$defs"]["PlanStep"]["properties"]["tool"]["enum"] = [*names, completion_tool]
    function = {"name": SUBMIT_PLAN, "description": description, "parameters": parameters}
    return {"type": "function", "function": function}


def _whole_ref(s: str) -> str | None:
    """The id if `s` is a whole-value reference `$id` (not `$$...` or `${...}`)."""
    return s[1:] if len(s) > 1 and s[0] == "$" and s[1] not in "${" else None


def references(value: Any) -> set[str]:
    """Step ids referenced anywhere inside `value` (dict values and list items, at any depth)."""
    if isinstance(value, str):
        ref = _whole_ref(value)
        return {ref} if ref is not None else {m[1] for m in _TEMPLATE.finditer(value) if m[1] is not None}
    if isinstance(value, Mapping):
        return set().union(*(references(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(references(v) for v in value))
    return set()


def as_text(value: Any) -> str:
    """Text of an output: itself if a str, else compact JSON (pydantic's for non-JSON types), else `str()`."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        pass
    try:  # pydantic models, dataclasses, datetimes, ...: the JSON the model would see from a direct call
        return to_json(value).decode()
    except Exception:  # noqa: BLE001 - anything pydantic cannot serialise falls back to its text
        return str(value)


def resolve(value: Any, outputs: Mapping[str, Any]) -> Any:
    """Substitute references in `value` with `outputs` and un-escape `$$` (pure, returns new containers)."""
    if isinstance(value, str):
        ref = _whole_ref(value)
        if ref is not None:
            return outputs[ref]
        return _TEMPLATE.sub(lambda m: "$" if m[1] is None else as_text(outputs[m[1]]), value)
    if isinstance(value, Mapping):
        return {k: resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, outputs) for v in value]
    return value


def _rename_refs(value: Any, ids: Mapping[str, str]) -> Any:
    """`value` with its step references `$id` / `${id}` pointing at `ids[id]` (other ids untouched)."""
    if isinstance(value, str):
        ref = _whole_ref(value)
        if ref is not None:
            return f"${ids.get(ref, ref)}"
        return _TEMPLATE.sub(lambda m: m[0] if m[1] is None else f"${{{ids.get(m[1], m[1])}}}", value)
    if isinstance(value, Mapping):
        return {k: _rename_refs(v, ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rename_refs(v, ids) for v in value]
    return value


def _number_repeated_ids(steps: list[PlanStep]) -> None:
    """Give a repeated step id a number ("s", "s_2") in place, as code rebinds a name: a reference to a
    repeated id means the latest step before it with that id (a small model writes one id per tool)."""
    taken = {s.id for s in steps}
    latest: dict[str, str] = {}
    for s in steps:
        s.args = _rename_refs(s.args, latest) if latest else s.args
        if s.id in latest:
            n = 2
            while f"{s.id}_{n}" in taken:
                n += 1
            new = f"{s.id}_{n}"
            taken.add(new)
            latest[s.id], s.id = new, new
        elif s.id.strip():
            latest[s.id] = s.id


def _call_schema(tool: BaseTool) -> dict[str, Any] | type[BaseModel]:
    """The tool's model-facing schema: a JSON-schema dict or a pydantic (v2) model.

    langchain-core also allows `pydantic.v1` models, which plan mode does not support.
    """
    return cast("dict[str, Any] | type[BaseModel]", tool.tool_call_schema)


def _known_args(tool: BaseTool) -> frozenset[str]:
    """The argument names a tool's schema declares."""
    schema = _call_schema(tool)
    if isinstance(schema, dict):
        return frozenset(schema.get("properties") or {})
    return frozenset(f.alias or n for n, f in schema.model_fields.items())


def _key_problems(tool: BaseTool, args: Mapping[str, Any], *, check_required: bool) -> list[str]:
    """Missing required keys and keys the schema does not know (unless it allows extra keys)."""
    schema = _call_schema(tool)
    if isinstance(schema, dict):
        known, required = list(schema.get("properties") or {}), schema.get("required", [])
        extra = bool(schema.get("additionalProperties"))
    else:
        known = [f.alias or n for n, f in schema.model_fields.items()]
        required = [f.alias or n for n, f in schema.model_fields.items() if f.is_required()]
        full = tool.args_schema if isinstance(tool.args_schema, type) else schema
        extra = "allow" in (schema.model_config.get("extra"), getattr(full, "model_config", {}).get("extra"))
    problems = [_prompts.PLAN_MISSING_ARG.format(name=k) for k in required if check_required and k not in args]
    if not extra:
        problems += [_prompts.PLAN_UNKNOWN_ARG.format(name=k, known=", ".join(known) or _prompts.NONE)
                     for k in args if k not in known]
    return problems


def validate_args(tool: BaseTool, args: Mapping[str, Any]) -> str | None:
    """Check fully resolved `args` against the tool's model-facing schema; the problem text or None."""
    schema = _call_schema(tool)
    problems = _key_problems(tool, args, check_required=isinstance(schema, dict))
    if not isinstance(schema, dict):
        try:
            schema.model_validate(dict(args))
        except ValidationError as e:
            problems += [f"{'.'.join(map(str, err['loc'])) or 'args'}: {err['msg']}"
                         for err in e.errors() if err["type"] != "extra_forbidden"]
    return "; ".join(problems) or None


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every distinct cycle reachable by DFS, as a closed path `[a, b, a]`."""
    found: dict[frozenset[str], list[str]] = {}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                found.setdefault(frozenset(cycle), cycle)
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return list(found.values())


def _parse_steps(raw_steps: list[Any]) -> tuple[list[tuple[str, PlanStep]], list[str]]:
    """Parse each step on its own so one malformed step does not hide the other problems."""
    parsed: list[tuple[str, PlanStep]] = []
    problems: list[str] = []
    for i, raw in enumerate(raw_steps, 1):
        raw_id = raw.get("id") if isinstance(raw, Mapping) else None
        label = (_prompts.PLAN_STEP_NAMED.format(id=raw_id) if isinstance(raw_id, str) and raw_id.strip()
                 else _prompts.PLAN_STEP_NUMBERED.format(number=i))
        if isinstance(raw, Mapping) and not str(raw_id or "").strip():
            problems.append(_prompts.PLAN_STEP_NO_ID.format(label=label, tool=raw.get("tool")))
            raw = {**raw, "id": ""}
        try:
            parsed.append((label, PlanStep.model_validate(raw)))
        except ValidationError as e:
            problems += [_prompts.PLAN_STEP_INVALID.format(label=label, where=".".join(map(str, err["loc"]))
                                                           or _prompts.PLAN_STEP_ROOT, error=err["msg"])
                         for err in e.errors()]
    return parsed, problems


def check_plan(
    raw_args: Any, tools: Mapping[str, BaseTool], *, completion_tool: str = COMPLETE_TASK,
    planning_interval: int | None, steps_left: int | None,
) -> Plan | list[str]:
    """Parse and check a submitted plan before anything runs; the Plan, or every problem found."""
    raw_steps = raw_args.get("steps") if isinstance(raw_args, Mapping) else None
    if not isinstance(raw_steps, list):
        return [_prompts.PLAN_NOT_OBJECT]
    if not raw_steps:
        return [_prompts.PLAN_EMPTY]
    parsed, problems = _parse_steps(raw_steps)
    _number_repeated_ids([s for _, s in parsed])
    by_id: dict[str, PlanStep] = {}
    for _, s in parsed:
        by_id.setdefault(s.id, s)
    by_id.pop("", None)
    completions = [i for i, (_, s) in enumerate(parsed) if s.tool == completion_tool]
    for n, i in enumerate(completions):
        if n > 0:
            problems.append(_prompts.PLAN_ONE_COMPLETION.format(label=parsed[i][0], completion_tool=completion_tool))
        elif i != len(parsed) - 1:
            problems.append(_prompts.PLAN_COMPLETION_LAST.format(label=parsed[i][0], completion_tool=completion_tool))
    completion_ids = {parsed[i][1].id for i in completions}
    graph: dict[str, set[str]] = {}
    for _, s in parsed:
        if s.tool in tools and _key_problems(tools[s.tool], s.args, check_required=True):  # never valid keys
            s.args = unwrap_schema_echo(s.args, _known_args(tools[s.tool]))
    for label, s in parsed:
        refs = references(s.args)
        problems += [_prompts.PLAN_UNKNOWN_REF.format(label=label, ref=r) for r in sorted(refs - set(by_id))]
        if s.id in refs:
            problems.append(_prompts.PLAN_SELF_REF.format(label=label))
        problems += [_prompts.PLAN_COMPLETION_REF.format(label=label, completion_tool=completion_tool, ref=r)
                     for r in sorted((refs & completion_ids) - {s.id})]
        if by_id.get(s.id) is s:
            graph[s.id] = (refs & set(by_id)) - {s.id}
        if s.tool == SUBMIT_PLAN or (s.tool not in tools and s.tool != completion_tool):
            available = ", ".join(sorted({*tools, completion_tool} - {SUBMIT_PLAN}))
            problems.append(_prompts.PLAN_UNKNOWN_TOOL.format(label=label, tool=s.tool, available=available))
        elif s.tool in tools:
            tool = tools[s.tool]
            bad = "; ".join(_key_problems(tool, s.args, check_required=True)) if refs else validate_args(tool, s.args)
            if bad:
                problems.append(_prompts.PLAN_BAD_ARGS.format(label=label, tool=s.tool, problems=bad))
    for cycle in _cycles(graph):
        problems.append(_prompts.PLAN_CYCLE.format(steps=", ".join(map(repr, cycle[:-1])), path=" -> ".join(cycle)))
    tool_steps = [label for label, s in parsed if s.tool != completion_tool]
    for limit, what in ((planning_interval, _prompts.PLAN_INTERVAL), (steps_left, _prompts.PLAN_STEP_BUDGET)):
        if limit is not None and len(tool_steps) > limit:
            first = tool_steps[limit] if limit >= 0 else tool_steps[0]
            problems.append(_prompts.PLAN_TOO_LONG.format(first=first, count=len(tool_steps), what=what, limit=limit))
    return problems or Plan(steps=[s for _, s in parsed])


@dataclasses.dataclass
class StepResult:
    """Outcome of one plan step; `output` is the raw Python value the tool returned."""

    id: str
    tool: str
    args: dict[str, Any]
    status: StepStatus
    output: Any = None
    error: str | None = None
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (non-JSON values become their text)."""
        return json.loads(json.dumps(vars(self), default=str))


async def execute_plan(
    plan: Plan, run_tool: Callable[[PlanStep, dict], Awaitable[Any]], *,
    completion_tool: str = COMPLETE_TASK, tools: Mapping[str, BaseTool] | None = None,
) -> tuple[list[StepResult], dict | None]:
    """Run a plan accepted by `check_plan` as a DAG: each step starts once all steps it references succeeded.

    `run_tool(step, resolved_args)` runs one tool; an exception becomes that step's error, but a pause (a
    tool's `interrupt()`) is raised once the steps already running have finished (steps that need the paused
    one wait for the resume, when the node runs again and finished steps come from the journal). If `tools`
    is given, args that contained references are validated against the tool's schema after substitution
    (a failure is the step's error); otherwise that is left to `run_tool`. The completion step is not
    run: its resolved args are returned, or None if it is absent or a step it references did not succeed.
    """
    deps = {s.id: references(s.args) for s in plan.steps}
    results: dict[str, StepResult] = {}
    finished = {s.id: asyncio.Event() for s in plan.steps}
    root_cause: dict[str, str] = {}
    paused: list[GraphBubbleUp] = []

    def prepare(step: PlanStep) -> dict | StepResult:
        """The resolved args, or the skipped/error result that stops the step from running."""
        for dep in sorted(deps[step.id]):
            if results[dep].status != "ok":
                root = root_cause[step.id] = root_cause.get(dep, dep)
                why = (_prompts.STEP_DEPENDENCY_FAILED.format(dep=dep) if root == dep
                       else _prompts.STEP_DEPENDENCY_SKIPPED.format(dep=dep, root=root))
                return StepResult(step.id, step.tool, step.args, "skipped", error=why)
        args = resolve(step.args, {d: results[d].output for d in deps[step.id]})
        bad = validate_args(tools[step.tool], args) if tools and step.tool in tools and deps[step.id] else None
        if bad:
            return StepResult(step.id, step.tool, args, "error", error=_prompts.STEP_BAD_ARGS.format(problems=bad))
        return args

    async def run(step: PlanStep) -> None:
        try:
            for dep in deps[step.id]:
                await finished[dep].wait()
            if any(dep not in results for dep in deps[step.id]):
                return  # a step it needs paused: it runs after the resume
            start, args = time.perf_counter(), step.args
            try:
                prepared = prepare(step)
                if isinstance(prepared, StepResult):
                    results[step.id] = prepared
                    return
                args = prepared
                output = await run_tool(step, args)
            except GraphBubbleUp as pause:  # a tool's interrupt(): not the step's error, the run's pause
                paused.append(pause)
                return
            except Exception as e:  # noqa: BLE001 - any tool failure is the step's error
                error = str(e) if isinstance(e, StepError) else f"{type(e).__name__}: {e}"
                results[step.id] = StepResult(step.id, step.tool, args, "error", error=error,
                                              duration=time.perf_counter() - start)
            else:
                results[step.id] = StepResult(step.id, step.tool, args, "ok", output,
                                              duration=time.perf_counter() - start)
        finally:
            finished[step.id].set()

    async with asyncio.TaskGroup() as group:
        for step in plan.steps:
            if step.tool != completion_tool:
                group.create_task(run(step))
    if paused:
        raise paused[0]
    completion: dict | None = None
    for step in plan.steps:
        if step.tool == completion_tool:
            args = prepare(step)
            results[step.id] = args if isinstance(args, StepResult) else StepResult(step.id, step.tool, args, "ok")
            completion = None if isinstance(args, StepResult) else args
    return [results[s.id] for s in plan.steps], completion


def format_results(results: list[StepResult], *, max_chars: int = 2000,
                   step_id: Callable[[str], str] = lambda step: step) -> str:
    """Compact per-step report the model gets as the `submit_plan` result; a long output is shown in part, with
    the way to read on (`read_tool_output` by the step's call id, `step_id(step)`)."""
    counts = {k: sum(r.status == k for r in results) for k in ("ok", "error", "skipped")}
    lines = [_prompts.PLAN_REPORT_HEADER.format(**counts)]
    for r in results:
        text = (r.error or "") if r.status != "ok" else "" if r.output is None else as_text(r.output)
        if len(text) > max_chars:
            text = text[:max_chars] + _prompts.PLAN_STEP_CUT.format(total=len(text), id=step_id(r.id), end=max_chars,
                                                                    tool=_prompts.READ_TOOL_OUTPUT)
        head = _prompts.PLAN_STEP_HEAD.format(id=r.id, tool=r.tool, status=r.status)
        lines.append(f"{head}:\n{textwrap.indent(text, '  ')}" if "\n" in text else f"{head}: {text}" if text else head)
    return "\n".join(lines)
