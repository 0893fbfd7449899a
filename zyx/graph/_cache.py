"""Compiled run graphs, reused for identical run specs: compiling costs more than running."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from zyx._models import resolve_model
from zyx._target import make_target
from zyx.graph import compile_run_graph
from zyx.graph.spec import RunSpec, check_graph_options, spec_from

MAX_CACHED = 64
_Entry = tuple[RunSpec, CompiledStateGraph[Any, Any, Any, Any], Mapping[str, Any], Any]
_cache: OrderedDict[Hashable, _Entry] = OrderedDict()
_lock = threading.Lock()


def _key(value: Any) -> Hashable:
    """A cache key by value where possible, by identity otherwise (the cached entry keeps the object alive)."""
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((repr(k), _key(v)) for k, v in value.items()), key=lambda item: item[0]))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (type(value), value)  # so that 1, 1.0 and True are different options


def cached_run_graph(
    options: Mapping[str, Any], *, checkpointer: BaseCheckpointSaver[Any] | None = None, make: bool = False
) -> tuple[RunSpec, CompiledStateGraph[Any, Any, Any, Any]]:
    """The spec and compiled graph for these options (`build_spec` keywords) and checkpointer, built once;
    `make`: make()'s graph (its answer contract, zyx.graph.answer).

    The checkpointer is part of the key by identity: two savers never share a compiled graph.
    """
    options = dict(options)
    target = options.pop("target", None)
    values = check_graph_options(options, make=make)  # before the model is resolved: a bad option never boots a model
    model = resolve_model(values["model"])
    options["model"] = model
    options["target"] = target
    key = (tuple(sorted((name, _key(value)) for name, value in options.items())),
           None if checkpointer is None else ("id", id(checkpointer)), make)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit[0], hit[1]
    spec = spec_from(values, target=make_target(target), model=model, make=make)
    graph = compile_run_graph(spec, checkpointer=checkpointer)
    with _lock:
        _cache[key] = (spec, graph, options, checkpointer)
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
    return spec, graph
