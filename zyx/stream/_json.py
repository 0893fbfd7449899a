"""Incremental JSON parser exposing the partial value of a document while it streams.

An LLM streams tool-call arguments in small fragments and the caller wants the partial
value after each one. Re-parsing the whole buffer per fragment is quadratic, so this
parser scans every character once, decodes each finished scalar once, and keeps the
partial value as live dicts/lists that it appends to: reading `.value` costs nothing but
joining the text of the one string that is still open.
"""

from __future__ import annotations

import re
from json.decoder import scanstring  # type: ignore[attr-defined]  # C-accelerated, untyped
from typing import Any, NoReturn

__all__ = ["PartialJSONError", "PartialJSONParser"]

_WS = re.compile(r"[ \t\n\r]+")
# Longest run of complete string content: plain text and whole escape sequences.
_STR_BODY = re.compile(r'(?:[^"\\\x00-\x1f]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
_ESC_PREFIX = re.compile(r"\\(?:u[0-9a-fA-F]{0,3})?\Z")
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_NUM_CHARS = re.compile(r"-?[0-9][-+.eE0-9]*|-\Z")
_NUM = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
# Fast paths for tokens complete within the buffer: a plain string, a key with its colon,
# a number followed by its terminator.
_PLAIN_STR = re.compile(r'"([^"\\\x00-\x1f]*)"')
_PLAIN_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_NEXT_KEY = re.compile(r',[ \t\n\r]*"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
_COMMA = re.compile(r",[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?(?=[,\]} \t\n\r])")
_LITERALS: dict[str, tuple[str, Any]] = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}

# Parser states: what the next significant character must be.
_VALUE, _ARR_FIRST, _OBJ_FIRST, _KEY, _COLON, _AFTER, _STRING, _END = range(8)


class PartialJSONError(ValueError):
    """Invalid JSON; `offset` is the absolute position of the offending character."""

    def __init__(self, msg: str, offset: int) -> None:
        super().__init__(f"{msg} at offset {offset}")
        self.offset = offset


MAX_DEPTH = 100
"""Open containers a partial document may nest: the partial target is converted recursively, so a deeper
document (no target needs it) stops the partials; the finished arguments are still validated as a whole."""


class PartialJSONTooDeep(PartialJSONError):
    """The document nests deeper than `MAX_DEPTH`: no partial values are made from it."""


class PartialJSONParser:
    """Streaming JSON parser: `feed()` chunks, read the partial document from `value`.

    Partial values contain only what is certain: open strings with the text so far (never
    half an escape), numbers and `true/false/null` only once terminated, object keys only
    once their value has started. `value` returns live objects that later feeds keep
    mutating; copy them to keep a snapshot. `value_version` grows whenever the value or the
    openness of any part of it changes, so an unchanged version means nothing to convert;
    `shape_version` grows on every change but one: more text for the open string. While it
    stays the same, that string's slot is the only thing that changed.
    """

    def __init__(self) -> None:
        self.value_version = 0
        self.shape_version = 0
        self.done = False  # the top-level value is complete
        self.duplicate_keys = 0  # a repeated key moves to the end of its object
        self._buf = ""  # unconsumed tail: an incomplete token, a few characters at most
        self._base = 0  # absolute offset of _buf[0], for error messages
        self._state = _VALUE
        self._stack: list[Any] = []  # open dicts and lists, outermost first
        self._keys: list[Any] = []  # current key of each open dict (None for lists)
        self._root: Any = None
        self._text = ""  # joined text of the open string
        self._pieces: list[str] = []  # decoded text of the open string not joined yet
        self._in_key = False
        self._dirty = False  # the open string has text not yet stored in its container

    @property
    def value(self) -> Any:
        """The partial document (None before its first value starts); live, see class doc."""
        if self._dirty:
            self._store_text()
        return self._root

    @property
    def open_text(self) -> str:
        """The text so far of the open string value (stored in its container, as `value` does)."""
        if self._dirty:
            self._store_text()
        return self._text

    def _store_text(self) -> None:
        self._text += "".join(self._pieces)
        self._pieces.clear()
        self._set_open(self._text)
        self._dirty = False

    @property
    def open_containers(self) -> list[dict[str, Any] | list[Any]]:
        """The containers still open, outermost first (read-only); every item of a
        container except its last one is finished, and so is the last one unless it is
        the next open container or the open string."""
        return self._stack

    @property
    def string_open(self) -> bool:
        """Whether a string value (the last item of the innermost open container, or the
        top-level value) is still being received."""
        return self._state == _STRING and not self._in_key

    def feed(self, chunk: str) -> None:
        """Consume the next chunk of the document; raise PartialJSONError if invalid."""
        buf = self._buf + chunk
        n, pos = len(buf), 0
        while pos < n:
            state = self._state
            if state == _STRING:
                pos = self._scan_string(buf, pos)
                if self._state == _STRING:
                    break  # ran out of text, possibly inside an escape sequence
                continue
            c = buf[pos]
            if c in " \t\n\r":
                pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
                continue
            if state == _AFTER:
                is_dict = type(self._stack[-1]) is dict
                if c == ",":
                    m = _NEXT_KEY.match(buf, pos) if is_dict else None
                    if m is not None:
                        self._keys[-1] = m.group(1)
                        self._state = _VALUE
                    else:
                        m = _COMMA.match(buf, pos)
                        self._state = _KEY if is_dict else _VALUE
                    pos = m.end()  # type: ignore[union-attr]
                    continue
                if c == ("}" if is_dict else "]"):
                    self._close_container()
                else:
                    self._fail("expected ',' or closing bracket", pos)
            elif state == _COLON:
                if c != ":":
                    self._fail("expected ':'", pos)
                self._state = _VALUE
            elif state == _OBJ_FIRST or state == _KEY:
                if c == '"':
                    m = _PLAIN_KEY.match(buf, pos)
                    if m is not None:
                        self._keys[-1] = m.group(1)
                        self._state = _VALUE
                        pos = m.end()
                        continue
                    self._in_key, self._state = True, _STRING
                elif c == "}" and state == _OBJ_FIRST:
                    self._close_container()
                else:
                    self._fail("expected object key", pos)
            elif state == _ARR_FIRST and c == "]":
                self._close_container()
            elif state == _END:
                self._fail("extra data after the document", pos)
            else:
                m = _PLAIN_STR.match(buf, pos) if c == '"' else _NUMBER.match(buf, pos)
                if m is not None:
                    token = m.group(1) if c == '"' else m.group()
                    if c != '"':
                        try:
                            token = float(token) if m.lastindex else int(token)
                        except ValueError:  # beyond int's digit limit
                            self._fail("number too large", pos)
                    self._add(token)
                    pos = m.end()
                    continue
                end = self._start_value(buf, pos)
                if end < 0:
                    break  # a number or literal cut by the end of the chunk
                pos = end
                continue
            pos += 1
        self._base += pos
        self._buf = buf[pos:]

    def close(self) -> Any:
        """Signal the end of input: finish a trailing top-level number, return the value,
        and raise PartialJSONError if the document is incomplete."""
        if not self.done and not self._stack and self._state == _VALUE and self._buf:
            self.feed(" ")  # terminates a top-level number such as `123`
        if not self.done:
            self._fail("unexpected end of input", len(self._buf))
        return self.value

    def _fail(self, msg: str, pos: int) -> NoReturn:
        raise PartialJSONError(msg, self._base + pos)

    def _start_value(self, buf: str, pos: int) -> int:
        """Parse the value starting at `pos`; return where it ends, or -1 if cut short."""
        c = buf[pos]
        if c == '"':
            self._in_key = False
            self._add("", finished=False)
            self._state = _STRING
            return pos + 1
        if c == "{" or c == "[":
            if len(self._stack) >= MAX_DEPTH:
                raise PartialJSONTooDeep(f"nested deeper than {MAX_DEPTH} levels", self._base + pos)
            container: Any = {} if c == "{" else []
            self._add(container, finished=False)
            self._stack.append(container)
            self._keys.append(None)
            self._state = _OBJ_FIRST if c == "{" else _ARR_FIRST
            return pos + 1
        literal = _LITERALS.get(c)
        if literal is not None:
            word, val = literal
            if buf.startswith(word, pos):
                self._add(val)
                return pos + len(word)
            if len(buf) - pos < len(word) and word.startswith(buf[pos:]):
                return -1
            self._fail("invalid literal", pos)
        m = _NUM_CHARS.match(buf, pos)
        if m is None:
            self._fail("unexpected character", pos)
        end = m.end()
        if end == len(buf):
            return -1  # more digits may follow in the next chunk
        token = buf[pos:end]
        m = _NUM.match(token)
        if m is None:
            self._fail("invalid number", pos)
        try:
            self._add(float(token) if m.lastindex else int(token))
        except ValueError:  # beyond int's digit limit
            self._fail("number too large", pos)
        return end

    def _scan_string(self, buf: str, pos: int) -> int:
        """Consume string content from `pos`; return the position reached."""
        e = _STR_BODY.match(buf, pos).end()  # type: ignore[union-attr]
        if e < len(buf):
            c = buf[e]
            if c == '"':
                self._add_text(buf[pos:e])
                self._end_string()
                return e + 1
            if c != "\\":
                self._fail("invalid control character in string", e)
            if not _ESC_PREFIX.match(buf, e):
                self._fail("invalid escape sequence", e)
        # Out of text: hold back a trailing high surrogate, its low half may follow.
        i = e - 6
        if i >= pos and _HIGH_SURROGATE.match(buf, i):
            j = i
            while j > pos and buf[j - 1] == "\\":
                j -= 1
            if (i - j) % 2 == 0:  # an even run of backslashes before it: a real escape
                e = i
        self._add_text(buf[pos:e])
        return e

    def _add_text(self, segment: str) -> None:
        if segment:
            self._pieces.append(scanstring(segment + '"', 0)[0] if "\\" in segment else segment)
            if not self._in_key:
                self._dirty = True
                self.value_version += 1

    def _end_string(self) -> None:
        text = self._text + "".join(self._pieces) if self._pieces else self._text
        self._text = ""
        self._pieces.clear()
        if self._in_key:
            self._keys[-1] = text
            self._state = _COLON
        else:
            self._set_open(text)
            self._dirty = False
            self.value_version += 1
            self.shape_version += 1
            self._value_closed()

    def _set_open(self, text: str) -> None:
        """Store the open string's text in its slot."""
        if self._stack:
            top = self._stack[-1]
            top[-1 if type(top) is list else self._keys[-1]] = text
        else:
            self._root = text

    def _add(self, value: Any, finished: bool = True) -> None:
        """Store a new value in the innermost container, or as the document."""
        stack = self._stack
        if stack:
            top = stack[-1]
            if type(top) is list:
                top.append(value)
            else:
                key = self._keys[-1]
                if key in top:  # keep the open entry last, where consumers look for it
                    del top[key]
                    self.duplicate_keys += 1
                top[key] = value
        else:
            self._root = value
        self.value_version += 1
        self.shape_version += 1
        if finished:
            self._value_closed()

    def _close_container(self) -> None:
        self._stack.pop()
        self._keys.pop()
        self.value_version += 1
        self.shape_version += 1
        self._value_closed()

    def _value_closed(self) -> None:
        if self._stack:
            self._state = _AFTER
        else:
            self._state = _END
            self.done = True
