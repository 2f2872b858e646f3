"""The one interface every model implements: IMF, the neural networks, Spark ALS, baselines.

Evaluation, the artifact, the CLI and the web app use only this interface and never branch
on the model type. Every model exposes a vector per country and per song, so country
arithmetic works with any of them; ``score`` is the model's own predicted preference, which
may add biases or a network on top of the dot product.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from dotify.errors import ModelFitError
from dotify.learn.ratings import Ratings


@dataclass(frozen=True)
class Dimension:
    """One tunable parameter's range, searched on a log scale when ``log``."""

    low: float
    high: float
    log: bool = True
    integer: bool = False


# IMF's search, whether implicit or Spark fits it
IMF_SPACE = {"factors": Dimension(4, 64, integer=True), "alpha": Dimension(0.01, 100.0),
             "regularization": Dimension(0.01, 1000.0),
             "iterations": Dimension(5, 40, log=False, integer=True)}


class Recommender(ABC):
    """Fit on a train ``Ratings``; score every song for some countries."""

    kind: ClassVar[str]  # "imf", "net1".."net5", "spark-als", "popularity", "random", ...
    # what `dotify tune` searches for this kind, the same budget for every kind; none: a
    # model without parameters to tune (the baselines)
    search_space: ClassVar[dict[str, Dimension]] = {}

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = params
        self.country_factors: np.ndarray = np.empty((0, 0), np.float32)  # (n_countries, f)
        self.song_factors: np.ndarray = np.empty((0, 0), np.float32)  # (n_songs, f)
        self.history: list[dict[str, float]] = []  # per-iteration or per-epoch losses

    @abstractmethod
    def fit(self, train: Ratings, validation: Ratings | None = None) -> Self:
        """Learn from ``train`` (validation may drive early stopping); return self."""

    def chosen(self) -> dict[str, Any]:
        """What this fit chose by itself that a later fit of the kind may reuse rather than
        choose again (a network's epochs); {} by default."""
        return {}

    @classmethod
    def reusing(cls, given: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
        """``given`` params made to reuse ``chosen`` (what :meth:`chosen` returned for an
        earlier fit, as saved); ``given`` itself when this kind can reuse none of it."""
        return given

    def refit_params(self, given: dict[str, Any]) -> dict[str, Any]:
        """The params to fit this kind again on all the ratings after this fit on a part of
        them (``given``: what this fit was built with): they reuse what it chose."""
        return self.reusing(given, self.chosen())

    def score(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Predicted preference, float32 of shape (len(rows), n_songs); all rows if None."""
        users = self.country_factors if rows is None else self.country_factors[rows]
        return users @ self.song_factors.T

    def state(self) -> dict[str, np.ndarray]:
        """Arrays beyond the two factor matrices needed to score again after loading."""
        return {}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` returned (called after the factors are set)."""
        return None  # models whose factors are all they need keep nothing else

    def check_finite(self) -> None:
        for name in ("country_factors", "song_factors"):
            if not np.isfinite(getattr(self, name)).all():
                raise ModelFitError(
                    f"{self.kind}: {name} contain NaN or inf after training; lower alpha "
                    "or the learning rate, raise lambda, or scale the ratings (eps)"
                )
