"""Model-facing text lives in zyx/_prompts.py: the modules that build what the model reads spell no sentences."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "zyx"
MODULES = ["graph/plan.py", "graph/plan_executor.py", "graph/tool_executor.py", "graph/calls.py", "graph/context.py",
           "graph/reader.py", "graph/completion.py", "graph/verifier.py", "graph/coaching.py", "_tool_args.py",
           "_checks.py", "_completion.py", "_envelope.py", "embed.py", "_target.py", "_tool_output.py"]
NOT_FOR_THE_MODEL = {"fail", "rejection_end", "ConfigurationError", "ValueError", "TypeError", "RuntimeError",
                     "LookupError", "ToolException", "RunError", "cast"}
"""Calls whose text is for the user (a run's error, a configuration error) or for the type checker (`cast`)."""


def _sentences(tree: ast.AST) -> list[str]:
    """String constants of three words or more, outside docstrings, raise statements and user-facing errors."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # attribute docstrings
            skip.add(id(node.value))
        inside = []
        if isinstance(node, ast.Raise):
            inside = [node]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in NOT_FOR_THE_MODEL:
                inside = [node]
        for sub in inside:
            skip.update(id(n) for n in ast.walk(sub))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skip and len(node.value.split()) >= 3]


@pytest.mark.parametrize("module", MODULES)
def test_no_model_facing_sentences_outside_prompts(module: str) -> None:
    found = _sentences(ast.parse((ROOT / module).read_text(encoding="utf-8")))
    assert not found, f"zyx/{module} spells text the model may read; put it in zyx/_prompts.py: {found}"
