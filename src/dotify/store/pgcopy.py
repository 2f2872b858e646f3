"""PostgreSQL's fast paths for chart writes (the psycopg driver).

On PostgreSQL a multi-row ``INSERT ... RETURNING`` or a lookup of hundreds of row values is
a statement that grows with its rows: the driver splits and converts it on the client and
the server plans it, which cost a big load more than the rows themselves. Here instead:

* new rows take their ids from the table's sequence first (:func:`new_ids`), then go in by
  ``COPY`` (:func:`copy_rows`); the chart entries, the bulk of every load, by a binary
  ``COPY`` packed with numpy (:func:`copy_entries`);
* lookups and updates of many rows pass their values as arrays (``unnest``): one statement
  of a few parameters, whatever the rows.

Driver errors come out as SQLAlchemy's (``IntegrityError`` and the rest), as from Core, so
the store's retry on a conflict with another writer works the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_TRAILER = b"\xff\xff"
# one chart entry in COPY's binary form: 4 fields, each its length then its big-endian value
_ENTRY = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("chart_id", ">i4"), ("l2", ">i4"),
                   ("position", ">i4"), ("l3", ">i4"), ("song_id", ">i4"), ("l4", ">i4"),
                   ("streams", ">i8")])


def fast(conn: Connection) -> bool:
    """Whether ``conn`` takes these paths (PostgreSQL through psycopg)."""
    return conn.dialect.driver == "psycopg"


@contextmanager
def driver_errors(conn: Connection, sql: str) -> Iterator[None]:
    """The DBAPI's errors raised as SQLAlchemy's, as Core raises them."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi_error) from exc


def new_ids(conn: Connection, table: sa.Table, count: int) -> list[int]:
    """``count`` new ids from the sequence of ``table``'s id column, in increasing order."""
    if count == 0:
        return []
    query = sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :count)")
    return sorted(conn.execute(query, {"table": table.name, "count": count}).scalars())


def insert_with_ids(conn: Connection, table: sa.Table, columns: Sequence[str],
                    rows: Sequence[Sequence[object]]) -> list[int]:
    """Insert ``rows`` of ``columns`` into ``table`` with ids from its sequence, by
    ``COPY``: the new ids, in the order of the rows."""
    ids = new_ids(conn, table, len(rows))
    copy_rows(conn, table, ["id", *columns],
              ((i, *row) for i, row in zip(ids, rows, strict=True)))
    return ids


def copy_rows(conn: Connection, table: sa.TableClause, columns: Sequence[str],
              rows: Iterable[Sequence[object]]) -> None:
    """``COPY`` rows of ``columns`` into ``table``, in ``conn``'s transaction."""
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    raw = conn.connection.driver_connection
    assert raw is not None
    with driver_errors(conn, sql), raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def copy_entries(conn: Connection, table: sa.TableClause, entries: np.ndarray) -> None:
    """``COPY`` chart entries (rows of chart id, position, song id, streams) in binary."""
    packed = np.empty(len(entries), _ENTRY)
    packed["fields"] = 4
    packed["l1"] = packed["l2"] = packed["l3"] = 4
    packed["l4"] = 8
    packed["chart_id"], packed["position"], packed["song_id"], packed["streams"] = entries.T
    sql = f"COPY {table.name} (chart_id, position, song_id, streams) FROM STDIN (FORMAT BINARY)"
    raw = conn.connection.driver_connection
    assert raw is not None
    with driver_errors(conn, sql), raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(_HEADER + packed.tobytes() + _TRAILER)
