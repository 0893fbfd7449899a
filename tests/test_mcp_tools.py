"""MCP tools (a real FastMCP stdio server, loaded with langchain-mcp-adapters) in a zyx run."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_valid_history, tool_messages, turn
from langchain_core.tools import BaseTool

import zyx
from zyx.testing import ScriptedChatModel, call, calls, complete

pytest.importorskip("mcp", reason='needs the mcp extra: pip install -e ".[mcp]"')
pytest.importorskip("langchain_mcp_adapters", reason='needs the mcp extra: pip install -e ".[mcp]"')

from langchain_mcp_adapters.client import MultiServerMCPClient  # noqa: E402
from langchain_mcp_adapters.tools import load_mcp_tools  # noqa: E402

SERVER = Path(__file__).with_name("mcp_server.py")


@contextlib.asynccontextmanager
async def server_tools() -> AsyncIterator[list[BaseTool]]:
    """The test server's tools, over one stdio session (one server process; entered and left in one task)."""
    client = MultiServerMCPClient({"test": {"command": sys.executable, "args": [str(SERVER)], "transport": "stdio"}})
    async with client.session("test") as session:
        yield await load_mcp_tools(session)


def once(*first: dict[str, Any]) -> ScriptedChatModel:
    return ScriptedChatModel(policy=lambda messages, tools: calls(*first) if turn(messages) == 0 else complete())


async def test_mcp_tools_run_fail_and_return_images() -> None:
    model = once(call("add", a=2, b=3), call("divide", a=1, b=0), call("snapshot"))
    async with server_tools() as tools:
        result = await zyx.arun("Use the tools.", tools=tools, model=model)

    added, divided, snapshot = [m for m in tool_messages(result.messages) if m.name != "complete_task"]
    assert added.status == "success" and [b["text"] for b in added.content] == ["5"]  # type: ignore[index,union-attr]
    assert result.tool_calls[0].ok and result.tool_calls[0].artifact == {"structured_content": {"result": 5}}
    # an isError result is an error, for the model and in the record
    assert divided.status == "error" and "cannot divide by zero" in str(divided.content)
    assert result.tool_calls[1].error is not None and "cannot divide by zero" in result.tool_calls[1].error
    # an image stays an image block: no base64 as text
    assert isinstance(snapshot.content, list) and [b["type"] for b in snapshot.content] == ["image"]  # type: ignore[index]
    assert snapshot.content[0]["mime_type"] == "image/png"  # type: ignore[index]
    assert all(block.get("type") != "text" for block in snapshot.content)  # type: ignore[union-attr]
    assert_valid_history(result.messages)


async def test_mcp_arguments_are_checked_before_the_server_is_called() -> None:
    model = once(call("lookup_user", user_id="../../etc"), call("lookup_user", user_id=3, admin=True),
                 call("lookup_user", user_id=3))
    async with server_tools() as tools:
        result = await zyx.arun("Look users up.", tools=tools, model=model)
    bad_type, extra, good = result.tool_calls
    assert bad_type.error is not None and "user_id" in bad_type.error and "../../etc" not in bad_type.error
    assert extra.error is not None and "'admin'" in extra.error
    assert good.ok and [b["text"] for b in good.output] == ["user 3"]
