"""``dotify compare``: train several models on one split and measure them side by side.

Every model is fitted on the same training part *without* the validation part (the ranking
network then picks its epochs on a holdout of its own), so no column of the table has seen
the ratings it is scored on. Every model gets the same tuning budget: none (each at its
defaults), or ``tune_trials`` trials of the TPE search over its own space
(:func:`dotify.learn.tuning.bayes_search`) on a split *of the training part*, after which
it is refitted on the whole training part with its best parameters. The ratings' scale is
the window's for every model, so all are scored on the same weights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from dotify.errors import ConfigError
from dotify.learn import tuning
from dotify.learn.fitting import fit_and_evaluate
from dotify.learn.ratings import Ratings
from dotify.learn.splits import SplitSpec, load_split
from dotify.learn.window import DataWindow
from dotify.models import MODEL_KINDS, accepted_params, make_model, search_space

log = logging.getLogger("dotify")

MODELS = ("imf", "net1", "net2", "net3", "net4", "net5", "bpr-net", "popularity", "random")
EPOCH_MODELS = ("net1", "net2", "net3", "net4", "net5")  # what --epochs changes
SPLITS = ("seed", "cold")
COLUMNS = ("train_epr", "val_epr", "val_epr_filtered", "ndcg@10", "fit_seconds", "tune_trials")


def compare(train: Ratings, validation: Ratings, models: Sequence[str] = MODELS,
            params: dict[str, dict[str, Any]] | None = None, epochs: int | None = None,
            seed: int = 0, cold: bool = False, progress: Callable[[str], None] | None = None,
            tune_trials: int = 0) -> dict[str, dict[str, Any]]:
    """``{kind: {train_epr, val_epr, val_epr_filtered, ndcg@10, fit_seconds, tune_trials[,
    cold_epr], params}}``: ``params`` are those the model was fitted with (the tuned ones
    with ``tune_trials``).

    ``params`` per kind override the defaults; ``epochs`` applies to networks 1-5;
    ``seed`` is every model's ``random_state``. With ``tune_trials``, each model with
    parameters to tune is first tuned with that many trials on a seed split of ``train``
    (``params`` then fix what they name). With ``cold`` (the parts come from
    :func:`dotify.learn.coldstart.cold_song_split`), ``cold_epr`` ranks the held-out songs
    among themselves.
    Each row is :func:`dotify.learn.fitting.fit_and_evaluate`'s, cut to these columns.
    """
    check_models(models)
    if tune_trials < 0:
        raise ConfigError(f"tune_trials must be >= 0, not {tune_trials}")
    say = progress or log.info
    table: dict[str, dict[str, Any]] = {}
    for kind in models:
        given = model_params(kind, (params or {}).get(kind), epochs, seed)
        budget = tune_trials if search_space(kind) else 0
        if budget:
            say(f"tuning {kind}: {budget} trials on a split of the training part")
            given = _tuned(train, kind, given, budget, seed)
        say(f"fitting {kind}")
        metrics = fit_and_evaluate(make_model(kind, **given), train, validation, k=10,
                                   cold=cold)
        metrics["tune_trials"] = budget
        table[kind] = {column: metrics[column] for column in COLUMNS + (("cold_epr",) if cold
                                                                        else ())}
        table[kind]["params"] = {k: v for k, v in given.items() if v is not None}
    return table


def _tuned(train: Ratings, kind: str, fixed: dict[str, Any], trials: int, seed: int
           ) -> dict[str, Any]:
    """``fixed`` plus the best of ``trials`` TPE trials of ``kind`` on a seed split of
    ``train`` (the ratings' scale kept)."""
    inner = SplitSpec(seed=seed)
    found = tuning.bayes_search(train, fixed, trials, inner, kind=kind, search_eps=False)
    best = min(found, key=lambda t: t["val_epr"])["params"]
    return {**fixed, **{k: v for k, v in best.items() if k in search_space(kind)}}


def compare_split(full: Ratings, models: Sequence[str] = MODELS, *,
                  split: SplitSpec | None = None, epochs: int | None = None,
                  progress: Callable[[str], None] | None = None,
                  tune_trials: int = 0) -> dict[str, dict[str, Any]]:
    """:func:`compare` on ``split`` of ``full``: the seed protocol or "cold" (hold out whole
    songs). Every model starts from its defaults (parameters saved by ``dotify tune`` are
    not used: they would tune some models and not others) and gets ``tune_trials`` trials
    of tuning."""
    check_models(models)
    split = split or SplitSpec()
    check_split(split.protocol)
    say = progress or log.info
    _, train, validation = load_split(lambda _window: full, DataWindow(), split)
    say(f"{full.shape[0]} countries x {full.shape[1]} songs; {split.protocol} split: "
        f"{train.nnz} training and {validation.nnz} held-out ratings; "
        + (f"every model tuned with {tune_trials} trials" if tune_trials
           else "every model at its defaults"))
    return compare(train, validation, models, None, epochs, split.seed,
                   split.protocol == "cold", progress, tune_trials)


def check_split(protocol: str) -> None:
    """Refuse a split compare does not run: it splits ratings in memory, and a split by date
    reads the store again."""
    if protocol not in SPLITS:
        raise ConfigError(f"unknown split {protocol!r}; choose one of {', '.join(SPLITS)}")


def model_params(kind: str, given: dict[str, Any] | None, epochs: int | None, seed: int
                 ) -> dict[str, Any]:
    """``given`` plus the seed (where the model takes one) and ``epochs`` (networks 1-5)."""
    params = dict(given or {})
    if "random_state" in accepted_params(kind):
        params.setdefault("random_state", seed)
    if epochs is not None and kind in EPOCH_MODELS:
        params["epochs"] = epochs
    return params


def check_models(models: Sequence[str]) -> None:
    unknown = [m for m in models if m not in MODEL_KINDS]
    if unknown or not models:
        raise ConfigError(f"unknown model(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                          f"choose from {', '.join(MODEL_KINDS)}")
