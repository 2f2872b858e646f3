"""Shared fixtures: a throw-away dotify home, the database URLs to run store tests on, one
``store`` on a fresh database, and a home holding a week of planted charts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dotify.config import Settings
from dotify.store.charts import Store
from dotify.store.engine import engine_for, opened
from tests._planted import insert_planted

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


@pytest.fixture
def store(db_settings: Settings) -> Iterator[Store]:
    """The chart store on a fresh database (SQLite; PostgreSQL too when its URL is given)."""
    store = Store(engine_for(db_settings))
    yield store
    store.engine.dispose()


@pytest.fixture
def planted_home(settings: Settings) -> Settings:
    """A home whose database holds one week of the planted charts (see ``_planted``)."""
    with opened(settings) as engine:
        insert_planted(engine, weeks=1)
    return settings


def require_shared_data(*parts: str) -> Path:
    """The path under ../shared/data, or skip the test with a reason when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real chart data not found at {path} (only on development machines)")
    return path
