"""A big first load: the chart entries' song index and foreign-key checks set aside while it
runs, then built and checked once, for every row, when it ends.

Kept row by row, the song index takes random-order inserts and every entry's two foreign
keys are looked up one at a time (on PostgreSQL by a trigger per row, most of a COPY's time).
Built once at the end, the index is a sort, and the keys are checked by one pass over the
table. :func:`relaxed` gives the connection to write the load through: on SQLite it has
foreign-key enforcement off (a per-connection setting), on PostgreSQL the entries' foreign
keys are dropped for the load. When it ends, however it ends, the index and the keys come
back; a row that refers to no chart or song then fails the load with a
:class:`~dotify.errors.StoreError`. A process killed in between leaves them to
:func:`repair`, which :func:`dotify.store.engine.create_engine` runs on every open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dotify.errors import StoreError
from dotify.store.schema import chart_entries, song_index


@contextmanager
def relaxed(engine: Engine) -> Iterator[Connection]:
    """A connection for the load's writes (each one a transaction of its own)."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # outside any transaction, where SQLite takes it
            cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        with conn.begin():
            song_index.drop(conn, checkfirst=True)
            if not sqlite:
                for name in _foreign_keys(conn):
                    conn.execute(sa.text(f'ALTER TABLE chart_entries DROP CONSTRAINT "{name}"'))
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                # the writes' big page cache (dotify.store.charts) makes the index build
                # that follows slower, not faster: about 1.5x at a year of charts
                conn.exec_driver_sql(f"PRAGMA cache_size={cache}")
                conn.commit()
            repair(conn, check=True)


def repair(conn: Connection, check: bool = False) -> None:
    """Build the song index and (PostgreSQL) add the entries' foreign keys where a load left
    them out, checking every entry's keys then (or when ``check``); StoreError when an entry
    refers to no chart or song (the index is built all the same)."""
    with conn.begin():
        missing = not sa.inspect(conn).has_index(chart_entries.name, str(song_index.name))
        if missing:
            song_index.create(conn)
    if conn.dialect.name == "sqlite":
        if check or missing:
            dangling = conn.exec_driver_sql("PRAGMA foreign_key_check(chart_entries)").all()
            conn.rollback()
            if dangling:
                raise StoreError(f"{len(dangling):,} chart entries refer to no chart or song "
                                 "(the store is damaged)")
        return
    try:
        with conn.begin():
            if not _foreign_keys(conn):
                for constraint in chart_entries.foreign_key_constraints:
                    conn.execute(sa.text(_add_foreign_key(constraint)))
    except sa.exc.IntegrityError as exc:
        raise StoreError(f"chart entries refer to no chart or song (the store is damaged): "
                         f"{exc.orig}") from exc


def _add_foreign_key(constraint: sa.ForeignKeyConstraint) -> str:
    """The ALTER TABLE of one of the entries' foreign keys (sa.schema.AddConstraint would
    leave the constraint out of every later CREATE TABLE of the metadata)."""
    columns = ", ".join(column.name for column in constraint.columns)
    referred = ", ".join(element.column.name for element in constraint.elements)
    cascade = f" ON DELETE {constraint.ondelete}" if constraint.ondelete else ""
    return (f"ALTER TABLE {chart_entries.name} ADD FOREIGN KEY ({columns}) "
            f"REFERENCES {constraint.referred_table.name} ({referred}){cascade}")


def _foreign_keys(conn: Connection) -> list[str]:
    return [str(fk["name"]) for fk in sa.inspect(conn).get_foreign_keys(chart_entries.name)
            if fk.get("name")]
