"""zyx's version: read from the installed distribution's metadata, so pyproject.toml stays its one source."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

UNKNOWN = "0+unknown"
"""The version reported when zyx is imported from a source tree that was never installed."""


def installed_version() -> str:
    """The installed zyx distribution's version, or `UNKNOWN` when it is not installed."""
    try:
        return version("zyx")
    except PackageNotFoundError:
        return UNKNOWN


__version__ = installed_version()
"""zyx's version (PEP 440), e.g. "0.1.0"; `UNKNOWN` when zyx is imported without being installed."""
