"""Tool calls as constrained JSON "envelopes", for models without reliable native tool calling.

The model answers with one `{"name": <tool>, "arguments": {...}}` object, or a JSON array of
them for several calls in one turn, under JSON-schema constrained decoding. Its earlier calls
are shown to it in that same form (a model imitates its history), and tool results come back
as user turns naming the call they answer.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCall, ToolCallChunk, invalid_tool_call, tool_call, tool_call_chunk

from zyx import _prompts


def envelope_text(calls: Sequence[ToolCall]) -> str:
    """Calls written as the model is asked to write them: one envelope, or an array of several."""
    envelopes = [{"name": c["name"], "arguments": c["args"]} for c in calls]
    return json.dumps(envelopes[0] if len(envelopes) == 1 else envelopes)


def _result_text(message: ToolMessage, call: ToolCall | None) -> str:
    name = message.name or (call["name"] if call else _prompts.LOCAL_TOOL)
    args = json.dumps(call["args"]) if call else ""
    return _prompts.LOCAL_TOOL_RESULT.format(name=name, arguments=args, result=message.text).strip()


def render_history(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Tool turns as plain chat turns, merging same-role neighbours.

    Earlier calls become the envelope JSON they were; results become user turns. Chat templates
    of small models often reject native tool messages or non-alternating roles.
    """
    calls = {tc["id"]: tc for m in messages if isinstance(m, AIMessage) for tc in m.tool_calls}
    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, AIMessage) and (message.tool_calls or message.invalid_tool_calls):
            parts = [envelope_text(message.tool_calls)] if message.tool_calls else []
            parts += [str(tc["args"]) for tc in message.invalid_tool_calls]
            message = AIMessage(content="\n".join(parts), id=message.id)
        elif isinstance(message, ToolMessage):
            message = HumanMessage(content=_result_text(message, calls.get(message.tool_call_id)))
        previous = out[-1] if out else None
        if type(previous) is type(message) and isinstance(previous.content, str) and isinstance(message.content, str):
            out[-1] = previous.model_copy(update={"content": f"{previous.content}\n\n{message.content}"})
        else:
            out.append(message)
    return out


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    """A copy of a schema whose `#/$defs/<old>` references point at the new names."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in renames:
            node = {**node, "$ref": f"#/$defs/{renames[ref[8:]]}"}
        return {k: _rename_refs(v, renames) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def envelope_format(tools: list[dict[str, Any]], *, several: bool = True) -> dict[str, Any]:
    """OpenAI `response_format` accepting one call envelope of a bound tool (or an array of them).

    Each tool's `$defs` move to the root, where its `#/$defs/...` references resolve; a name two
    tools define differently is renamed for the second tool.
    """
    defs: dict[str, Any] = {}
    branches = []
    for t in tools:
        params = copy.deepcopy(t.get("parameters") or {"type": "object"})
        own: dict[str, Any] = params.pop("$defs", {})
        renames: dict[str, str] = {}
        for name, definition in own.items():
            new = name
            while new in defs and defs[new] != definition:
                new = f"{t['name']}_{new}"
            if new != name:
                renames[name] = new
        params = _rename_refs(params, renames)
        for name, definition in own.items():
            defs[renames.get(name, name)] = _rename_refs(definition, renames)
        branches.append({
            "type": "object",
            "properties": {"name": {"const": t["name"]}, "arguments": params},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        })
    one: dict[str, Any] = {"anyOf": branches}
    schema: dict[str, Any] = {"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]} if several else one
    if defs:
        schema["$defs"] = defs
    return {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": schema, "strict": True}}


LISTING_MAX_CHARS = 6_000
"""Past this length (about 1,500 tokens) the listing leaves out the argument lines: 36 tools with them (BFCL's
multi-turn API classes) took about 2,800 tokens, too much for the local model's 3,072-token prompt."""


def with_instruction(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> list[BaseMessage]:
    """Prepend (or append to the leading system message) a listing of the tools and the answer format."""
    listing = "\n".join(_tool_line(t) for t in tools)
    if len(listing) > LISTING_MAX_CHARS:
        listing = "\n".join(_tool_line(t, arguments=False) for t in tools)
    text = _prompts.LOCAL_TOOLS.format(listing=listing)
    if messages and isinstance(messages[0], SystemMessage) and isinstance(messages[0].content, str):
        return [SystemMessage(content=f"{messages[0].content}\n\n{text}"), *messages[1:]]
    return [SystemMessage(content=text), *messages]


_SAYS_OPTIONAL = re.compile(r"optional\b", re.IGNORECASE)


def _one_line(text: Any) -> str:
    """A description on one line (a listing line per tool and per argument); "" for a non-string."""
    return " ".join(text.split()) if isinstance(text, str) else ""


def _tool_line(tool: dict[str, Any], *, arguments: bool = True) -> str:
    """`- name(arg, arg): description` on one line, then (with `arguments`) a line per argument that has a
    description or is optional (not for zyx's own tools, whose arguments the system prompt explains: listed,
    the model filled them all).

    Constrained decoding enforces an argument's type but never shows the model its description ("as
    a percentage", "default is California"), so the listing carries it. A malformed schema lists what
    it can.
    """
    params = tool.get("parameters")
    params = params if isinstance(params, dict) else {}
    props = params.get("properties") or {}
    names = [str(n) for n in props] if isinstance(props, (dict, list)) else []
    head = _prompts.LOCAL_TOOL_LINE.format(name=tool["name"], args=", ".join(names))
    about_tool = _one_line(tool.get("description"))
    head = f"{head}: {about_tool}" if about_tool else head
    if not arguments or tool["name"] in _prompts.RESERVED_TOOL_NAMES or not isinstance(props, dict):
        return head  # zyx's own tools (the system prompt explains their arguments), or no named properties
    required = params.get("required")
    required = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    lines = [head]
    for name, prop in props.items():
        about = _one_line(prop.get("description")) if isinstance(prop, dict) else ""
        optional = name not in required and not _SAYS_OPTIONAL.match(about)
        if about or optional:
            line = _prompts.LOCAL_ARG_LINE.format(name=name, optional=_prompts.LOCAL_ARG_OPTIONAL if optional else "")
            lines.append(f"{line}: {about}" if about else line)
    return "\n".join(lines)


# An envelope's head; constrained decoding emits the "name" property before "arguments".
_HEAD = re.compile(r'\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*')


class EnvelopeStream:
    """Turns streamed envelope text (one envelope or an array) into `tool_call_chunks`.

    Per envelope: its name and id first, then its argument text as it arrives; the envelope's
    own punctuation is dropped.
    """

    def __init__(self) -> None:
        self.array: bool | None = None  # unknown until the first non-space character
        self.index, self.head, self.in_args = 0, "", False
        self.depth, self.in_string, self.escaped = 0, False, False

    def feed(self, text: str) -> list[ToolCallChunk]:
        out: list[ToolCallChunk] = []
        args_from = 0 if self.in_args else None
        for i, char in enumerate(text):
            if self.array is None:
                if char.isspace():
                    continue
                self.array = char == "["
                if self.array:
                    continue
            if self.in_args:
                if self._scan(char):  # the arguments object closed
                    out += self._args(text[args_from or 0: i + 1])
                    self.in_args, args_from = False, None
                continue
            if self._between_envelopes(char):
                continue
            self.head += char
            if (match := _HEAD.fullmatch(self.head)) is not None:
                out.append(tool_call_chunk(name=json.loads(match.group(1)), args="",
                                           id=f"call_{uuid.uuid4().hex[:24]}", index=self.index))
                self.head, self.in_args, self.depth, args_from = "", True, 0, i + 1
        if self.in_args and args_from is not None:
            out += self._args(text[args_from:])
        return out

    def _between_envelopes(self, char: str) -> bool:
        """Between envelopes (and after the arguments of one): skip separators and closers."""
        if not self.head and char in ",]} \n\t\r":
            if char == "}":
                self.index += 1  # an envelope closed: the next one is a new call
            return True
        return False

    def _scan(self, char: str) -> bool:
        """Track JSON nesting inside `arguments`; True when its object closes."""
        if self.escaped:
            self.escaped = False
        elif self.in_string:
            self.escaped, self.in_string = char == "\\", char != '"'
        elif char == '"':
            self.in_string = True
        elif char in "{[":
            self.depth += 1
        elif char in "}]":
            self.depth -= 1
            return self.depth == 0
        return False

    def _args(self, text: str) -> list[ToolCallChunk]:
        return [tool_call_chunk(args=text, index=self.index)] if text.strip() else []


def tool_message(message: AIMessage) -> AIMessage:
    """Convert a finished envelope answer (one envelope or an array) into an `AIMessage` with its calls."""
    keep = {"id": message.id, "usage_metadata": message.usage_metadata, "response_metadata": message.response_metadata}
    try:
        parsed = json.loads(message.text)
        envelopes = parsed if isinstance(parsed, list) else [parsed]
        calls = [tool_call(name=e["name"], args=e["arguments"], id=f"call_{uuid.uuid4().hex[:24]}")
                 for e in envelopes]
        if not calls:
            raise ValueError("no call in the array")
        return AIMessage("", tool_calls=calls, **keep)
    except (ValueError, KeyError, TypeError) as exc:
        bad = invalid_tool_call(args=message.text, id=f"call_{uuid.uuid4().hex[:24]}",
                                error=_prompts.ENVELOPE_MALFORMED.format(error=exc))
        return AIMessage("", invalid_tool_calls=[bad], **keep)
