"""dotify's public Python API: what a notebook imports, each name exported from ``dotify``.

A small, stable layer over the library: open a home, read the ratings of a window, split
them, train any model kind, evaluate and tune it, save and load models, and ask it
(recommend, top, similar, fidelity, the taste map). Results convert to pandas with
``.to_pandas()`` (``pip install 'dotify[notebook]'``).

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
from dotify.api.data import Split, ingest, open_home, read_ratings, simulate, split
from dotify.api.database import StoreStats, stats, verify_aggregate
from dotify.api.learning import Metrics, evaluate, load_model, save_model, train
from dotify.api.tuning import Tuning, tune
from dotify.artifact import Artifact
from dotify.learn.ratings import Ratings

__all__ = [
    "Answer",
    "Artifact",
    "Comparison",
    "FidelityTable",
    "Metrics",
    "Ratings",
    "SimilarCountries",
    "Split",
    "StoreStats",
    "TasteMap",
    "Tuning",
    "compare",
    "evaluate",
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
    "tune",
    "verify_aggregate",
]
