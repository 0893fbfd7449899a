"""The first run: an agent checks the weather with a tool and proves it finished.

Runs offline on the embedded local model when no OPENAI_API_KEY / ZYX_MODEL is set.
"""

from __future__ import annotations

import sys

from zyx import run


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"{city}: 72F and sunny"


def main() -> int:
    result = run(task="Check the weather in Los Angeles and summarize it.", tools=[get_weather])
    for call in result.tool_calls:
        print(f"tool call: {call.name}({call.args}) -> {call.output!r}")
    assert result.completion is not None
    print(f"completion: [{result.completion.status}] {result.completion.summary}")
    print(f"model: {result.model}  model calls: {len([m for m in result.messages if m.type == 'ai'])}  "
          f"termination: {result.termination}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
