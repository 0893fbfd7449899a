"""Module-level functions for `zyx.process_tool` tests (a worker process imports this module: keep it light)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def transfer(amount: int, ledger: str, delay: float) -> str:
    """Transfer money: notes its process in the ledger, then writes the amount after `delay` seconds."""
    with open(ledger, "a") as f:
        f.write(f"start {os.getpid()}\n")
    time.sleep(delay)
    with open(ledger, "a") as f:
        f.write(f"{amount}\n")
    return f"sent {amount}"


def worker_pid() -> int:
    """The process the tool runs in."""
    return os.getpid()


def refuse(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"refused: {reason}")


def ledger_lines(ledger: str) -> list[str]:
    path = Path(ledger)
    return path.read_text().splitlines() if path.exists() else []


class Offset:
    """A callable's owner: `Offset(n).add` is a bound method, sent to the worker by value."""

    def __init__(self, n: int) -> None:
        self.n = n

    def add(self, x: int) -> int:
        """Add the offset."""
        return self.n + x
