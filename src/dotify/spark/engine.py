"""Spark as dotify's distributed engine: the session, chart entries in, scaled ratings out.

The chart entries reach Spark one of two ways:

* a Parquet export that dotify writes from its own database (:func:`export_entries`, with
  ``pyarrow``), read by :func:`read_parquet` - the dependable path, no JDBC driver needed;
* the database itself over JDBC (:func:`read_jdbc`), when the user supplies the driver jar
  (``DOTIFY_SPARK_JARS`` -> ``spark.jars``) and a JDBC URL (``DOTIFY_SPARK_JDBC_URL``).

:func:`aggregate` then sums streams per (market, song) and scales them in Spark exactly as
``dotify.learn.ratings`` does locally, and :func:`collect_ratings` brings the (small) result back
as a :class:`~dotify.learn.ratings.Ratings` with the local id maps. Everything Spark runs is
built-in SQL and the JVM's ALS, so executors need no Python packages beyond pyspark.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
import scipy.sparse as sp
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.config import Settings
from dotify.countries import GLOBAL
from dotify.errors import ConfigError, MissingDependencyError
from dotify.learn import ratings as ratings_mod
from dotify.learn.ratings import Ratings, Songs
from dotify.store.schema import chart_entries, charts, songs

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("dotify")

INSTALL_HINT = "pip install 'dotify[spark]'"
JAVA_HINT = ("install Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless) "
             "or set JAVA_HOME")
DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.cleaner.referenceTracking.cleanCheckpoints": "true",
}


def require_spark() -> None:
    """Raise :class:`MissingDependencyError` naming what to install when Spark cannot run."""
    for module in ("pyspark", "pyarrow"):
        try:
            __import__(module)
        except ImportError as exc:
            raise MissingDependencyError(
                f"the Spark engine needs {module}, which is not installed: {INSTALL_HINT}"
            ) from exc
    version = java_version()
    if version is None:
        raise MissingDependencyError(f"the Spark engine needs Java, none was found: {JAVA_HINT}")
    if version < 17:
        raise MissingDependencyError(f"Spark 4 needs Java 17 or newer, found Java {version}: "
                                     f"{JAVA_HINT}")


def java_version() -> int | None:
    """The major version of the ``java`` Spark will start ($JAVA_HOME first), None if none."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def session(master: str | None = "local[*]", conf: Mapping[str, str] | None = None,
            jars: str | None = None) -> SparkSession:
    """A Spark session (reused when one is running); ``master=None`` keeps spark-submit's."""
    require_spark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("dotify")
    if master and "PYSPARK_GATEWAY_PORT" not in os.environ:  # under spark-submit: its master
        builder = builder.master(master)
    settings = dict(DEFAULT_CONF)
    if master and master.startswith("local"):
        # a local run talks to itself only: bind to loopback, not the host's first interface
        settings |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    for key, value in {**settings, **(conf or {})}.items():
        builder = builder.config(key, value)
    if jars:
        builder = builder.config("spark.jars", jars)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def active_session() -> SparkSession:
    """The running Spark session (no checks needed then), or a new default one."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return session()  # raises MissingDependencyError with what to install
    return SparkSession.getActiveSession() or session()


def ensure_checkpoint_dir(spark: SparkSession) -> None:
    """Give Spark a checkpoint folder when it has none (a temporary one on ``local``), so
    ALS cuts its lineage every few iterations instead of overflowing the JVM's stack."""
    context = spark.sparkContext
    if context.getCheckpointDir() is not None:
        return
    if (context.master or "").startswith("local"):
        folder = tempfile.mkdtemp(prefix="dotify-spark-checkpoints-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        context.setCheckpointDir(folder)
    else:
        log.warning("spark: no checkpoint folder; set spark.checkpoint.dir to shared storage "
                    "(e.g. hdfs:///tmp/dotify) or long ALS runs may fail with StackOverflowError")


def triples_frame(spark: SparkSession, matrix: sp.spmatrix) -> DataFrame:
    """A DataFrame (user int, item int, rating float) of the non-zeros of ``matrix``."""
    import pyarrow as pa

    coo = sp.coo_matrix(matrix)
    table = pa.table({"user": coo.row.astype(np.int32), "item": coo.col.astype(np.int32),
                      "rating": coo.data.astype(np.float32)})
    return spark.createDataFrame(table)


def collect_factors(frame: DataFrame, n: int, factors: int) -> np.ndarray:
    """Spark's (id, features) factor frame as a float32 (n, factors) array; absent ids -> 0."""
    table = frame.toArrow()
    out = np.zeros((n, factors), np.float32)
    if table.num_rows:
        ids = table.column("id").to_numpy()
        values = table.column("features").combine_chunks().flatten().to_numpy()
        out[ids] = values.reshape(len(ids), factors)
    return out


def spark_info(spark: SparkSession) -> dict[str, Any]:
    """Where it ran: master and default parallelism, for logs and artifact meta."""
    context = spark.sparkContext
    return {"spark_master": context.master, "spark_parallelism": context.defaultParallelism,
            "spark_version": spark.version}


def session_for(settings: Settings, master: str | None = None) -> SparkSession:
    """A session on ``master`` (default ``settings.spark_master``) with ``settings.spark_jars``."""
    return session(master or settings.spark_master, jars=settings.spark_jars)


# --- chart entries in -------------------------------------------------------------------

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
JDBC_DRIVERS = {"jdbc:postgresql:": "org.postgresql.Driver", "jdbc:sqlite:": "org.sqlite.JDBC",
                "jdbc:mysql:": "com.mysql.cj.jdbc.Driver",
                "jdbc:mariadb:": "org.mariadb.jdbc.Driver"}


def export_entries(engine: Engine, folder: Path, batch_rows: int = 200_000) -> Path:
    """Write the store's chart entries and songs to ``folder``/{entries,songs}.parquet.

    Streams the rows in batches (memory stays flat) and renames each file into place, so
    Spark never reads half an export. Returns ``folder``.
    """
    import pyarrow as pa

    folder.mkdir(parents=True, exist_ok=True)
    entries = (sa.select(charts.c.market, charts.c.chart_date, charts.c.kind,
                         chart_entries.c.position, chart_entries.c.song_id,
                         chart_entries.c.streams)
               .select_from(chart_entries.join(charts, chart_entries.c.chart_id == charts.c.id)))
    entry_schema = pa.schema([("market", pa.string()), ("chart_date", pa.date32()),
                              ("kind", pa.string()), ("position", pa.int32()),
                              ("song_id", pa.int64()), ("streams", pa.int64())])
    song_query = sa.select(songs.c.id, songs.c.key, songs.c.title, songs.c.artists,
                           songs.c.spotify_id)
    song_schema = pa.schema([("song_id", pa.int64()), ("key", pa.string()),
                             ("title", pa.string()), ("artists", pa.string()),
                             ("spotify_id", pa.string())])
    n_entries = _write_parquet(engine, entries, entry_schema, folder / "entries.parquet",
                               batch_rows)
    n_songs = _write_parquet(engine, song_query, song_schema, folder / "songs.parquet",
                             batch_rows)
    log.info("spark: exported %d chart rows and %d songs to %s", n_entries, n_songs, folder)
    return folder


def _write_parquet(engine: Engine, query: sa.Select, schema: Any, path: Path,
                   batch_rows: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    written = 0
    try:
        with engine.connect() as conn, pq.ParquetWriter(tmp, schema) as writer:
            result = conn.execution_options(stream_results=True).execute(query)
            for part in result.partitions(batch_rows):
                columns = list(zip(*part, strict=True))
                writer.write_table(pa.table(
                    [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)],
                    schema=schema))
                written += len(part)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return written


def read_parquet(spark: SparkSession, folder: Path) -> tuple[DataFrame, DataFrame]:
    """(entries, songs) frames from an export written by :func:`export_entries`."""
    missing = [n for n in ("entries.parquet", "songs.parquet") if not (folder / n).exists()]
    if missing:
        raise ConfigError(f"no Spark export in {folder}: {', '.join(missing)} missing; "
                          "run the export first (dotify does it before `--engine spark`)")
    return (spark.read.parquet(str(folder / "entries.parquet")),
            spark.read.parquet(str(folder / "songs.parquet")))


def read_jdbc(spark: SparkSession, url: str, properties: Mapping[str, str] | None = None
              ) -> tuple[DataFrame, DataFrame]:
    """(entries, songs) frames read from the database over JDBC.

    Needs the database's JDBC driver jar on Spark's class path (``DOTIFY_SPARK_JARS``), e.g.
    ``jdbc:postgresql://host/dotify`` with the PostgreSQL driver.
    """
    from pyspark.sql import functions as F

    options = {**_driver_for(url), **(properties or {})}

    def load(query: str, types: str) -> DataFrame:
        reader = (spark.read.format("jdbc").option("url", url).option("query", query)
                  .option("customSchema", types))
        for key, value in options.items():
            reader = reader.option(key, value)
        try:
            return reader.load()
        except Exception as exc:  # py4j wraps the JVM's error
            if "suitable driver" in str(exc) or "ClassNotFound" in str(exc):
                raise MissingDependencyError(
                    f"Spark has no JDBC driver for {url.split('?')[0]}: download the "
                    "database's JDBC driver jar and set DOTIFY_SPARK_JARS to its path") from exc
            raise

    entries = load(ENTRIES_SQL, ENTRIES_TYPES).withColumn("chart_date", F.to_date("chart_date"))
    return entries, load(SONGS_SQL, SONGS_TYPES)


def jdbc_url_for(db_url: str) -> str:
    """The JDBC URL of a SQLAlchemy SQLite or PostgreSQL URL (what ``auto`` stands for)."""
    url = sa.engine.make_url(db_url)
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database:
        return f"jdbc:sqlite:{Path(url.database).expanduser().resolve()}"
    if backend == "postgresql":
        params = dict(url.query)
        params |= {k: v for k, v in (("user", url.username), ("password", url.password)) if v}
        where = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
        query = f"?{urlencode(params, doseq=True)}" if params else ""
        return f"jdbc:postgresql://{where}/{url.database}{query}"
    raise ConfigError(f"cannot derive a JDBC URL for a {backend} database; set "
                      "DOTIFY_SPARK_JDBC_URL (or --jdbc-url) to the database's JDBC URL")


def _driver_for(url: str) -> dict[str, str]:
    """The driver class of well-known JDBC URLs (jars added by ``spark.jars`` are not seen by
    ``DriverManager`` unless the class is named)."""
    for prefix, driver in JDBC_DRIVERS.items():
        if url.startswith(prefix):
            return {"driver": driver}
    return {}


# --- ratings out ------------------------------------------------------------------------

def aggregate(entries: DataFrame, start: date | None = None, end: date | None = None,
              n_top_songs: int | None = None, scaling: str = "log", eps: float = 1000.0,
              kind: str | None = None) -> DataFrame:
    """Sum streams per (market, song) over the window and scale them, as ``ratings.from_store``.

    Returns (market, song_id, streams, rating, first_date, last_date); the window and the
    scalings are those of :func:`dotify.learn.ratings.from_store` and
    :func:`dotify.learn.ratings.scale`.
    """
    from pyspark.sql import functions as F

    ratings_mod.scale(np.zeros(1), scaling, eps)  # the same ValueErrors as locally
    if n_top_songs is not None and n_top_songs < 1:
        raise ValueError(f"n_top_songs must be >= 1 or None, not {n_top_songs!r}")
    if start is not None and end is not None and start > end:
        raise ValueError(f"start {start} is after end {end}")
    rows = entries.where(F.col("market") != GLOBAL)
    if start is not None:
        rows = rows.where(F.col("chart_date") >= F.lit(start))
    if end is not None:
        rows = rows.where(F.col("chart_date") <= F.lit(end))
    if kind is not None:
        rows = rows.where(F.col("kind") == kind)
    if n_top_songs is not None:
        rows = rows.orderBy(F.col("chart_date").desc(), "market", "position").limit(n_top_songs)
    summed = rows.groupBy("market", "song_id").agg(
        F.sum("streams").alias("streams"), F.min("chart_date").alias("first_date"),
        F.max("chart_date").alias("last_date"))
    return summed.withColumn("rating", _scaled(F.col("streams").cast("double"), scaling, eps))


def _scaled(r: Any, scaling: str, eps: float) -> Any:
    from pyspark.sql import functions as F

    if scaling == "log":
        return F.log1p(r / F.lit(float(eps)))
    if scaling == "written":
        return F.greatest(F.log((F.lit(1.0) + r) / F.lit(float(eps))), F.lit(0.0))
    return r


def collect_ratings(summed: DataFrame, song_frame: DataFrame, window: dict[str, Any],
                    scaling: str, eps: float) -> Ratings:
    """Bring :func:`aggregate`'s result to the driver as ``Ratings`` with the local id maps:
    rows sorted by market code, columns by song key, the same song metadata and info."""
    table = (summed.join(song_frame, "song_id", "left")
             .select("market", "key", "title", "artists", "spotify_id", "streams", "rating",
                     "first_date", "last_date").toArrow())
    col = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    if len(col["key"]) and any(k is None for k in col["key"]):
        raise ConfigError("chart entries refer to songs missing from the songs table; "
                          "export again (the store changed during the export?)")
    markets, rows = np.unique(col["market"].astype(str), return_inverse=True)
    keys, first, cols = np.unique(col["key"].astype(str), return_index=True, return_inverse=True)
    streams = col["streams"].astype(np.int64)
    shape = (len(markets), len(keys))
    raw = sp.csr_matrix((streams.astype(np.float64), (rows, cols)), shape=shape)
    raw.sort_indices()
    matrix = sp.csr_matrix((col["rating"].astype(np.float32), (rows, cols)), shape=shape)
    matrix.sort_indices()
    matrix.eliminate_zeros()
    songs_meta = _songs_of(col, first, raw)
    info = {
        "window": {k: (str(v) if isinstance(v, date) else v) for k, v in window.items()},
        "first_date": str(col["first_date"].min()) if len(streams) else None,
        "last_date": str(col["last_date"].max()) if len(streams) else None,
        "scaling": scaling, "eps": float(eps),
        "fingerprint": ratings_mod.fingerprint(markets[rows], keys[cols], streams),
    }
    log.info("spark ratings: %d countries x %d songs, %d non-zeros", *shape, matrix.nnz)
    return Ratings(matrix, markets, songs_meta, raw, info)


def _songs_of(col: dict[str, np.ndarray], first: np.ndarray, raw: sp.csr_matrix) -> Songs:
    """Song metadata per column (``first``: a row of each song), as ``ratings`` builds it."""
    urls = [ratings_mod.SPOTIFY_TRACK_URL.format(s) if s else "" for s in col["spotify_id"][first]]
    return Songs(keys=col["key"][first].astype(str), titles=col["title"][first].astype(str),
                 artists=col["artists"][first].astype(str), urls=np.array(urls, dtype=str),
                 streams=np.asarray(raw.sum(axis=0)).ravel().astype(np.int64))


def spark_ratings(spark: SparkSession, settings: Settings, start: date | None = None,
                  end: date | None = None, n_top_songs: int | None = None,
                  scaling: str = "log", eps: float = 1000.0, kind: str | None = None,
                  jdbc_url: str | None = None) -> Ratings:
    """The store's ratings built by Spark: over JDBC when ``jdbc_url`` (or
    ``settings.spark_jdbc_url``) is set ("auto": derived from the database URL), else from a
    fresh Parquet export of the store."""
    from dotify.store.engine import engine_for

    url = jdbc_url or settings.spark_jdbc_url
    if url == "auto":
        url = jdbc_url_for(settings.db_url)
    if url:
        entries, song_frame = read_jdbc(spark, url)
    else:
        folder = settings.spark_export_dir or settings.home / "spark"
        entries, song_frame = read_parquet(spark, export_entries(engine_for(settings), folder))
    summed = aggregate(entries, start, end, n_top_songs, scaling, eps, kind)
    window = {"start": start, "end": end, "n_top_songs": n_top_songs, "kind": kind}
    return collect_ratings(summed, song_frame, window, scaling, eps)


# --- what `--engine spark` runs -------------------------------------------------------

SPARK_KIND = "spark-als"
_IMF_ONLY = ("solver", "track_loss", "num_threads")
_SPARK_ONLY = ("reg_scaling", "blocks")


def model_for_spark(kind: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``imf`` becomes ``spark-als`` with the same parameters (IMF-only ones dropped); any
    other kind is kept and trains locally on the ratings Spark built."""
    if kind != "imf":
        return kind, dict(params)
    dropped = [k for k in params if k in _IMF_ONLY]
    if dropped:
        log.info("spark-als ignores the IMF-only parameters %s", ", ".join(dropped))
    return SPARK_KIND, {k: v for k, v in params.items() if k not in _IMF_ONLY}


def dotify_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without Spark-only keys: what ``imf`` (and best_params.json) accept."""
    return {k: v for k, v in params.items() if k not in _SPARK_ONLY}


def ratings_for(settings: Settings, start: date | None = None, end: date | None = None,
                n_top_songs: int | None = None, **data_params: Any) -> Ratings:
    """The store's ratings built by Spark on ``settings.spark_master``; the session stays
    active so that ``spark-als`` trains on it next."""
    return spark_ratings(session_for(settings), settings, start, end, n_top_songs,
                         **data_params)
