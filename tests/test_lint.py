"""The code stays lint- and type-clean: ruff on everything, mypy on src (settings in pyproject)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240)


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.mark.slow  # over a second: left to make test, out of make check
def test_ruff_passes() -> None:
    result = _run([sys.executable, "-m", "ruff", "check", "src", "tests", "bench", "scripts"])
    assert result.returncode == 0, _report(result)


@pytest.mark.slow  # over a second: left to make test, out of make check
def test_mypy_passes_on_src() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed in this environment (pip install -e '.[dev]')")
    result = _run([sys.executable, "-m", "mypy", "src"])
    assert result.returncode == 0, _report(result)
    assert "Success: no issues found" in result.stdout, _report(result)
