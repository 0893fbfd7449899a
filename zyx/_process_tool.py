"""`process_tool(func)`: a sync tool that runs in a worker process, so a timeout or a cancellation kills it.

Python cannot stop a thread: a sync tool cut by `tool_timeout` (or the run's `timeout`, or a
cancellation) keeps running in its worker thread and may still take effect. A tool made with
`process_tool` runs in a separate process instead, killed when its call is cut: a hard timeout.
Workers are started once (one per call running at the same time) and reused; a killed one is
replaced at the next call. `func` must be defined at module level (the worker imports its module by
name, or loads it from its file when no import finds that name, as for the CLI's `--tool file.py:f`);
its arguments and result must be picklable.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
import multiprocessing
import sys
import threading
import typing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from zyx.errors import ConfigurationError

R = TypeVar("R")

PROCESS_FUNC = "__zyx_process_func__"
"""The attribute of a `process_tool()` wrapper holding the function it runs."""

_context = multiprocessing.get_context("spawn")  # safe in a process with threads, on every platform


FunctionRef = tuple[str, str | None, str]
"""How a worker finds the function to run: (module name, module file or None, qualified name)."""


def _ref(func: Callable[..., Any]) -> FunctionRef | Callable[..., Any]:
    """What to send a worker for `func`: its `FunctionRef` when its module names it (itself, or the
    process_tool() wrapper of it), else `func` itself, pickled (a bound method, a callable object)."""
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    value: Any = module
    for part in func.__qualname__.split("."):
        value = getattr(value, part, None)
    if value is not func and getattr(value, PROCESS_FUNC, None) is not func:
        return func
    return func.__module__, getattr(module, "__file__", None), func.__qualname__


def _resolve(ref: FunctionRef) -> Callable[..., Any]:
    """The function `ref` names, in this worker: its module imported by name, or, for a module loaded from a
    file under a name no import finds (the CLI's `--tool path/file.py:f`, importlib), loaded from that file."""
    name, file, qualname = ref
    try:
        module: Any = importlib.import_module(name)
    except ImportError:
        if file is None:
            raise
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    value = module
    for part in qualname.split("."):
        value = getattr(value, part)
    return getattr(value, PROCESS_FUNC, value)  # the module may hold the process_tool() wrapper under that name


def _serve(conn: Connection) -> None:
    """A worker's loop: run each (function ref, kwargs) it is sent, send back (ok, value)."""
    functions: dict[FunctionRef, Callable[..., Any]] = {}
    target: Callable[..., Any] | None
    while True:
        try:
            ref, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if not isinstance(ref, tuple):
                target = ref  # a callable sent by value
            elif (target := functions.get(ref)) is None:
                target = functions[ref] = _resolve(ref)
            reply: tuple[bool, Any] = (True, target(**kwargs))
        except BaseException as exc:  # noqa: BLE001 - the caller re-raises it
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result or exception
            conn.send((False, TypeError(f"the tool's {'result' if reply[0] else 'exception'} cannot be sent "
                                        f"back from its worker process: {type(exc).__name__}")))


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self) -> None:
        self.conn, child = _context.Pipe()
        self.process = _context.Process(target=_serve, args=(child,), daemon=True, name="zyx-process-tool")
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


class _Pool:
    """Idle workers of one tool; a call takes one (or starts one) and gives it back when it finishes."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
        return _Worker()

    def give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)


def process_tool(func: Callable[..., R]) -> Callable[..., Any]:
    """A tool that runs the sync function `func` in a worker process, killed when its call is cut
    (`tool_timeout`, the run's `timeout`, a cancellation): use it when a late tool must not take effect.

    The tool keeps `func`'s name, docstring and signature, so the model sees the same tool.

    Args:
        func: A module-level sync function (picklable, as its arguments and result must be).

    Returns:
        An async function to pass in `tools=`.

    Raises:
        ConfigurationError: `func` is not a plain sync function.
    """
    if not callable(func) or asyncio.iscoroutinefunction(func) or not hasattr(func, "__qualname__"):
        raise ConfigurationError("tools", "process_tool() takes a module-level sync function")
    if "<locals>" in func.__qualname__ or "<lambda>" in func.__qualname__:
        raise ConfigurationError("tools", f"process_tool({func.__qualname__}): the function must be defined at "
                                 "module level, so its worker process can import it")
    if any(_is_runtime(hint) for hint in _hints(func).values()):
        raise ConfigurationError("tools", f"process_tool({func.__qualname__}): a ToolRuntime cannot be sent to "
                                 "another process; pass what the function needs as arguments")
    pool = _Pool()
    sent: list[Any] = []  # what names `func` for the workers, found at the first call (a decorated function's
                          # module holds the wrapper only once the decorator has returned)

    @functools.wraps(func)
    async def call(**kwargs: Any) -> Any:
        worker = await asyncio.to_thread(pool.take)
        try:
            if not sent:
                sent.append(_ref(func))
            worker.conn.send((sent[0], kwargs))
            ok, value = await asyncio.to_thread(worker.conn.recv)
        except BaseException:  # cut (timeout, cancellation) or broken: the call must not go on
            worker.kill()
            raise
        pool.give_back(worker)
        if ok:
            return value
        raise value

    setattr(call, PROCESS_FUNC, func)
    return call


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:  # annotations that do not resolve: nothing to recognise
        return {}


def _is_runtime(hint: Any) -> bool:
    from langgraph.prebuilt import ToolRuntime

    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(origin, ToolRuntime)
