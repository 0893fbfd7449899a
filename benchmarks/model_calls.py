"""Section 2: model calls per task (3 tool calls + a structured result), per framework and mode."""

from __future__ import annotations

from typing import Any

from benchmarks._harness import Config, Section
from benchmarks._task import (
    AgentContender,
    PydanticAIContender,
    ZyxContender,
    agent_policy,
    has_peer,
    model_calls_of,
    zyx_plan_policy,
    zyx_policy,
)

PLAN_NA = "n/a (plan mode not built)"


async def _count(contender: Any) -> int:
    count = model_calls_of(contender)
    before = count()
    await contender()
    return count() - before


async def plan_mode_calls() -> tuple[str, str]:
    """Model calls in plan mode, or why it cannot be measured yet."""
    offered: list[bool] = []
    contender = ZyxContender(zyx_plan_policy(offered), options={"plan": True})
    try:
        calls = await _count(contender)
    except Exception as exc:  # not built yet (ConfigurationError, NotImplementedError, ...) or broken
        return PLAN_NA, f"plan=True raised {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    if not any(offered):
        return PLAN_NA, "plan=True ran, but the model was never offered submit_plan"
    return str(calls), "one submit_plan with the three tools and a complete_task step"


async def measure(cfg: Config) -> tuple[Section, dict[str, Any]]:
    section = Section("2. Model calls per task", ("contender", "model calls", "how"))
    normal = await _count(ZyxContender(zyx_policy()))
    section.rows.append(("zyx (normal)", str(normal), "one tool call per turn, then complete_task"))
    plan, how = await plan_mode_calls()
    section.rows.append(("zyx (plan=True)", plan, how))
    data: dict[str, Any] = {"zyx": normal, "zyx_plan": plan}
    if has_peer("langchain.agents"):
        data["create_agent"] = await _count(AgentContender(agent_policy()))
        section.rows.append(("langchain create_agent", str(data["create_agent"]),
                             "one tool call per turn, then the response_format tool"))
    else:
        section.rows.append(("langchain create_agent", "n/a (langchain not installed)", ""))
    if has_peer("pydantic_ai"):
        data["pydantic_ai"] = await _count(PydanticAIContender())
        section.rows.append(("pydantic_ai Agent", str(data["pydantic_ai"]),
                             "one tool call per turn, then the output tool"))
    else:
        section.rows.append(("pydantic_ai Agent", "n/a (pydantic-ai-slim not installed)", ""))
    return section, data
