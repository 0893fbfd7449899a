"""What the model sees: the run's messages fitted to the model's context window, as a view.

The state keeps every message whole (checkpoints, Studio, resume and `RunResult` see everything);
before each model call `fit()` builds the prompt from it, and nothing else edits history for the model:

1. a text over its share of the window (a tool output, an error, a plan report, a context message, the
   source) is cut: its start, then a note in the same message naming `read_tool_output`, the id and the
   offset to read on;
2. if the prompt is still too big, older tool outputs become short stubs, oldest first;
3. then older turns are left out whole (an AI message with every message answering it, so no tool call or
   `ToolMessage` is ever orphaned), replaced by one note listing their calls.

Always kept: the system prompt, the task and the other user messages, the latest turn, and the latest
turn with a `complete_task` (its feedback may still be in force).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from zyx import _prompts
from zyx._tokens import PER_MESSAGE, TokenCounter
from zyx._tool_output import content_text
from zyx.errors import ConfigurationError

DEFAULT_OUTPUT_CAP = 16_000
"""Tokens one output may take when the model's window is unknown (~64 KB of English text)."""
MIN_SHARE = 200
"""An output is never cut below this many tokens: reading on must make progress."""
LOW_WATER = 0.5
"""A compaction brings the prompt down to this part of its limit, so the next turns add to a stable prompt
(providers' and llama.cpp's prompt caches) instead of compacting again at every turn."""
APPROXIMATE_MARGIN = 0.9
"""With approximate counts, prompts are fitted to this part of the window."""
DEFAULT_RESERVE = 4096
"""Tokens kept for the answer when the model's own output limit is not known (at most an eighth of the window)."""


@dataclass(frozen=True)
class Window:
    """A run's context window: the model's input limit and the room kept for its answer."""

    size: int | None
    """Input tokens the model accepts (`context_window`, else the model's profile or local context); None: unknown."""
    reserve: int = 0
    """Tokens kept free for the model's answer."""

    def prompt_limit(self, exact: bool) -> int | None:
        """The most tokens a prompt (system, tools, messages) may take; None when the window is unknown."""
        if self.size is None:
            return None
        room = self.size - self.reserve
        return room if exact else int(room * APPROXIMATE_MARGIN)


def resolve_window(option: int | None, model: BaseChatModel, settings: Mapping[str, Any]) -> Window:
    """The window for a run: `context_window`, else the model's LangChain profile (`max_input_tokens`), else the
    local model's own context size, else unknown; the answer's room from `max_tokens` where the model has one."""
    server = getattr(model, "local_server", None)
    size = option
    if size is None:
        profile = getattr(model, "profile", None)
        size = profile.get("max_input_tokens") if isinstance(profile, Mapping) else None
    if size is None and server is not None:
        size = getattr(server, "n_ctx", None)
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        return Window(None)
    answer = next((v for v in (settings.get("max_tokens"), settings.get("max_completion_tokens"),
                               getattr(model, "max_tokens", None), getattr(server, "max_tokens", None))
                   if isinstance(v, int) and not isinstance(v, bool) and v > 0), None)
    reserve = min(answer, size // 2) if answer else min(DEFAULT_RESERVE, size // 8)
    return Window(size, reserve)


@dataclass
class Fitted:
    """One prompt as fitted: the messages the model is sent and what was done to get there."""

    window: Window
    system: SystemMessage
    messages: list[BaseMessage]
    tokens: int
    """The prompt's tokens as counted (system, tools, messages)."""
    share: int
    """Tokens one output may take in this prompt (what `read_tool_output` returns at most)."""
    cut: dict[str, int] = field(default_factory=dict)
    """Texts shown in part, by id: where the shown part ends (characters)."""
    stubbed: list[str] = field(default_factory=list)
    """Tool outputs replaced by a stub, by tool_call_id."""
    dropped: int = 0
    """Turns left out."""
    compacted: dict[str, list[str]] = field(default_factory=dict)
    """Message ids of the outputs stubbed ("stubbed") and of the turns left out ("dropped", their AI messages): the
    next prompt starts from these (`fit(earlier=...)`), so prompts stay stable between compactions."""

    @property
    def changed(self) -> bool:
        return bool(self.cut or self.stubbed or self.dropped)


@dataclass
class _Unit:
    """A piece of history that is kept or left out whole: a user message, or a turn (an AI message with the
    messages answering it, and zyx's notes after it)."""

    messages: list[BaseMessage]
    turn: bool


def _units(messages: Sequence[BaseMessage]) -> list[_Unit]:
    units: list[_Unit] = []
    for message in messages:
        if isinstance(message, AIMessage):
            units.append(_Unit([message], True))
        elif units and units[-1].turn and (isinstance(message, ToolMessage) or _is_note(message)):
            units[-1].messages.append(message)
        else:
            units.append(_Unit([message], False))
    return units


def _is_note(message: BaseMessage) -> bool:
    """zyx's own messages (nudges, wrap-up notes) belong to the turn they answer."""
    return isinstance(message, HumanMessage) and message.name == "zyx"


MARKER_ROOM = 70
"""Tokens kept in a share for the note after a cut part."""


def cut_text(text: str, share: int, counter: TokenCounter, start: int = 0) -> tuple[str, int] | None:
    """The part of `text` from `start` that fits `share` tokens with room for the note after it (ending at a line
    or word break where one is near), and where it ends; None when the rest fits whole."""
    rest = text[start:]
    tokens = counter.text(rest)
    if tokens <= share:
        return None
    budget = max(MIN_SHARE // 4, share - MARKER_ROOM)
    chars = max(1, int(len(rest) * budget / tokens * 0.97))
    for _ in range(8):  # density varies along a text (CJK then ASCII): check the part, shrink until it fits
        end = chars
        for sep in ("\n", " "):
            at = rest.rfind(sep, int(chars * 0.8), chars)
            if at > 0:
                end = at + 1
                break
        used = counter.text(rest[:end])
        if used <= budget or end <= 1:
            break
        chars = max(1, int(chars * budget / used * 0.95))
    return rest[:end], start + end


def marker(key: str, start: int, end: int, total: int) -> str:
    """The note after a part of a text: how much is left and how to read on (or that it is the end)."""
    if end >= total:
        return _prompts.OUTPUT_END.format(start=start + 1, end=total, total=total)
    return _prompts.OUTPUT_CUT.format(start=start + 1, end=end, total=total, left=total - end, id=key,
                                      tool=_prompts.READ_TOOL_OUTPUT)


def _cut_message(message: BaseMessage, key: str, share: int, counter: TokenCounter,
                 cut: dict[str, int]) -> BaseMessage:
    """The message with its text cut to `share` tokens (and a note), and any file or image block too big for the
    window replaced by a note; as it is when it fits."""
    if counter.message(message) <= share + PER_MESSAGE:
        return message
    text = _text_of(message.content)
    key, base, total = key, 0, len(text)
    if (read := _part_read(message)) is not None:  # a part read on: cut it in the whole output's terms
        key, base, total = read["read"], read["start"], read["total"]
        text = text[:read["end"] - read["start"]]
    if (part := cut_text(text, share, counter)) is not None:
        shown, end = part
        cut[key] = base + end
        text = shown + marker(key, base, base + end, total)
    elif read is not None:
        text = _text_of(message.content)  # the part fits: keep it with the reader's own note
    content: Any = text
    if isinstance(message.content, list):  # one text block for the text; other blocks kept if they fit
        blocks = [b if _block_fits(b, share, counter) else _block_note(b)
                  for b in message.content if isinstance(b, dict) and b.get("type") not in (None, "text")]
        content = [*([{"type": "text", "text": text}] if text else []), *blocks]
    return message.model_copy(update={"content": content})


def _text_of(content: Any) -> str:
    """The text of a message's content: strings and text blocks (other blocks are kept apart)."""
    if isinstance(content, str):
        return content
    return "\n".join(p if isinstance(p, str) else str(p.get("text") or "") for p in content
                     if isinstance(p, str) or (isinstance(p, dict) and p.get("type") in (None, "text")))


def _block_fits(block: dict[str, Any], share: int, counter: TokenCounter) -> bool:
    return counter.message(HumanMessage([block])) <= share


def _block_note(block: dict[str, Any]) -> dict[str, Any]:
    """A text block in place of a file or image too big for the window (it cannot be read in parts)."""
    return {"type": "text", "text": _prompts.BLOCK_LEFT_OUT.format(kind=block.get("type"))}


def _part_read(message: BaseMessage) -> dict[str, Any] | None:
    """For a `read_tool_output` answer: which output it shows a part of, and where (its artifact)."""
    part = getattr(message, "artifact", None) if getattr(message, "name", None) == _prompts.READ_TOOL_OUTPUT else None
    ok = isinstance(part, dict) and all(isinstance(part.get(k), int) for k in ("start", "end", "total")) \
        and isinstance(part.get("read"), str)
    return part if ok else None


def _stub(message: ToolMessage, key: str) -> ToolMessage:
    """A short note in place of an old output, saying how to read it again (a part read on: from where)."""
    text = content_text(message.content)
    part = _part_read(message)
    if part is not None:
        stub = _prompts.PART_STUB.format(start=part["start"] + 1, end=part["end"], id=part["read"],
                                         offset=part["start"], tool=_prompts.READ_TOOL_OUTPUT)
    else:
        stub = _prompts.OUTPUT_STUB.format(name=message.name or _prompts.A_TOOL, chars=len(text), id=key,
                                           tool=_prompts.READ_TOOL_OUTPUT)
    return message.model_copy(update={"content": stub})


NOTE_CALLS = 8
"""The most calls the note on left-out turns lists (the latest ones): the note stays small however many go."""


def _dropped_note(units: Sequence[_Unit], keys: Mapping[int, str]) -> HumanMessage:
    """The note in place of left-out turns: their outputs, by the id `read_tool_output` reads them by."""
    calls = [_prompts.DROPPED_CALL.format(name=m.name, id=keys[id(m)]) for u in units for m in u.messages
             if isinstance(m, ToolMessage) and m.name != _prompts.READ_TOOL_OUTPUT]
    listed = ", ".join(calls[-NOTE_CALLS:]) or _prompts.NONE
    if len(calls) > NOTE_CALLS:
        listed = _prompts.EARLIER_CALLS.format(count=len(calls) - NOTE_CALLS) + listed
    return HumanMessage(_prompts.TURNS_DROPPED.format(turns=len(units), calls=listed,
                                                      tool=_prompts.READ_TOOL_OUTPUT), name="zyx")


def _protected(units: Sequence[_Unit], task: int | None) -> set[int]:
    """Units never left out: the task, the latest turn, the latest turn that called `complete_task`."""
    keep = {task} if task is not None else set()
    turns = [i for i, u in enumerate(units) if u.turn]
    if turns:
        keep.add(turns[-1])
    completing = [i for i in turns if any(c["name"] == _prompts.COMPLETE_TASK
                                          for c in getattr(units[i].messages[0], "tool_calls", []))]
    if completing:
        keep.add(completing[-1])
    if units:
        keep.add(len(units) - 1)
    return keep


def message_keys(messages: Sequence[BaseMessage]) -> dict[int, str]:
    """The id `read_tool_output` finds each message's text by (keyed by the message object): a tool output by its
    tool_call_id (`id#2` for the second output of a repeated id: providers repeat ids), another message by its id,
    or `message-N` by its position."""
    counts: dict[str, int] = {}
    for m in messages:
        if isinstance(m, ToolMessage) and m.name != _prompts.READ_TOOL_OUTPUT:
            counts[m.tool_call_id] = counts.get(m.tool_call_id, 0) + 1
    seen: dict[str, int] = {}
    keys: dict[int, str] = {}
    for i, m in enumerate(messages):
        if isinstance(m, ToolMessage) and m.name != _prompts.READ_TOOL_OUTPUT:
            seen[m.tool_call_id] = seen.get(m.tool_call_id, 0) + 1
            keys[id(m)] = m.tool_call_id if counts[m.tool_call_id] == 1 else f"{m.tool_call_id}#{seen[m.tool_call_id]}"
        else:
            keys[id(m)] = m.tool_call_id if isinstance(m, ToolMessage) else m.id or f"message-{i}"
    return keys


def fit(system: str, messages: Sequence[BaseMessage], *, window: Window, counter: TokenCounter, tools: int = 0,
        source: str | None = None, earlier: Mapping[str, Sequence[str]] | None = None) -> Fitted:
    """The prompt for one model call: `system` (plus the `source` section) and `messages`, fitted to the window.

    `tools` is what the bound tool schemas take; `earlier` is the previous prompt's `compacted` (what it had
    stubbed and left out stays so). Raises `ConfigurationError("context_window")` when even the system prompt,
    tools and task do not fit.
    """
    limit = window.prompt_limit(counter.exact)
    units = _units(messages)
    keys = message_keys(messages)
    task = next((i for i in range(len(units) - 1, -1, -1) if not units[i].turn
                 and isinstance(units[i].messages[0], HumanMessage)), None)
    fixed = counter.text(system) + PER_MESSAGE + tools + (counter.message(units[task].messages[0]) if task is not None else 0)
    if limit is None:
        share = DEFAULT_OUTPUT_CAP
    else:
        free = limit - fixed
        if free < 2 * MIN_SHARE:
            raise ConfigurationError("context_window", (
                f"the system prompt, tools and task take about {fixed:,} tokens, but the window leaves "
                f"{limit:,} for a prompt ({window.size:,} tokens, {window.reserve:,} kept for the answer); "
                "give a bigger context_window (or a model with a bigger window), fewer tools or a shorter task"))
        share = max(MIN_SHARE, free * 2 // 3)  # an output's part; the rest for history and the next part
    fitted = Fitted(window, SystemMessage(system), [], 0, share)
    if source is not None:
        shown = cut_text(source, share, counter)
        if shown is not None:
            fitted.cut[_prompts.SOURCE_ID] = shown[1]
            source = shown[0] + marker(_prompts.SOURCE_ID, 0, shown[1], len(source))
        fitted.system = SystemMessage(system + _prompts.SOURCE_SECTION.format(source=source))
    others = sum(1 for i, u in enumerate(units) if not u.turn and i != task)  # user messages share one part
    views = [_Unit([_cut_unit_message(m, keys[id(m)], u, i == task, share, others, counter, fitted.cut)
                    for m in u.messages], u.turn) for i, u in enumerate(units)]
    total = counter.message(fitted.system) + tools + sum(counter.messages(u.messages) for u in views)
    if limit is not None:
        total = _compact(units, views, keys, _protected(units, task), total, limit, counter, fitted, earlier or {})
        if total > limit:
            total = _tighten(units[-1], views[-1], keys, total, limit, counter, fitted)
        if total > limit:
            raise ConfigurationError("context_window", (
                f"the prompt needs about {total:,} tokens even with old turns left out, more than the {limit:,} "
                f"the window leaves ({window.size:,} tokens, {window.reserve:,} kept for the answer); give a "
                "bigger context_window or a shorter task"))
    fitted.messages = [m for u in views for m in u.messages]
    fitted.tokens = total
    return fitted


def _cut_unit_message(message: BaseMessage, key: str, unit: _Unit, is_task: bool, share: int, others: int,
                      counter: TokenCounter, cut: dict[str, int]) -> BaseMessage:
    """A message of the history with an oversized text cut: tool outputs share a turn's part of the window,
    user messages (but the task) share one part; the model's own big texts and arguments are cut too."""
    if isinstance(message, ToolMessage):
        answers = sum(1 for m in unit.messages if isinstance(m, ToolMessage))
        return _cut_message(message, key, max(MIN_SHARE, share // max(1, answers)), counter, cut)
    if is_task or _is_note(message):
        return message  # the task and zyx's notes are kept whole
    if isinstance(message, AIMessage):
        return _cut_turn(message, key, share, counter, cut)
    return _cut_message(message, key, max(MIN_SHARE, share // max(1, others)), counter, cut)


def _cut_turn(message: AIMessage, key: str, share: int, counter: TokenCounter, cut: dict[str, int]) -> AIMessage:
    """The model's own turn, with a huge text cut and huge call arguments replaced by a note (the call ran;
    its result follows)."""
    if counter.message(message) <= share:
        return message
    shown = _cut_message(message, key, share, counter, cut)
    each = share // max(1, len(message.tool_calls) + len(message.invalid_tool_calls))
    calls = [{**c, "args": {"note": _prompts.ARGS_LEFT_OUT.format(chars=len(_args_json(c["args"])))}}
             if counter.text(_args_json(c["args"])) > each else c for c in message.tool_calls]
    invalid = [{**c, "args": _prompts.ARGS_LEFT_OUT.format(chars=len(c.get("args") or ""))}
               if counter.text(str(c.get("args") or "")) > each else c for c in message.invalid_tool_calls]
    return shown.model_copy(update={"tool_calls": calls, "invalid_tool_calls": invalid})  # type: ignore[return-value]


def _args_json(args: Any) -> str:
    return json.dumps(args, ensure_ascii=False, default=str)


def _compact(units: list[_Unit], views: list[_Unit], keys: dict[int, str], keep: set[int], total: int, limit: int,
             counter: TokenCounter, fitted: Fitted, earlier: Mapping[str, Sequence[str]]) -> int:
    """What the previous prompt stubbed and left out stays so; past the limit, old tool outputs are stubbed
    (oldest first), then old turns left out, then old user messages, down to `LOW_WATER` of the limit."""
    stub_ids, drop_ids = set(earlier.get("stubbed") or ()), set(earlier.get("dropped") or ())
    stubs: set[int] = set()  # the stubs made here, by object

    def _is_stub(message: BaseMessage) -> bool:
        return id(message) in stubs

    old = [i for i, u in enumerate(views) if u.turn and i not in keep]
    old_user = [i for i, u in enumerate(views) if not u.turn and i not in keep]
    gone = [i for i in old + old_user if units[i].messages[0].id and units[i].messages[0].id in drop_ids]
    total -= sum(counter.messages(views[i].messages) for i in gone)
    target = limit
    for replay in (True, False):
        if not replay and total > limit:
            target = int(limit * LOW_WATER)
        for i in old:
            if i in gone:
                continue
            for j, message in enumerate(views[i].messages):
                if not replay and total <= target:
                    break
                original = units[i].messages[j]
                if isinstance(original, ToolMessage) and not _is_stub(message) and counter.message(message) > 80 \
                        and (not replay or original.id in stub_ids):
                    stub = _stub(original, keys[id(original)])
                    stubs.add(id(stub))
                    total += counter.message(stub) - counter.message(message)
                    views[i].messages[j] = stub
    note_cost = counter.message(_dropped_note([units[i] for i in old + old_user], keys)) if old or old_user else 0
    for i in [*old, *old_user]:  # turns first, then the user's older messages
        if total + (note_cost if gone else 0) <= target:
            break
        if i not in gone:
            total -= counter.messages(views[i].messages)
            gone.append(i)
    fitted.compacted = {"stubbed": [m.id for i in old if i not in gone for m, v in zip(units[i].messages, views[i].messages)
                                    if m.id and _is_stub(v)],
                        "dropped": [mid for i in gone if (mid := units[i].messages[0].id)]}
    for i in old + old_user:
        for m, v in zip(units[i].messages, views[i].messages):
            if i in gone or _is_stub(v):
                fitted.cut.pop(keys[id(m)], None)
                if i not in gone and isinstance(m, ToolMessage):
                    fitted.stubbed.append(keys[id(m)])
    if gone:
        gone.sort()
        note = _dropped_note([units[i] for i in gone], keys)
        total += counter.message(note)
        for i in reversed(gone):
            del views[i]
        views.insert(gone[0], _Unit([note], False))
        fitted.dropped = len(gone)
    return total


def _tighten(original: _Unit, latest: _Unit, keys: dict[int, str], total: int, limit: int, counter: TokenCounter,
             fitted: Fitted) -> int:
    """The last resort: the latest turn's outputs cut (from their whole text) to what is left of the window."""
    outputs = [j for j, m in enumerate(latest.messages) if isinstance(m, ToolMessage)]
    if not outputs:
        return total
    current = sum(counter.message(latest.messages[j]) for j in outputs)
    share = (limit - (total - current)) // len(outputs)
    if share < MIN_SHARE // 2:
        return total
    for j in outputs:
        message = original.messages[j]
        key = keys[id(message)]
        fitted.cut.pop(key, None)
        smaller = _cut_message(message, key, share, counter, fitted.cut)
        total += counter.message(smaller) - counter.message(latest.messages[j])
        latest.messages[j] = smaller
    fitted.share = min(fitted.share, share)
    return total
