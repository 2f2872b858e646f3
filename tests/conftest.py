"""Shared fixtures: a throw-away dotify home, and the database URLs to run store tests on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dotify.config import Settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DOTIFY_HOME, also set in the environment for CLI runs."""
    folder = tmp_path / "home"
    monkeypatch.setenv("DOTIFY_HOME", str(folder))
    monkeypatch.delenv("DOTIFY_DATABASE_URL", raising=False)
    return folder


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home)


def _database_urls() -> list:
    urls = [pytest.param("sqlite", id="sqlite")]
    pg = os.environ.get("DOTIFY_TEST_POSTGRES_URL")
    marks = [] if pg else [pytest.mark.skip(reason="DOTIFY_TEST_POSTGRES_URL is not set")]
    urls.append(pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, *marks]))
    return urls


@pytest.fixture(params=_database_urls())
def db_settings(request: pytest.FixtureRequest, home: Path):  # -> Iterator[Settings]
    """Settings on SQLite, and on a fresh PostgreSQL schema when the server is given."""
    if request.param == "sqlite":
        yield Settings(home=home)
        return
    import uuid

    import sqlalchemy as sa

    url = os.environ["DOTIFY_TEST_POSTGRES_URL"]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    yield Settings(home=home, database_url=f"{url}{sep}options=-csearch_path%3D{schema}")
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def require_shared_data(*parts: str) -> Path:
    """The path under ../shared/data, or skip the test with a reason when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real chart data not found at {path} (only on development machines)")
    return path
