"""The store's rows as the Spark engine reads them: chart entries and songs, streamed in
batches for a Parquet export, and the same as plain SQL for a JDBC read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.store.schema import chart_entries, charts, songs

ENTRIES_SQL = (
    "SELECT c.market AS market, c.chart_date AS chart_date, c.kind AS kind, "
    "e.position AS position, e.song_id AS song_id, e.streams AS streams "
    "FROM chart_entries e JOIN charts c ON c.id = e.chart_id"
)
SONGS_SQL = "SELECT id AS song_id, key, title, artists, spotify_id FROM songs"
# read through these types whatever the driver reports (SQLite keeps dates as text)
ENTRIES_TYPES = ("market STRING, chart_date STRING, kind STRING, position INT, song_id LONG, "
                 "streams LONG")
SONGS_TYPES = "song_id LONG, key STRING, title STRING, artists STRING, spotify_id STRING"


def entry_rows(engine: Engine, batch_rows: int) -> Iterator[Sequence[Any]]:
    """Every chart entry as (market, chart_date, kind, position, song_id, streams), in
    batches of ``batch_rows`` (the rows are streamed, memory stays flat)."""
    query = (sa.select(charts.c.market, charts.c.chart_date, charts.c.kind,
                       chart_entries.c.position, chart_entries.c.song_id,
                       chart_entries.c.streams)
             .select_from(chart_entries.join(charts, chart_entries.c.chart_id == charts.c.id)))
    return _batches(engine, query, batch_rows)


def song_rows(engine: Engine, batch_rows: int) -> Iterator[Sequence[Any]]:
    """Every song as (song_id, key, title, artists, spotify_id), in batches."""
    query = sa.select(songs.c.id, songs.c.key, songs.c.title, songs.c.artists,
                      songs.c.spotify_id)
    return _batches(engine, query, batch_rows)


def _batches(engine: Engine, query: sa.Select, batch_rows: int) -> Iterator[Sequence[Any]]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(query)
        yield from result.partitions(batch_rows)
