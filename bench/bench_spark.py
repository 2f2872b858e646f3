"""Spark ALS beside implicit, and a 10-million-rating matrix on Spark local.

Prints (one run, side by side):
1. fit seconds of dotify's IMF (implicit) and of spark-als (Spark local) on the same
   chart-shaped matrix (60 countries x 20,000 songs), median of repeats, and their ratio;
2. a synthetic 10,000,000-rating matrix trained by spark-als on Spark local: seconds, and
   the peak memory of the Spark JVM. Skip it with DOTIFY_BENCH_SPARK_10M=0.

Run: .venv/bin/python bench/bench_spark.py  (needs pyspark, pyarrow and Java 17+)
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dotify.learn.ratings import Ratings, Songs
from dotify.models import make_model
from dotify.spark import session as spark_engine

REPEATS = 3
PARAMS = {"factors": 10, "alpha": 0.3, "regularization": 0.1, "iterations": 15}  # IMF defaults
BIG_NNZ = 10_000_000
BIG_SHAPE = (200_000, 100_000)  # users x items, 50 ratings per user on average
BIG_PARAMS = {"factors": 16, "alpha": 1.0, "regularization": 1.0, "iterations": 5}
DRIVER_MEMORY = os.environ.get("DOTIFY_BENCH_SPARK_MEMORY", "6g")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def ratings_of(matrix: sp.csr_matrix) -> Ratings:
    n_rows, n_cols = matrix.shape
    names = np.array([f"s{j}" for j in range(n_cols)])
    songs = Songs(names, names, names, np.full(n_cols, ""), np.zeros(n_cols, np.int64))
    return Ratings(matrix, np.array([f"c{i}" for i in range(n_rows)]), songs)


def chart_shaped(seed: int = 0) -> sp.csr_matrix:
    """60 countries x 20,000 songs; each country charts ~1,500 songs, popular ones likelier,
    log-scaled streams like ``ratings.scale``."""
    rng = np.random.default_rng(seed)
    n_rows, n_cols, per_row = 60, 20_000, 1_500
    popularity = 1.0 / np.arange(1, n_cols + 1) ** 0.8
    rows, cols = [], []
    for u in range(n_rows):
        rows.append(np.full(per_row, u))
        cols.append(rng.choice(n_cols, per_row, replace=False, p=popularity / popularity.sum()))
    streams = rng.lognormal(10, 1.5, n_rows * per_row)
    values = np.log1p(streams / 1000.0).astype(np.float32)
    return sp.csr_matrix((values, (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n_rows, n_cols))


def random_big(seed: int = 1) -> sp.csr_matrix:
    """Exactly BIG_NNZ distinct (user, item) ratings; items skewed (density ~ 1/sqrt(x))."""
    rng = np.random.default_rng(seed)
    n = int(BIG_NNZ * 1.05)
    rows = rng.integers(0, BIG_SHAPE[0], n, dtype=np.int64)
    cols = (BIG_SHAPE[1] * rng.random(n) ** 2).astype(np.int64)
    keys = np.unique(rows * BIG_SHAPE[1] + cols)
    keys = rng.choice(keys, BIG_NNZ, replace=False)
    values = rng.random(BIG_NNZ, dtype=np.float32) * 5 + 0.1
    return sp.csr_matrix((values, (keys // BIG_SHAPE[1], keys % BIG_SHAPE[1])),
                         shape=BIG_SHAPE)


def timed_fits(kind: str, ratings: Ratings, params: dict, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        make_model(kind, **params).fit(ratings)
        seconds.append(time.perf_counter() - started)
    return seconds


def jvm_peak_rss_mb() -> float | None:
    """The peak resident memory (VmHWM) of the Java child of this process, in MB."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(os.getpid()) and b"java" in cmdline:
            return int(fields["VmHWM"].split()[0]) / 1024
    return None


def main() -> None:
    logging.getLogger("py4j").setLevel(logging.WARNING)
    spark = spark_engine.session("local[*]", {"spark.driver.memory": DRIVER_MEMORY,
                                              "spark.sql.shuffle.partitions": "8"})
    say(f"Spark {spark.version} on {spark.sparkContext.master} "
          f"({spark.sparkContext.defaultParallelism} cores), driver memory {DRIVER_MEMORY}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    small = ratings_of(chart_shaped())
    say(f"1. chart-shaped {small.shape[0]} x {small.shape[1]}, {small.nnz:,} ratings, "
        f"{PARAMS}")
    make_model("spark-als", **{**PARAMS, "iterations": 1}).fit(small)  # warm the JVM once
    imf = timed_fits("imf", small, {**PARAMS, "track_loss": False}, REPEATS)
    als = timed_fits("spark-als", small, PARAMS, REPEATS)
    m_imf, m_als = statistics.median(imf), statistics.median(als)
    say(f"   imf (implicit)  fit: median {m_imf:.2f} s of {REPEATS}  "
          f"{[round(s, 2) for s in imf]}")
    say(f"   spark-als local fit: median {m_als:.2f} s of {REPEATS}  "
          f"{[round(s, 2) for s in als]}")
    say(f"   spark-als / imf: {m_als / m_imf:.1f}x")
    if os.environ.get("DOTIFY_BENCH_SPARK_10M", "1") == "0":
        say("2. 10M ratings: skipped (DOTIFY_BENCH_SPARK_10M=0)")
        return
    started = time.perf_counter()
    big = ratings_of(random_big())
    built = time.perf_counter() - started
    say(f"2. random {big.shape[0]:,} x {big.shape[1]:,}, {big.nnz:,} ratings "
          f"(built in {built:.1f} s), {BIG_PARAMS}")
    started = time.perf_counter()
    model = make_model("spark-als", **BIG_PARAMS).fit(big)
    seconds = time.perf_counter() - started
    peak = jvm_peak_rss_mb()
    say(f"   spark-als local fit: {seconds:.1f} s "
          f"({seconds / BIG_PARAMS['iterations']:.1f} s per iteration, factors and the "
          f"loss collected included); finite factors: "
          f"{bool(np.isfinite(model.song_factors).all())}")
    say("   Spark JVM peak resident memory: "
          + (f"{peak:,.0f} MB" if peak is not None else "unknown"))
    spark.stop()


if __name__ == "__main__":
    main()
