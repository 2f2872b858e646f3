"""Train/validation splits of a :class:`Ratings`, the same for the same seed.

Both parts keep the input's id maps (same rows, same columns), are disjoint, and add up to the
input. :func:`seed_split` is the original protocol (hold out a fraction of each well-rated
country's songs); :func:`date_split` trains on the past and validates on what came after.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy.engine import Engine

from dotify._rng import RandomState, check_random_state
from dotify.learn import ratings as ratings_mod
from dotify.learn.ratings import Ratings

log = logging.getLogger("dotify")


def seed_split(
    ratings: Ratings, fraction: float = 0.2, min_songs: int = 50, random_state: RandomState = 0
) -> tuple[Ratings, Ratings]:
    """Move ``fraction`` of the songs of every country rating more than ``min_songs`` songs,
    chosen at random (``int(fraction * n)`` of its ``n`` songs), to a validation matrix.

    Countries with ``min_songs`` or fewer rated songs keep all their songs in train.
    Returns ``(train, validation)``, both with the input's shape and id maps.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be strictly between 0 and 1, not {fraction!r}")
    if min_songs < 0:
        raise ValueError(f"min_songs must be >= 0, not {min_songs!r}")
    rng = check_random_state(random_state)
    matrix = ratings.matrix.tocsr()
    held = np.zeros(matrix.nnz, dtype=bool)  # mask over the stored entries
    for row in range(matrix.shape[0]):
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        n = hi - lo
        if n > min_songs:
            held[lo + rng.choice(n, size=int(fraction * n), replace=False)] = True
    return _parts(ratings, held)


def _parts(ratings: Ratings, held: np.ndarray) -> tuple[Ratings, Ratings]:
    matrix = ratings.matrix.tocsr()
    train = _masked(matrix, ~held)
    validation = _masked(matrix, held)
    raw_train = raw_val = None
    if ratings.raw is not None and ratings.raw.shape == matrix.shape:
        raw_train = ratings.raw.multiply(train != 0).tocsr()
        raw_val = ratings.raw.multiply(validation != 0).tocsr()
    log.info("split: %d train and %d validation ratings", train.nnz, validation.nnz)
    return ratings.with_matrix(train, raw_train), ratings.with_matrix(validation, raw_val)


def _masked(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    data = np.where(keep, matrix.data, 0).astype(matrix.dtype)
    out = sp.csr_matrix((data, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)
    out.eliminate_zeros()
    return out


def date_split(engine: Engine, before: date, **ratings_kwargs: Any) -> tuple[Ratings, Ratings]:
    """Train on charts dated before ``before``; validate on the (country, song) pairs that first
    chart on or after it, among songs and countries already known before it.

    ``ratings_kwargs`` go to :func:`dotify.learn.ratings.from_store` (``start``, ``end``,
    ``scaling``, ``eps``, ``kind``). Both parts have the train window's id maps; validation
    values are the scaled streams of the pair after ``before`` (up to ``end``).
    """
    end = ratings_kwargs.pop("end", None)
    if end is not None and end < before:
        raise ValueError(f"end {end} is before the split date {before}")
    if ratings_kwargs.get("n_top_songs") is not None:
        raise ValueError("date_split takes a date window (start, end), not n_top_songs")
    train = ratings_mod.from_store(engine, end=before - timedelta(days=1), **ratings_kwargs)
    after_kwargs = {k: v for k, v in ratings_kwargs.items() if k != "start"}
    after = ratings_mod.from_store(engine, start=before, end=end, **after_kwargs)
    if train.nnz == 0:
        raise ValueError(f"no charts before {before}: nothing to train on")
    validation = _align(after, train)
    seen = validation.multiply(train.matrix != 0)
    new = (validation - seen).tocsr()  # pairs first seen after the split
    new.eliminate_zeros()
    info = {**train.info, "split": {"kind": "date", "before": str(before)}}
    return replace(train, info=info), replace(train.with_matrix(new), info=info)


def _align(source: Ratings, target: Ratings) -> sp.csr_matrix:
    """``source``'s matrix re-indexed onto ``target``'s rows and columns (others dropped)."""
    coo = source.matrix.tocoo()
    row_of = {c: i for i, c in enumerate(target.countries)}
    col_of = {k: j for j, k in enumerate(target.songs.keys)}
    rows = np.array([row_of.get(c, -1) for c in source.countries], dtype=np.int64)[coo.row]
    cols = np.array([col_of.get(k, -1) for k in source.songs.keys], dtype=np.int64)[coo.col]
    keep = (rows >= 0) & (cols >= 0)
    return sp.csr_matrix((coo.data[keep], (rows[keep], cols[keep])), shape=target.shape,
                         dtype=np.float32)
