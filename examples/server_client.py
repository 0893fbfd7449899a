"""A task run on zyx's graphs served by an Agent Server (Aegra, `langgraph dev`, a LangSmith Deployment).

    python examples/server_client.py http://127.0.0.1:2026 "What is 6 * 7?"

Needs `langgraph-sdk` (the `studio` extra). The run's settings go in its `context` (see docs/studio.md);
the server picks the model ($ZYX_MODEL on the server, unless the context names one). Each finished
node is printed as it happens, then the typed result from the thread's state.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from langgraph_sdk import get_client

ANSWER: Any = {"type": "object", "properties": {"answer": {"type": "number"}}, "required": ["answer"]}


async def main(url: str, task: str) -> int:
    client = get_client(url=url)
    thread = await client.threads.create()
    run_input: Any = {"messages": [{"role": "user", "content": task}]}
    settings: Any = {"target_schema": ANSWER, "tools": ["calculator"]}
    async for part in client.runs.stream(thread["thread_id"], "run", input=run_input, context=settings,
                                         stream_mode="updates"):
        if part.event == "updates":
            print("step:", ", ".join(part.data))
    state: Any = (await client.threads.get_state(thread["thread_id"]))["values"]
    completion = state.get("completion") or {}
    print(f"completion: [{completion.get('status')}] {completion.get('summary')}")
    print("result:", completion.get("result"))
    return 0 if state.get("termination") == "completed" else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
