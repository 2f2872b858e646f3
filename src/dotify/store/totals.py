"""The ratings read: streams summed per (market, song) over a data window, with song metadata.

The SQL behind :func:`dotify.learn.ratings.from_store`. A window that covers the whole
history (the default, and a nightly run's) reads the ratings aggregate kept as charts are
written (:mod:`dotify.store.aggregate`), so its cost follows the number of (market, song)
pairs, not the number of chart entries; any other window sums the chart entries inside it.
A window's ``since`` keeps the pairs whose last chart day is on or after it, on either path.
The Spark engine runs the entries' selection on its own frames (``dotify.spark.ratings``),
and all hand their columns to :func:`dotify.learn.ratings.from_totals`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.charts.formats import KINDS
from dotify.countries import GLOBAL
from dotify.store import aggregate
from dotify.store.schema import (
    as_date,
    chart_entries,
    charts,
    song_totals,
    songs,
)

if TYPE_CHECKING:
    from dotify.learn.window import DataWindow

# the columns of a totals row, in order
COLUMNS = ("market", "key", "title", "artists", "spotify_id", "streams", "first_date",
           "last_date")


def chart_totals(engine: Engine, window: DataWindow) -> dict[str, list[Any]]:
    """Per (market, song) of ``window``'s chart rows (``global`` left out): the song's key,
    title, artists and Spotify id, the summed streams and the first and last chart day.

    Returns one list per name of :data:`COLUMNS` (dates as the driver gives them: text on
    SQLite, dates elsewhere)."""
    with engine.connect() as conn:
        query = _from_aggregate(window) if aggregate.covers(conn, window) else _from_entries(window)
        rows = conn.execute(query).all()
    return {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}


def newest_day(engine: Engine, kind: str | None = None) -> date | None:
    """The newest chart day of the countries' charts (of ``kind``), or None without any."""
    query = sa.select(sa.func.max(charts.c.chart_date)).where(charts.c.market != GLOBAL)
    if kind is not None:
        query = query.where(charts.c.kind == kind)
    with engine.connect() as conn:
        newest = conn.execute(query).scalar()
    return None if newest is None else as_date(newest)


def _from_aggregate(window: DataWindow) -> sa.Select:
    """The aggregate's rows of the window, summed over the kinds when none is asked. With a
    ``since``, the active pairs come from the index of the last chart day (which holds the
    pair), then their rows by primary key: the read follows the active pairs, not every pair
    the history ever held."""
    t = song_totals
    totals = (sa.select(t.c.market, t.c.song_id, sa.func.sum(t.c.streams).label("streams"),
                        sa.func.min(t.c.first_date).label("first_date"),
                        sa.func.max(t.c.last_date).label("last_date"))
              .where(t.c.market != GLOBAL)
              .group_by(t.c.market, t.c.song_id))
    if window.kind is not None:
        totals = totals.where(t.c.kind == window.kind)
    if window.since is not None:
        # a pair is active when any kind's row is (then its rows of every kind count); the
        # kinds named, so that the primary key finds each pair's rows
        active = sa.select(t.c.market, t.c.song_id).where(t.c.last_date >= window.since)
        totals = totals.where(t.c.kind.in_(KINDS),
                              sa.tuple_(t.c.market, t.c.song_id).in_(active))
        if window.kind is not None:  # a pair active in another kind only: not this one's
            totals = totals.having(sa.func.max(t.c.last_date) >= window.since)
    return _with_songs(totals.subquery("totals"))


def _from_entries(window: DataWindow) -> sa.Select:
    summed = _window_rows(window).subquery("window")
    totals = (sa.select(summed.c.market, summed.c.song_id,
                        sa.func.sum(summed.c.streams).label("streams"),
                        sa.func.min(summed.c.chart_date).label("first_date"),
                        sa.func.max(summed.c.chart_date).label("last_date"))
              .group_by(summed.c.market, summed.c.song_id))
    if window.since is not None:
        totals = totals.having(sa.func.max(summed.c.chart_date) >= window.since)
    return _with_songs(totals.subquery("totals"))


def _with_songs(totals: sa.Subquery) -> sa.Select:
    return (sa.select(totals.c.market, songs.c.key, songs.c.title, songs.c.artists,
                      songs.c.spotify_id, totals.c.streams, totals.c.first_date,
                      totals.c.last_date)
            .select_from(totals.join(songs, songs.c.id == totals.c.song_id)))


def _window_rows(window: DataWindow) -> sa.Select:
    rows = (
        sa.select(charts.c.market, chart_entries.c.song_id, chart_entries.c.streams,
                  charts.c.chart_date)
        .select_from(chart_entries.join(charts, chart_entries.c.chart_id == charts.c.id))
        .where(charts.c.market != GLOBAL)
    )
    if window.start is not None:
        rows = rows.where(charts.c.chart_date >= window.start)
    if window.end is not None:
        rows = rows.where(charts.c.chart_date <= window.end)
    if window.kind is not None:
        rows = rows.where(charts.c.kind == window.kind)
    if window.n_top_songs is not None:
        rows = rows.order_by(charts.c.chart_date.desc(), charts.c.market,
                             chart_entries.c.position).limit(window.n_top_songs)
    return rows
