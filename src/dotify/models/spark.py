"""Implicit ALS on Spark (``pyspark.ml.recommendation.ALS``, implicitPrefs), kind "spark-als".

The factors are trained by Spark and kept as two numpy arrays, so the artifact, the evaluator,
country arithmetic and the web app treat the model like any other (loading one needs no Spark).
Spark's ALS needs integer ids: a country's id is its row in the ``Ratings`` matrix and a
song's id its column (the local id maps), so factors come back in the same order.

How dotify's parameters map onto Spark's (Hu, Koren & Volinsky 2008; Zhou et al. 2008, ALS-WR):

* ``factors`` -> ``rank``; ``iterations`` -> ``maxIter``; ``random_state`` -> ``seed``.
* ``alpha`` -> ``alpha`` unchanged. Spark's confidence is ``1 + alpha |r|`` and its preference
  is ``p = 1`` for ``r > 0``; dotify's ratings are ``>= 0``, so ``c = 1 + alpha r`` as in dotify.
* ``regularization`` (dotify's lambda) -> ``regParam`` is NOT the same number. dotify (like
  ``implicit``) adds ``lambda |x_u|^2`` per country and ``lambda |y_i|^2`` per song. Spark
  (ALS-WR) adds ``regParam * n_u |x_u|^2``, with ``n_u`` the row's count of ratings, and
  ``regParam * n_i |y_i|^2`` for songs. With 50-70 countries of thousands of songs each and
  songs that chart in a handful of countries, ``n_u`` and ``n_i`` differ by two orders of
  magnitude, so no single ``regParam`` matches both sides. As ``x -> s x, y -> y / s`` leaves the
  predictions unchanged, what matters is the product of the two sides' penalties, so the
  default ``reg_scaling="geometric"`` uses
  ``regParam = lambda / sqrt(mean n_u * mean n_i)`` (means over non-empty rows and columns),
  which gives a typical country and a typical song the product of penalties dotify gives them.
  ``reg_scaling="mean"`` uses ``lambda / mean count`` over rows and columns together, and
  ``"none"`` passes ``lambda`` to Spark unchanged (Spark's own meaning). The ``regParam``
  used is logged and kept in ``self.spark_params``.

Spark initialises factors its own way, so the factors differ from ``implicit``'s; the test
suite checks that validation EPR agrees within 0.02 for matched parameters. On the real
weekly charts (55 x 36,478, seed split, defaults) ``dotify train --no-publish --json`` gives
validation EPR 0.1747 for ``imf`` and 0.1733 with ``--engine spark``.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from dotify.learn.ratings import Ratings
from dotify.models.base import IMF_SPACE, Recommender

log = logging.getLogger("dotify")

REG_SCALINGS = ("geometric", "mean", "none")
SPARK_KIND = "spark-als"
_IMF_ONLY = ("solver", "track_loss", "num_threads")
_SPARK_ONLY = ("reg_scaling", "blocks")


def model_for_spark(kind: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What ``--engine spark`` trains: ``imf`` becomes ``spark-als`` with the same parameters
    (IMF-only ones dropped); any other kind is kept and trains locally on Spark's ratings."""
    if kind != "imf":
        return kind, dict(params)
    dropped = [k for k in params if k in _IMF_ONLY]
    if dropped:
        log.info("spark-als ignores the IMF-only parameters %s", ", ".join(dropped))
    return SPARK_KIND, {k: v for k, v in params.items() if k not in _IMF_ONLY}


def dotify_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without Spark-only keys: what ``imf`` (and best_params.json) accept."""
    return {k: v for k, v in params.items() if k not in _SPARK_ONLY}


class SparkALS(Recommender):
    """IMF trained by Spark's ALS; see the module docstring for the parameter mapping.

    ``factors``, ``alpha``, ``regularization`` (dotify's lambda), ``iterations`` and
    ``random_state`` mean what they mean for ``imf`` (same defaults); ``reg_scaling`` picks
    the lambda -> regParam mapping; ``blocks`` sets Spark's user and item blocks (None: the
    session's default parallelism). ``history`` holds dotify's loss of the final factors.
    """

    kind = "spark-als"
    search_space = IMF_SPACE

    def __init__(
        self,
        factors: int = 10,
        alpha: float = 0.3,
        regularization: float = 0.1,
        iterations: int = 15,
        random_state: int | None = 0,
        reg_scaling: str = "geometric",
        blocks: int | None = None,
    ) -> None:
        _check_params(factors, alpha, regularization, iterations, random_state, reg_scaling, blocks)
        super().__init__(factors=factors, alpha=alpha, regularization=regularization,
                         iterations=iterations, random_state=random_state,
                         reg_scaling=reg_scaling, blocks=blocks)
        self.spark_params: dict[str, Any] = {}

    def fit(self, train: Ratings, validation: Ratings | None = None) -> Self:
        """Train on ``train`` with the active Spark session (or a new ``local[*]`` one)."""
        from pyspark.ml.recommendation import ALS

        from dotify.spark import session as spark_session

        spark = spark_session.active_session()
        spark_session.ensure_checkpoint_dir(spark)  # ALS lineage overflows the stack otherwise
        p = self.params
        blocks = p["blocks"] or spark.sparkContext.defaultParallelism
        self.spark_params = {
            "rank": p["factors"], "maxIter": p["iterations"], "alpha": float(p["alpha"]),
            "regParam": spark_reg_param(train.matrix, p["regularization"], p["reg_scaling"]),
            "numUserBlocks": blocks, "numItemBlocks": blocks, "checkpointInterval": 5,
        }
        if p["random_state"] is not None:  # None: Spark's own fixed default seed
            self.spark_params["seed"] = p["random_state"]
        log.info("spark-als: %s on %d x %d, %d ratings", self.spark_params, *train.shape,
                 train.nnz)
        als = ALS(implicitPrefs=True, nonnegative=False, userCol="user", itemCol="item",
                  ratingCol="rating", **self.spark_params)
        fitted = als.fit(spark_session.triples_frame(spark, train.matrix))
        n_rows, n_cols = train.shape
        self.country_factors = spark_session.collect_factors(fitted.userFactors, n_rows,
                                                             p["factors"])
        self.song_factors = spark_session.collect_factors(fitted.itemFactors, n_cols,
                                                          p["factors"])
        self.check_finite()
        self.history = [{"iteration": p["iterations"], "loss": self.dotify_loss(train)}]
        return self

    def dotify_loss(self, train: Ratings) -> float:
        """dotify's (implicit's) objective of the trained factors, to compare with IMF."""
        from dotify.models.imf import confidence, objective

        conf = confidence(train.matrix, self.params["alpha"])
        return objective(conf, self.country_factors, self.song_factors,
                         self.params["regularization"])


def spark_reg_param(matrix: sp.spmatrix, regularization: float, reg_scaling: str) -> float:
    """Spark's ``regParam`` standing in for dotify's lambda on ``matrix`` (see module doc)."""
    if reg_scaling not in REG_SCALINGS:
        raise ValueError(f"reg_scaling must be one of {', '.join(REG_SCALINGS)}, "
                         f"not {reg_scaling!r}")
    csr = sp.csr_matrix(matrix)
    row_counts = np.diff(csr.indptr)
    col_counts = np.bincount(csr.indices, minlength=csr.shape[1])
    rows, cols = row_counts[row_counts > 0], col_counts[col_counts > 0]
    if reg_scaling == "none" or not len(rows):
        return float(regularization)
    if reg_scaling == "mean":
        return float(regularization) / float(np.concatenate([rows, cols]).mean())
    return float(regularization) / math.sqrt(float(rows.mean()) * float(cols.mean()))


def _check_params(factors: Any, alpha: Any, regularization: Any, iterations: Any,
                  random_state: Any, reg_scaling: Any, blocks: Any) -> None:
    checks = [
        ("factors", factors, isinstance(factors, int) and factors >= 1, "an int >= 1"),
        ("alpha", alpha, isinstance(alpha, (int, float)) and alpha >= 0, "a number >= 0"),
        ("regularization", regularization,
         isinstance(regularization, (int, float)) and regularization >= 0, "a number >= 0"),
        ("iterations", iterations, isinstance(iterations, int) and iterations >= 1,
         "an int >= 1"),
        ("random_state", random_state, random_state is None or isinstance(random_state, int),
         "an int (Spark's seed) or None"),
        ("reg_scaling", reg_scaling, reg_scaling in REG_SCALINGS,
         "one of " + ", ".join(REG_SCALINGS)),
        ("blocks", blocks, blocks is None or (isinstance(blocks, int) and blocks >= 1),
         "None or an int >= 1"),
    ]
    for name, value, ok, allowed in checks:
        if not ok or isinstance(value, bool):
            raise ValueError(f"spark-als: {name} must be {allowed}, not {value!r}")
