"""BFCL's own data and checkers, loaded from the `bfcl-eval` wheel without its heavy dependencies.

`bfcl-eval` is installed `--no-deps` (see `benchmarks/bfcl/install.sh`): its AST checker imports the
model-handler registry only to look up one flag per model, so a small stand-in for
`bfcl_eval.constants.model_config` goes into `sys.modules` first. The checker's `underscore_to_dot`
flag is set, because OpenAI-style tool names cannot hold a "." ("math.factorial" is sent as
"math_factorial", and BFCL maps it back when checking).
"""

from __future__ import annotations

import importlib.resources
import json
import random
import re
import sys
import types
from dataclasses import dataclass
from functools import cache
from typing import Any

AST_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
MULTI_TURN = "multi_turn_base"
CATEGORIES = (*AST_CATEGORIES, MULTI_TURN)
CHECKER_MODEL = "zyx-benchmark"
"""The model name the checkers are given; the stand-in config maps it (and anything else) alike."""

INSTALL_HINT = "bash benchmarks/bfcl/install.sh  (bfcl-eval --no-deps, plus mpmath)"


@dataclass(frozen=True)
class _StandInConfig:
    """What BFCL's checkers read from a model's config entry."""

    underscore_to_dot: bool = True
    is_fc_model: bool = True


class _AnyModel(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> _StandInConfig:
        return _StandInConfig()


def install_stand_in() -> None:
    """Put a stand-in `bfcl_eval.constants.model_config` in `sys.modules` (before any checker import)."""
    name = "bfcl_eval.constants.model_config"
    if name in sys.modules:
        return
    module = types.ModuleType(name, "Stand-in for BFCL's model registry: one config for every model name.")
    module.MODEL_CONFIG_MAPPING = _AnyModel()  # type: ignore[attr-defined]
    module.ModelConfig = _StandInConfig  # type: ignore[attr-defined]
    sys.modules[name] = module


def available() -> bool:
    """Whether `bfcl_eval` is installed."""
    try:
        import bfcl_eval  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def _data_dir() -> Any:
    return importlib.resources.files("bfcl_eval") / "data"


def _jsonl(path: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Entry:
    """One BFCL test entry: its user turns, its functions and the possible answers (none for irrelevance)."""

    id: str
    category: str
    turns: list[list[dict[str, str]]]
    functions: list[dict[str, Any]]
    answer: list[Any]
    raw: dict[str, Any]


def load(category: str, sample: int | None, seed: int) -> list[Entry]:
    """`sample` entries of a category, drawn with `random.Random(seed)` (all of them for None), in file order."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown BFCL category {category!r}; one of {', '.join(CATEGORIES)}")
    entries = _jsonl(_data_dir() / f"BFCL_v4_{category}.json")
    answers_file = _data_dir() / "possible_answer" / f"BFCL_v4_{category}.json"
    answers = {a["id"]: a["ground_truth"] for a in _jsonl(answers_file)} if answers_file.is_file() else {}
    if sample is not None and sample < len(entries):
        keep = set(random.Random(f"{seed}:{category}").sample(range(len(entries)), sample))
        entries = [e for i, e in enumerate(entries) if i in keep]
    functions = multi_turn_functions if category == MULTI_TURN else (lambda e: e["function"])
    return [Entry(e["id"], category, e["question"], functions(e), answers.get(e["id"], []), e) for e in entries]


def multi_turn_functions(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The function docs of a multi-turn entry's API classes, less its excluded functions."""
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    docs: list[dict[str, Any]] = []
    for cls in entry["involved_classes"]:
        docs += _jsonl(_data_dir() / "multi_turn_func_doc" / MULTI_TURN_FUNC_DOC_FILE_MAPPING[cls])
    excluded = set(entry.get("excluded_function", []))
    return [d for d in docs if d["name"] not in excluded]


# -- BFCL's function docs as OpenAI tool schemas ------------------------------------------------------

_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}


def json_schema(node: Any) -> Any:
    """A BFCL parameter schema ("dict", "float", "tuple", "any") as JSON schema."""
    if isinstance(node, list):
        return [json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if k != "optional"}
    kind = node.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        if _TYPES[kind] is None:
            out.pop("type")
        else:
            out["type"] = _TYPES[kind]
    if "properties" in node:  # names of properties are data, not schema keywords
        out["properties"] = {name: json_schema(v) for name, v in node["properties"].items()}
    return out


def tool_name(name: str) -> str:
    """The OpenAI-safe name of a BFCL function ("math.factorial" -> "math_factorial")."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]


def openai_tool(function: dict[str, Any]) -> dict[str, Any]:
    """One BFCL function as an OpenAI tool."""
    params = json_schema(function.get("parameters") or {"type": "dict", "properties": {}})
    return {"type": "function", "function": {"name": tool_name(function["name"]),
                                             "description": function.get("description", ""),
                                             "parameters": params}}


# -- scoring with BFCL's checkers ------------------------------------------------------------------------

def check_ast(entry: Entry, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """BFCL's verdict on one turn's calls ([{name: args}, ...]); irrelevance: valid when no call was made."""
    if entry.category == "irrelevance":
        return {"valid": not calls, "error_type": "irrelevance_error:decoder_success" if calls else ""}
    if not calls:
        return {"valid": False, "error_type": "ast_decoder:no_call"}
    install_stand_in()
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker(entry.functions, calls, entry.answer, Language.PYTHON, entry.category, CHECKER_MODEL)


def check_multi_turn(entry: Entry, turns: list[list[list[str]]], library: str) -> dict[str, Any]:
    """BFCL's multi-turn verdict: per user turn, per model step, the calls as Python call strings.

    BFCL keeps its API instances in a module-level cache keyed by model name and entry id, so each
    library is checked under its own name (a second library must not find the first one's state).
    """
    install_stand_in()
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    try:
        return multi_turn_checker(turns, entry.answer, entry.raw, entry.category, f"{CHECKER_MODEL}_{library}")
    except AssertionError as exc:  # the checker asserts on state it cannot compare
        return {"valid": False, "error_type": "multi_turn:checker_assertion", "error_message": str(exc)}


def call_string(name: str, args: dict[str, Any]) -> str:
    """A call as BFCL's multi-turn executor reads it: `name(arg=repr, ...)`."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
