"""Database engines: SQLite (WAL mode) by default, any SQLAlchemy URL otherwise.

The one place engines are made (the schema is created once per engine, here); the rest of
``store/`` is handed an engine. :func:`opened` disposes of the engine when done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from dotify.config import Settings
from dotify.errors import StoreError
from dotify.store import aggregate, bulk
from dotify.store.schema import metadata

log = logging.getLogger("dotify")


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_engine(url: str) -> Engine:
    """An engine for ``url`` with the schema created; SQLite files get WAL mode."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    try:
        metadata.create_all(engine)
        with engine.connect() as conn:  # what a big load that did not finish set aside
            try:
                bulk.repair(conn)
            except StoreError as exc:  # said, not raised: the charts stay readable
                log.warning("%s", exc)
        aggregate.ensure(engine)  # a database from before the aggregate gets it built once
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot open the database at {engine.url!r}: {exc.orig}") from exc
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine for the settings' database (``DOTIFY_DATABASE_URL`` or SQLite in home)."""
    return create_engine(settings.db_url)


@contextmanager
def opened(settings: Settings) -> Iterator[Engine]:
    """The settings' engine for the duration of a ``with`` block, disposed of after it."""
    engine = engine_for(settings)
    try:
        yield engine
    finally:
        engine.dispose()
