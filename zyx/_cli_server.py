"""`zyx batch --server URL`: the tasks run on a LangGraph Agent Server (Aegra, LangSmith Deployment, `langgraph
dev`) through `langgraph-sdk`, one thread per task, results written like in-process ones.

A task's thread id is derived from --out and its id, so the same command run again finds it: a thread whose
run ended gives its final state, one with a run still going (the batch was killed, the server was not) is
joined, and only a task without a thread, or with an empty one, starts a run. Runs are created with
`durability="sync"` (the no-silent-re-run records need the checkpoint to be saved before the tools run) and
`on_disconnect="continue"`, so killing the batch does not cancel them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

from zyx._aio import bounded
from zyx._batch_io import Line, state_line
from zyx._cli_batch import Tally
from zyx._cli_types import UsageError

CONNECT_TIMEOUT = 5.0
"""Seconds to reach the server before `zyx batch` says it cannot (a run itself may take any time)."""
ACTIVE = ("pending", "running")


def thread_id_for(out: Path, task_id: str) -> str:
    """The task's thread on the server: the same for the same --out and id, whoever runs the command."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"zyx-batch:{out.resolve()}:{task_id}"))


async def _client(url: str, graph: str) -> Any:
    """A langgraph-sdk client, once the server answered and has `graph`: else a clear `UsageError`, quickly."""
    try:
        import httpx
        from langgraph_sdk import get_client
    except ImportError:
        raise UsageError("--server", 'needs langgraph-sdk: pip install "zyx[client]"') from None
    client = get_client(url=url, timeout=(CONNECT_TIMEOUT, None, None, None))  # connect, read, write, pool
    try:
        found = await asyncio.wait_for(client.assistants.search(graph_id=graph, limit=1), 2 * CONNECT_TIMEOUT)
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        raise UsageError("--server", f"cannot reach an Agent Server at {url}: "
                         f"{type(exc).__name__}: {exc or 'no answer'}") from None
    if not found:
        raise UsageError("--graph", f"the server at {url} has no graph {graph!r}")
    return client


async def _run_one(client: Any, graph: str, line: Line, out: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The final state values of the task's run: an ended one, a running one joined, or a new one."""
    thread_id = thread_id_for(out, line.id)
    await client.threads.create(thread_id=thread_id, if_exists="do_nothing", metadata={"zyx_batch_id": line.id})
    runs = await client.runs.list(thread_id, limit=1)
    if runs and runs[0]["status"] in ACTIVE:
        await client.runs.join(thread_id, runs[0]["run_id"])
    if runs:
        state = await client.threads.get_state(thread_id)
        values = dict(state.get("values") or {})
        if state.get("interrupts") or any(t.get("interrupts") for t in state.get("tasks") or []):
            values["__interrupt__"] = True
        if values.get("termination") or values.get("__interrupt__"):
            return values
    arguments = line.arguments
    task = arguments["task"]
    run_input: dict[str, Any] = {"messages": [{"role": "user", "content": task}] if isinstance(task, str) else task}
    if isinstance(task, str):
        run_input["task"] = task
    if arguments.get("context"):
        context = arguments["context"]
        run_input["messages"] = [*(context if isinstance(context, list) else [context]), *run_input["messages"]]
    if arguments.get("source") is not None:
        run_input["source"] = arguments["source"]
    result = await client.runs.wait(thread_id, graph, input=run_input, context=settings or None,
                                    durability="sync", on_disconnect="continue", multitask_strategy="reject",
                                    raise_error=False)
    values = dict(result) if isinstance(result, dict) else {}
    if isinstance(values.get("__error__"), dict):
        error = values.pop("__error__")
        values.setdefault("error", {"kind": error.get("error"), "message": error.get("message"), "errors": []})
    return values


async def server_source(url: str, graph: str, lines: Iterator[Line], tally: Tally, out: Path, *, concurrency: int,
                        settings: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Each task's result line as its server run ends, `concurrency` runs at a time."""
    import httpx

    client = await _client(url, graph)

    async def one(line: Line) -> dict[str, Any] | Exception:
        tally.running += 1
        t0 = time.perf_counter()
        try:
            return state_line(line.id, await _run_one(client, graph, line, out, settings), time.perf_counter() - t0)
        except httpx.TransportError as exc:  # the server is gone: stop, record nothing (a re-run resumes)
            return exc
        except Exception as exc:  # one task's failure is its line, never the batch's end
            return {"id": line.id, "status": "error", "summary": None, "output": None, "termination": None,
                    "usage": {}, "seconds": round(time.perf_counter() - t0, 3),
                    "error": {"type": type(exc).__name__, "message": str(exc), "errors": []}}
        finally:
            tally.running -= 1

    async with aclosing(bounded(lines, one, concurrency)) as results:  # leaving early stops the runs
        async for entry in results:
            if isinstance(entry, Exception):
                raise UsageError("--server", f"lost the Agent Server at {url}: {type(entry).__name__}: {entry} "
                                 "(run the same command again to resume)")
            yield entry
