"""`read_tool_output`: the built-in tool that reads on in a text cut (or stubbed) to fit the context window.

It reads the whole text from the run's state (a `ToolMessage` by its `tool_call_id`, a context message by its
id, or the run's `source`), and returns the part from `offset` that fits one output's share of the window,
with the same note as the cut (how much is left, the offset to read on from). Without `offset` it goes on
after the last part shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.prebuilt import ToolRuntime

from zyx import _prompts
from zyx._inputs import source_text
from zyx._tokens import TokenCounter
from zyx._tool_output import content_text, to_model_text
from zyx.graph.context import DEFAULT_OUTPUT_CAP, cut_text, marker, message_keys


def _whole_text(key: str, state: dict[str, Any]) -> tuple[str, str] | None:
    """The id and whole text behind an id (as `zyx.graph.context.message_keys` gives them): a tool output by its
    call id (`id#2`: the second output of a repeated id; a part read on: its whole output), a message by its id or
    position, the source, or a call of the run's log (a plan step's `plan_call/step`)."""
    messages: Sequence[BaseMessage] = state.get("messages") or []
    if key == _prompts.SOURCE_ID and state.get("source") is not None:
        return key, source_text(state["source"])
    for message in reversed(messages):
        if isinstance(message, ToolMessage) and message.tool_call_id == key and _is_read(message) \
                and isinstance(message.artifact, dict) and message.artifact.get("read") != key:
            return _whole_text(str(message.artifact.get("read")), state)  # a part's id: its whole output
    keys = message_keys(messages)
    for message in reversed(messages):
        if keys[id(message)] == key and not _is_read(message):
            return key, content_text(message.content)
    for entry in reversed(state.get("tool_calls") or []):
        if isinstance(entry, dict) and entry.get("id") == key:
            return key, entry["error"] if entry.get("error") is not None else to_model_text(entry.get("output"))
    return None


def _is_read(message: BaseMessage) -> bool:
    return isinstance(message, ToolMessage) and message.name == _prompts.READ_TOOL_OUTPUT


def _shown_until(key: str, state: dict[str, Any]) -> int:
    """Where the last part shown of `key` ended: its latest read (or less, where the prompt cut that part
    again), else the cut the model saw, else 0."""
    context = state.get("context") or {}
    cut = (context.get("cut") or {}).get(key)
    for message in reversed(state.get("messages") or []):
        artifact = message.artifact if isinstance(message, ToolMessage) and _is_read(message) else None
        if isinstance(artifact, dict) and artifact.get("read") == key:
            start, end = int(artifact.get("start") or 0), int(artifact.get("end") or 0)
            return cut if isinstance(cut, int) and start < cut < end else end
    return int(cut or 0)


def _readable(state: dict[str, Any]) -> str:
    context = state.get("context") or {}
    ids = [*(context.get("cut") or {}), *(context.get("stubbed") or [])]
    return ", ".join(f'"{i}"' for i in dict.fromkeys(ids)) or _prompts.NONE


def reader_tool(counter: TokenCounter) -> BaseTool:
    """The `read_tool_output` tool for a run whose tokens `counter` counts (its runtime gives it the state)."""

    async def read_tool_output(
        tool_call_id: Annotated[str, _prompts.READ_ID_ARG],
        runtime: ToolRuntime,
        offset: Annotated[int | None, _prompts.READ_OFFSET_ARG] = None,
    ) -> ToolMessage:
        state = runtime.state if isinstance(runtime.state, dict) else {}
        found = _whole_text(tool_call_id, state)
        call_id = runtime.tool_call_id or ""
        if found is None:
            return _answer(_prompts.OUTPUT_UNKNOWN.format(id=tool_call_id, ids=_readable(state)), call_id, None)
        tool_call_id, text = found
        start = _shown_until(tool_call_id, state) if offset is None else max(0, offset)
        if start >= len(text) and text:  # not a failure: all of it has been shown
            return _answer(_prompts.OUTPUT_PAST_END.format(offset=start, total=len(text)), call_id,
                           {"read": tool_call_id, "start": len(text), "end": len(text), "total": len(text)})
        share = int((state.get("context") or {}).get("share") or DEFAULT_OUTPUT_CAP)
        part = cut_text(text, share, counter, start)
        shown, end = part if part is not None else (text[start:], len(text))
        artifact = {"read": tool_call_id, "start": start, "end": end, "total": len(text)}
        return _answer(shown + marker(tool_call_id, start, end, len(text)), call_id, artifact)

    return StructuredTool.from_function(coroutine=read_tool_output, name=_prompts.READ_TOOL_OUTPUT,
                                        description=_prompts.READ_TOOL_OUTPUT_DESCRIPTION,
                                        metadata={"idempotent": True})  # it only reads: safe to run again


def _answer(text: str, call_id: str, artifact: dict[str, Any] | None) -> ToolMessage:
    return ToolMessage(text, tool_call_id=call_id, name=_prompts.READ_TOOL_OUTPUT, artifact=artifact,
                       status="error" if artifact is None else "success")
