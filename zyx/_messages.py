"""`task` and `context` arguments -> LangChain messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    ToolMessage,
    convert_to_messages,
)

from zyx.errors import ConfigurationError, describe

MessageLike = Union[str, BaseMessage, dict[str, Any]]
"""A string (a user message), a LangChain message, or an OpenAI-style `{"role", "content"}` dict."""


def to_messages(value: MessageLike | Sequence[MessageLike] | None, argument: str) -> list[BaseMessage]:
    """Messages from a string, message, OpenAI-style dict, or a list of those."""
    if value is None:
        return []
    items = [value] if isinstance(value, (str, BaseMessage, dict)) else value
    if not isinstance(items, Sequence):
        raise ConfigurationError(argument, f"expected a string, a message, a dict or a list of those, got {describe(value)}")
    messages: list[BaseMessage] = []
    for item in items:
        if isinstance(item, str):
            messages.append(HumanMessage(item))
        elif isinstance(item, RemoveMessage):
            raise ConfigurationError(argument, (f"a RemoveMessage (id {item.id!r}) deletes a message from a graph's "
                                                "state; it is not part of a conversation: leave it out"))
        elif isinstance(item, BaseMessage):
            messages.append(item)
        elif isinstance(item, dict):
            try:
                messages.extend(convert_to_messages([item]))
            except (ValueError, KeyError, NotImplementedError) as error:
                missing = f" (missing {error.args[0]!r})" if isinstance(error, KeyError) and error.args else ""
                raise ConfigurationError(argument, f"cannot read {describe(item)} as a message{missing}: expected "
                                         '{"role": "user" | "assistant" | "system" | "tool", "content": ...}, '
                                         'a "tool" one with the "tool_call_id" it answers') from None
        else:
            raise ConfigurationError(argument, f"expected strings, messages or role/content dicts, got {describe(item)}")
    _check_tool_turns(messages, argument)
    return messages


def _check_tool_turns(messages: Sequence[BaseMessage], argument: str) -> None:
    """Every tool call answered by the tool messages right after its AI message, and every tool message an answer
    to one: providers refuse anything else with a 400 (OpenAI: "tool_calls must be followed by tool messages").
    A call id may repeat (providers repeat ids): each call then needs its own answer. Calls with unparseable
    arguments (`invalid_tool_calls`) count too: they are sent as tool calls, and a run answers them with an error."""
    waiting: list[tuple[str, str]] = []
    for message in messages:
        if isinstance(message, ToolMessage):
            match = next((i for i, (call_id, _) in enumerate(waiting) if call_id == message.tool_call_id), None)
            if match is None:
                raise ConfigurationError(argument, (
                    f"the tool message answering {message.tool_call_id!r} follows no AI message with that tool call "
                    "(a tool message must come right after the AI message that called it)"))
            del waiting[match]
            continue
        if waiting:
            break
        if isinstance(message, AIMessage):
            waiting = [(c["id"] or "", c["name"] or "") for c in [*message.tool_calls, *message.invalid_tool_calls]]
    if waiting:
        call_id, name = waiting[0]
        raise ConfigurationError(argument, (
            f"the AI message's tool call {call_id!r} ({name}) has no tool message answering it: add "
            f"ToolMessage(content=..., tool_call_id={call_id!r}) right after that AI message, or leave the call out "
            "(a run paused for approval goes on with its thread_id and decisions, not as context)"))


def task_messages(task: MessageLike | Sequence[MessageLike]) -> tuple[list[BaseMessage], str]:
    """The task's messages and its goal text; an empty task is an error."""
    messages = to_messages(task, "task")
    goal = "\n".join(m.text for m in messages if isinstance(m, HumanMessage)).strip()
    if not messages or not any(m.text.strip() for m in messages):
        raise ConfigurationError("task", "expected a non-empty string or list of messages")
    return messages, goal or messages[-1].text
