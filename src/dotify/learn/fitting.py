"""The fit-and-measure loop: fit a model on a train part, score it on the validation part.

The one loop behind ``dotify train``, ``evaluate``, every ``tune`` trial, every ``compare``
row and the nightly job; ``fit_seconds`` is its one name for the fit time.
"""

from __future__ import annotations

import time
from typing import Any

from dotify.learn import evaluation
from dotify.learn.ratings import Ratings
from dotify.models import Recommender


def fit_and_evaluate(model: Recommender, train: Ratings, validation: Ratings, k: int = 10,
                     cold: bool = False) -> dict[str, Any]:
    """Fit ``model`` on ``train`` and measure it: ``train_epr`` (on the training ratings
    themselves), ``val_epr``, ``val_epr_filtered``, the top-k metrics, ``per_country`` and
    ``fit_seconds``; with ``cold`` (parts from a cold-song split) also ``cold_epr``.

    The model never sees ``validation`` while fitting: a model that stops early picks its
    epochs on a part of ``train`` it holds out itself, so the reported metrics stay honest."""
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    scores = model.score()
    val = evaluation.evaluate_scores(scores, validation, train, k)
    metrics = {
        "train_epr": evaluation.epr_from_scores(scores, train.matrix),
        "val_epr": val.pop("epr"),
        "val_epr_filtered": val.pop("epr_filtered"),
        **val,
        "fit_seconds": fit_seconds,
    }
    if cold:
        from dotify.learn.coldstart import cold_epr

        metrics["cold_epr"] = cold_epr(scores, train, validation)
    return metrics
