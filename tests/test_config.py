"""Settings: everything under one home, overridable database URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from dotify.config import Settings


def test_all_state_lives_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h")
    assert settings.db_url == f"sqlite:///{tmp_path / 'h' / 'dotify.db'}"
    for folder in (settings.charts_dir, settings.models_dir, settings.reports_dir):
        assert folder.is_relative_to(tmp_path / "h")


def test_environment_sets_home_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOTIFY_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("DOTIFY_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    settings = Settings()
    assert settings.home == tmp_path / "env-home"
    assert settings.db_url == "postgresql+psycopg://u@127.0.0.1/db"


def test_invalid_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source"):
        Settings(home=tmp_path, source="ftp")  # type: ignore[arg-type]


@pytest.mark.slow  # over a second: left to make test, out of make check
def test_cli_reports_a_bad_setting_in_words(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DOTIFY_HOME": str(tmp_path), "DOTIFY_ENGINE": "hadoop"}
    done = subprocess.run([sys.executable, "-m", "dotify", "stats"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "invalid settings: DOTIFY_ENGINE: Input should be 'local' or 'spark'" in done.stderr
    assert "Traceback" not in done.stderr
