"""Targets: any type pydantic validates, as a JSON schema for the model and a validator for its answer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

from zyx import _prompts
from zyx.errors import ConfigurationError, describe


@dataclass(frozen=True, eq=False)
class Target:
    """A target type with its validator and JSON schema, built once per type."""

    type: Any
    adapter: TypeAdapter[Any]
    schema: dict[str, Any]
    name: str

    def validate(self, raw: Any) -> Any:
        """Validate a JSON-like value from the model (raises pydantic's `ValidationError`)."""
        if isinstance(raw, str) and self.schema.get("type") not in (None, "string"):
            try:
                return self.adapter.validate_json(raw)
            except ValidationError:
                pass  # not JSON text after all: validate it as the plain string it is
        return self.adapter.validate_python(raw)


def field_names(target: Target | None) -> frozenset[str] | None:
    """The top-level field names a partial of `target` can have; None when any name may appear (no target,
    a dict with free keys, a union)."""
    if target is None:
        return None
    if isinstance(target.type, type) and issubclass(target.type, BaseModel):
        return frozenset(target.type.model_fields)
    schema = target.schema
    if schema.get("type") == "object" and "properties" in schema and not schema.get("additionalProperties"):
        return frozenset(schema["properties"])
    if schema.get("type") in ("array", "string", "integer", "number", "boolean", "null"):
        return frozenset()
    return None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp).replace("typing.", "")


@lru_cache(maxsize=256)
def _cached_target(tp: Any) -> Target:
    return _build_target(tp)


def _build_target(tp: Any) -> Target:
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(tp)
        schema = adapter.json_schema()
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError, AttributeError, NameError) as exc:
        raise ConfigurationError(
            "target", f"expected a type pydantic can validate (a BaseModel, TypedDict, dataclass, "
            f"int, str, list[str], ...), got {describe(tp)} ({exc.__class__.__name__}: {str(exc).splitlines()[0]})"
        ) from None
    return Target(type=tp, adapter=adapter, schema=schema, name=_type_name(tp))


def _is_type_like(tp: Any) -> bool:
    """A class or a typing construct (`list[str]`, `Literal[...]`, `X | None`, `Annotated`, `Any`)."""
    return isinstance(tp, type) or get_origin(tp) is not None or tp is Any or type(tp).__name__ == "TypeAliasType"


def make_target(tp: Any) -> Target | None:
    """The `Target` for a user's `target=` argument (None stays None)."""
    if tp is None:
        return None
    if not _is_type_like(tp):
        raise ConfigurationError("target", f"expected a type (a BaseModel, TypedDict, dataclass, int, str, "
                                 f"list[str], ...), got {describe(tp)}, which is not a type")
    try:
        return _cached_target(tp)
    except TypeError:  # unhashable target (e.g. an Annotated with a dict): build uncached
        return _build_target(tp)


def format_validation_error(exc: ValidationError) -> str:
    """A compact, model-readable list of what failed, one line per error."""
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(part) for part in err["loc"]) or _prompts.VALIDATION_ROOT
        lines.append(_prompts.VALIDATION_LINE.format(where=where, error=err["msg"]))
    return "\n".join(lines)
