"""The ratings aggregate: streams summed per (market, kind, song), kept as charts are written.

The table (:data:`dotify.store.schema.song_totals`) holds, per market, chart kind and song,
the streams summed over every chart, the number of chart entries (one per chart day), the
first and last chart day and the best position. It changes in the transaction that writes the charts
(:class:`dotify.store.charts.Store`), so it is always what the entries say:

* a new chart adds its entries (:func:`add`): streams summed, one more day, the first and
  last day widened, the best position kept;
* a replaced chart's songs, old and new, are recomputed from the entries (:func:`recompute`);
* a write that rolls back takes its changes to the aggregate with it.

The ratings read (:func:`dotify.store.totals.chart_totals`) uses it when the data window
covers the whole history (:func:`covers`), so a nightly run reads the aggregate, not every
chart entry, and so do the song standings of the web's answers
(:func:`dotify.store.song_history.song_peaks`); other windows (a start or end inside the
history, the N most recent rows) read the entries. :func:`differences` recomputes it from
the entries (``dotify stats --verify``), and a database written before the aggregate (or
its best position) existed gets it built when it is opened (:func:`ensure`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dotify.store import pgcopy
from dotify.store.schema import as_date, chart_entries, charts, song_totals, totals_last_index

if TYPE_CHECKING:
    from dotify.charts.formats import Chart
    from dotify.learn.window import DataWindow

_CHUNK = 500  # song ids per recompute statement
_KEY = ("market", "kind", "song_id")
_ADDED = "song_totals_added"  # PostgreSQL: the rows to add, COPYed in first
_VALUES = ("streams", "days", "first_date", "last_date", "best")


def add(conn: Connection, written: Iterable[tuple[Chart, Sequence[int]]]) -> None:
    """Add new charts (each with the song id of each of its rows) to the aggregate: grouped
    per (market, kind, song) with numpy, then one upsert row per group."""
    written = list(written)
    if not written:
        return
    groups: dict[tuple[str, str], int] = {}
    for chart, _ in written:
        groups.setdefault((chart.market, chart.kind), len(groups))
    sizes = [len(song_ids) for _, song_ids in written]
    song = np.fromiter(chain.from_iterable(ids for _, ids in written), np.int64, sum(sizes))
    streams = np.fromiter(chain.from_iterable(c.columns.streams for c, _ in written),
                          np.int64, len(song))
    position = np.fromiter(chain.from_iterable(c.columns.positions for c, _ in written),
                           np.int64, len(song))
    day = np.repeat([chart.chart_date.toordinal() for chart, _ in written], sizes)
    group = np.repeat([groups[(chart.market, chart.kind)] for chart, _ in written], sizes)
    key = group.astype(np.int64) << 32 | song  # song ids are below 2**31
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    summed = np.add.reduceat(streams[order], starts)
    days = np.diff(np.r_[starts, len(key)])
    first = np.minimum.reduceat(day[order], starts)
    last = np.maximum.reduceat(day[order], starts)
    best = np.minimum.reduceat(position[order], starts)
    names = list(groups)
    _upsert(conn, [(*names[k >> 32], k & 0xFFFFFFFF, s, n, date.fromordinal(f),
                    date.fromordinal(la), b)
                   for k, s, n, f, la, b in zip(key[starts].tolist(), summed.tolist(),
                                                days.tolist(), first.tolist(), last.tolist(),
                                                best.tolist(), strict=True)])


_COLUMNS = "market, kind, song_id, streams, days, first_date, last_date, best"
_UPSERT = (f"INSERT INTO song_totals ({_COLUMNS})"
           " {rows}"
           " ON CONFLICT (market, kind, song_id) DO UPDATE"
           " SET streams = song_totals.streams + excluded.streams,"
           " days = song_totals.days + excluded.days,"
           " first_date = {least}(song_totals.first_date, excluded.first_date),"
           " last_date = {greatest}(song_totals.last_date, excluded.last_date),"
           " best = {least}(coalesce(song_totals.best, excluded.best), excluded.best)")


def _upsert(conn: Connection, rows: list[tuple]) -> None:
    """Add ``rows`` to the rows already there (INSERT ... ON CONFLICT DO UPDATE), straight
    through the DBAPI cursor of ``conn``'s transaction, as the chart entries are written."""
    name = conn.dialect.name
    if pgcopy.fast(conn):  # COPY into a table of this transaction, then one statement
        conn.exec_driver_sql(f"CREATE TEMP TABLE {_ADDED} (LIKE song_totals) ON COMMIT DROP")
        pgcopy.copy_rows(conn, sa.table(_ADDED), _COLUMNS.split(", "), rows)
        conn.exec_driver_sql(_UPSERT.format(rows=f"SELECT {_COLUMNS} FROM {_ADDED}",
                                            least="least", greatest="greatest"))
        conn.exec_driver_sql(f"DROP TABLE {_ADDED}")
        return
    values = "VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}, {m})"
    if name == "sqlite":  # SQLite's scalar min() and max(); dates stored as ISO text
        sql = _UPSERT.format(rows=values.format(m="?"), least="min", greatest="max")
        rows = [(*row[:5], row[5].isoformat(), row[6].isoformat(), row[7]) for row in rows]
    elif name == "postgresql":
        sql = _UPSERT.format(rows=values.format(m="%s"), least="least", greatest="greatest")
    else:
        raise NotImplementedError(f"the ratings aggregate needs SQLite or PostgreSQL, not {name}")
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    except dbapi_error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi_error) from exc
    finally:
        cursor.close()


def recompute(conn: Connection, songs_by_chart: dict[tuple[str, str], set[int]]) -> None:
    """Recompute, from the entries, the rows of these songs in these (market, kind)s."""
    for (market, kind), ids in songs_by_chart.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start:start + _CHUNK]
            conn.execute(sa.delete(song_totals).where(
                song_totals.c.market == market, song_totals.c.kind == kind,
                song_totals.c.song_id.in_(chunk)))
            conn.execute(sa.insert(song_totals).from_select(
                list(_KEY + _VALUES),
                _from_entries().where(charts.c.market == market, charts.c.kind == kind,
                                      chart_entries.c.song_id.in_(chunk))))


def rebuild(conn: Connection) -> None:
    """The whole aggregate again from the entries."""
    conn.execute(sa.delete(song_totals))
    conn.execute(sa.insert(song_totals).from_select(list(_KEY + _VALUES), _from_entries()))


def ensure(engine: Engine) -> None:
    """Build the aggregate of a database whose charts were written before it existed, or
    before it held each song's best position; index its last chart days where a database
    from before that index has none."""
    with engine.begin() as conn:
        totals_last_index.create(conn, checkfirst=True)
        columns = {c["name"] for c in sa.inspect(conn).get_columns(song_totals.name)}
        if "best" not in columns:
            conn.execute(sa.text(f"ALTER TABLE {song_totals.name} ADD COLUMN best INTEGER"))
            rebuild(conn)
            return
        if conn.execute(sa.select(song_totals.c.song_id).limit(1)).first() is not None:
            return
        if conn.execute(sa.select(chart_entries.c.chart_id).limit(1)).first() is None:
            return
        rebuild(conn)


def _from_entries() -> sa.Select:
    """Per (market, kind, song) of the chart entries: the aggregate's columns."""
    return (sa.select(charts.c.market, charts.c.kind, chart_entries.c.song_id,
                      sa.func.sum(chart_entries.c.streams), sa.func.count(),
                      sa.func.min(charts.c.chart_date), sa.func.max(charts.c.chart_date),
                      sa.func.min(chart_entries.c.position))
            .select_from(chart_entries.join(charts, chart_entries.c.chart_id == charts.c.id))
            .group_by(charts.c.market, charts.c.kind, chart_entries.c.song_id))


def covers(conn: Connection, window: DataWindow) -> bool:
    """Whether ``window`` holds every chart of its kind, so the aggregate answers it."""
    if window.n_top_songs is not None:
        return False
    if window.start is None and window.end is None:
        return True
    days = sa.select(sa.func.min(charts.c.chart_date), sa.func.max(charts.c.chart_date))
    if window.kind is not None:
        days = days.where(charts.c.kind == window.kind)
    first, last = conn.execute(days).one()
    if first is None:
        return True
    return ((window.start is None or window.start <= as_date(first))
            and (window.end is None or window.end >= as_date(last)))


def differences(engine: Engine, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """(how many rows differ, the first ``limit`` of them) between the aggregate and a
    recomputation from the entries; each difference has the row's key, ``stored`` and
    ``expected`` (None where a row is missing)."""
    with engine.connect() as conn:
        expected = {tuple(r[:3]): _values(r[3:]) for r in conn.execute(_from_entries())}
        stored = {tuple(r[:3]): _values(r[3:]) for r in conn.execute(
            sa.select(*(song_totals.c[name] for name in _KEY + _VALUES)))}
    found = []
    for key in sorted(expected.keys() | stored.keys()):
        if expected.get(key) != stored.get(key):
            found.append({**dict(zip(_KEY, key, strict=True)),
                          "stored": stored.get(key), "expected": expected.get(key)})
    return len(found), found[:limit]


def _values(row: Sequence[Any]) -> dict[str, Any]:
    streams, days, first, last, best = row
    return {"streams": int(streams), "days": int(days), "first_date": str(as_date(first)),
            "last_date": str(as_date(last)), "best": None if best is None else int(best)}
