"""A FastMCP stdio server for the MCP tests: a plain tool, a failing one (isError) and an image."""

from __future__ import annotations

import base64

from mcp.server.fastmcp import FastMCP, Image
from mcp.server.fastmcp.exceptions import ToolError

PNG = base64.b64decode(
    "iVBORw0KGBgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
"""A 1x1 PNG."""

server = FastMCP("zyx-test", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def lookup_user(user_id: int) -> str:
    """Look a user up by id."""
    return f"user {user_id}"


@server.tool()
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    if b == 0:
        raise ToolError("cannot divide by zero")
    return a / b


@server.tool()
def snapshot() -> Image:
    """A picture of the dashboard."""
    return Image(data=PNG, format="png")


if __name__ == "__main__":
    server.run("stdio")
