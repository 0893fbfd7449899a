"""The six examples of the original zyx's `run()` docs (zyx 1.0.32, on pydantic-ai), as a user wrote them for it.

Ported as they are: the original's model string, `result.usage.input_tokens` (pydantic-ai's `RunUsage`),
`completion.model_dump()` (a pydantic model there), `await stream.finish_async()` and `stream.stream_partial()`.
`tests/test_porting.py` runs this file unchanged, with a scripted model behind the model string; it is not a
test module itself (pytest does not collect it).
"""

import asyncio

from pydantic import BaseModel

from zyx import arun, run

MODEL = "openai-chat:gpt-4o-mini"  # the original's default model string
outcomes = {}


def get_weather(city: str) -> str:
    return f"{city}: 72F and sunny"


# 1. Basic task (sync)
result = run(
    task="Check the weather in Los Angeles and summarize it.",
    tools=[get_weather],
    model=MODEL,
)
print(result.completion.summary)
print("tokens:", result.usage.input_tokens, result.usage.output_tokens, result.usage.total_tokens,
      "requests:", result.usage.requests, "tool calls:", result.usage.tool_calls)
outcomes["basic"] = result


# 2. Basic task (async)
async def main():
    result = await arun(
        task="Check the weather in Los Angeles and summarize it.",
        tools=[get_weather],
        model=MODEL,
    )
    return result


outcomes["basic_async"] = asyncio.run(main())


# 3. Structured results
class Todo(BaseModel):
    item: str
    priority: int


result = run(
    task="Create a single todo for today's top priority.",
    target=Todo,
    model=MODEL,
)
print(result.output)
print(result.completion.model_dump())
outcomes["todo"] = result


# 4. Verification
def verifier(completion, ctx):
    if completion.status != "success":
        return "Task did not complete successfully."
    if completion.result is None:
        return "Missing result."
    return True


result = run(
    task="Summarize the document and produce a JSON summary.",
    target=dict,
    verifier=verifier,
    model=MODEL,
)
print(result.completion.model_dump_json())
outcomes["verified"] = result


# 5. Planning mode
def fetch(url: str) -> str:
    return f"Downloaded: {url}"


result = run(
    task="Fetch the release notes and summarize the key changes.",
    tools=[fetch],
    plan=True,
    planning_interval=4,
    max_steps=10,
    model=MODEL,
)
print(result.completion.summary)
outcomes["plan"] = result


# 6. Streaming (sync), and the same through the original's async names
stream = run(
    task="Draft a short checklist for deploying a web app.",
    target=list[str],
    stream=True,
    model=MODEL,
)
partials = []
for chunk in stream.partial():
    partials.append(list(chunk))
final = stream.finish()
print(final.output)
outcomes["stream"] = (final, partials, stream)


async def stream_async():
    stream = await arun(
        task="Draft a short checklist for deploying a web app.",
        target=list[str],
        stream=True,
        model=MODEL,
    )
    partials = [list(chunk) async for chunk in stream.stream_partial()]
    final = await stream.finish_async()
    return final, partials, stream


outcomes["stream_async"] = asyncio.run(stream_async())
print(outcomes["stream_async"][0].output, outcomes["stream_async"][2].task.goal)
