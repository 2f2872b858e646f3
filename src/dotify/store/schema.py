"""The database schema (SQLAlchemy Core), shared by every module that reads or writes charts.

A chart is one (market, chart_date, kind); its entries are replaced whole when a changed file
for the same chart is ingested. Songs are keyed by Spotify track id when known, else by
``"n:" + normalised title + "|" + normalised artists``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

markets = Table(
    "markets",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("region", String(64), nullable=False),
)

artists = Table(
    "artists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(512), nullable=False, unique=True),
)

songs = Table(
    "songs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(1100), nullable=False, unique=True),
    Column("spotify_id", String(32), nullable=True),
    Column("title", String(512), nullable=False),
    Column("artists", String(1024), nullable=False),  # display form, joined with ", "
    Column("artist_id", Integer, ForeignKey("artists.id"), nullable=True),  # first artist
)

song_artists = Table(
    "song_artists",
    metadata,
    Column("song_id", Integer, ForeignKey("songs.id"), primary_key=True),
    Column("artist_id", Integer, ForeignKey("artists.id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

ingested_files = Table(
    "ingested_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),  # ok | failed | unchanged
    Column("error", Text, nullable=True),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

charts = Table(
    "charts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("market", String(8), ForeignKey("markets.code"), nullable=False),
    Column("chart_date", Date, nullable=False),  # the day, or a weekly chart's first day
    Column("kind", String(8), nullable=False),  # daily | weekly
    Column("sha256", String(64), nullable=False),
    Column("file_id", Integer, ForeignKey("ingested_files.id"), nullable=True),
    UniqueConstraint("market", "chart_date", "kind", name="uq_chart"),
)

chart_entries = Table(
    "chart_entries",
    metadata,
    Column("chart_id", Integer, ForeignKey("charts.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("song_id", Integer, ForeignKey("songs.id"), nullable=False),
    Column("streams", BigInteger, nullable=False),
    # SQLite keeps the rows in the primary key's order, without a rowid and a second tree
    # for the key: smaller and faster to write (a database made before keeps its own)
    sqlite_with_rowid=False,
)
# a song's chart history (the web's song rows); a first big load drops it and builds it
# again at the end (:meth:`dotify.store.charts.Store.bulk`), much faster than row by row
song_index = Index("ix_chart_entries_song", chart_entries.c.song_id)
Index("ix_charts_date", charts.c.chart_date)

# The ratings aggregate, kept in the transaction that writes the charts
# (:mod:`dotify.store.aggregate`): per (market, kind, song), the streams summed over every
# chart, the number of charts it is on, its first and last chart day and its best position.
song_totals = Table(
    "song_totals",
    metadata,
    Column("market", String(8), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("song_id", Integer, ForeignKey("songs.id"), primary_key=True),
    Column("streams", BigInteger, nullable=False),
    Column("days", Integer, nullable=False),
    Column("first_date", Date, nullable=False),
    Column("last_date", Date, nullable=False),
    Column("best", Integer, nullable=True),  # None only in a table from before the column
)
# the pairs charted since a day (the active pairs a model learns) without reading the rest:
# the index holds the pair, so finding them reads it alone
totals_last_index = Index("ix_song_totals_last", song_totals.c.last_date,
                          song_totals.c.market, song_totals.c.song_id)

nightly_runs = Table(
    "nightly_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),  # running | published | kept | failed
    Column("rows", Integer, nullable=True),
    Column("val_epr", Float, nullable=True),
    Column("version", String(64), nullable=True),
    Column("details", Text, nullable=True),  # JSON: per-market pulls, metrics, errors
)


def as_date(value: date | str) -> date:
    """A date column's value as a date: SQLite gives ISO text (a timestamp's too), the other
    databases dates."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
