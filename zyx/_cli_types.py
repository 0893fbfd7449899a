"""The `--target` type language of the command line: `list[str]`, `int | None`, `Literal['a', 'b']` ... read as a
syntax tree, never executed; and `UsageError`, the bad-value error every command-line parser raises."""

from __future__ import annotations

import ast
import datetime
import decimal
import operator
import typing
import uuid
from typing import Any


class UsageError(Exception):
    """A bad command-line value, reported like a ConfigurationError (exit status 2)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")


def short(text: str, limit: int = 160) -> str:
    """`text` on one line, cut to `limit` characters (for error messages and progress lines)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


TYPE_NAMES: dict[str, Any] = {
    "str": str, "int": int, "float": float, "bool": bool, "bytes": bytes,
    "list": list, "dict": dict, "set": set, "frozenset": frozenset, "tuple": tuple,
    "None": None, "Any": typing.Any, "Optional": typing.Optional, "Union": typing.Union,
    "Literal": typing.Literal, "List": typing.List, "Dict": typing.Dict, "Set": typing.Set,  # noqa: UP006
    "Tuple": typing.Tuple,  # noqa: UP006
    "date": datetime.date, "datetime": datetime.datetime, "time": datetime.time,
    "timedelta": datetime.timedelta, "Decimal": decimal.Decimal, "UUID": uuid.UUID,
}
"""Every name a `--target` type expression may use; anything else needs `module:Name`."""
GENERIC_NAMES = frozenset({"list", "dict", "set", "frozenset", "tuple", "Optional", "Union", "Literal",
                           "List", "Dict", "Set", "Tuple"})

MAX_TYPE_EXPRESSION = 300


def parse_type_expression(text: str) -> Any:
    """`list[str]`, `dict[str, int]`, `int | None`, `Literal['a', 'b']` ... evaluated without `eval`.

    Only the names in `TYPE_NAMES`, subscripts, `|` unions and (inside `Literal[...]`) plain
    constants are accepted: the expression is walked as a syntax tree, never executed.
    """
    if len(text) > MAX_TYPE_EXPRESSION:
        raise UsageError("--target", f"type expression longer than {MAX_TYPE_EXPRESSION} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise UsageError("--target", f"not a type expression: {text!r} ({exc.msg})") from None
    from zyx._target import make_target
    from zyx.errors import ConfigurationError

    try:
        tp = _type_of(tree.body, text, literal=False)
        make_target(tp)  # what the run will do with it: a type pydantic cannot build a schema for is refused now
    except UsageError:
        raise
    except Exception as exc:  # typing's and pydantic's own refusals (Literal[()], int | Literal, dict[str], ...)
        reason = exc.message if isinstance(exc, ConfigurationError) else f"{type(exc).__name__}: {exc}"
        raise UsageError("--target", f"invalid type {text!r}: {short(reason)}") from None
    return tp


def _type_of(node: ast.expr, text: str, *, literal: bool) -> Any:
    if isinstance(node, ast.Name):
        if node.id not in TYPE_NAMES:
            allowed = ", ".join(n for n in TYPE_NAMES if n != "None")
            raise UsageError("--target", f"unknown type name {node.id!r} in {text!r}; built-in names: {allowed} "
                               "(for your own types use module:Name, e.g. myapp.models:Todo)")
        return TYPE_NAMES[node.id]
    if isinstance(node, ast.Constant):
        if node.value is None or node.value is Ellipsis:
            return node.value
        if literal and isinstance(node.value, (str, int, bool)):
            return node.value
        raise UsageError("--target", f"unexpected constant {node.value!r} in {text!r} (constants only go in Literal[...])")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _type_of(node.left, text, literal=False), _type_of(node.right, text, literal=False)
        try:
            return operator.or_(left, right)
        except TypeError:
            return typing.Union[left, right]
    if isinstance(node, ast.Subscript):
        if not (isinstance(node.value, ast.Name) and node.value.id in GENERIC_NAMES):
            raise UsageError("--target", f"cannot subscript {ast.unparse(node.value)!r} in {text!r} "
                               f"(only {', '.join(sorted(GENERIC_NAMES))} take [...])")
        base = TYPE_NAMES[node.value.id]
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args = tuple(_type_of(arg, text, literal=base is typing.Literal) for arg in inner)
        if not args and base is not tuple and base is not typing.Tuple:  # noqa: UP006 - only tuple[()] is a type
            raise UsageError("--target", f"{node.value.id}[()] in {text!r} needs at least one type argument")
        return base[args if len(args) != 1 else args[0]]
    raise UsageError("--target", f"unsupported syntax {ast.unparse(node)!r} in {text!r}; use names like "
                       "str, int, list[str], dict[str, int], int | None, Literal['a', 'b'], or module:Name")


