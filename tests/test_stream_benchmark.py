"""`python -m benchmarks.stream_latency` runs and prints its figures (a small, quick configuration)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stream_latency_benchmark_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.stream_latency", "--chunks", "100", "--reps", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for line in ("to the user receiving the first partial", "raw model astream", "zyx apartial + afinish",
                 "zyx partial + finish", "of which zyx async"):
        assert line in proc.stdout
    assert "median" in proc.stdout and "p95" in proc.stdout
