"""The machine and package versions a results file was measured with."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PEERS = ("langchain", "pydantic-ai-slim")
ALSO = ("pydantic-core", "langgraph-checkpoint", "langgraph-prebuilt", "langsmith")


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else platform.machine()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def zyx_dependencies() -> list[str]:
    """zyx's own (non-extra) requirements, by distribution name."""
    try:
        requires = metadata.requires("zyx") or []
    except metadata.PackageNotFoundError:
        return []
    names = [re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]
    return list(dict.fromkeys(names))


def git_revision() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "zyx"], cwd=root, capture_output=True,
                               text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{' (zyx/ has uncommitted changes)' if dirty else ''}" if rev else "unknown"


def describe() -> str:
    """A markdown block describing the machine, Python and package versions."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    packages = ["zyx", *zyx_dependencies(), *ALSO, *PEERS]
    lines = [
        "## Machine",
        "",
        f"- CPU: {cpu_model()}, {cores} cores usable ({os.cpu_count()} online)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}, {sys.platform})",
        f"- zyx git revision: {git_revision()}",
        "- packages: " + ", ".join(f"{name} {_version(name)}" for name in dict.fromkeys(packages)),
        "",
    ]
    return "\n".join(lines)
