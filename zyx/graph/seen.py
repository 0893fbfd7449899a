"""What the model has seen, for the look at invented values (zyx.graph.grounding): its text, its words, and the
numbers in it, however they are written, and those one step of arithmetic on them makes."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

NUMBER_WORDS: dict[str, float] = {word: float(n) for n, word in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
NUMBER_WORDS.update(thirty=30, forty=40, fifty=50, sixty=60, seventy=70, eighty=80, ninety=90, hundred=100,
                    thousand=1e3, dozen=12, half=0.5)
"""Numbers written as words; "twenty-five" and "three hundred" are worked out from theirs (see `Seen`)."""
_NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b")
SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_START = r"(?=\d)(?:(?<![\w.,])|(?<=\\[nrt]))"  # not inside a word or another number; after a JSON escape ("\\n42")
_SCALE = r"(?:\s?(k|thousand|mn|million|m|bn|billion|b)\b)?"
_NUMBER = re.compile(_START.replace(",", "") + r"(\d+(?:\.\d+)?(?:e[+-]?\d+)?)" + _SCALE)
"""A number as written: 4 and 7 in "4,7"; 1e-05 as json.dumps writes it; with its scale ("3 million")."""
_COMMA_NUMBER = re.compile(_START + r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+,\d{1,2}(?![\d,]))" + _SCALE)
"""A number with commas: grouped thousands ("1,500"), or a decimal comma ("10,5")."""
_PM = re.compile(r"(?=\d)(?<![\w.:])(\d{1,2})(?::\d\d)?\s?p\.?m\b")
"""A 12-hour afternoon time ("3pm", "7:30 p.m."), which a tool may take as its 24-hour hour."""
TOKEN = re.compile(r"[^\W\d_]{3,}|\d+")
"""A word of three letters or more, or a run of digits: what a text value is judged by."""


@dataclass(frozen=True)
class Seen:
    """What the model has seen, lower-cased (`text`), and the numbers in it: as written (digits, number words,
    "3 million"), and what one sum, difference, product or quotient of two of the first `DERIVED_FROM` of them
    gives (a model may work out a step itself: sqrt(25) for "the root of 9 + 16")."""

    text: str
    numbers: frozenset[float]
    derived: frozenset[float]

    @classmethod
    def of(cls, text: str) -> Seen:
        text = text.lower()
        written = _NUMBER.findall(text)
        numbers = {float(n) for n, _ in written}
        numbers |= {float(n) * SCALES[scale] for n, scale in written if scale}  # "3 million": 3 and 3000000
        numbers |= {_number(n) * SCALES.get(scale, 1) for n, scale in _COMMA_NUMBER.findall(text)}
        numbers |= {float(hour) + 12 for hour in _PM.findall(text) if 0 < int(hour) < 12}
        numbers |= {NUMBER_WORDS[word] for word in _NUMBER_WORD.findall(text)}
        first: list[float] = []
        for number in _in_order(text[:DERIVED_WITHIN]):
            if number not in first:
                first.append(number)
            if len(first) == DERIVED_FROM:
                break
        derived = {op(x, y) for x in first for y in first for op in _OPERATIONS if y or op is not _divide}
        return cls(text, frozenset(map(_key, numbers)), frozenset(map(_key, derived)))

    @cached_property
    def words(self) -> frozenset[str]:
        """The words (three letters or more) of what was seen, read once when a text value asks."""
        return frozenset(t for t in TOKEN.findall(self.text) if not t[0].isdigit())

    def has_number(self, value: float) -> bool:
        """Whether a number was given or follows from given ones: as written, as a percentage (0.05 for "5%" and
        back), or by one operation on two given numbers."""
        value = abs(value)
        forms = {_key(value)}
        if value < 1:
            forms.add(_key(value * 100))  # 0.05 for "5%"
        elif value < 100:
            forms.add(_key(value / 100))  # 5 for "0.05"
        if forms & self.numbers:
            return True
        return _key(value) in self.derived


def _in_order(text: str) -> Iterator[float]:
    """The numbers of `Seen.of`, in the order they are written, read only as far as they are asked for."""
    streams = (((m.start(), float(m[1]), m[2]) for m in _NUMBER.finditer(text)),
               ((m.start(), _number(m[1]), m[2]) for m in _COMMA_NUMBER.finditer(text)),
               ((m.start(), float(m[1]) + 12, None) for m in _PM.finditer(text) if 0 < int(m[1]) < 12),
               ((m.start(), NUMBER_WORDS[m[1]], None) for m in _NUMBER_WORD.finditer(text)))
    for _, number, scale in heapq.merge(*streams, key=lambda item: item[0]):
        yield number
        if scale:
            yield number * SCALES[scale]


def _number(written: str) -> float:
    """A number as written, its commas read as thousands separators ("1,500") or, before one or two digits, as a
    decimal point ("10,5")."""
    if re.fullmatch(r"\d+,\d{1,2}", written):
        return float(written.replace(",", "."))
    return float(written.replace(",", ""))


def _divide(x: float, y: float) -> float:
    return x / y


_OPERATIONS = (lambda x, y: x + y, lambda x, y: abs(x - y), lambda x, y: x * y, _divide)
DERIVED_FROM = 40
"""How many of the numbers seen first (the task's, before any tool output) derived numbers are made from."""
DERIVED_WITHIN = 20_000
"""How far into what was seen (characters) those first numbers are looked for."""


def _key(value: float) -> float:
    """A number to compare by: 9 significant digits (0.1 + 0.2 is 0.3)."""
    return float(f"{abs(value):.9g}")
