"""Cold songs: a split that holds out whole songs, and EPR among those songs only.

Networks 4 and 5 can rank a song no country was seen playing, from its title and artist;
:func:`cold_song_split` makes such songs and :func:`cold_epr` measures how well a model
ranks them against each other.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dotify._rng import RandomState, check_random_state
from dotify.learn.evaluation import epr_from_scores
from dotify.learn.ratings import Ratings


def cold_song_split(ratings: Ratings, fraction: float = 0.2, random_state: RandomState = 0
                    ) -> tuple[Ratings, Ratings]:
    """Move every rating of ``round(fraction * n)`` of the ``n`` rated songs, chosen at
    random, to the test part. Returns ``(train, test)`` with the input's shape and id maps;
    the held-out songs' columns are empty in train."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be strictly between 0 and 1, not {fraction!r}")
    matrix = sp.csr_matrix(ratings.matrix)
    rated = np.flatnonzero(matrix.getnnz(axis=0) > 0)
    n_cold = int(round(fraction * len(rated)))
    if n_cold < 1 or n_cold >= len(rated):
        raise ValueError(f"fraction {fraction} of {len(rated)} rated songs leaves no song "
                         "on one side; use more songs or another fraction")
    cold = np.zeros(matrix.shape[1], dtype=bool)
    cold[check_random_state(random_state).choice(rated, n_cold, replace=False)] = True
    held = cold[matrix.indices]
    return (ratings.with_matrix(_keep(matrix, ~held), _raw_part(ratings, ~cold)),
            ratings.with_matrix(_keep(matrix, held), _raw_part(ratings, cold)))


def cold_songs(train: Ratings, test: Ratings) -> np.ndarray:
    """Column indices of the songs rated in ``test`` but never in ``train``."""
    in_test = sp.csr_matrix(test.matrix).getnnz(axis=0) > 0
    in_train = sp.csr_matrix(train.matrix).getnnz(axis=0) > 0
    return np.flatnonzero(in_test & ~in_train)


def cold_epr(scores: np.ndarray, train: Ratings, test: Ratings) -> float:
    """EPR of the test ratings of cold songs, each country's cold songs ranked among all the
    cold songs only (0.5 is a random order)."""
    cold = cold_songs(train, test)
    if not len(cold):
        raise ValueError("the test part has no cold song (every test song is also in train)")
    return epr_from_scores(np.asarray(scores)[:, cold], sp.csr_matrix(test.matrix)[:, cold])


def _keep(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    out = sp.csr_matrix((np.where(keep, matrix.data, 0), matrix.indices.copy(),
                         matrix.indptr.copy()),
                        shape=matrix.shape)
    out.eliminate_zeros()
    return out


def _raw_part(ratings: Ratings, columns: np.ndarray) -> sp.csr_matrix | None:
    if ratings.raw is None:
        return None
    return sp.csr_matrix(ratings.raw).multiply(columns[None, :].astype(np.float64)).tocsr()
