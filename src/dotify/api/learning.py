"""The learning half of the public API: train and evaluate models on ratings in memory."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from dotify.artifact import Artifact
    from dotify.learn.ratings import Ratings


@dataclass(frozen=True)
class Metrics(Mapping[str, float]):
    """A model's metrics on a validation part: a mapping of their means over countries
    (``metrics["val_epr"]``, also in ``means``), and each country's in ``per_country``."""

    means: dict[str, float]
    per_country: list[dict[str, Any]]

    def __getitem__(self, name: str) -> float:
        return self.means[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.means)

    def __len__(self) -> int:
        return len(self.means)

    def to_pandas(self) -> pd.DataFrame:
        """One row per country with held-out ratings, indexed by its code: ``n_test`` and
        every metric (float64; NaN where a country has no candidate to rank)."""
        from dotify.frames import records_frame

        columns = ["country", "n_test", *[k for k in self.per_country[0] if k not in
                                          ("country", "n_test")]] if self.per_country else None
        return records_frame(self.per_country, index="country", columns=columns)


def train(ratings: Ratings, kind: str | None = None, **params: Any) -> Artifact:
    """Fit a model of any kind on ratings; it answers queries at once, unsaved.

    Parameters
    ----------
    ratings : Ratings
        What to learn from: all ratings, or the ``train`` part of :func:`split`.
    kind : str, optional
        ``imf``, ``net1`` to ``net5``, ``bpr-net`` (the default), ``popularity``,
        ``random`` or ``spark-als`` (needs ``dotify[spark]``).
    **params
        The model's own parameters, e.g. ``factors=30, alpha=10.0, regularization=1.0``
        for IMF or ``epochs=20`` for a network; ``random_state`` fixes its randomness.

    Returns
    -------
    Artifact
        The fitted ``model`` with ``countries``, ``songs``, ``country_vectors``,
        ``song_vectors`` and ``meta``; pass it to :func:`evaluate`, :func:`recommend`,
        :func:`save_model`.

    Raises
    ------
    ConfigError
        For an unknown kind or a parameter the kind does not take (the message lists
        those it takes).

    Examples
    --------
    >>> model = dotify.train(train, "imf", factors=16, alpha=10.0)
    >>> model.country_vectors.shape == (len(train.countries), 16)
    True
    """
    from dotify.artifact import Artifact
    from dotify.errors import ConfigError, ModelError
    from dotify.learn.training import check_kind, shape_of, window_fields
    from dotify.models import accepted_params, default_kind, make_model

    kind = kind or default_kind()
    check_kind(kind)
    unknown = sorted(set(params) - set(accepted_params(kind)))
    if unknown:
        raise ConfigError(f"model {kind!r} takes no parameter {', '.join(map(repr, unknown))}; "
                          f"it takes {', '.join(accepted_params(kind)) or 'none'}")
    if ratings.nnz == 0:
        raise ModelError("these ratings are empty: ingest charts or widen the window")
    started = time.perf_counter()
    model = make_model(kind, **params).fit(ratings)
    model.check_finite()
    meta = {"kind": kind, "params": model.params, **shape_of(ratings),
            "ratings": window_fields(ratings), "first_date": ratings.info.get("first_date"),
            "last_date": ratings.info.get("last_date"),
            "fit_seconds": time.perf_counter() - started}
    first, last = ratings.song_dates or (None, None)
    return Artifact(model, ratings.countries, ratings.songs, meta, None, None, first, last,
                    ratings.raw)


def evaluate(model: Artifact, validation: Ratings, train: Ratings, k: int = 10,
             cold: bool = False) -> Metrics:
    """Measure a model on held-out ratings: expected percentile ranking (EPR) and top-k.

    EPR (Hu, Koren & Volinsky 2008) is where a country's held-out songs fall in its ranking
    of all songs, weighed by their ratings: 0 is the top, 0.5 a random order; lower is
    better.

    Parameters
    ----------
    model : Artifact
        From :func:`train` on ``train``.
    validation : Ratings
        The held-out part of :func:`split`.
    train : Ratings
        The part the model was fitted on: its songs are left out of the filtered EPR
        and of the top-k candidates.
    k : int, default 10
        The cut-off of precision, recall, nDCG and MAP.
    cold : bool, default False
        Also ``cold_epr``: the held-out songs never seen in training ranked among
        themselves (a ``cold`` split).

    Returns
    -------
    Metrics
        ``train_epr``, ``val_epr``, ``val_epr_filtered``, ``precision@k``, ``recall@k``,
        ``ndcg@k``, ``map@k``, ``auc`` (and ``cold_epr``); ``per_country`` and
        ``to_pandas()`` per country.

    Examples
    --------
    >>> metrics = dotify.evaluate(model, validation, train)
    >>> 0.0 < metrics["val_epr"] < 1.0
    True
    >>> metrics.to_pandas().columns[:3].tolist()
    ['n_test', 'epr', 'epr_filtered']
    """
    from dotify.learn import evaluation

    _check_same_maps(model, validation, train)
    scores = model.model.score()
    found = evaluation.evaluate_scores(scores, validation, train, k)
    per_country = found.pop("per_country")
    values = {"train_epr": evaluation.epr_from_scores(scores, train.matrix),
              "val_epr": found.pop("epr"), "val_epr_filtered": found.pop("epr_filtered"),
              **found}
    if cold:
        from dotify.learn.coldstart import cold_epr

        values["cold_epr"] = cold_epr(scores, train, validation)
    return Metrics(values, per_country)


def _check_same_maps(model: Artifact, *parts: Ratings) -> None:
    for part in parts:
        if part.shape != (len(model.countries), len(model.songs)) \
                or list(part.countries) != list(model.countries) \
                or list(part.songs.keys) != list(model.songs.keys):
            raise ValueError(f"the model's {len(model.countries)} countries x "
                             f"{len(model.songs)} songs are not those of these ratings "
                             f"{part.shape}; evaluate it on parts of the ratings it was "
                             "trained on")
