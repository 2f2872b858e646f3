"""Chart entries into Spark: a Parquet export of the store, or the database over JDBC.

* :func:`export_entries` writes the store's chart entries and songs as Parquet (with
  ``pyarrow``), read by :func:`read_parquet`: the dependable path, no JDBC driver needed;
* :func:`read_jdbc` reads the database itself when the user supplies the driver jar
  (``DOTIFY_SPARK_JARS`` -> ``spark.jars``) and a JDBC URL (``DOTIFY_SPARK_JDBC_URL``).

The SQL of both lives in :mod:`dotify.store.exports`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.errors import ConfigError, MissingDependencyError
from dotify.store.exports import (
    ENTRIES_SQL,
    ENTRIES_TYPES,
    SONGS_SQL,
    SONGS_TYPES,
    entry_rows,
    song_rows,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("dotify")

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
    entry_schema = pa.schema([("market", pa.string()), ("chart_date", pa.date32()),
                              ("kind", pa.string()), ("position", pa.int32()),
                              ("song_id", pa.int64()), ("streams", pa.int64())])
    song_schema = pa.schema([("song_id", pa.int64()), ("key", pa.string()),
                             ("title", pa.string()), ("artists", pa.string()),
                             ("spotify_id", pa.string())])
    n_entries = _write_parquet(entry_rows(engine, batch_rows), entry_schema,
                               folder / "entries.parquet")
    n_songs = _write_parquet(song_rows(engine, batch_rows), song_schema,
                             folder / "songs.parquet")
    log.info("spark: exported %d chart rows and %d songs to %s", n_entries, n_songs, folder)
    return folder


def _write_parquet(batches: Iterator[Sequence[Any]], schema: Any, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    written = 0
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in batches:
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
