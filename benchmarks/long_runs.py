"""Long runs: big tool outputs and many steps, against the model's context window (issue: context window).

    python -m benchmarks.long_runs                    # scripted models: success, context errors, prompt tokens
    python -m benchmarks.long_runs --model local      # the default local model (4,096-token window): success

Three tasks, each with an exact answer checked deterministically:
- `big_page`: one 200 KB page; the fact asked for sits 60% of the way in.
- `many_steps`: 30 records of 8 KB read one by one; the answer is the sum of a field of each (the agent keeps a
  running total in its own turns, as a model would, so old outputs need not stay in the prompt).
- `listing`: a 50-file listing, then 3 of the files (20 KB each) it marks; the answer holds a checksum of each.

Scripted models act the same way in every library (they only read what the prompt shows them). Two settings:
- "window": the model's profile declares 32,000 input tokens and it refuses bigger prompts, as a provider does.
- "budget": no window; each library is asked to keep prompts within 16,000 tokens where it can (zyx's
  `context_window`; create_agent's SummarizationMiddleware / ContextEditingMiddleware triggers), to compare
  prompt tokens per run for the same result.
Contenders: zyx, create_agent (plain, with SummarizationMiddleware, with ContextEditingMiddleware), pydantic-ai.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

import zyx
from benchmarks.tasks.runners import Usage, bridge
from zyx.testing import ScriptedChatModel

WINDOW, BUDGET = 32_000, 16_000
FILLER = "The quarterly report covers storage, networking and the planner; nothing here answers the question. "


# -- the tasks ------------------------------------------------------------------------------------------------

def big_page_text() -> str:
    lines = [f"Paragraph {i}. {FILLER * 2}" for i in range(1000)]  # ~200 KB
    lines[600] = "Paragraph 600. The release code name is BLUE-HERON-7."
    return "\n".join(lines)


PAGE = big_page_text()


def fetch(url: str) -> str:
    """Fetch a web page and return its text."""
    return PAGE


def read_record(i: int) -> str:
    """Read record number i (0-29)."""
    return f"record {i}: amount={i * 7 + 3}\n" + FILLER * 80  # ~8 KB


def list_files() -> str:
    """List the files in the project folder."""
    return "\n".join(f"file_{i:02d}.txt  {20_000 + i} bytes  {'IMPORTANT' if i in (7, 23, 41) else 'ordinary'}  "
                     f"{FILLER[:120]}" for i in range(50))


def read_file(name: str) -> str:
    """Read a file by its name."""
    number = int(re.sub(r"\D", "", name) or 0)
    return f"{name}\nchecksum: C{number * 31 % 997:03d}\n" + FILLER * 200  # ~20 KB


@dataclass(frozen=True)
class Task:
    name: str
    prompt: str
    tools: tuple[Callable[..., Any], ...]
    answer: str


TASKS = (
    Task("big_page", "Fetch https://example.com/release and tell me the release code name.", (fetch,), "BLUE-HERON-7"),
    Task("many_steps", "Read records 0 to 29 with read_record, one by one, and report the sum of their amounts.",
         (read_record,), str(sum(i * 7 + 3 for i in range(30)))),
    Task("listing", "List the files, read each file marked IMPORTANT, and report their checksums.",
         (list_files, read_file), " ".join(f"C{n * 31 % 997:03d}" for n in (7, 23, 41))),
)


class Answer(BaseModel):
    """The final answer."""

    answer: str


# -- one scripted agent, the same in every library -----------------------------------------------------------

def _names(tools: list[dict[str, Any]]) -> list[str]:
    return [t.get("function", t).get("name", "") for t in tools]


def _finish(tools: list[dict[str, Any]], answer: str) -> Any:
    names = _names(tools)
    if "complete_task" in names:
        return {"name": "complete_task", "args": {"summary": answer, "status": "success", "result": None}}
    final = next((n for n in names if n in ("Answer", "final_result")), names[-1] if names else "Answer")
    return {"name": final, "args": {"answer": answer}}


def _call(tool: str, **args: Any) -> dict[str, Any]:
    return {"name": tool, "args": args}


def _read_on(latest: ToolMessage, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Follow a cut output's note to its next part (zyx's read_tool_output), when one is offered."""
    found = re.search(r'read_tool_output\(tool_call_id="([^"]+)", offset=(\d+)\)', latest.text)
    if found and "read_tool_output" in _names(tools):
        return _call("read_tool_output", tool_call_id=found[1], offset=int(found[2]))
    return None


def policy(task: Task) -> Callable[[list[BaseMessage], list[dict[str, Any]]], Any]:
    """An agent that acts only on what its prompt shows: it never remembers anything outside it."""

    def act(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        names = _names(tools)
        if not names:  # a summarisation request (SummarizationMiddleware): keep the running notes
            notes = re.findall(r"(?:running total|code name|checksums): [\w -]+", " ".join(m.text for m in messages))
            return "; ".join(notes[-3:]) or "nothing yet"
        results = [m for m in messages if isinstance(m, ToolMessage)]
        latest = results[-1] if results else None
        seen = "\n".join(m.text for m in messages)
        if task.name == "big_page":
            if (found := re.search(r"code name is ([A-Z0-9-]+)", seen)) is not None:
                return _finish(tools, found[1])
            if latest is None:
                return _call("fetch", url="https://example.com/release")
            return _read_on(latest, tools) or _finish(tools, "unknown")
        if task.name == "many_steps":
            totals = re.findall(r"running total after record (\d+): (\d+)", " ".join(
                m.text for m in messages if isinstance(m, AIMessage)))
            done, total = (int(totals[-1][0]), int(totals[-1][1])) if totals else (-1, 0)
            if latest is not None and (amount := re.search(r"record (\d+): amount=(\d+)", latest.text)) \
                    and int(amount[1]) == done + 1:
                done, total = done + 1, total + int(amount[2])
            if done == 29:
                return _finish(tools, str(total))
            return AIMessage(f"running total after record {done}: {total}",
                             tool_calls=[{**_call("read_record", i=done + 1), "id": None, "type": "tool_call"}])
        # listing: the agent notes what it must read and what it found in its own turns, as a model would
        notes = next((m.text for m in reversed(messages) if isinstance(m, AIMessage) and "to read:" in m.text), "")
        marked = re.findall(r"(file_\d+\.txt)\s+\d+ bytes\s+IMPORTANT", seen) or re.findall(
            r"file_\d+\.txt", notes.partition(";")[0])
        sums = {**dict(re.findall(r"(file_\d+\.txt)=(C\d+)", notes)),
                **dict(re.findall(r"(file_\d+\.txt)\nchecksum: (C\d+)", seen))}
        if not marked:
            return _call("list_files")
        todo = [name for name in marked if name not in sums]
        note = f"to read: {' '.join(marked)}; found: {' '.join(f'{k}={v}' for k, v in sums.items())}"
        step = _call("read_file", name=todo[0]) if todo else _finish(tools, " ".join(sums[n] for n in marked))
        return AIMessage(note, tool_calls=[{**step, "id": None, "type": "tool_call"}])

    return act


# -- the libraries ------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    library: str
    task: str
    success: bool
    context_error: bool
    calls: int
    prompt_tokens: int
    error: str = ""


async def _zyx(task: Task, model: BaseChatModel, usage: Usage, budget: int | None) -> str:
    result = await zyx.arun(task.prompt, tools=list(task.tools), model=model, max_steps=60, max_model_calls=70,
                            context_window=budget, config={"callbacks": [usage]})
    return result.completion.summary if result.completion else ""


def _create_agent(middleware: str) -> Callable[..., Any]:
    async def go(task: Task, model: BaseChatModel, usage: Usage, budget: int | None) -> str:
        from langchain.agents import create_agent
        from langchain.agents.middleware import (
            ClearToolUsesEdit,
            ContextEditingMiddleware,
            ModelCallLimitMiddleware,
            SummarizationMiddleware,
        )
        from langchain.agents.structured_output import ToolStrategy

        trigger = budget or int(WINDOW * 0.8)
        extra: list[Any] = {
            "plain": [],
            "summarization": [SummarizationMiddleware(model, trigger=("tokens", trigger), keep=("messages", 6))],
            "context_editing": [ContextEditingMiddleware(edits=[ClearToolUsesEdit(trigger=trigger, keep=3)])],
        }[middleware]
        agent = create_agent(model, tools=list(task.tools), response_format=ToolStrategy(Answer),
                             middleware=[*extra, ModelCallLimitMiddleware(run_limit=70, exit_behavior="end")])
        state = await agent.ainvoke({"messages": [HumanMessage(task.prompt)]},
                                    {"callbacks": [usage], "recursion_limit": 300})
        answer = state.get("structured_response")
        return answer.answer if answer is not None else ""
    return go


async def _pydantic_ai(task: Task, model: BaseChatModel, usage: Usage, budget: int | None) -> str:
    from pydantic_ai import Agent
    from pydantic_ai.usage import UsageLimits

    agent: Any = Agent(bridge(model, usage), output_type=Answer, tools=list(task.tools))
    return (await agent.run(task.prompt, usage_limits=UsageLimits(request_limit=70))).output.answer


LIBRARIES: dict[str, Callable[..., Any]] = {
    "zyx": _zyx, "create_agent": _create_agent("plain"), "create_agent+summarization": _create_agent("summarization"),
    "create_agent+context_editing": _create_agent("context_editing"), "pydantic_ai": _pydantic_ai,
}


def _is_context_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc} {exc.__cause__}".lower()
    return any(m in text for m in ("context length", "context_length", "context size", "context window"))


async def measure(library: str, task: Task, model: BaseChatModel, budget: int | None) -> Outcome:
    usage = Usage()
    try:
        answer = await LIBRARIES[library](task, model, usage, budget)
    except Exception as exc:  # a library's failure is a result here, its kind recorded
        return Outcome(library, task.name, False, _is_context_error(exc), usage.calls, usage.prompt,
                       f"{type(exc).__name__}: {str(exc)[:100]}")
    return Outcome(library, task.name, task.answer in answer, False, usage.calls, usage.prompt)


def scripted(task: Task, window: int | None) -> BaseChatModel:
    profile = {"max_input_tokens": window} if window else None
    return ScriptedChatModel(policy=policy(task), profile=profile)


def local_model() -> BaseChatModel:
    from zyx._models import resolve_model

    return resolve_model("local")


def table(rows: list[Outcome], title: str) -> str:
    """Per library: successes, context errors, and per task the prompt tokens (and the ratio to plain
    create_agent's where both succeeded)."""
    tasks = list(dict.fromkeys(r.task for r in rows))
    by = {(r.library, r.task): r for r in rows}
    lines = [f"### {title}", "", "| library | success | context errors | " + " | ".join(
        f"{t}: calls, prompt tokens" for t in tasks) + " |", "|---|---|---|" + "---|" * len(tasks)]
    for library in dict.fromkeys(r.library for r in rows):
        mine = [r for r in rows if r.library == library]
        cells = []
        for t in tasks:
            r, base = by[library, t], by.get(("create_agent", t))
            ratio = f" ({r.prompt_tokens / base.prompt_tokens:.2f}x)" if (
                base and base.success and r.success and library != "create_agent") else ""
            cells.append(f"{'ok' if r.success else 'FAILED'}: {r.calls}, {r.prompt_tokens:,}{ratio}")
        lines.append(f"| {library} | {sum(r.success for r in mine)}/{len(mine)} | "
                     f"{sum(r.context_error for r in mine)} | " + " | ".join(cells) + " |")
    errors = [f"- {r.library} / {r.task}: {r.error}" for r in rows if r.error]
    return "\n".join([*lines, "", *errors])


async def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["scripted", "local"], default="scripted")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--tasks", default=",".join(t.name for t in TASKS))
    args = parser.parse_args(argv)
    libraries = args.libraries.split(",")
    tasks = [t for t in TASKS if t.name in args.tasks.split(",")]
    out: list[str] = []
    started = time.perf_counter()
    if args.model == "local":
        model = local_model()
        rows = [await measure(lib, task, model, None) for task in tasks for lib in libraries]
        out.append(table(rows, "The default local model (its own window)"))
    else:
        for title, window, budget in (("window: the model accepts 32,000 input tokens", WINDOW, None),
                                      ("budget: no window, prompts kept within 16,000 tokens where a library can",
                                       None, BUDGET)):
            rows = [await measure(lib, task, scripted(task, window), budget) for task in tasks for lib in libraries]
            out.append(table(rows, title))
    out.append(f"\n({time.perf_counter() - started:.0f} s)")
    text = "\n\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    asyncio.run(main())
