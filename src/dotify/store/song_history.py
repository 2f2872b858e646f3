"""How songs did in the charts of given markets: peak position, streams, days, and the
position day by day. Handed an engine (SQLite or PostgreSQL, the same SQL).

A song of a model may be several store songs merged (one recording under several track
ids, see :mod:`dotify.learn.recordings`): every function takes the store keys of one song
together and merges their rows (best position, summed streams, chart days counted once).
Peaks come from the ratings aggregate (:mod:`dotify.store.aggregate`), so their cost does not
grow with history (ids of one song whose spans in a market overlap have the charts of the
overlap read, to count a shared chart once); positions day by day come from the entries.
Daily charts are read when a market has any for the song, its weekly charts otherwise, so
streams are never counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dotify.store.schema import as_date, chart_entries, charts, song_totals, songs

KIND_ORDER = ("daily", "weekly")  # the first kind a market has rows of is the one read
MAX_KEYS = 500  # store keys per call: bound the IN list


@dataclass(frozen=True)
class Peak:
    """One song in one market's charts: its best position, summed streams and chart days."""

    best: int
    streams: int
    charts: int  # how many charts (days or weeks) it was on
    kind: str  # "daily" or "weekly"


def song_peaks(engine: Engine, songs_keys: Sequence[Sequence[str]],
               markets: Sequence[str]) -> list[dict[str, Peak]]:
    """Per song (its store keys), a dict market -> :class:`Peak` for the ``markets`` where it
    charted; a market where it never charted is absent.

    >>> song_peaks(engine, [["4iJyoBOLtHqaGxP12qzhQI"]], ["co", "de"])  # doctest: +SKIP
    [{'co': Peak(best=3, streams=1843210, charts=41, kind='daily')}]
    """
    owner = {key: i for i, keys in enumerate(songs_keys) for key in keys}
    if not owner or not markets:
        return [{} for _ in songs_keys]
    if len(owner) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} song keys per call, got {len(owner)}")
    with engine.connect() as conn:
        merged = _peaks(conn, owner, markets)
    found: list[dict[str, Peak]] = [{} for _ in songs_keys]
    for kind in reversed(KIND_ORDER):  # daily written last: it wins where both exist
        for (i, market, k), peak in merged.items():
            if k == kind:
                found[i][market] = peak
    return found


def _peaks(conn: Connection, owner: dict[str, int], markets: Sequence[str],
           ) -> dict[tuple[int, str, str], Peak]:
    """Per (song, market, kind), the peak merged over the song's ids from their rows in the
    ratings aggregate (a few rows per song and market, however long the history). Where two
    ids of a song charted in one market over overlapping spans, the charts they shared are
    counted once, from the chart entries of the overlap only."""
    t = song_totals
    query = (sa.select(songs.c.key, t.c.song_id, t.c.market, t.c.kind, t.c.best, t.c.streams,
                       t.c.days, t.c.first_date, t.c.last_date)
             .select_from(t.join(songs, songs.c.id == t.c.song_id))
             # every part of the key given: one probe per (market, kind, song); the ids as
             # a subquery, else SQLite reads every song of the markets to match the keys
             .where(t.c.song_id.in_(sa.select(songs.c.id).where(songs.c.key.in_(list(owner)))),
                    t.c.market.in_(list(markets)), t.c.kind.in_(KIND_ORDER)))
    ids: dict[tuple[int, str, str], list[tuple]] = {}
    for key, song_id, market, kind, best, streams, days, first, last in conn.execute(query):
        ids.setdefault((owner[key], market, kind), []).append(
            (song_id, best, int(streams or 0), int(days), as_date(first), as_date(last)))
    peaks = {}
    for (i, market, kind), rows in ids.items():
        days = sum(row[3] for row in rows)
        if len(rows) > 1:
            days -= _shared_charts(conn, market, kind, rows)
        peaks[(i, market, kind)] = Peak(min(row[1] for row in rows),
                                        sum(row[2] for row in rows), days, kind)
    return peaks


def _shared_charts(conn: Connection, market: str, kind: str, rows: list[tuple]) -> int:
    """How many chart days the ids of ``rows`` (song id, best, streams, days, first day, last
    day) counted more than once: charts in their overlap holding two or more of them."""
    firsts = sorted(row[4] for row in rows)
    lasts = sorted((row[5] for row in rows), reverse=True)
    low, high = firsts[1], lasts[1]  # the days at least two of the spans hold
    if low > high:
        return 0
    on_chart = (sa.select(sa.func.count().label("n"))
                .select_from(chart_entries.join(charts, charts.c.id == chart_entries.c.chart_id))
                .where(charts.c.market == market, charts.c.kind == kind,
                       charts.c.chart_date >= low, charts.c.chart_date <= high,
                       chart_entries.c.song_id.in_([row[0] for row in rows]))
                .group_by(charts.c.id).subquery())
    extra = conn.execute(sa.select(sa.func.sum(on_chart.c.n - 1))).scalar()
    return int(extra or 0)


def song_positions(engine: Engine, keys: Sequence[str], markets: Sequence[str],
                   max_points: int = 400) -> dict[str, list[tuple[str, int]]]:
    """One song's (its store keys) position per chart, oldest first, per market:
    ``{market: [(ISO date, position), ...]}`` with at most ``max_points`` of the latest
    charts each; a market where it never charted is absent."""
    if not keys or not markets:
        return {}
    if len(keys) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} song keys per call, got {len(keys)}")
    query = (
        sa.select(charts.c.market, charts.c.kind, charts.c.chart_date,
                  sa.func.min(chart_entries.c.position))
        .select_from(chart_entries.join(charts, charts.c.id == chart_entries.c.chart_id)
                     .join(songs, songs.c.id == chart_entries.c.song_id))
        .where(songs.c.key.in_(list(keys)), charts.c.market.in_(list(markets)))
        .group_by(charts.c.market, charts.c.kind, charts.c.chart_date)
        .order_by(charts.c.market, charts.c.chart_date)
    )
    rows: dict[tuple[str, str], list[tuple[str, int]]] = {}
    with engine.connect() as conn:
        for market, kind, day, position in conn.execute(query):
            rows.setdefault((market, kind), []).append((str(day), int(position)))
    found: dict[str, list[tuple[str, int]]] = {}
    for (market, kind), points in rows.items():
        if market not in found or kind == KIND_ORDER[0]:
            found[market] = points[-max_points:]
    return found
