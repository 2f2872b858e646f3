"""How songs did in the charts of given markets: peak position, streams, days, and the
position day by day. Handed an engine (SQLite or PostgreSQL, the same SQL).

A song of a model may be several store songs merged (one recording under several track
ids, see :mod:`dotify.learn.recordings`): every function takes the store keys of one song
together and merges their rows (best position, summed streams). Peaks come from the ratings
aggregate (:mod:`dotify.store.aggregate`), so their cost does not grow with history (a song
with several ids in a market, which may share a chart, is counted from the entries there);
positions day by day come from the chart entries. Daily charts
are read when a market has any for the song, its weekly charts otherwise, so streams are
never counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dotify.store.schema import chart_entries, charts, song_totals, songs

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
        merged, shared = _peaks_from_totals(conn, owner, markets)
        if shared:  # several ids of one song on one chart count once: those from the entries
            merged.update(_peaks_from_entries(
                conn, {k: i for k, i in owner.items() if i in shared}, markets))
    found: list[dict[str, Peak]] = [{} for _ in songs_keys]
    for kind in reversed(KIND_ORDER):  # daily written last: it wins where both exist
        for (i, market, k), peak in merged.items():
            if k == kind:
                found[i][market] = peak
    return found


# The index of the song a key belongs to is grouped on from a subquery: PostgreSQL cannot
# match a GROUP BY expression that carries bound parameters to the selected one.

def _peaks_from_totals(conn: Connection, owner: dict[str, int], markets: Sequence[str],
                       ) -> tuple[dict[tuple[int, str, str], Peak], set[int]]:
    """The peaks from the ratings aggregate (a few rows per song and market, however long
    the history), and the songs with more than one id in a market, whose chart days may
    overlap there."""
    t = song_totals
    rows = (sa.select(sa.case(owner, value=songs.c.key).label("song"), t.c.market, t.c.kind,
                      t.c.best, t.c.streams, t.c.days)
            .select_from(t.join(songs, songs.c.id == t.c.song_id))
            .where(songs.c.key.in_(list(owner)), t.c.market.in_(list(markets)))
            .subquery())
    query = (sa.select(rows.c.song, rows.c.market, rows.c.kind, sa.func.min(rows.c.best),
                       sa.func.sum(rows.c.streams), sa.func.sum(rows.c.days), sa.func.count())
             .group_by(rows.c.song, rows.c.market, rows.c.kind))
    peaks, shared = {}, set()
    for i, market, kind, best, streams, days, ids in conn.execute(query):
        peaks[(int(i), market, kind)] = Peak(int(best), int(streams or 0), int(days), kind)
        if ids > 1:
            shared.add(int(i))
    return peaks, shared


def _peaks_from_entries(conn: Connection, owner: dict[str, int], markets: Sequence[str],
                        ) -> dict[tuple[int, str, str], Peak]:
    """The peaks summed from the chart entries, each chart counted once."""
    rows = (
        sa.select(sa.case(owner, value=songs.c.key).label("song"), charts.c.market,
                  charts.c.kind, charts.c.id.label("chart"), chart_entries.c.position,
                  chart_entries.c.streams)
        .select_from(chart_entries.join(charts, charts.c.id == chart_entries.c.chart_id)
                     .join(songs, songs.c.id == chart_entries.c.song_id))
        .where(songs.c.key.in_(list(owner)), charts.c.market.in_(list(markets)))
        .subquery()
    )
    query = (sa.select(rows.c.song, rows.c.market, rows.c.kind, sa.func.min(rows.c.position),
                       sa.func.sum(rows.c.streams), sa.func.count(sa.distinct(rows.c.chart)))
             .group_by(rows.c.song, rows.c.market, rows.c.kind))
    return {(int(i), market, kind): Peak(int(best), int(streams or 0), int(count), kind)
            for i, market, kind, best, streams, count in conn.execute(query)}


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
