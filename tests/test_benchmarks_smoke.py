"""The benchmark suite still runs: `python -m benchmarks --quick` prints every section and writes its file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = (
    "## 1. Overhead per run",
    "## 2. Model calls per task",
    "## 3. Concurrency",
    "## 4. Streaming",
    "## 5. Graph build vs cached run()",
    "## Machine",
)


def test_quick_suite_prints_table_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "OPENAI_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for heading in SECTIONS:
        assert heading in proc.stdout, f"missing {heading!r} in:\n{proc.stdout}"
    assert "| zyx.arun |" in proc.stdout
    assert "LangGraph floor" in proc.stdout
    assert "GC ms/run" in proc.stdout and "LangGraph floor (4 supersteps)" in proc.stdout  # section 3
    assert "zyx's share, µs/chunk" in proc.stdout and "one long str field" in proc.stdout  # section 4
    written = out.read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert heading in written
    assert "Python " in written and "langgraph " in written


def test_unknown_section_is_refused() -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown section" in proc.stderr


def test_the_server_benchmark_says_what_it_needs() -> None:
    """`python -m benchmarks.server` (measured with tests/test_server.py's services) names a missing PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if k not in ("ZYX_TEST_POSTGRES_URL", "ZYX_TEST_REDIS_URL")}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.server", "--quick", "--no-write"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "no PostgreSQL: pass --postgres URL" in proc.stderr, proc.stdout + proc.stderr
