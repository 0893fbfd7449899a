"""Graph factories for `langgraph dev` / Studio: zyx's run graph, configured per run.

The server calls a factory for each use of a graph (drawing it, reading a thread's state, running).
A run's settings come from the run's `context` (Studio's "Context" form, typed by `StudioSettings`)
or the assistant's `config.configurable`, then the environment (`ZYX_MODEL`, `OPENAI_BASE_URL`,
`OPENAI_API_KEY`, ...). Graphs come from zyx's graph cache, so the same settings reuse one compiled
graph. Only runs build a real model: drawing or reading state uses a placeholder (same topology).
"""

from __future__ import annotations

import json
import keyword
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal, Union, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, create_model
from typing_extensions import TypedDict

from graphs.tools import TOOLS
from zyx._models import default_model_spec
from zyx._options import RunOptions, declared, studio_form_type
from zyx.errors import ConfigurationError, describe
from zyx.graph._cache import cached_run_graph
from zyx.testing import ScriptedChatModel


def _default_note(default: Any) -> str:
    return "" if default is None else f" (default: {str(default).lower() if isinstance(default, bool) else default})"


STUDIO_OWN: dict[str, Any] = {
    "model": Annotated[str, Field(description='"provider:name", e.g. "openai:gpt-4o-mini"; default: $ZYX_MODEL')],
    "target_schema": Annotated[dict[str, Any], Field(
        description='JSON Schema of the result, e.g. {"type": "object", "properties": {"answer": '
                    '{"type": "number"}}, "required": ["answer"]}; none: no typed result.')],
    "tools": Annotated[list[str], Field(description=f"Tools to offer, of {sorted(TOOLS)}; default: all.")],
}
"""Studio's own settings: the model by name, the target as a JSON Schema, the example tools by name."""

RUN_OPTIONS = tuple(name for name, option in declared(RunOptions).items() if option.studio)
"""The run options offered in Studio (declared with `studio=True`), typed and described as declared."""

StudioSettings: Any = cast(Any, TypedDict)("StudioSettings", {
    **STUDIO_OWN,
    **{name: Annotated[studio_form_type(name), Field(
        description=declared(RunOptions)[name].doc + _default_note(declared(RunOptions)[name].default))]
       for name in RUN_OPTIONS},
}, total=False)
StudioSettings.__doc__ = "Per-run settings of the zyx run graph (all optional)."

SETTINGS = frozenset(StudioSettings.__annotations__)

PLACEHOLDER_MODEL = ScriptedChatModel(responses=[], model_name="zyx-studio-placeholder")
"""Stands in for the model when the server only draws the graph or reads state (no model call happens)."""


def settings_from(config: RunnableConfig | None, runtime: Any = None) -> dict[str, Any]:
    """The run's settings: `config.configurable`, overridden by the run's `context` (known keys only)."""
    settings = {k: v for k, v in ((config or {}).get("configurable") or {}).items() if k in SETTINGS}
    execution = getattr(runtime, "execution_runtime", None)
    context = getattr(execution, "context", None)
    if isinstance(context, Mapping):
        settings.update((k, v) for k, v in context.items() if k in SETTINGS and v is not None)
    return settings


def for_execution(config: RunnableConfig | None, runtime: Any = None) -> bool:
    """Whether the server will run the graph (else it only draws it or reads/updates state)."""
    if runtime is not None and hasattr(runtime, "execution_runtime"):
        return runtime.execution_runtime is not None
    return bool(((config or {}).get("configurable") or {}).get("__is_for_execution__", True))


def studio_graph(settings: Mapping[str, Any], *, plan: bool, execute: bool = True) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The compiled run graph for these settings (cached), declaring `StudioSettings` as its context."""
    unknown = set(settings) - SETTINGS
    if unknown:
        raise ConfigurationError(sorted(unknown)[0], f"not a Studio setting (known: {', '.join(sorted(SETTINGS))})")
    names = settings.get("tools")
    if names is None:
        names = list(TOOLS)
    if isinstance(names, str) or not all(isinstance(n, str) and n in TOOLS for n in names):
        raise ConfigurationError("tools", f"expected a list of tool names from {sorted(TOOLS)}, got {describe(names)}")
    options: dict[str, Any] = {k: v for k, v in settings.items() if k in RUN_OPTIONS}
    options.update(
        model=(settings.get("model") or default_model_spec()) if execute else PLACEHOLDER_MODEL,
        tools=[TOOLS[n] for n in dict.fromkeys(names)],
        target=schema_type(settings.get("target_schema")),
        plan=plan,
        idempotent=True,  # the example tools only read (calculator, clock, sandboxed files): safe to run again
    )
    _, graph = cached_run_graph(options)
    return _with_context_schema(graph, "zyx_run_plan" if plan else "zyx_run")


_declared: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
_declared_lock = threading.Lock()


def _with_context_schema(graph: Any, name: str) -> Any:
    """A copy of the cached graph that tells Studio its settings (one copy per cached graph)."""
    with _declared_lock:
        if (hit := _declared.get(id(graph))) is not None and hit[0] is graph:
            return hit[1]
    declared = graph.copy(update={"context_schema": StudioSettings, "name": name})
    with _declared_lock:
        _declared[id(graph)] = (graph, declared)
        while len(_declared) > 64:
            _declared.popitem(last=False)
    return declared


# -- JSON Schema -> a type pydantic validates --------------------------------------------------------

_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}
_CONSTRAINTS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt",
                "minLength": "min_length", "maxLength": "max_length", "pattern": "pattern",
                "minItems": "min_length", "maxItems": "max_length"}
_CONSTRAINED = {"minimum": ("integer", "number"), "maximum": ("integer", "number"),
                "exclusiveMinimum": ("integer", "number"), "exclusiveMaximum": ("integer", "number"),
                "minLength": ("string",), "maxLength": ("string",), "pattern": ("string",),
                "minItems": ("array",), "maxItems": ("array",)}
"""Which JSON type each constraint applies to."""
_NOTES = {"title", "description", "default", "examples", "$schema", "format"}
"""Kept for the model to read (the schema it sees is the generated model's), not checked."""
_STRUCTURE = {"type", "properties", "required", "items", "enum", "additionalProperties"}


def schema_type(schema: Any) -> Any:
    """The target type for a JSON Schema (a dict, or its JSON text); None stays None.

    Supported: "type" (string, integer, number, boolean, null, array, object, or a list of these),
    "properties" / "required" / "additionalProperties": false (nested objects become nested models),
    "items", "enum", and the constraints minimum, maximum, exclusiveMinimum, exclusiveMaximum,
    minLength, maxLength, pattern, minItems, maxItems. Anything else ($ref, anyOf, ...) is refused.
    """
    if schema is None or schema == {} or schema == "":
        return None
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise ConfigurationError("target_schema", f"not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigurationError("target_schema", f"expected a JSON Schema object, got {describe(schema)}")
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        raise ConfigurationError("target_schema", f"nested more than {MAX_SCHEMA_DEPTH} levels deep")
    try:
        text = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError("target_schema", f"not JSON: {exc}") from None
    return _cached_type(text)


MAX_SCHEMA_DEPTH = 32
"""How deeply a Studio target schema may nest (objects and lists): deeper ones are refused, not recursed into."""


def _depth(value: Any) -> int:
    """How deeply dicts and lists nest in `value`, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_SCHEMA_DEPTH:
                stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


@lru_cache(maxsize=128)
def _cached_type(text: str) -> Any:
    """One type per distinct schema, so equal schemas share a cached graph."""
    schema = json.loads(text)
    title = schema.get("title") or "Result"
    if not isinstance(title, str) or not title.replace(" ", "_").isidentifier():
        raise ConfigurationError("target_schema", f"title must be a name (letters, digits, _), got {describe(title)}")
    return _to_type(schema, title, "target_schema")


def _to_type(schema: Any, name: str, where: str) -> Any:
    if not isinstance(schema, dict):
        raise ConfigurationError("target_schema", f"{where}: expected a schema object, got {describe(schema)}")
    unsupported = set(schema) - _STRUCTURE - _NOTES - set(_CONSTRAINTS)
    if unsupported:
        raise ConfigurationError("target_schema", f"{where}: unsupported keyword(s) {sorted(unsupported)}; "
                                 "supported: type, properties, required, items, enum, additionalProperties: "
                                 "false, and basic constraints")
    if set(schema) & set(_CONSTRAINTS) and (where == "target_schema" or where.endswith(".items")):
        raise ConfigurationError("target_schema", f"{where}: constraints are supported on object properties only")
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not values:
            raise ConfigurationError("target_schema", f"{where}: enum must be a non-empty list")
        return Literal[tuple(values)]  # type: ignore[valid-type,misc]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list) and (not kind or not all(isinstance(k, str) for k in kind)):
        raise ConfigurationError("target_schema", f"{where}: type must be a name or a non-empty list of names")
    if isinstance(kind, list):
        return Union[tuple(_to_type({**schema, "type": k}, name, where) for k in kind)]  # type: ignore[return-value]  # noqa: UP007
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        items = schema.get("items")
        return list[_to_type(items, f"{name}Item", f"{where}.items")] if items else list[Any]  # type: ignore[misc]
    if kind == "object":
        return _object_type(schema, name, where)
    raise ConfigurationError("target_schema", f"{where}: unsupported or missing type {describe(kind)}")


def _constraint(where: str, key: str, value: Any) -> Any:
    """A constraint's value, checked for its kind (a bound, a count or a regular expression)."""
    if key == "pattern":
        try:
            re.compile(value)
        except (TypeError, re.error) as exc:
            raise ConfigurationError("target_schema", f"{where}: pattern is not a regular expression: {exc}") from None
    elif key.startswith(("min", "max")) and key[3:] in ("Length", "Items"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError("target_schema", f"{where}: {key} must be a non-negative integer, "
                                     f"got {describe(value)}")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError("target_schema", f"{where}: {key} must be a number, got {describe(value)}")
    return value


def _object_type(schema: dict[str, Any], name: str, where: str) -> Any:
    properties = schema.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise ConfigurationError("target_schema", f"{where}: properties must be an object, got {describe(properties)}")
    if not properties:
        return dict[str, Any]
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required) \
            or set(required) - set(properties):
        raise ConfigurationError("target_schema", f"{where}: required must list some of the properties")
    fields: dict[str, Any] = {}
    for key, sub in properties.items():
        if not key.isidentifier() or keyword.iskeyword(key) or key.startswith(("_", "model_")):
            raise ConfigurationError("target_schema", f"{where}: property name {describe(key)} must be an identifier "
                                     "not starting with _ or model_")
        tp = _to_type(sub, f"{name}{key.title().replace('_', '')}", f"{where}.{key}")
        constraints = {_CONSTRAINTS[k]: _constraint(f"{where}.{key}", k, v) for k, v in sub.items() if k in _CONSTRAINTS}
        for name_ in (k for k in sub if k in _CONSTRAINTS):
            if sub.get("type") not in _CONSTRAINED[name_]:
                raise ConfigurationError("target_schema", f"{where}.{key}: {name_} applies to "
                                         f"{' or '.join(_CONSTRAINED[name_])} properties only")
        if key in required:
            fields[key] = (tp, Field(description=sub.get("description"), **constraints))
        else:
            default = sub.get("default")
            if default is not None:
                try:
                    TypeAdapter(tp).validate_python(default)
                except ValidationError:
                    raise ConfigurationError("target_schema", f"{where}.{key}: the default does not fit the "
                                             "property's type") from None
            fields[key] = (tp | None, Field(default=default, description=sub.get("description"), **constraints))
    extra: Literal["forbid", "ignore"] = "forbid" if schema.get("additionalProperties") is False else "ignore"
    try:
        model = create_model(name.replace(" ", "_"), __config__=ConfigDict(extra=extra), **fields)
    except (TypeError, ValueError) as exc:  # e.g. a constraint that does not fit the property's type
        raise ConfigurationError("target_schema", f"{where}: {exc}") from None
    if schema.get("description"):
        model.__doc__ = schema["description"]
    return model
