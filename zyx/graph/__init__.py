"""The run graph: `planner` -> `tool_executor` / `completion` -> `verifier`, compiled with LangGraph.

    START -> planner --tool calls--> tool_executor --> planner | completion
                     --complete_task--> completion --invalid--> planner
                                                   --valid--> verifier --rejected--> planner
                                                                       --accepted--> END
                     --plain text--> planner (nudged) | END

In plan mode the tool calls are one `submit_plan`, and `tool_executor` runs the whole plan; a plan
ending in `complete_task` goes on to `completion` like a direct call.

make() runs this same graph with its own answer contract (`RunSpec.make`, zyx.graph.answer): the
model answers through `final_result` (a `str` in plain text), and its state appends messages as
given (`MakeState`); the nodes, routing, tool execution and limits are the same.

The node names are stable (Studio, traces and parent graphs see them); each node's function lives in
its own module, under a name that says what it does (the `planner` node is the model call, in every
mode; plan mode is `plan_executor`):

    planner        zyx.graph.model_call.call_model
    tool_executor  zyx.graph.tool_executor.execute_tools   (plan mode: zyx.graph.plan_executor.run_plan_round)
    completion     zyx.graph.completion.judge_completion
    verifier       zyx.graph.verifier.verify
"""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import Unpack

from zyx._option_rules import check_build
from zyx._options import GRAPH_OPTIONS, GraphOptions, check_keywords
from zyx._scope import RunGraph
from zyx.graph._node import AsyncNode
from zyx.graph.completion import judge_completion
from zyx.graph.model_call import call_model
from zyx.graph.plan_executor import run_plan_round
from zyx.graph.routing import after_completion, after_planner, after_tools, after_verifier
from zyx.graph.spec import RunSpec, build_spec
from zyx.graph.state import MakeState, RunInput, RunState
from zyx.graph.tool_executor import execute_tools
from zyx.graph.verifier import verify

__all__ = ["RunSpec", "RunState", "build_run_graph", "compile_run_graph", "recursion_limit"]


def recursion_limit(spec: RunSpec) -> int:
    """A LangGraph recursion limit our own counters always reach first.

    Each model turn either runs at least one tool (at most `max_steps` of those), or is a
    rejection (at most `max_retries + 1` of each kind), or ends the run; a turn spans at
    most three supersteps. In plan mode a turn (plan round) spans up to four (planner,
    tool_executor, completion, verifier), and rejected plans count only in a row: at most
    `max_retries + 1` before each plan that runs (one running a tool, at most `max_steps`; one
    with only a completion step, a rejection counted above), and before the last turn.
    """
    retries, steps = spec.max_retries + 1, spec.limits.max_steps
    turns = steps + 4 * retries + 2
    if spec.plan:
        turns += (steps + 2 * retries + 2) * retries
        return 4 * turns + 10
    return 3 * turns + 10


def compile_run_graph(spec: RunSpec, *, checkpointer: BaseCheckpointSaver[Any] | None = None,
                      name: str = "zyx_run") -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the run graph for a spec; nodes get the spec by closure, state stays serialisable, and the Python
    values of each invocation live in its `RunScope` (zyx._scope)."""
    graph = StateGraph(MakeState, input_schema=MakeState) if spec.make else StateGraph(RunState, input_schema=RunInput)
    executor = run_plan_round if spec.plan else execute_tools
    answer = spec.contract.tool
    nodes = (("planner", call_model, partial(after_planner, answer=answer), ("tool_executor", "completion", "planner", END)),
             ("tool_executor", executor, partial(after_tools, answer=answer), ("completion", "planner", END)),
             ("completion", judge_completion, after_completion, ("verifier", "planner", END)),
             ("verifier", verify, after_verifier, ("planner", END)))
    for node_name, node, route, destinations in nodes:
        graph.add_node(node_name, AsyncNode(node_name, partial(node, spec=spec), route), destinations=destinations)
    graph.add_edge(START, "planner")
    compiled = RunGraph.of(graph.compile(checkpointer=checkpointer, name=name))  # each invocation opens a RunScope
    return compiled.with_config(recursion_limit=recursion_limit(spec))


def build_run_graph(
    *,
    target: Any = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    name: str = "zyx_run",
    **options: Unpack[GraphOptions],
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The compiled LangGraph graph `run()` invokes, for use in Studio or inside a bigger graph.

    Takes the options of `run()` (minus task, context and stream). Invoke it with
    `{"messages": [...]}`; the final state holds `completion`, `verified`, `tool_calls`, ...

    Args:
        target: The type `complete_task`'s result must validate against (None: no typed result).
        checkpointer: A LangGraph checkpointer, for durable runs and approvals.
        name: The graph's name (shown in Studio and traces).
        **options: The graph options (`GraphOptions`; the options table in docs/run.md).

    Raises:
        ConfigurationError: an option is invalid (the message names it).
    """
    check_keywords(options, GRAPH_OPTIONS, "build_run_graph")
    check_build(name, checkpointer)
    return compile_run_graph(build_spec(target=target, **options), checkpointer=checkpointer, name=name)
