"""Implicit Matrix Factorization (Hu, Koren & Volinsky 2008) with ``implicit``'s ALS.

The seed's objective, over every (country u, song i) pair::

    sum_ui c_ui (p_ui - x_u . y_i)^2 + lambda (sum_u |x_u|^2 + sum_i |y_i|^2)

with p_ui = 1 where the rating r_ui > 0 (else 0) and c_ui = 1 + alpha * r_ui. implicit reads
the values of its users x items matrix as the confidences themselves (missing entries weigh 1),
so we pass ``1 + alpha * r`` on the observed entries and keep implicit's own alpha at 1.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu import _als
from implicit.cpu.als import AlternatingLeastSquares
from implicit.recommender_base import ModelFitError as ImplicitFitError
from threadpoolctl import threadpool_limits

from dotify.errors import ModelFitError
from dotify.learn.ratings import Ratings
from dotify.models.base import IMF_SPACE, Recommender

log = logging.getLogger("dotify")

SOLVERS = ("cg", "cholesky")
_CHUNK = 1 << 16  # non-zeros per block when computing the loss (bounded temporaries)


def confidence(matrix: sp.spmatrix, alpha: float) -> sp.csr_matrix:
    """``1 + alpha * r`` on the stored non-zero ratings, CSR float32 (zeros dropped first)."""
    conf = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    conf.eliminate_zeros()
    conf.data = (1.0 + alpha * conf.data).astype(np.float32)
    return conf


def objective(conf: sp.csr_matrix, x: np.ndarray, y: np.ndarray, regularization: float) -> float:
    """The seed's loss for confidences ``conf`` (CSR, 1 + alpha r on the non-zeros), without a
    dense matrix: sum over all pairs of (x.y)^2 is sum((X^T X) * (Y^T Y)); the non-zeros add
    c (1 - s)^2 - s^2 with s = x_u . y_i. Costs O(nnz f + (m + n) f^2). A numpy reference:
    the fit tracks the same value with implicit's native (threaded) loss."""
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    dense_part = float(np.sum((x64.T @ x64) * (y64.T @ y64)))
    s = _dots_on_nonzeros(conf, x, y).astype(np.float64)
    c = conf.data.astype(np.float64)
    correction = float(np.sum(c * (1.0 - s) ** 2 - s * s))
    penalty = regularization * (float(np.sum(x64 * x64)) + float(np.sum(y64 * y64)))
    return dense_part + correction + penalty


def _dots_on_nonzeros(conf: sp.csr_matrix, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x_u . y_i for every stored (u, i) of ``conf``, in CSR order."""
    out = np.empty(conf.nnz, dtype=np.result_type(x, y))
    if conf.shape[0] * 64 <= conf.nnz:  # few, long rows (countries): one gemv per row
        for u in range(conf.shape[0]):
            lo, hi = conf.indptr[u], conf.indptr[u + 1]
            out[lo:hi] = y[conf.indices[lo:hi]] @ x[u]
        return out
    rows = np.repeat(np.arange(conf.shape[0]), np.diff(conf.indptr))
    for lo in range(0, conf.nnz, _CHUNK):  # many short rows: gather in bounded blocks
        hi = min(lo + _CHUNK, conf.nnz)
        out[lo:hi] = np.einsum("ij,ij->i", x[rows[lo:hi]], y[conf.indices[lo:hi]])
    return out


class IMF(Recommender):
    """Countries x songs IMF by implicit's CPU ALS (float32).

    ``factors`` f, ``alpha`` (confidence slope), ``regularization`` (lambda), ``iterations``,
    ``solver`` ("cg": implicit's fast conjugate gradient, "cholesky": the exact solve),
    ``random_state`` (int seed of the initial factors), ``track_loss`` (the objective after
    every iteration into ``history``; off, only the final loss is recorded: each evaluation
    costs about a quarter of an ALS iteration), ``num_threads`` (0: all cores).

    The defaults (f = 10, alpha = 0.3, lambda = 0.1, 15 iterations, with the ratings' default
    eps = 1000) come from the real 2019-2021 weekly charts: validation EPR 0.174 on the seed
    protocol (mean of split seeds 0-2), against 0.211 for the seed's own f = 30, alpha = 0.1,
    lambda = 10 and 0.285 for popularity (``scripts/realdata_core.py``). With only ~55
    countries as rows, more factors overfit.
    """

    kind = "imf"

    search_space = IMF_SPACE

    def __init__(self, factors: int = 10, alpha: float = 0.3, regularization: float = 0.1,
                 iterations: int = 15, solver: str = "cg", random_state: int = 0,
                 track_loss: bool = False, num_threads: int = 0) -> None:
        _check_params(factors, alpha, regularization, iterations, solver, num_threads)
        super().__init__(factors=int(factors), alpha=float(alpha),
                         regularization=float(regularization), iterations=int(iterations),
                         solver=solver, random_state=int(random_state),
                         track_loss=bool(track_loss), num_threads=int(num_threads))

    def fit(self, train: Ratings, validation: Ratings | None = None, *,
            initial: tuple[np.ndarray, np.ndarray] | None = None) -> Self:
        """Fit on ``train``; ``initial`` = (country factors, song factors) to start from
        instead of implicit's random start (the oracle test uses it)."""
        conf = confidence(train.matrix, self.params["alpha"])
        with threadpool_limits(1, "blas"):  # implicit is slow with threaded BLAS
            als = self._als()
            if initial is not None:
                als.user_factors, als.item_factors = _initial(initial, train.shape,
                                                              self.params["factors"])
            self.history = []
            record = self._tracker(als, conf)
            callback = record if self.params["track_loss"] else None
            try:
                als.fit(conf, show_progress=False, callback=callback)
            except ImplicitFitError:
                pass  # check_finite below says what to change
            if not self.history:
                record(self.params["iterations"] - 1, 0.0, None)
        self.country_factors = np.ascontiguousarray(als.user_factors, dtype=np.float32)
        self.song_factors = np.ascontiguousarray(als.item_factors, dtype=np.float32)
        self.check_finite()
        return self

    def _als(self) -> AlternatingLeastSquares:
        p = self.params
        return AlternatingLeastSquares(
            factors=p["factors"], regularization=p["regularization"], alpha=1.0,
            dtype=np.float32, use_cg=p["solver"] == "cg", iterations=p["iterations"],
            calculate_training_loss=False, num_threads=p["num_threads"],
            random_state=p["random_state"],
        )

    def _tracker(self, als: AlternatingLeastSquares, conf: sp.csr_matrix) -> Any:
        lam = self.params["regularization"]
        threads = self.params["num_threads"]
        # implicit's native loss is the seed's objective divided by the total confidence of
        # all pairs (observed c plus 1 per missing pair); multiply it back
        total = float(conf.data.sum(dtype=np.float64)) + conf.shape[0] * conf.shape[1] - conf.nnz
        started = time.perf_counter()

        def record(iteration: int, elapsed: float, _loss: float | None) -> None:
            loss = total * _als.calculate_loss(conf, als.user_factors, als.item_factors, lam,
                                               num_threads=threads)
            self.history.append({"iteration": iteration + 1, "loss": loss,
                                 "seconds": time.perf_counter() - started})
            log.debug("imf iteration %d: loss %.6g", iteration + 1, loss)

        return record


def _initial(initial: tuple[np.ndarray, np.ndarray], shape: tuple[int, int], factors: int
             ) -> tuple[np.ndarray, np.ndarray]:
    x, y = (np.array(a, dtype=np.float32, order="C") for a in initial)
    if x.shape != (shape[0], factors) or y.shape != (shape[1], factors):
        raise ValueError(f"initial factors of shapes {x.shape} and {y.shape} do not match "
                         f"{shape[0]} countries, {shape[1]} songs and {factors} factors")
    return x, y


def _check_params(factors: int, alpha: float, regularization: float, iterations: int,
                  solver: str, num_threads: int) -> None:
    if int(factors) < 1:
        raise ValueError(f"factors must be >= 1, not {factors!r}")
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, not {alpha!r}")
    if not regularization >= 0:
        raise ValueError(f"regularization (lambda) must be >= 0, not {regularization!r}")
    if int(iterations) < 1:
        raise ValueError(f"iterations must be >= 1, not {iterations!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, not {solver!r}")
    if int(num_threads) < 0:
        raise ValueError(f"num_threads must be >= 0 (0: all cores), not {num_threads!r}")


__all__ = ["IMF", "ModelFitError", "confidence", "objective"]
