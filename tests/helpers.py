"""Small shared helpers for the run tests (scripted models only, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from zyx.testing import ScriptedChatModel


def scripted(*replies: Any) -> ScriptedChatModel:
    """A model that replays `replies` in order (and fails loudly if asked for more)."""
    return ScriptedChatModel(responses=list(replies))


def turn(messages: Sequence[BaseMessage]) -> int:
    """How many model replies the conversation already holds (0 on the first call)."""
    return sum(isinstance(m, AIMessage) for m in messages)


def tool_names(tools: Sequence[dict[str, Any]]) -> list[str]:
    """Names of OpenAI-style tool dicts, as a policy receives them."""
    return [t["function"]["name"] for t in tools]


def tool_schema(tools: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    """The `parameters` JSON schema of one bound tool."""
    for t in tools:
        if t["function"]["name"] == name:
            return t["function"]["parameters"]
    raise AssertionError(f"no tool named {name!r} in {tool_names(tools)}")


def tool_messages(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def ai_messages(messages: Sequence[BaseMessage]) -> list[AIMessage]:
    return [m for m in messages if isinstance(m, AIMessage)]


def nudges(messages: Sequence[BaseMessage]) -> list[HumanMessage]:
    """The messages zyx itself added as a user turn (nudges, wrap-up notices)."""
    return [m for m in messages if isinstance(m, HumanMessage) and m.name == "zyx"]


def assert_valid_history(messages: Sequence[BaseMessage]) -> None:
    """Every tool call of an AIMessage is answered by exactly one ToolMessage with its id, right after it.

    This is what chat APIs require of a conversation; it must hold for every run's messages.
    """
    assert not any(isinstance(m, SystemMessage) for m in messages), "system prompt leaked into history"
    i = 0
    while i < len(messages):
        message = messages[i]
        i += 1
        if not isinstance(message, AIMessage):
            assert not isinstance(message, ToolMessage), f"orphan ToolMessage: {message!r}"
            continue
        expected = [c["id"] for c in [*message.tool_calls, *message.invalid_tool_calls]]
        answered: list[str] = []
        while i < len(messages) and isinstance(messages[i], ToolMessage):
            answered.append(messages[i].tool_call_id)
            i += 1
        assert sorted(answered) == sorted(expected), f"calls {expected} answered by {answered}"


def answers(messages: Sequence[BaseMessage]) -> dict[str, ToolMessage]:
    """ToolMessages by tool_call_id."""
    return {m.tool_call_id: m for m in tool_messages(messages)}


def local_model_unavailable(spec: str = "local:smollm2") -> str | None:
    """Why a local model cannot run here (None when it can): the `[local]` extra or the model package.

    The fast tests use SmolLM2 (`local:smollm2`); the few that need the default model pass `"local"`.
    """
    import importlib.util

    if importlib.util.find_spec("xllamacpp") is None:
        return 'xllamacpp is not installed (pip install "zyx[local]")'
    from zyx._local import LocalModelUnavailable, resolve_local_model

    try:
        resolve_local_model(spec)
    except LocalModelUnavailable as exc:
        return str(exc)
    return None
