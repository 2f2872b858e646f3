"""`dotify demo` end to end on a small simulated world, as `make demo` runs it (no TTY)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dotify import artifact
from dotify.config import Settings
from dotify.jobs.nightly import runs
from dotify.store.engine import engine_for

pytestmark = pytest.mark.slow

MARKETS = '["co", "mx", "ar", "se", "no", "dk", "us", "gb"]'


def _demo(home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOTIFY_HOME": str(home), "DOTIFY_MARKETS": MARKETS,
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "dotify", "demo", "--days", "30"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def test_demo_runs_every_step_then_skips_what_is_done(home: Path) -> None:
    first = _demo(home)
    assert first.returncode == 0, first.stderr
    for step in ("simulate: 240 charts", "ingest: ", "tune: 16 settings", "train: model",
                 "nightly: run 1 ", "report: "):
        assert step in first.stderr, step
    assert f"web app:   DOTIFY_HOME={home} .venv/bin/dotify serve --port 8000" in first.stderr
    settings = Settings(home=home)
    assert (settings.reports_dir / "index.html").exists()
    assert (settings.reports_dir / "tuning_heatmap.png").exists()
    second = _demo(home)
    assert second.returncode == 0, second.stderr
    for step in ("simulate", "ingest", "tune", "train"):
        assert f"{step}: already done, skipped" in second.stderr
    assert "nightly: run 2 " in second.stderr
    recorded = runs(engine_for(settings))
    assert [r["details"]["newest"] for r in recorded] == ["2020-01-31", "2020-02-01"]
    assert artifact.current_version(settings.models_dir) in artifact.versions(settings.models_dir)
