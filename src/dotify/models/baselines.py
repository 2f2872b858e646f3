"""Baselines every model must beat: song popularity, and seeded random scores.

Both are plain :class:`Recommender` s with factor matrices, so they save, load and score
like any other model.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from dotify._rng import check_random_state
from dotify.learn.ratings import Ratings
from dotify.models.base import Recommender


class Popularity(Recommender):
    """Every country gets the same score per song: the song's column sum of train ratings."""

    kind = "popularity"

    def __init__(self) -> None:
        super().__init__()

    def fit(self, train: Ratings, validation: Ratings | None = None) -> Self:
        totals = np.asarray(train.matrix.sum(axis=0), dtype=np.float32).reshape(-1, 1)
        self.country_factors = np.ones((train.shape[0], 1), dtype=np.float32)
        self.song_factors = totals
        return self


class RandomScores(Recommender):
    """Scores from random factors drawn with ``random_state``: EPR about 0.5."""

    kind = "random"

    def __init__(self, factors: int = 8, random_state: int = 0) -> None:
        if factors < 1:
            raise ValueError(f"factors must be >= 1, not {factors!r}")
        super().__init__(factors=factors, random_state=random_state)

    def fit(self, train: Ratings, validation: Ratings | None = None) -> Self:
        rng = check_random_state(self.params["random_state"])
        f = self.params["factors"]
        self.country_factors = rng.standard_normal((train.shape[0], f)).astype(np.float32)
        self.song_factors = rng.standard_normal((train.shape[1], f)).astype(np.float32)
        return self
