"""Tools and types for the CLI tests, imported by `zyx run --tool cli_tools:... --target cli_tools:...`."""

from __future__ import annotations

from pydantic import BaseModel


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"{city}: 72F and sunny"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def broken(city: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"no weather station in {city}")


class Todo(BaseModel):
    """One todo item."""

    item: str
    priority: int


NOT_A_TOOL = 42
