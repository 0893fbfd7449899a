"""The package type-checks: `mypy zyx` with the project's config ([tool.mypy] in pyproject.toml) reports no errors."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)  # a cold mypy cache takes ~30 s on a fast machine
def test_mypy_reports_no_errors() -> None:
    pytest.importorskip("mypy")
    from mypy import api

    stdout, stderr, status = api.run([
        "--config-file", str(ROOT / "pyproject.toml"),
        "--cache-dir", str(ROOT / ".mypy_cache"),
        str(ROOT / "zyx"),
    ])
    assert status == 0, f"mypy found errors (exit {status}):\n{stdout}{stderr}"
