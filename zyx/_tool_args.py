"""A tool call's arguments checked against the schema the model was shown, before the tool runs.

LangChain validates arguments only through a pydantic `args_schema` (and drops keys it does not
declare); a JSON-schema dict `args_schema` (MCP tools, hand-made `StructuredTool`s) is not checked
at all. zyx refuses, with an error the model sees, any key the schema does not declare (unless it
allows extra keys) and, for JSON-schema tools, anything the schema rejects.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import SchemaError
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.prebuilt import ToolRuntime

from zyx import _prompts
from zyx.errors import ConfigurationError, describe

MAX_PROBLEMS = 10
SCHEMA_ECHO_KEY = "properties"
"""The JSON-schema key a small model wraps its arguments in, copying the schema it was shown."""


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class ArgumentCheck:
    """The checks for one tool: the keys the model may send, and a JSON-schema validator where needed."""

    declared: frozenset[str]
    open: bool
    validator: Any = None

    def repaired(self, args: Any) -> Any:
        """`args`, or the object a small model wrapped in a copied schema key: `{"properties": {...}}` whose
        inner keys are all declared, for a tool that declares no `properties` argument. Arguments that fit the
        schema as sent (an open schema takes a `properties` key) are never rewritten."""
        return unwrap_schema_echo(args, self.declared) if self.problems(args) else args

    def problems(self, args: Any) -> list[str]:
        """Why `args` does not fit the schema, one line each (values described by type, never shown)."""
        if not isinstance(args, Mapping):
            return [_prompts.ARGS_NOT_OBJECT.format(type=type(args).__name__)]
        found = [] if self.open else [
            _prompts.ARG_UNDECLARED.format(key=_short(str(key)), declared=", ".join(sorted(self.declared)) or _prompts.NONE)
            for key in args if key not in self.declared]
        if self.validator is not None:
            for error in sorted(self.validator.iter_errors(dict(args)), key=lambda e: list(e.absolute_path)):
                if error.validator == "additionalProperties":
                    continue  # reported above, by name
                found.append(_describe(error))
        return found[:MAX_PROBLEMS]


def unwrap_schema_echo(args: Any, declared: frozenset[str] | set[str]) -> Any:
    """The arguments inside `{"properties": {...}}` when the model copied the JSON schema's shape (and the tool
    declares no `properties` argument while declaring every inner key); else `args` unchanged."""
    if isinstance(args, Mapping) and len(args) == 1 and SCHEMA_ECHO_KEY not in declared:
        inner = args.get(SCHEMA_ECHO_KEY)
        if isinstance(inner, Mapping) and inner and set(inner) <= declared:
            return dict(inner)
    return args


def _describe(error: Any) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or _prompts.ARGS_ROOT
    if error.validator == "required":
        return f"{path}: {error.message}"
    rule = json.dumps(error.validator_value, default=str)
    return _prompts.ARG_RULE.format(path=path, rule=error.validator, value=_short(rule), type=type(error.instance).__name__)


def argument_check(tool: BaseTool) -> ArgumentCheck:
    """The checks for `tool`, from the same schema the model is shown (`ConfigurationError` if it is not valid)."""
    try:
        parameters = convert_to_openai_tool(tool)["function"].get("parameters") or {}
    except Exception as exc:  # pydantic (or the tool) cannot describe its arguments as a JSON schema
        raise ConfigurationError("tools", f"the tool {describe(tool.name)} has no JSON schema for its arguments "
                                 f"({type(exc).__name__}); a ToolRuntime parameter must not be Optional") from None
    extra = parameters.get("additionalProperties")
    validator = None
    if isinstance(tool.args_schema, dict):
        cls = validators.validator_for(tool.args_schema)
        try:
            cls.check_schema(tool.args_schema)
        except SchemaError as exc:
            raise ConfigurationError("tools", f"the args_schema of tool {tool.name!r} is not a valid JSON schema: "
                                     f"{_short(exc.message, 200)}") from None
        validator = cls(tool.args_schema)
    return ArgumentCheck(frozenset(parameters.get("properties") or {}), open=extra not in (None, False),
                         validator=validator)


def runtime_parameter(tool: BaseTool) -> str | None:
    """The parameter through which a tool takes LangGraph's `ToolRuntime` (hidden from the model, filled by
    the tool executor as ToolNode does), or None."""
    fn = getattr(tool, "coroutine", None) or getattr(tool, "func", None)
    if fn is None:
        return None
    fn = inspect.unwrap(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # annotations that do not resolve: no runtime parameter can be recognised
        return None
    for name, hint in hints.items():
        origin = typing.get_origin(hint) or hint
        if name != "return" and isinstance(origin, type) and issubclass(origin, ToolRuntime):
            return name
    return None
