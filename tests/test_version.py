"""`zyx.__version__` comes from the installed distribution (pyproject.toml), with a fallback when not installed."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

import zyx
from zyx import _version

ROOT = Path(__file__).resolve().parent.parent


def test_version_is_the_installed_distributions() -> None:
    assert "__version__" in zyx.__all__
    assert zyx.__version__ == importlib.metadata.version("zyx")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert zyx.__version__ == declared, "the installed zyx is not this tree's: reinstall with pip install -e ."


def test_version_without_an_installed_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    try:
        reloaded = importlib.reload(_version)
        assert reloaded.__version__ == _version.UNKNOWN == "0+unknown"
        assert re.fullmatch(r"\d+(\+[a-z]+)?", reloaded.__version__)  # still a valid PEP 440 version
    finally:
        monkeypatch.undo()
        importlib.reload(_version)
    assert _version.__version__ == zyx.__version__
