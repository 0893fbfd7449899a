"""The benchmark task and one scripted contender per framework.

The task: three cheap sync tools called one per model turn, then a completion with a small
pydantic target. Every contender answers from a script, instantly (or after `latency`
seconds of `asyncio.sleep`), so what is timed is the framework, not a model.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import ToolMessage
from pydantic import BaseModel

import zyx
from zyx.testing import ScriptedChatModel, call, complete

TASK = "Add 1 and 2, upper-case 'abc', measure 'abcd', then report the total and the label."


class Report(BaseModel):
    """The task's result."""

    total: int
    label: str


RESULT: dict[str, Any] = {"total": 3, "label": "ABC"}


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def upper(text: str) -> str:
    """Upper-case a string."""
    return text.upper()


def length(text: str) -> int:
    """Count the characters of a string."""
    return len(text)


TOOLS: list[Any] = [add, upper, length]
TOOL_NAMES = frozenset(t.__name__ for t in TOOLS)
STEPS: list[tuple[str, dict[str, Any]]] = [("add", {"a": 1, "b": 2}), ("upper", {"text": "abc"}),
                                           ("length", {"text": "abcd"})]


def has_peer(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _tool_results(messages: list[Any]) -> int:
    return sum(isinstance(m, ToolMessage) for m in messages)


def _final_tool(tools: list[dict[str, Any]]) -> str:
    """The structured-output tool a peer bound next to ours (its name is the peer's choice)."""
    names = [t.get("function", t).get("name") for t in tools]
    extra = [n for n in names if n not in TOOL_NAMES]
    if len(extra) != 1:
        raise AssertionError(f"expected exactly one structured-output tool besides ours, got {names}")
    return extra[0]


# -- zyx ---------------------------------------------------------------------------------------


def zyx_policy(n_tools: int = 3) -> Callable[[list[Any], list[dict[str, Any]]], Any]:
    """`n_tools` tool turns, then `complete_task` with the target."""

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        done = _tool_results(messages)
        if done < n_tools:
            name, args = STEPS[done]
            return call(name, **args)
        return complete(summary="done", result=RESULT)

    return policy


def zyx_plan_policy(offered: list[bool]) -> Callable[[list[Any], list[dict[str, Any]]], Any]:
    """Plan mode: one `submit_plan` with the three tools and `complete_task` when it is offered."""
    fallback = zyx_policy()

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        names = {t.get("function", t).get("name") for t in tools}
        offered.append("submit_plan" in names)
        if "submit_plan" not in names:
            return fallback(messages, tools)
        if _tool_results(messages):  # the plan ran (and did not finish the run): complete now
            return complete(summary="done", result=RESULT)
        steps = [{"id": f"s{i}", "tool": name, "args": args} for i, (name, args) in enumerate(STEPS, 1)]
        steps.append({"id": "done", "tool": "complete_task",
                      "args": {"summary": "done", "result": {"total": "$s1", "label": "$s2"}}})
        return call("submit_plan", steps=steps)

    return policy


@dataclass
class ZyxContender:
    policy: Callable[..., Any]
    latency: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)
    tools: list[Any] = field(default_factory=lambda: TOOLS)

    def __post_init__(self) -> None:
        self.model = ScriptedChatModel(policy=self.policy, latency=self.latency)

    async def __call__(self) -> Any:
        result = await zyx.arun(TASK, Report, tools=self.tools, model=self.model, **self.options)
        assert result.output == Report(**RESULT) or self.tools is not TOOLS, result
        return result

    def reset(self) -> None:
        self.model._calls.clear()  # the scripted model records every call; keep memory flat


# -- langchain.agents.create_agent ---------------------------------------------------------------


def agent_policy(n_tools: int = 3) -> Callable[[list[Any], list[dict[str, Any]]], Any]:
    """`n_tools` tool turns, then the structured-output tool create_agent bound for the target."""

    def policy(messages: list[Any], tools: list[dict[str, Any]]) -> Any:
        done = _tool_results(messages)
        if done < n_tools:
            name, args = STEPS[done]
            return call(name, **args)
        return call(_final_tool(tools), **RESULT)

    return policy


class AgentContender:
    def __init__(self, policy: Callable[..., Any], latency: float = 0.0, tools: list[Any] | None = None) -> None:
        from langchain.agents import create_agent

        self.model = ScriptedChatModel(policy=policy, latency=latency)
        self.agent = create_agent(self.model, tools=TOOLS if tools is None else tools, response_format=Report)

    async def __call__(self) -> Any:
        state = await self.agent.ainvoke({"messages": [{"role": "user", "content": TASK}]})
        assert state["structured_response"] == Report(**RESULT), state
        return state

    def reset(self) -> None:
        self.model._calls.clear()


# -- pydantic_ai.Agent + FunctionModel -------------------------------------------------------------


class PydanticAIContender:
    def __init__(self, n_tools: int = 3) -> None:
        from pydantic_ai import Agent
        from pydantic_ai.messages import ModelResponse, ToolCallPart, ToolReturnPart
        from pydantic_ai.models.function import AgentInfo, FunctionModel

        self.calls = 0

        def respond(messages: list[Any], info: AgentInfo) -> ModelResponse:
            self.calls += 1
            done = sum(isinstance(p, ToolReturnPart) for m in messages for p in getattr(m, "parts", ()))
            if done < n_tools:
                name, args = STEPS[done]
                return ModelResponse(parts=[ToolCallPart(name, args)])
            (final,) = [t.name for t in info.output_tools]
            return ModelResponse(parts=[ToolCallPart(final, dict(RESULT))])

        self.agent = Agent(FunctionModel(respond), output_type=Report, tools=TOOLS)

    async def __call__(self) -> Any:
        result = await self.agent.run(TASK)
        assert result.output == Report(**RESULT), result
        return result

    def reset(self) -> None:
        pass


def model_calls_of(contender: Any) -> Callable[[], int]:
    """A counter of model calls so far, whichever the contender."""
    if isinstance(contender, PydanticAIContender):
        return lambda: contender.calls
    return lambda: len(contender.model._calls)


Contender = Callable[[], Awaitable[Any]]
