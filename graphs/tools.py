"""The Studio example's tools: real and harmless (arithmetic, the clock, reading files in a sandbox folder)."""

from __future__ import annotations

import ast
import math
import operator
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SANDBOX_ENV = "ZYX_SANDBOX_DIR"
DEFAULT_SANDBOX = Path(__file__).resolve().parent / "sandbox"
MAX_FILE_BYTES = 64_000
MAX_EXPRESSION = 300
MAX_EXPONENT = 1_000
MAX_INT_BITS = 4_096
"""Integers the calculator may produce (about 1,230 digits): the size is checked before each step."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_TOO_LARGE = f"the result would be too large (integers are limited to {MAX_INT_BITS} bits, about 1,230 digits)"


def _bits(value: float | int) -> int:
    """Bits of an integer's magnitude; floats count as small (their size is bounded by the float type)."""
    return abs(value).bit_length() if isinstance(value, int) else 0


def _check_binary(op: ast.operator, left: float | int, right: float | int) -> None:
    """Refuse a step whose result could exceed the bounds, before computing it (big-int work holds the GIL)."""
    if isinstance(op, ast.Pow):
        if abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponents above {MAX_EXPONENT} are not allowed")
        if isinstance(right, int) and right > 0 and (_bits(left) - 1) * right > MAX_INT_BITS:
            raise ValueError(_TOO_LARGE)
    elif isinstance(op, ast.Mult) and _bits(left) + _bits(right) > MAX_INT_BITS + 1:
        raise ValueError(_TOO_LARGE)


def _checked(value: Any) -> float | int:
    """A real, finite number of bounded size, or a ValueError the model can read."""
    if isinstance(value, complex):
        raise ValueError("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is out of range")
    if _bits(value) > MAX_INT_BITS:
        raise ValueError(_TOO_LARGE)
    return value  # type: ignore[no-any-return]


def _evaluate(node: ast.AST) -> float | int:
    """Numbers, + - * / // % **, parentheses, pi, e and a few functions; nothing else is evaluated."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _checked(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        _check_binary(node.op, left, right)
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and not node.keywords):
        return _checked(_FUNCTIONS[node.func.id](*(_evaluate(a) for a in node.args)))
    raise ValueError(f"unsupported expression: {ast.unparse(node)!r}")


def calculator(expression: str) -> float | int:
    """Evaluate an arithmetic expression exactly, e.g. "(17 + 25) * 3" or "sqrt(2) / 2".

    Args:
        expression: Numbers with + - * / // % ** and parentheses; pi, e; sqrt, abs, round, min, max.
    """
    if len(expression) > MAX_EXPRESSION:
        raise ValueError(f"expression longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    try:
        return _evaluate(tree)
    except OverflowError:  # a float result out of range, or an integer too large for a float function
        raise ValueError("the result is out of range") from None
    except RecursionError:
        raise ValueError("the expression is nested too deeply") from None


def current_utc_time() -> str:
    """The current date and time in UTC, ISO 8601 (e.g. 2025-01-31T12:00:00+00:00)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def sandbox_dir() -> Path:
    """The folder `read_text_file` reads from: $ZYX_SANDBOX_DIR, else graphs/sandbox."""
    return Path(os.environ.get(SANDBOX_ENV) or DEFAULT_SANDBOX).resolve()


def read_text_file(path: str) -> str:
    """Read a UTF-8 text file from the sandbox folder (paths are relative to it; nothing outside it is read).

    Args:
        path: The file's path inside the sandbox, e.g. "notes.txt". Use "." to list the sandbox's files.
    """
    root = sandbox_dir()
    target = (root / path).resolve()  # resolves "..", and symlinks pointing out of the sandbox
    if target != root and root not in target.parents:
        raise PermissionError(f"{path!r} is outside the sandbox folder")
    if target.is_dir():
        names = sorted(str(p.relative_to(root)) for p in target.rglob("*") if p.is_file())
        return "Files: " + (", ".join(names) or "(none)")
    if not target.is_file():
        raise FileNotFoundError(f"no file {path!r} in the sandbox")
    if target.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path!r} is larger than {MAX_FILE_BYTES} bytes")
    return target.read_text(encoding="utf-8")


TOOLS = {tool.__name__: tool for tool in (calculator, current_utc_time, read_text_file)}
"""The example tools by name (a Studio run may pick some with `tools`)."""
