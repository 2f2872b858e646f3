"""Ratings on Spark: the window's streams summed per (market, song) in Spark, then built into
``Ratings`` by the same code as the local SQL read (:func:`dotify.learn.ratings.from_totals`),
so ids, metadata, scaling, info and per-song chart dates match the local engine's.

Everything Spark runs is built-in SQL (and the JVM's ALS), so executors need no Python
packages beyond pyspark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from dotify.config import Settings
from dotify.countries import GLOBAL
from dotify.errors import ConfigError
from dotify.learn.ratings import Ratings, from_totals
from dotify.learn.window import DataWindow
from dotify.spark.export import export_entries, jdbc_url_for, read_jdbc, read_parquet
from dotify.spark.session import session_for
from dotify.store.totals import COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("dotify")


def aggregate(entries: DataFrame, window: DataWindow | None = None) -> DataFrame:
    """Sum streams per (market, song) over ``window``, as :func:`dotify.store.totals.chart_totals`
    does in SQL. Returns (market, song_id, streams, first_date, last_date)."""
    from pyspark.sql import functions as F

    window = window or DataWindow()
    rows = entries.where(F.col("market") != GLOBAL)
    if window.start is not None:
        rows = rows.where(F.col("chart_date") >= F.lit(window.start))
    if window.end is not None:
        rows = rows.where(F.col("chart_date") <= F.lit(window.end))
    if window.kind is not None:
        rows = rows.where(F.col("kind") == window.kind)
    if window.n_top_songs is not None:
        rows = rows.orderBy(F.col("chart_date").desc(), "market", "position") \
            .limit(window.n_top_songs)
    summed = rows.groupBy("market", "song_id").agg(
        F.sum("streams").alias("streams"), F.min("chart_date").alias("first_date"),
        F.max("chart_date").alias("last_date"))
    if window.since is not None:
        summed = summed.where(F.col("last_date") >= F.lit(window.since))
    return summed


def collect_ratings(summed: DataFrame, song_frame: DataFrame, window: DataWindow) -> Ratings:
    """Bring :func:`aggregate`'s (small) result to the driver, join the song metadata and
    build ``Ratings`` exactly as the local read does, song dates included."""
    table = summed.join(song_frame, "song_id", "left").select(*COLUMNS).toArrow()
    totals = {name: table.column(name).to_numpy(zero_copy_only=False) for name in COLUMNS}
    if any(k is None for k in totals["key"]):
        raise ConfigError("chart entries refer to songs missing from the songs table; "
                          "export again (the store changed during the export?)")
    return from_totals(totals, window)


def spark_ratings(spark: SparkSession, settings: Settings, db: Engine,
                  window: DataWindow | None = None, jdbc_url: str | None = None) -> Ratings:
    """The store's ratings built by Spark: over JDBC when ``jdbc_url`` (or
    ``settings.spark_jdbc_url``) is set ("auto": derived from the database URL), else from a
    fresh Parquet export of the store behind ``db``."""
    url = jdbc_url or settings.spark_jdbc_url
    if url == "auto":
        url = jdbc_url_for(settings.db_url)
    if url:
        entries, song_frame = read_jdbc(spark, url)
    else:
        folder = settings.spark_export_dir or settings.home / "spark"
        entries, song_frame = read_parquet(spark, export_entries(db, folder))
    window = window or DataWindow()
    return collect_ratings(aggregate(entries, window), song_frame, window)


def reader(settings: Settings, db: Engine) -> Callable[[DataWindow], Ratings]:
    """A function from a window to the store's ratings built by Spark on
    ``settings.spark_master``; the session stays active so that ``spark-als`` trains on it."""
    def read(window: DataWindow) -> Ratings:
        return spark_ratings(session_for(settings), settings, db, window)

    return read
