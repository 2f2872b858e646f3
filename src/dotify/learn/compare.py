"""``dotify compare``: train several models on one split and measure them side by side.

Every model is fitted on the same training part *without* the validation part (the ranking
network then picks its epochs on a holdout of its own), so no column of the table has seen
the ratings it is scored on.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from dotify.config import Settings
from dotify.errors import ConfigError, ModelError
from dotify.learn import evaluation, splits, training, tuning
from dotify.learn.coldstart import cold_epr, cold_song_split
from dotify.learn.ratings import Ratings
from dotify.models import MODEL_KINDS, make_model, model_class

log = logging.getLogger("dotify")

MODELS = ("imf", "net1", "net2", "net3", "net4", "net5", "bpr-net", "popularity", "random")
EPOCH_MODELS = ("net1", "net2", "net3", "net4", "net5")  # what --epochs changes
SPLITS = ("seed", "cold")
COLUMNS = ("train_epr", "val_epr", "val_epr_filtered", "ndcg@10", "seconds")


def compare(train: Ratings, validation: Ratings, models: Sequence[str] = MODELS,
            params: dict[str, dict[str, Any]] | None = None, epochs: int | None = None,
            seed: int = 0, cold: bool = False, progress: Callable[[str], None] | None = None
            ) -> dict[str, dict[str, float]]:
    """``{kind: {train_epr, val_epr, val_epr_filtered, ndcg@10, seconds[, cold_epr]}}``.

    ``params`` per kind override the defaults; ``epochs`` applies to networks 1-5;
    ``seed`` is every model's ``random_state``. With ``cold`` (the parts come from
    :func:`cold_song_split`), ``cold_epr`` ranks the held-out songs among themselves.
    ``seconds``: the fit time.
    """
    check_models(models)
    say = progress or log.info
    table: dict[str, dict[str, float]] = {}
    for kind in models:
        say(f"fitting {kind}")
        model = make_model(kind, **model_params(kind, (params or {}).get(kind), epochs, seed))
        started = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - started
        scores = model.score()
        val = evaluation.evaluate_scores(scores, validation, train, k=10)
        table[kind] = {"train_epr": evaluation.epr_from_scores(scores, train.matrix),
                       "val_epr": val["epr"], "val_epr_filtered": val["epr_filtered"],
                       "ndcg@10": val["ndcg@10"], "seconds": seconds}
        if cold:
            table[kind]["cold_epr"] = cold_epr(scores, train, validation)
    return table


def compare_store(settings: Settings, models: Sequence[str] = MODELS, *,
                  epochs: int | None = None, seed: int = 0, split: str = "seed",
                  fraction: float = 0.2, min_songs: int = 50, start: date | None = None,
                  end: date | None = None, n_top_songs: int | None = None,
                  progress: Callable[[str], None] | None = None
                  ) -> dict[str, dict[str, float]]:
    """:func:`compare` on the store's ratings in a window, split by the seed protocol
    (``split="seed"``) or by holding out whole songs (``"cold"``). IMF uses the parameters
    ``dotify tune`` saved, when there are any."""
    check_models(models)
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    say = progress or log.info
    imf, data_params = training.split_params(tuning.load_best_params(settings))
    full = training.load_ratings(settings, start, end, n_top_songs, data_params)
    if full.nnz == 0:
        raise ModelError("no chart rows in the store for this window; run `dotify ingest` first")
    if split == "seed":
        train, validation = splits.seed_split(full, fraction, min_songs, seed)
    else:
        train, validation = cold_song_split(full, fraction, seed)
    if validation.nnz == 0:
        raise ModelError(f"no country rates more than {min_songs} songs, so nothing is held "
                         "out; lower min_songs or ingest more charts")
    say(f"{full.shape[0]} countries x {full.shape[1]} songs; {split} split: {train.nnz} "
        f"training and {validation.nnz} held-out ratings; IMF params {imf or 'defaults'}")
    return compare(train, validation, models, {"imf": imf}, epochs, seed, split == "cold",
                   progress)


def model_params(kind: str, given: dict[str, Any] | None, epochs: int | None, seed: int
                 ) -> dict[str, Any]:
    """``given`` plus the seed (where the model takes one) and ``epochs`` (networks 1-5)."""
    cls = model_class(kind)
    accepted = set(getattr(cls, "defaults", {})) | set(inspect.signature(cls).parameters)
    params = dict(given or {})
    if "random_state" in accepted:
        params.setdefault("random_state", seed)
    if epochs is not None and kind in EPOCH_MODELS:
        params["epochs"] = epochs
    return params


def check_models(models: Sequence[str]) -> None:
    unknown = [m for m in models if m not in MODEL_KINDS]
    if unknown or not models:
        raise ConfigError(f"unknown model(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                          f"choose from {', '.join(MODEL_KINDS)}")
