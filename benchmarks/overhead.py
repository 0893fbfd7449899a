"""Section 1: framework overhead per run, with a model that answers instantly.

Contenders (alternating): zyx.arun, langchain.agents.create_agent, pydantic_ai.Agent, and
LangGraph's own floor: a bare StateGraph that steps through the same supersteps as a zyx
run of the task, with trivial async nodes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypedDict

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph

from benchmarks._harness import Config, Measurement, Section, alternate, ratio
from benchmarks._task import (
    STEPS,
    TASK,
    AgentContender,
    PydanticAIContender,
    Report,
    ZyxContender,
    agent_policy,
    has_peer,
    model_calls_of,
    zyx_policy,
)
from zyx.graph._cache import cached_run_graph


async def zyx_supersteps(contender: ZyxContender) -> list[str]:
    """The node of each superstep of a real zyx run of the task (from `stream_mode="updates"`)."""
    _, graph = cached_run_graph({"model": contender.model, "tools": contender.tools, "target": Report})
    steps: list[str] = []
    async for update in graph.astream({"messages": [HumanMessage(TASK)], "task": TASK}, stream_mode="updates"):
        steps.extend(update)
    return steps


class _FloorState(TypedDict):
    i: int


def floor_graph(steps: list[str], *, routed: bool = False, sleep: Mapping[str, float] | None = None) -> Any:
    """A bare StateGraph with one trivial async node per superstep of `steps`.

    Plain: a chain of `len(steps)` nodes joined by plain edges, the least LangGraph can do.
    `routed=True`: the same node names as zyx, joined by *sync* conditional-edge functions
    (how zyx routed before it moved to `Command(goto=...)`): LangGraph traces each one
    (on_chain_start/end) and, under `ainvoke`, runs it in a worker thread. Kept to show what
    that routing cost.
    `sleep`: seconds that each superstep of a given name awaits `asyncio.sleep` for (e.g.
    `{"planner": 0.05}`: a model call's latency, for the concurrency section), else nothing.
    """
    graph = StateGraph(_FloorState)
    sleep = sleep or {}

    def node_for(name: str) -> Any:
        seconds = sleep.get(name, 0.0)

        async def node(state: _FloorState) -> dict[str, int]:
            if seconds:
                await asyncio.sleep(seconds)
            return {"i": state["i"] + 1}

        return node

    if not routed:
        chain = [f"step_{i}" for i in range(len(steps))]
        for name, step in zip(chain, steps, strict=True):
            graph.add_node(name, node_for(step))
        for a, b in zip([START, *chain], [*chain, END]):
            graph.add_edge(a, b)
        return graph.compile()

    names = list(dict.fromkeys(steps))

    def route(state: _FloorState) -> str:
        return steps[state["i"]] if state["i"] < len(steps) else END

    for name in names:
        graph.add_node(name, node_for(name))
        graph.add_conditional_edges(name, route, [*names, END])
    graph.add_edge(START, steps[0])
    return graph.compile()


async def _components(zyx_run: ZyxContender) -> dict[str, Any]:
    """What a zyx run is made of, each timed alone: its 4 model calls and its 3 tool calls."""
    spec, _ = cached_run_graph({"model": zyx_run.model, "tools": zyx_run.tools, "target": Report})
    zyx_run.reset()
    await zyx_run()
    turns = [list(c.messages) for c in zyx_run.model.calls]  # what the model saw on each turn
    tools = [(spec.tools_by_name[name], args) for name, args in STEPS]

    async def model_calls() -> None:
        for messages in turns:
            await spec.bound_model.ainvoke(messages)

    async def tool_calls() -> None:
        for tool, args in tools:
            await tool.ainvoke(args)

    return {f"{len(turns)} model calls alone (bound ScriptedChatModel.ainvoke)": model_calls,
            f"{len(tools)} tool calls alone (StructuredTool.ainvoke, sync → worker thread)": tool_calls}


async def measure(cfg: Config) -> tuple[list[Section], dict[str, Any]]:
    zyx_run = ZyxContender(zyx_policy())
    contenders: dict[str, Any] = {"zyx.arun": zyx_run}
    missing = []
    if has_peer("langchain.agents"):
        contenders["langchain create_agent"] = AgentContender(agent_policy())
    else:
        missing.append("langchain create_agent: n/a (langchain not installed)")
    if has_peer("pydantic_ai"):
        contenders["pydantic_ai Agent"] = PydanticAIContender()
    else:
        missing.append("pydantic_ai Agent: n/a (pydantic-ai-slim not installed)")

    steps = await zyx_supersteps(zyx_run)
    floor = floor_graph(steps)
    floor_sync = floor_graph(steps, routed=True)
    floor_name = f"LangGraph floor ({len(steps)} supersteps, plain edges)"
    floor_sync_name = "LangGraph floor + sync conditional edges (zyx's former routing)"
    components = await _components(zyx_run)

    calls_per_run: dict[str, float] = {}
    for name, contender in contenders.items():
        count = model_calls_of(contender)
        before = count()
        await contender()
        calls_per_run[name] = count() - before

    async def run_floor() -> Any:
        return await floor.ainvoke({"i": 0})

    async def run_floor_sync() -> Any:
        return await floor_sync.ainvoke({"i": 0})

    timed = {**contenders, floor_name: run_floor, floor_sync_name: run_floor_sync, **components}
    results = await alternate(timed, reps=cfg.overhead_reps, runs=cfg.overhead_runs, warmup=cfg.overhead_warmup,
                              collect=cfg.collect)
    for contender in contenders.values():
        contender.reset()

    zyx = results["zyx.arun"]
    section = Section(
        "1. Overhead per run (instant scripted model; 3 tool turns + structured completion)",
        ("contender", "ms/run median (min–max)", "CPU ms/run median", "model calls/run", "ms/model call",
         "zyx ÷ this: wall (min–max)", "zyx ÷ this: CPU"),
    )
    for name in (*contenders, floor_name, floor_sync_name):
        m = results[name]
        calls = calls_per_run.get(name)
        per_call = f"{m.wall.median / calls:.2f}" if calls else "–"
        first = name == "zyx.arun"
        section.rows.append((name, m.wall.fmt(), f"{m.cpu.median:.2f}", f"{calls:g}" if calls else "–", per_call,
                             "1" if first else ratio(zyx.wall, m.wall).fmt(),
                             "1" if first else f"{ratio(zyx.cpu, m.cpu).median:.2f}"))
    floor_ms = results[floor_name].wall.median
    hop_ms = results[floor_sync_name].wall.median - floor_ms
    section.notes += [
        f"{cfg.overhead_reps} reps × {cfg.overhead_runs} sequential runs each, contenders alternating "
        f"(after {cfg.overhead_warmup} warm-up runs each); figures are the median rep (min–max over reps); "
        "ratios are medians of per-rep ratios (each rep's contenders ran back to back).",
        f"zyx supersteps: {' → '.join(steps)}. The floor is a bare StateGraph of {len(steps)} trivial async "
        f"nodes chained by plain edges (the same {len(steps)} supersteps).",
        "create_agent and zyx use the same ScriptedChatModel; pydantic_ai uses its FunctionModel.",
        *missing,
    ]

    breakdown = Section("1b. Where a zyx run's time goes (parts timed alone, same rounds as above)",
                        ("part", "ms/run median (min–max)", "CPU ms/run", "share of zyx CPU"))
    parts: list[tuple[str, Measurement]] = [
        (floor_name, results[floor_name]),
        *((name, results[name]) for name in components),
    ]
    explained_cpu = results[floor_name].cpu.median
    for name, part in parts:
        if name in components:
            explained_cpu += part.cpu.median
        breakdown.rows.append((name, part.wall.fmt(), f"{part.cpu.median:.2f}",
                               f"{part.cpu.median / zyx.cpu.median:.0%}"))
    rest = zyx.cpu.median - explained_cpu
    breakdown.rows.append(("remainder: the run state's channels + add_messages reducer, per-node callbacks "
                           "and tasks, Command routing, zyx node code, arun and the result", "–", f"{rest:.2f}", f"{rest / zyx.cpu.median:.0%}"))
    breakdown.rows.append(("zyx.arun (whole run)", zyx.wall.fmt(), f"{zyx.cpu.median:.2f}", "100%"))
    breakdown.notes.append("Model and tool calls replay one run's conversation outside the graph (no LangGraph "
                           "config, so their callback managers are emptier than inside a run).")
    data = {"steps": steps, "zyx_ms": zyx.wall.median, "floor_ms": floor_ms, "sync_edges_ms": hop_ms,
            "calls_per_run": calls_per_run}
    return [section, breakdown], data
