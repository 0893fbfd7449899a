"""What goes with a task: its source material (JSON for state, text for the model) and its attachments
(LangChain standard content blocks), with the checks that refuse what a model cannot take."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import mimetypes
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from zyx import _prompts
from zyx._aio import call_user
from zyx.errors import ConfigurationError, describe

MAX_SOURCE_FILE = 1_000_000
"""Bytes of a source file read as text; larger files belong in `attachments` (or a tool)."""
MAX_ATTACHMENT = 20_000_000
"""Bytes of one attachment: providers refuse much larger inline files."""

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/yaml", "application/x-yaml")
_MAGIC = [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
          (b"%PDF-", "application/pdf"), (b"ID3", "audio/mpeg"), (b"\xff\xfb", "audio/mpeg"), (b"OggS", "audio/ogg"),
          (b"fLaC", "audio/flac")]
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,(?P<data>.*)$", re.S)
_BLOCK_TYPES = {"text", "image", "audio", "video", "file"}


def _read_file(path: Path, limit: int, argument: str) -> bytes:
    """At most `limit + 1` bytes of a regular file (a FIFO or device is refused, never read)."""
    try:
        if not path.is_file():
            raise ConfigurationError(argument, f"{describe(path.name)} is not a regular file")
        with path.open("rb") as file:
            return file.read(limit + 1)
    except OSError as exc:
        raise ConfigurationError(argument, f"cannot read the file {describe(path.name)}: {exc.strerror}") from None


# -- source ----------------------------------------------------------------------------------------------

def check_source(source: Any) -> Any:
    """The source as JSON-ready data for state: text, a dict/list, a pydantic object's or dataclass's dump,
    or a text file's content (a `Path`)."""
    if isinstance(source, str) and len(source) > MAX_SOURCE_FILE:
        raise ConfigurationError("source", f"the source is over {MAX_SOURCE_FILE} characters: give the model a tool "
                                 "to read it in parts")
    if isinstance(source, float) and not math.isfinite(source):
        raise ConfigurationError("source", f"expected a finite number, got {describe(source)}")
    if source is None or isinstance(source, (str, int, float, bool)):
        return source
    if isinstance(source, Path):
        data = _read_file(source, MAX_SOURCE_FILE, "source")
        if len(data) > MAX_SOURCE_FILE:
            raise ConfigurationError("source", f"the file {source.name!r} is over {MAX_SOURCE_FILE} bytes: "
                                     "pass it in attachments, or give the model a tool to read it")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError("source", f"the file {source.name!r} is not UTF-8 text: pass it in "
                                     "attachments instead") from None
    if isinstance(source, BaseModel) or dataclasses.is_dataclass(source) or isinstance(source, (Mapping, Sequence)):
        try:
            shown: Any = (source.model_dump(mode="json", by_alias=True) if isinstance(source, BaseModel)
                          else to_jsonable_python(source))
            size = len(json.dumps(shown, allow_nan=False, ensure_ascii=False))
        except Exception:  # pydantic_core raises its own error type for unserialisable values; NaN is not JSON
            raise ConfigurationError("source", f"cannot show {describe(source)} as JSON") from None
        if size > MAX_SOURCE_FILE:  # the same bound as text: structured data does not get around it
            raise ConfigurationError("source", f"the source is over {MAX_SOURCE_FILE} characters as JSON: give the "
                                     "model a tool to read it in parts")
        return shown
    raise ConfigurationError("source", f"expected text, a pydantic object, a dataclass, a dict or list, or a "
                             f"file Path, got {describe(source)}")


def source_text(source: Any) -> str:
    """The source as the model reads it (JSON shown indented), unable to close its own section."""
    text = source if isinstance(source, str) else json.dumps(source, indent=2, ensure_ascii=False)
    return re.sub(r"(?i)</(\s*)source", r"<\\/\1source", text)


def source_section(source: Any) -> str:
    """The delimited section the model reads the source in."""
    return _prompts.SOURCE_SECTION.format(source=source_text(source))


# -- attachments ---------------------------------------------------------------------------------------------

def _mime_of(data: bytes, name: str | None = None) -> str:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"WEBP"):
        return "audio/wav" if data[8:12] == b"WAVE" else "image/webp"
    guessed = mimetypes.guess_type(name)[0] if name else None
    if guessed:
        return guessed
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def _kind(mime: str) -> str:
    top = mime.split("/", 1)[0]
    return top if top in ("image", "audio", "video") else "text" if mime.startswith(_TEXT_TYPES) else "file"


def _from_bytes(data: bytes, name: str | None = None, mime: str | None = None) -> dict[str, Any]:
    if len(data) > MAX_ATTACHMENT:
        raise ConfigurationError("attachments", f"{name or 'an attachment'} is over {MAX_ATTACHMENT} bytes")
    mime = mime or _mime_of(data, name)
    kind = _kind(mime)
    if kind == "text":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            kind = "file"
        else:
            header = _prompts.ATTACHMENT_NAME.format(name=name) if name else ""
            return {"type": "text", "text": header + text}
    block: dict[str, Any] = {"type": kind, "base64": base64.b64encode(data).decode("ascii"), "mime_type": mime}
    if name:
        block["extras"] = {"filename": name}
    return block


def _one(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        if item.get("type") not in _BLOCK_TYPES:
            raise ConfigurationError("attachments", f"a content block needs a type of {sorted(_BLOCK_TYPES)}, "
                                     f"got {describe(item)}")
        if not any(item.get(k) for k in ("text", "url", "base64", "file_id", "id")):
            raise ConfigurationError("attachments", f"a {item['type']} block needs its data: text, url, base64 or "
                                     "file_id")
        wrong = [k for k in ("text", "url", "base64", "file_id", "id", "mime_type")
                 if k in item and item[k] is not None and not isinstance(item[k], str)]
        if wrong:  # the provider would refuse the request
            raise ConfigurationError("attachments", f"a {item['type']} block's {wrong[0]} must be a string, got "
                                     f"{describe(item[wrong[0]])}")
        return dict(item)
    if isinstance(item, (bytes, bytearray)):
        return _from_bytes(bytes(item))
    if isinstance(item, Path):
        return _from_bytes(_read_file(item, MAX_ATTACHMENT, "attachments"), item.name)
    if isinstance(item, str):
        if match := _DATA_URI.match(item):
            try:
                data = base64.b64decode(match["data"], validate=True)
            except ValueError:
                raise ConfigurationError("attachments", "a data URI whose base64 does not decode") from None
            return _from_bytes(data, mime=match["mime"])
        if item.startswith(("http://", "https://")):
            mime = mimetypes.guess_type(item.split("?", 1)[0])[0] or ""
            kind = _kind(mime) if mime else "file"
            return {"type": "file" if kind == "text" else kind, "url": item, **({"mime_type": mime} if mime else {})}
        path = Path(item)
        if path.is_file():
            return _one(path)
        raise ConfigurationError("attachments", f"{describe(item)} is not a file, an http(s) URL or a data URI")
    raise ConfigurationError("attachments", f"expected paths, bytes, URLs, data URIs or content blocks, "
                             f"got {describe(item)}")


def to_attachment_blocks(attachments: Any) -> tuple[dict[str, Any], ...]:
    """The attachments as LangChain standard content blocks; text files become text blocks."""
    if attachments is None:
        return ()
    if isinstance(attachments, (str, bytes, bytearray, Path, Mapping)):
        attachments = [attachments]
    if not isinstance(attachments, Sequence):
        raise ConfigurationError("attachments", f"expected a list of attachments, got {describe(attachments)}")
    return tuple(_one(item) for item in attachments)


TEXT_ONLY_MODELS = ("ChatLocal",)
"""Chat model classes that read text only (the embedded local model)."""
_PROFILE_KEYS = {"image": "image_inputs", "audio": "audio_inputs", "video": "video_inputs", "file": "pdf_inputs"}


def check_model_takes(model: BaseChatModel, blocks: Sequence[Mapping[str, Any]]) -> None:
    """Refuse, before any call, attachments the model cannot read (by its class or its LangChain profile)."""
    kinds = sorted({b["type"] for b in blocks if b["type"] != "text"})
    if not kinds:
        return
    name = type(model).__name__
    if name in TEXT_ONLY_MODELS:
        raise ConfigurationError("attachments", f"the model {name} reads text only, so it cannot take "
                                 f"{', '.join(kinds)} attachments (text files are sent as text)")
    profile = getattr(model, "profile", None) or {}
    refused = [k for k in kinds if profile.get(_PROFILE_KEYS[k]) is False]
    if refused:
        raise ConfigurationError("attachments", f"the model's profile says it cannot take {', '.join(refused)} input")


def with_attachments(messages: Sequence[BaseMessage], blocks: Sequence[Mapping[str, Any]]) -> list[BaseMessage]:
    """The messages with the attachments' content blocks after the text of the last (human) message."""
    if not blocks:
        return list(messages)
    last = messages[-1] if messages else None
    attached: list[Any] = [dict(b) for b in blocks]
    if not isinstance(last, HumanMessage):
        return [*messages, HumanMessage(content=[{"type": "text", "text": _prompts.ATTACHED}, *attached])]
    head = [{"type": "text", "text": last.content}] if isinstance(last.content, str) else list(last.content)
    return [*messages[:-1], HumanMessage(content=[*head, *attached], name=last.name, id=last.id)]


def attachment_blocks(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The content blocks after the first text of each human message: what a run's attachments became."""
    return [dict(block) for m in messages if isinstance(m, HumanMessage) and not isinstance(m.content, str)
            for block in m.content[1:] if isinstance(block, dict) and block.get("type") in _BLOCK_TYPES]


async def instructions_text(instructions: Any, ctx: Any) -> str:
    """Dynamic instructions as text for this model call: each function called with the run's context (awaited
    if async, in a worker thread if sync, as checks are; None or "" adds nothing), strings kept, the parts joined."""
    parts = []
    for part in instructions if isinstance(instructions, tuple) else (instructions,):
        text = await call_user(part, ctx) if callable(part) else part
        if text is not None and not isinstance(text, str):
            raise ConfigurationError("instructions", f"an instructions function returned {describe(text)}, "
                                     "expected a string or None")
        if text:
            parts.append(text)
    return "\n\n".join(parts)
