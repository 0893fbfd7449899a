"""Objects named on the command line: `--tool module:function` and `--target module:Name`, imported from the current
directory (or a path/to/file.py), and `--target`'s type expressions."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from zyx._cli_types import UsageError, parse_type_expression


def import_object(spec: str, option: str) -> Any:
    """`package.module:name` (or `path/to/file.py:name`, or `module:Outer.Inner`) imported from the current directory."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(option, f"expected module:name (e.g. mytools:search), got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: modules next to you are importable
    try:
        module = _load_file(module_name) if module_name.endswith(".py") else importlib.import_module(module_name)
    except UsageError:
        raise
    except ImportError as exc:
        raise UsageError(option, f"cannot import {module_name!r}: {exc}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the user's module failed (or called sys.exit()) while importing: nothing ran
        raise UsageError(option, f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    value: Any = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise UsageError(option, f"{module_name!r} has no attribute {attr!r}") from None
    return value


def _load_file(path: str) -> Any:
    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError("--tool/--target", f"no such file: {path}")
    name = f"_zyx_cli_{file.stem}_{abs(hash(str(file.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:  # a half-run module must not be found by the next import
        sys.modules.pop(name, None)
        raise
    return module


def parse_target(text: str | None) -> Any:
    """The `--target` option as a type: a safe type expression, or `module:Name`."""
    if text is None:
        return None
    text = text.strip()
    if ":" in text and "[" not in text and "'" not in text and '"' not in text:
        return import_object(text, "--target")
    return parse_type_expression(text)


def parse_tools(specs: list[str] | None) -> list[Any]:
    """Each `--tool module:function`, imported; `module:a,b` imports several from one module."""
    tools = []
    for spec in specs or []:
        module_name, _, names = spec.rpartition(":")
        for name in names.split(","):
            tool = import_object(f"{module_name}:{name.strip()}", "--tool")
            if not callable(tool) and not hasattr(tool, "invoke"):
                raise UsageError("--tool", f"{spec!r} is not a function or a LangChain tool")
            tools.append(tool)
    return tools
