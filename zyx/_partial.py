"""Partial targets: turn a partial raw JSON value into a partial value of a target type.

While an LLM streams the arguments of a tool call, the user sees the result typed as the
run's target, holding the fields received so far. Converting the whole partial value on
every chunk is quadratic, so a `PartialTarget` caches, per stream, what it converted for
finished list items and closed containers, and each chunk only converts the open path.
"""

from __future__ import annotations

import dataclasses
import types
from collections import abc
from itertools import islice
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    NotRequired,
    Optional,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, ValidationError, create_model
from typing_extensions import TypedDict, is_typeddict

if TYPE_CHECKING:
    from ._partial_json import PartialJSONParser

__all__ = ["PartialTarget"]

_MISSING: Any = object()  # "nothing usable": the caller drops the item or uses None
_LISTS = (list, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set, abc.MutableSet, abc.Iterable)
_DICTS = (dict, abc.Mapping, abc.MutableMapping)
_PARTIAL_CONFIG = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())


class _Ctx:
    """One conversion call: the parser's open path plus the stream's caches."""

    __slots__ = ("stack", "str_open", "states", "final")

    def __init__(self, stack: Any, str_open: bool, states: dict[int, Any], final: dict[int, Any]) -> None:
        self.stack, self.str_open, self.states, self.final = stack, str_open, states, final

    def tail_open(self, depth: int | None) -> bool:
        """Whether the last item of the open container `stack[depth]` is still open."""
        return depth is not None and (depth + 1 < len(self.stack) or self.str_open)


class _Node:
    """Converts raw JSON to the partial form (`ptype`) of one type; `depth` is the raw
    value's index on the parser's open stack, or None once it is finished."""

    ptype: Any = Any
    literals: tuple[Any, ...] | None = None

    def conv(self, raw: Any, ctx: _Ctx, depth: int | None) -> Any:
        return raw  # Any/object: the raw value itself


class _Scalar(_Node):
    def __init__(self, tp: Any, open_ok: bool | None = None) -> None:
        self.ptype = tp
        self.fast = tp if tp in (str, int, float, bool) else None
        base = get_args(tp)[0] if get_origin(tp) is Annotated else tp
        self.open_ok = base is str if open_ok is None else open_ok  # may show a string still open
        self.literals = get_args(base) if get_origin(base) is Literal else None
        self.adapter: TypeAdapter[Any] | None = None

    def conv(self, raw: Any, ctx: _Ctx, depth: int | None) -> Any:
        if depth is not None and not (self.open_ok and type(raw) is str):
            return _MISSING  # an open container, or an open string that may still change
        if type(raw) is self.fast:
            return raw
        if self.adapter is None:
            self.adapter = _adapter(self.ptype)
        try:
            return self.adapter.validate_python(raw)
        except ValidationError:
            return _MISSING


class _Container(_Node):
    raw_type: type = dict

    def new_state(self) -> Any:
        raise NotImplementedError

    def fill(self, raw: Any, ctx: _Ctx, depth: int | None, state: Any) -> Any:
        raise NotImplementedError

    def conv(self, raw: Any, ctx: _Ctx, depth: int | None) -> Any:
        if type(raw) is not self.raw_type:
            return _MISSING
        key = id(raw)  # entries hold `raw`, so the id cannot be reused while cached
        if depth is None:
            hit = ctx.final.get(key)
            if hit is not None and hit[0] is raw and hit[1] is self:
                return hit[2]
        entry = ctx.states.get(key)
        if entry is None or entry[0] is not raw or entry[1] is not self:
            entry = (raw, self, self.new_state())
            if depth is not None:
                ctx.states[key] = entry
        out = self.fill(raw, ctx, depth, entry[2])
        if depth is None:
            ctx.states.pop(key, None)
            ctx.final[key] = (raw, self, out)
        return out


class _List(_Container):
    raw_type = list

    def __init__(self, item: _Node) -> None:
        self.item = item
        self.ptype = list[item.ptype]  # type: ignore[name-defined]

    def new_state(self) -> list[Any]:
        return [[], 0, False]  # converted items, raw items converted, last output is the open tail

    def fill(self, raw: list[Any], ctx: _Ctx, depth: int | None, state: list[Any]) -> list[Any]:
        out, done, has_tail = state
        if has_tail:
            out.pop()
        n = len(raw)
        end = n - 1 if n and ctx.tail_open(depth) else n
        conv = self.item.conv
        for i in range(done, end):
            v = conv(raw[i], ctx, None)
            if v is not _MISSING:
                out.append(v)
        state[1], state[2] = end, False
        if end < n:
            v = conv(raw[end], ctx, depth + 1)  # type: ignore[operator]
            if v is not _MISSING:
                out.append(v)
                state[2] = True
        return out


class _Dict(_Container):
    def __init__(self, key: _Node, value: _Node) -> None:
        self.key, self.value = key, value
        self.ptype = dict[key.ptype, value.ptype]  # type: ignore[name-defined]

    def new_state(self) -> list[Any]:
        return [{}, 0]  # converted entries, raw keys converted

    def fill(self, raw: dict[str, Any], ctx: _Ctx, depth: int | None, state: list[Any]) -> dict[Any, Any]:
        out, done = state
        if depth is None and done:
            out.clear()  # finished: convert once more in full, duplicate keys may have moved
            done = 0
        keys = list(islice(reversed(raw), len(raw) - done))[::-1]  # keys added since last call
        open_tail = bool(keys) and ctx.tail_open(depth)
        for i, k in enumerate(keys):
            kk = self.key.conv(k, ctx, None)
            if kk is _MISSING:
                continue
            v = self.value.conv(raw[k], ctx, depth + 1 if open_tail and i == len(keys) - 1 else None)  # type: ignore[operator]
            if v is _MISSING:
                out.pop(kk, None)
            else:
                out[kk] = v
        state[1] = len(raw) - 1 if open_tail else len(raw)
        return out


class _Record(_Container):
    """BaseModel, TypedDict or dataclass: named fields, all optional in the partial form."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str, _Node]] = []  # (attribute, JSON key, node)
        self.by_key: dict[str, _Node] = {}
        self.kind = "model"  # or "typeddict", "dataclass"
        self.cls: Any = None

    def add(self, name: str, key: str, node: _Node) -> None:
        self.fields.append((name, key, node))
        self.by_key[key] = node

    def new_state(self) -> Any:
        return self.cls() if self.kind != "model" else self.cls.model_construct()

    def fill(self, raw: dict[str, Any], ctx: _Ctx, depth: int | None, out: Any) -> Any:
        tail = next(reversed(raw)) if raw and ctx.tail_open(depth) else _MISSING
        typed_dict = self.kind == "typeddict"
        for name, key, node in self.fields:
            if key in raw:
                v = node.conv(raw[key], ctx, depth + 1 if key == tail else None)  # type: ignore[operator]
                if typed_dict:
                    if v is _MISSING:
                        out.pop(name, None)
                    else:
                        out[name] = v
                else:
                    out.__dict__[name] = None if v is _MISSING else v
                    if self.kind == "model" and v is not _MISSING:
                        out.__pydantic_fields_set__.add(name)
        return out

    def score(self, raw: dict[str, Any]) -> int:
        """How well `raw` fits this record, for picking a union member."""
        s = 0
        for k, v in raw.items():
            node = self.by_key.get(k)
            if node is None:
                s -= 1
            elif node.literals and type(v) is str and not any(str(x).startswith(v) for x in node.literals):
                return -(10**6)  # a discriminator that rules this member out
            else:
                s += 1
        return s


class _Union(_Node):
    def __init__(self, members: list[_Node], nullable: bool) -> None:
        self.nullable = nullable
        self.single = members[0] if len(members) == 1 else None
        self.objs = [m for m in members if isinstance(m, (_Record, _Dict))]
        self.arrs = [m for m in members if isinstance(m, _List)]
        scalars = [m for m in members if isinstance(m, _Scalar)]
        self.other: _Node | None = next((m for m in members if type(m) is _Node), None)
        if scalars:
            tp = scalars[0].ptype if len(scalars) == 1 else Union[tuple(m.ptype for m in scalars)]  # noqa: UP007
            self.other = _Scalar(tp, any(m.open_ok for m in scalars))
            if all(m.literals for m in scalars):
                self.literals = tuple(x for m in scalars for x in m.literals)  # type: ignore[union-attr]
        inner = Union[tuple(m.ptype for m in members)] if members else type(None)  # noqa: UP007
        self.ptype = Optional[inner] if nullable else inner  # noqa: UP007
        if self.single is not None:
            self.literals = self.single.literals

    def conv(self, raw: Any, ctx: _Ctx, depth: int | None) -> Any:
        if raw is None:
            return None if self.nullable else _MISSING
        if self.single is not None:
            return self.single.conv(raw, ctx, depth)
        t = type(raw)
        if t is dict and self.objs:
            node: _Node | None = max(self.objs, key=lambda m: m.score(raw) if isinstance(m, _Record) else 0)
        elif t is list and self.arrs:
            node = self.arrs[0]
        else:
            node = self.other
        return _MISSING if node is None else node.conv(raw, ctx, depth)


_PLANS: dict[Any, _Node] = {}
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        ta = _ADAPTERS.get(tp)
    except TypeError:  # unhashable annotation
        return TypeAdapter(tp)
    if ta is None:
        ta = _ADAPTERS[tp] = TypeAdapter(tp)
    return ta


def _plan(tp: Any) -> _Node:
    """The (cached) converter for `tp`; records register before their fields for recursion."""
    try:
        node = _PLANS.get(tp)
    except TypeError:
        return _make(tp)
    return node if node is not None else _make(tp, register=True)


def _make(tp: Any, register: bool = False) -> _Node:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:  # constraints only matter for scalars; containers stream without them
        inner = _plan(args[0])
        node: _Node = _Scalar(tp, inner.open_ok) if isinstance(inner, _Scalar) else inner
    elif tp is Any or tp is object:
        node = _Node()
    elif origin is Union or origin is types.UnionType:
        members = [_plan(a) for a in args if a is not type(None)]
        node = _Union(members, len(members) < len(args))
    elif origin in _LISTS or (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or tp is list:
        node = _List(_plan(args[0] if args else Any))
    elif origin in _DICTS or tp is dict:
        node = _Dict(_plan(args[0] if args else str), _plan(args[1] if args else Any))
    elif isinstance(tp, type) and (
        (issubclass(tp, BaseModel) and not issubclass(tp, RootModel)) or is_typeddict(tp) or dataclasses.is_dataclass(tp)
    ):
        record = _Record()
        if register:
            _PLANS[tp] = record
        try:
            _build_record(record, tp)
        except BaseException:
            _PLANS.pop(tp, None)
            raise
        return record
    else:
        node = _Scalar(tp)
    if register:
        _PLANS[tp] = node
    return node


def _build_record(record: _Record, tp: type) -> None:
    name = f"{tp.__name__}Partial"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        record.kind = "model"
        specs: dict[str, Any] = {}
        by_name = tp.model_config.get("populate_by_name") or tp.model_config.get("validate_by_name")
        for fname, f in tp.model_fields.items():
            node = _plan(Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation)
            key = f.validation_alias if isinstance(f.validation_alias, str) else f.alias or fname
            record.add(fname, key, node)
            if by_name and key != fname:
                record.add(fname, fname, node)
            specs[fname] = (Optional[node.ptype], Field(default=None, alias=f.alias, description=f.description))  # noqa: UP007
        record.cls = create_model(name, __config__=_PARTIAL_CONFIG, __doc__=tp.__doc__, __module__=tp.__module__, **specs)
    else:
        hints = get_type_hints(tp, include_extras=True)
        if is_typeddict(tp):
            record.kind = "typeddict"
            names = list(hints)
        else:
            record.kind = "dataclass"
            names = [f.name for f in dataclasses.fields(tp) if f.init]
        partial: dict[str, Any] = {}
        for fname in names:
            hint = hints[fname]
            if get_origin(hint) in (Required, NotRequired):
                hint = get_args(hint)[0]
            node = _plan(hint)
            record.add(fname, fname, node)
            partial[fname] = Optional[node.ptype]  # noqa: UP007
        if record.kind == "typeddict":
            record.cls = dict
            record.ptype = TypedDict(name, partial, total=False)  # type: ignore[operator]
            return
        record.cls = dataclasses.make_dataclass(
            name, [(k, t, dataclasses.field(default=None)) for k, t in partial.items()]
        )
    record.ptype = record.cls


def _locate(raw: Any, ctx: _Ctx) -> int | None:
    """`raw`'s index on the parser's open stack, or None if it is finished."""
    stack = ctx.stack
    for i, c in enumerate(stack):
        if c is raw:
            return i
    if ctx.str_open and type(raw) is str:
        if not stack:
            return 0
        top = stack[-1]
        if (top[-1] if type(top) is list else top[next(reversed(top))]) is raw:
            return len(stack)
    return None


class PartialTarget:
    """Converts partial raw JSON values into partial values of `target`, for one stream.

    Partial models are instances of a derived `<Name>Partial` model whose fields are all
    optional (default None); lists grow item by item; a str shows the text so far; numbers,
    enums, Literals and other non-str scalars appear only once complete and valid. Returned
    containers and partial models are live: later calls update them in place, so copy what
    you keep. Use one instance per stream (it caches per-stream conversions).
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self._node = _plan(target)
        self._adapter = _adapter(target)
        self._states: dict[int, Any] = {}
        self._final: dict[int, Any] = {}
        self._exact: tuple[Any, Any] | None = None

    @property
    def partial_type(self) -> Any:
        """The type of the partial values (e.g. the derived partial model)."""
        return self._node.ptype

    def convert(self, raw: Any, parser: PartialJSONParser | None = None) -> Any | None:
        """Convert `raw`, a value from `parser.value`, to the target's partial shape; None if
        nothing usable has arrived. `parser` tells which parts are still open; without it
        `raw` is treated as complete. A complete `raw` that validates as the target returns
        exactly `TypeAdapter(target).validate_python(raw)`."""
        if raw is None:
            return None
        if parser is None:
            ctx, depth = _Ctx((), False, {}, {}), None
        else:
            parser.value  # noqa: B018  # stores the open string's latest text in its container
            ctx = _Ctx(parser.open_containers, parser.string_open, self._states, self._final)
            depth = _locate(raw, ctx)
        if depth is None:
            if self._exact is not None and self._exact[0] is raw and parser is not None:
                return self._exact[1]
            try:
                value = self._adapter.validate_python(raw)
                self._exact = (raw, value)
                return value
            except ValidationError:
                pass
        v = self._node.conv(raw, ctx, depth)
        return None if v is _MISSING else v
