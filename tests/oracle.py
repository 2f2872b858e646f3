"""An exact dense ALS of the seed's objective, in float64 numpy: the test oracle for IMF.

Each half-step solves, for every row u, (Y^T C_u Y + lambda I) x_u = Y^T C_u p_u in closed
form (Hu, Koren & Volinsky 2008, eq. 4), countries first, then songs, as implicit does.
Only for small matrices: it builds the dense m x n confidence matrix.
"""

from __future__ import annotations

import numpy as np


def dense_objective(ratings: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float,
                    regularization: float) -> float:
    """sum_ui c_ui (p_ui - x_u . y_i)^2 + lambda (|X|^2 + |Y|^2), straight from the definition."""
    c = 1.0 + alpha * ratings
    p = (ratings > 0).astype(np.float64)
    err = p - x.astype(np.float64) @ y.astype(np.float64).T
    penalty = regularization * (np.sum(np.square(x, dtype=np.float64))
                                + np.sum(np.square(y, dtype=np.float64)))
    return float(np.sum(c * err * err) + penalty)


def solve_rows(ratings: np.ndarray, fixed: np.ndarray, alpha: float,
               regularization: float) -> np.ndarray:
    """The exact least-squares factors of every row of ``ratings`` given the other side's
    factors ``fixed`` (n x f); rows with no ratings get zeros (b = 0)."""
    fixed = fixed.astype(np.float64)
    f = fixed.shape[1]
    out = np.empty((ratings.shape[0], f))
    for u, row in enumerate(np.asarray(ratings, dtype=np.float64)):
        c = 1.0 + alpha * row
        p = (row > 0).astype(np.float64)
        a = (fixed.T * c) @ fixed + regularization * np.eye(f)
        out[u] = np.linalg.solve(a, fixed.T @ (c * p))
    return out


def als_step(ratings: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float,
             regularization: float) -> tuple[np.ndarray, np.ndarray]:
    """One ALS iteration: new country factors from ``y``, then new song factors from them."""
    x_new = solve_rows(ratings, y, alpha, regularization)
    y_new = solve_rows(ratings.T, x_new, alpha, regularization)
    return x_new, y_new
