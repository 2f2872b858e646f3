"""dotify's public Python API: what a notebook imports, each name exported from ``dotify``.

A small, stable layer over the library: open a home, see what its database holds, read the
ratings of a window, split them, train any model kind, evaluate, tune and compare kinds,
save and load models, and ask them (recommend, top, similar, fidelity, the taste map).
Every command of the ``dotify`` CLI that reads charts, learns or answers goes through it
(``train_model`` and ``evaluate_model`` are ``dotify train`` and ``dotify evaluate``).
Results convert to pandas with ``.to_pandas()`` (``pip install 'dotify[notebook]'``).

The examples of the docstrings continue one session::

    >>> import dotify
    >>> home = dotify.open_home("~/dotify-notebook")
    >>> dotify.simulate("~/charts", days=7, markets=["co", "tr", "de", "jp"]).files
    28
    >>> dotify.ingest(home, "~/charts").files_failed
    0
    >>> ratings = dotify.read_ratings(home)
    >>> train, validation = dotify.split(ratings)
    >>> model = dotify.train(train, "imf")
    >>> metrics = dotify.evaluate(model, validation, train)
    >>> live = dotify.save_model(home, dotify.train(ratings, "imf"), metrics)
"""

from __future__ import annotations

from dotify.api.answers import (
    Answer,
    FidelityTable,
    SimilarCountries,
    TasteMap,
    fidelity,
    recommend,
    similar,
    taste_map,
    top,
)
from dotify.api.comparison import Comparison, compare
from dotify.api.data import Split, active_since, ingest, open_home, read_ratings, simulate, split
from dotify.api.database import StoreStats, stats, verify_aggregate
from dotify.api.home_models import (
    Evaluation,
    evaluate_model,
    load_model,
    save_model,
    train_model,
)
from dotify.api.learning import Metrics, evaluate, train
from dotify.api.tuning import Tuning, tune
from dotify.artifact import Artifact
from dotify.learn.ratings import Ratings

__all__ = [
    "Answer",
    "Artifact",
    "Comparison",
    "Evaluation",
    "FidelityTable",
    "Metrics",
    "Ratings",
    "SimilarCountries",
    "Split",
    "StoreStats",
    "TasteMap",
    "Tuning",
    "active_since",
    "compare",
    "evaluate",
    "evaluate_model",
    "fidelity",
    "ingest",
    "load_model",
    "open_home",
    "read_ratings",
    "recommend",
    "save_model",
    "similar",
    "simulate",
    "split",
    "stats",
    "taste_map",
    "top",
    "train",
    "train_model",
    "tune",
    "verify_aggregate",
]
