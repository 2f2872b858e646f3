"""The Spark session: the pyspark/pyarrow and Java checks, the session and its checkpoint
folder, and moving matrices and factors between numpy and Spark frames."""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from dotify.config import Settings
from dotify.errors import MissingDependencyError

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
