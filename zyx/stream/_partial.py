"""Partial targets: turn a partial raw JSON value into a partial value of a target type.

While an LLM streams the arguments of a tool call, the user sees the result typed as the
run's target, holding the fields received so far. Converting the whole partial value on
every chunk is quadratic, so a `PartialTarget` keeps, per stream, the live output of each
open list/object with its finished items already converted, and each chunk converts only
the new items and the open path (learned from the parser).
"""

from __future__ import annotations

import dataclasses
import types
from collections import abc
from collections.abc import Callable
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
from typing_extensions import ReadOnly, TypedDict, is_typeddict

if TYPE_CHECKING:
    from zyx.stream._json import PartialJSONParser

__all__ = ["PartialTarget"]

_MISSING: Any = object()  # "nothing usable": the caller drops the item or uses None
_LISTS = (list, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set, abc.MutableSet, abc.Iterable)
_DICTS = (dict, abc.Mapping, abc.MutableMapping)
_PARTIAL_CONFIG = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())


class _Ctx:
    """One conversion call: the parser's open path, plus the stream's conversion states."""

    __slots__ = ("stack", "str_open", "dups", "states", "tail")

    def __init__(self, stack: Any, str_open: bool, dups: bool, states: dict[int, Any]) -> None:
        self.stack, self.str_open, self.dups, self.states = stack, str_open, dups, states
        self.tail: tuple[Callable[[Any, Any, Any], None], Any, Any] | None = None
        """Where the open string sits in the output, when it is shown as is: (put, output, slot)."""

    # Every item of an open container but the last is finished; the last item of
    # stack[depth] is open iff depth + 1 < len(stack) (the next open container) or str_open.

    def open_string_in(self, depth: int) -> bool:
        """Whether the open string is the last item of stack[depth] (the innermost container)."""
        return self.str_open and depth + 1 == len(self.stack)


_CLOSED = _Ctx((), False, False, {})  # for values known to be finished


class _Node:
    """Converts raw JSON to the partial form (`ptype`) of one type; `depth` is the raw
    value's index on the parser's open stack, or None once it is finished."""

    ptype: Any = Any
    literals: tuple[Any, ...] | None = None
    plain_str = False  # converts a str to itself, unvalidated (so an open one can be updated in place)

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
        self.plain_str = tp is str

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
        # A finished container is converted once, by its parent, which keeps the result; an
        # open one keeps its conversion state (and live output) here between calls.
        if type(raw) is not self.raw_type:
            return _MISSING
        key = id(raw)  # entries hold `raw`, so the id cannot be reused while cached
        entry = ctx.states.get(key)
        if entry is not None and (entry[0] is not raw or entry[1] is not self):
            entry = None
        if depth is not None:
            if entry is None:
                entry = ctx.states[key] = (raw, self, self.new_state())
            return self.fill(raw, ctx, depth, entry[2])
        if entry is None:
            return self.fill(raw, ctx, None, self.new_state())
        del ctx.states[key]
        return self.fill(raw, ctx, None, entry[2])


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
        end = n - 1 if n and depth is not None and (depth + 1 < len(ctx.stack) or ctx.str_open) else n
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
                if self.item.plain_str and ctx.open_string_in(depth):  # type: ignore[arg-type]
                    ctx.tail = (_put_last, out, None)
        return out


def _put_last(out: list[Any], slot: Any, v: Any) -> None:
    out[-1] = v


def _put_item(out: dict[Any, Any], slot: Any, v: Any) -> None:
    if v is _MISSING:
        out.pop(slot, None)
    else:
        out[slot] = v


def _put_attr(out: Any, slot: str, v: Any) -> None:
    out.__dict__[slot] = None if v is _MISSING else v


def _put_field(out: BaseModel, slot: str, v: Any) -> None:
    out.__dict__[slot] = None if v is _MISSING else v
    if v is not _MISSING:
        out.__pydantic_fields_set__.add(slot)


class _Mapping(_Container):
    """A JSON object converted key by key: keys are only ever appended, and all but the
    last are finished, so each chunk converts only the keys added since the last one."""

    # Maps a raw key to (output slot, value node), or None to skip the key.
    lookup: Callable[[str], tuple[Any, _Node] | None]
    put: Callable[[Any, Any, Any], None] = staticmethod(_put_item)  # type: ignore[assignment]
    new: Callable[[], Any] = dict  # makes an empty output

    def new_state(self) -> list[Any]:
        return [self.new(), 0]  # output, raw keys converted

    def fill(self, raw: dict[str, Any], ctx: _Ctx, depth: int | None, state: list[Any]) -> Any:
        out, done = state
        n = len(raw)
        if not done or (depth is None and ctx.dups):  # dups: repeated keys moved to the end
            keys = list(raw)
        elif n - done == 1:
            keys = [next(reversed(raw))]
        else:
            keys = list(islice(reversed(raw), n - done))[::-1]
        open_tail = depth is not None and bool(keys) and (depth + 1 < len(ctx.stack) or ctx.str_open)
        last = len(keys) - 1
        lookup, put = self.lookup, self.put
        for i, k in enumerate(keys):
            e = lookup(k)
            if e is not None:
                put(out, e[0], e[1].conv(raw[k], ctx, depth + 1 if open_tail and i == last else None))  # type: ignore[operator]
        if open_tail and e is not None and e[1].plain_str and ctx.open_string_in(depth):  # type: ignore[arg-type]
            ctx.tail = (put, out, e[0])
        state[1] = n - 1 if open_tail else n
        return out


class _Dict(_Mapping):
    def __init__(self, key: _Node, value: _Node) -> None:
        self.key, self.value = key, value
        self.ptype = dict[key.ptype, value.ptype]  # type: ignore[name-defined]

    def lookup(self, key: str) -> tuple[Any, _Node] | None:  # type: ignore[override]
        k = self.key.conv(key, _CLOSED, None)
        return None if k is _MISSING else (k, self.value)


class _Record(_Mapping):
    """BaseModel, TypedDict or dataclass: named fields, all optional in the partial form."""

    def __init__(self) -> None:
        self.by_key: dict[str, tuple[str, _Node]] = {}  # JSON key -> (attribute, node)
        self.lookup = self.by_key.get  # type: ignore[method-assign]

    def score(self, raw: dict[str, Any]) -> int:
        """How well `raw` fits this record, for picking a union member."""
        s = 0
        for k, v in raw.items():
            e = self.by_key.get(k)
            if e is None:
                s -= 1
            elif e[1].literals and type(v) is str and not any(str(x).startswith(v) for x in e[1].literals):
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
            self.plain_str = self.single.plain_str

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
        (issubclass(tp, BaseModel) and not issubclass(tp, RootModel))
        or is_typeddict(tp)
        or dataclasses.is_dataclass(tp)
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
    partial: dict[str, Any] = {}
    if issubclass(tp, BaseModel):
        by_name = tp.model_config.get("populate_by_name") or tp.model_config.get("validate_by_name")
        for fname, f in tp.model_fields.items():
            node = _plan(Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation)
            key = f.validation_alias if isinstance(f.validation_alias, str) else f.alias or fname
            record.by_key[key] = (fname, node)
            if by_name:
                record.by_key.setdefault(fname, (fname, node))
            partial[fname] = (Optional[node.ptype], Field(default=None, alias=f.alias, description=f.description))  # noqa: UP007
        cls: Any = create_model(
            name, __config__=_PARTIAL_CONFIG, __doc__=tp.__doc__, __module__=tp.__module__, **partial
        )
        record.new, record.ptype, record.put = _model_factory(cls), cls, _put_field  # type: ignore[method-assign]
        return
    hints = get_type_hints(tp, include_extras=True)
    is_td = is_typeddict(tp)
    for fname in hints if is_td else [f.name for f in dataclasses.fields(tp) if f.init]:  # type: ignore[arg-type]
        hint = hints[fname]
        if get_origin(hint) in (Required, NotRequired, ReadOnly):
            hint = get_args(hint)[0]
        node = _plan(hint)
        record.by_key[fname] = (fname, node)
        partial[fname] = Optional[node.ptype]  # noqa: UP007
    if is_td:
        record.ptype = TypedDict(name, partial, total=False)  # type: ignore[misc]
    else:
        cls = dataclasses.make_dataclass(name, [(k, t, dataclasses.field(default=None)) for k, t in partial.items()])
        record.new, record.ptype, record.put = cls, cls, _put_attr  # type: ignore[method-assign]


def _model_factory(cls: type[BaseModel]) -> Callable[[], BaseModel]:
    """A fast `cls.model_construct()` for the all-None partial model (4x faster per item)."""
    empty, setattr_ = dict(cls.model_construct().__dict__), object.__setattr__

    def new() -> BaseModel:
        m = cls.__new__(cls)
        setattr_(m, "__dict__", empty.copy())
        setattr_(m, "__pydantic_fields_set__", set())
        setattr_(m, "__pydantic_extra__", None)
        setattr_(m, "__pydantic_private__", None)
        return m

    probe = new()
    return new if probe == cls.model_construct() and probe.model_fields_set == set() else cls.model_construct


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
        self._ctx = _Ctx((), False, False, {})  # states of open containers, by id
        self._closed: tuple[Any, Any] | None = None  # (raw, converted) once raw is finished

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
            ctx, depth = _Ctx((), False, False, {}), None
        else:
            parser.value  # noqa: B018  # stores the open string's latest text in its container
            ctx = self._ctx
            ctx.stack, ctx.str_open, ctx.dups = parser.open_containers, parser.string_open, parser.duplicate_keys > 0
            ctx.tail = None
            depth = _locate(raw, ctx)
            if depth is None and self._closed is not None and self._closed[0] is raw:
                return self._closed[1]
        if depth is not None:
            v = self._node.conv(raw, ctx, depth)
            return None if v is _MISSING else v
        try:
            value = self._adapter.validate_python(raw)
        except ValidationError:
            value = self._node.conv(raw, ctx, None)
            value = None if value is _MISSING else value
        if parser is not None:
            self._closed = (raw, value)
        return value

    def grow_open_text(self, text: str) -> bool:
        """After a chunk that only added text to the open string (the parser's `shape_version`
        unchanged since the last `convert`): show `text` in that string's slot of the live
        output, as `convert` would, and return True; False when `convert` is needed (the open
        string is not shown as is, e.g. it is validated, or it is the whole value)."""
        tail = self._ctx.tail
        if tail is None:
            return False
        put, out, slot = tail
        put(out, slot, text)
        return True
