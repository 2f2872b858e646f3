"""Train/validation splits of a :class:`Ratings`, the same for the same seed.

Both parts keep the input's id maps (same rows, same columns), are disjoint, and add up to the
input. :func:`seed_split` is the original protocol (hold out a fraction of each well-rated
country's songs); :func:`date_split` trains on the past and validates on what came after.
:class:`SplitSpec` names one of these (or the cold-song split) as a value, and
:func:`load_split` reads a window's ratings and splits them, refusing empty parts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy.engine import Engine

from dotify._rng import RandomState, check_random_state
from dotify.errors import ConfigError, ModelError
from dotify.learn import ratings as ratings_mod
from dotify.learn.ratings import Ratings
from dotify.learn.window import DataWindow

log = logging.getLogger("dotify")

PROTOCOLS = ("seed", "date", "cold")


@dataclass(frozen=True)
class SplitSpec:
    """How to split ratings into train and validation, checked when built.

    ``protocol``: "seed" (hold out ``fraction`` of the songs of each country rating more than
    ``min_songs``, :func:`seed_split`), "date" (train before ``before``, :func:`date_split`)
    or "cold" (hold out ``fraction`` of whole songs,
    :func:`dotify.learn.coldstart.cold_song_split`). ``seed`` fixes the random choice.
    """

    protocol: str = "seed"
    fraction: float = 0.2
    min_songs: int = 50
    seed: int = 0
    before: date | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, "
                             f"not {self.protocol!r}")
        if isinstance(self.fraction, bool) or not 0.0 < self.fraction < 1.0:
            raise ValueError(f"fraction must be strictly between 0 and 1, not {self.fraction!r}")
        if isinstance(self.min_songs, bool) or not isinstance(self.min_songs, int) \
                or self.min_songs < 0:
            raise ValueError(f"min_songs must be an int >= 0, not {self.min_songs!r}")
        if (self.protocol == "date") != (self.before is not None):
            raise ValueError(f"the date protocol needs a date 'before' and only it takes one; "
                             f"got protocol {self.protocol!r} with before={self.before!r}")

    @classmethod
    def by(cls, before: date | None = None, **seed_protocol: Any) -> SplitSpec:
        """The date protocol when ``before`` is given, else the seed protocol."""
        if before is not None:
            return cls("date", before=before, **seed_protocol)
        return cls(**seed_protocol)

    def info(self) -> dict[str, Any]:
        """The split as JSON-ready values, for artifact meta and printed results."""
        if self.protocol == "date":
            return {"protocol": "date", "before": str(self.before)}
        return {"protocol": self.protocol, "fraction": self.fraction,
                "min_songs": self.min_songs, "seed": self.seed}


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


RatingsReader = Callable[[DataWindow], Ratings]


def date_split(read: Engine | RatingsReader, window: DataWindow, before: date
               ) -> tuple[Ratings, Ratings]:
    """Train on ``window``'s charts dated before ``before``; validate on the (country, song)
    pairs that first chart on or after it, among songs and countries already known before it.

    ``read`` is a store's engine or any function from a window to ratings (the Spark
    engine's). Both parts have the train window's id maps; validation values are the scaled
    streams of the pair after ``before`` (up to ``window.end``).
    """
    reader = _reader(read)
    if window.end is not None and window.end < before:
        raise ValueError(f"end {window.end} is before the split date {before}")
    if window.n_top_songs is not None:
        raise ValueError("date_split takes a date window (start, end), not n_top_songs")
    train = reader(window.replace(end=before - timedelta(days=1)))
    after = reader(window.replace(start=before))
    if train.nnz == 0:
        raise ValueError(f"no charts before {before}: nothing to train on")
    validation = _align(after, train)
    seen = validation.multiply(train.matrix != 0)
    new = (validation - seen).tocsr()  # pairs first seen after the split
    new.eliminate_zeros()
    info = {**train.info, "split": {"kind": "date", "before": str(before)}}
    return replace(train, info=info), replace(train.with_matrix(new), info=info)


def load_split(read: Engine | RatingsReader, window: DataWindow, split: SplitSpec
               ) -> tuple[Ratings, Ratings, Ratings]:
    """``(all ratings, train, validation)`` of ``window`` split by ``split``; the one place
    that refuses an empty window or an empty validation part, with what to do.

    ``read`` is a store's engine or a function from a window to ratings (the Spark engine).
    With the date protocol, "all ratings" are the train part (the charts before the date).
    """
    reader = _reader(read)
    if split.before is not None:  # the date protocol (SplitSpec ties the two)
        if window.n_top_songs is not None:
            raise ConfigError("a split by date takes --start/--end, not --n-top-songs")
        train, validation = date_split(reader, window, split.before)
        if validation.nnz == 0:
            raise ModelError(f"no country charts a known song for the first time on or after "
                             f"{split.before}; pick an earlier date")
        return train, train, validation
    full = reader(window)
    if full.nnz == 0:
        raise ModelError("no chart rows in the store for this window; run `dotify ingest` first")
    if split.protocol == "cold":
        from dotify.learn.coldstart import cold_song_split

        train, validation = cold_song_split(full, split.fraction, split.seed)
    else:
        train, validation = seed_split(full, split.fraction, split.min_songs, split.seed)
    if validation.nnz == 0:
        raise ModelError(f"no country rates more than {split.min_songs} songs, so nothing is "
                         "held out; lower min_songs or ingest more charts")
    return full, train, validation


def _reader(read: Engine | RatingsReader) -> RatingsReader:
    if isinstance(read, Engine):
        return partial(ratings_mod.from_store, read)
    return read


def _align(source: Ratings, target: Ratings) -> sp.csr_matrix:
    """``source``'s matrix re-indexed onto ``target``'s rows and columns (others dropped)."""
    coo = source.matrix.tocoo()
    row_of = {c: i for i, c in enumerate(target.countries)}
    # a merged song may be linked to another of its ids in each window: match on any of them
    col_of = {k: j for j, ids in enumerate(target.songs.id_lists()) for k in ids}
    rows = np.array([row_of.get(c, -1) for c in source.countries], dtype=np.int64)[coo.row]
    cols = np.array([next((col_of[k] for k in ids if k in col_of), -1)
                     for ids in source.songs.id_lists()], dtype=np.int64)[coo.col]
    keep = (rows >= 0) & (cols >= 0)
    return sp.csr_matrix((coo.data[keep], (rows[keep], cols[keep])), shape=target.shape,
                         dtype=np.float32)
