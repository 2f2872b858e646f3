"""``dotify train`` as one library function: ratings -> split -> fit -> evaluate -> artifact.

The nightly job and the CLI call :func:`train`; :func:`fit_and_evaluate` is the part that
tuning repeats on a fixed split.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dotify import artifact as artifact_mod
from dotify.config import Settings
from dotify.errors import ConfigError, ModelError
from dotify.learn import evaluation, ratings, splits
from dotify.learn.ratings import Ratings
from dotify.models import MODEL_KINDS, Recommender, make_model
from dotify.store.engine import engine_for

log = logging.getLogger("dotify")

ENGINES = ("local", "spark")
RATINGS_PARAMS = ("eps", "scaling")  # keys of a params dict that shape the ratings, not the model
Progress = Callable[[str], None]


@dataclass
class TrainResult:
    """What :func:`train` made: the saved artifact (published unless asked not to), metrics."""

    artifact: artifact_mod.Artifact
    metrics: dict[str, Any]
    published: bool
    info: dict[str, Any] = field(default_factory=dict)


def split_params(params: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model params, ratings params): ``eps`` and ``scaling`` shape the ratings matrix."""
    params = dict(params or {})
    data = {k: params.pop(k) for k in RATINGS_PARAMS if k in params}
    return params, data


def fit_and_evaluate(model: Recommender, train: Ratings, validation: Ratings, k: int = 10
                     ) -> dict[str, Any]:
    """Fit ``model`` on ``train`` and measure it: ``train_epr`` (on the training ratings
    themselves), ``val_epr``, ``val_epr_filtered``, the top-k metrics, ``per_country`` and
    ``fit_seconds``.

    The model never sees ``validation`` while fitting: a model that stops early picks its
    epochs on a part of ``train`` it holds out itself, so the reported metrics stay honest."""
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    scores = model.score()
    val = evaluation.evaluate_scores(scores, validation, train, k)
    return {
        "train_epr": evaluation.epr_from_scores(scores, train.matrix),
        "val_epr": val.pop("epr"),
        "val_epr_filtered": val.pop("epr_filtered"),
        **val,
        "fit_seconds": fit_seconds,
    }


def train(
    settings: Settings,
    kind: str = "imf",
    params: dict[str, Any] | None = None,
    *,
    engine: str = "local",
    start: date | None = None,
    end: date | None = None,
    n_top_songs: int | None = None,
    fraction: float = 0.2,
    min_songs: int = 50,
    seed: int = 0,
    refit: bool = True,
    publish: bool = True,
    progress: Progress | None = None,
) -> TrainResult:
    """Build the ratings, split them by the seed protocol (``fraction``, ``min_songs``,
    ``seed``), fit ``kind`` with ``params``, evaluate, save an artifact and publish it.

    ``params`` may hold ``eps`` and ``scaling`` for the ratings; the rest go to the model.
    With ``refit`` the saved model is fitted again on all ratings (the metrics stay those of
    the split). ``engine`` "spark" builds the ratings in Spark (``settings.spark_master``) and
    trains ``imf`` as ``spark-als`` (see ``dotify.spark.engine``).
    """
    say = progress or (lambda message: log.info(message))
    _check_kind(kind, engine)
    model_params, data_params = split_params(params)
    if engine == "spark":
        from dotify.spark.engine import model_for_spark

        kind, model_params = model_for_spark(kind, model_params)
    say("reading charts" + (" with Spark" if engine == "spark" else ""))
    full, train_part, validation = prepare(settings, start, end, n_top_songs, data_params,
                                           fraction, min_songs, seed, engine=engine)
    say(f"fitting {kind} on {full.shape[0]} countries x {full.shape[1]} songs")
    model = make_model(kind, **model_params)
    metrics = fit_and_evaluate(model, train_part, validation)
    if refit:  # without it, the model just scored is the one saved
        model = make_model(kind, **model_params).fit(full)
    say("saving the model")
    settings.ensure_dirs()
    meta = {**_meta(full, metrics, data_params, refit, fraction, min_songs, seed),
            "engine": engine}
    saved = artifact_mod.save(model, full.countries, full.songs, settings.models_dir,
                              meta=meta, charted=full.matrix, song_dates=full.song_dates)
    if publish:
        artifact_mod.publish(settings.models_dir, saved.version)
    say(f"saved model {saved.version}" + (" and published it" if publish else ""))
    return TrainResult(saved, metrics, publish, dict(full.info))


def prepare(settings: Settings, start: date | None, end: date | None,
            n_top_songs: int | None, data_params: dict[str, Any], fraction: float = 0.2,
            min_songs: int = 50, seed: int = 0, engine: str = "local"
            ) -> tuple[Ratings, Ratings, Ratings]:
    """(all ratings, train, validation) of the store's window on the seed protocol; with
    ``engine`` "spark" the ratings are aggregated and scaled by Spark."""
    full = load_ratings(settings, start, end, n_top_songs, data_params, engine)
    if full.nnz == 0:
        raise ModelError("no chart rows in the store for this window; run `dotify ingest` first")
    train_part, validation = splits.seed_split(full, fraction, min_songs, seed)
    if validation.nnz == 0:
        raise ModelError(f"no country rates more than {min_songs} songs, so nothing is held out; "
                         "lower min_songs or ingest more charts")
    return full, train_part, validation


def load_ratings(settings: Settings, start: date | None, end: date | None,
                 n_top_songs: int | None, data_params: dict[str, Any], engine: str = "local"
                 ) -> Ratings:
    """The store's ratings, from SQL (``engine`` "local") or built by Spark ("spark")."""
    if engine == "spark":
        from dotify.spark.engine import ratings_for

        return ratings_for(settings, start, end, n_top_songs, **data_params)
    return ratings.from_store(engine_for(settings), start=start, end=end,
                              n_top_songs=n_top_songs, **data_params)


def evaluate_model(
    settings: Settings,
    kind: str = "imf",
    params: dict[str, Any] | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    n_top_songs: int | None = None,
    fraction: float = 0.2,
    min_songs: int = 50,
    seed: int = 0,
    before: date | None = None,
    baselines: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fit ``kind`` on the seed split and return its metrics (nothing is saved), with the
    data's shape, the params, and the popularity and random baselines' validation EPR.
    With ``before``, split by date instead (:func:`dotify.learn.splits.date_split`)."""
    say = progress or (lambda message: log.info(message))
    _check_kind(kind, "local")
    model_params, data_params = split_params(params)
    say("reading charts")
    if before is None:
        full, train_part, validation = prepare(settings, start, end, n_top_songs, data_params,
                                               fraction, min_songs, seed)
    else:
        full, train_part, validation = _by_date(settings, before, start, end, n_top_songs,
                                                data_params)
    say(f"fitting {kind} on {full.shape[0]} countries x {full.shape[1]} songs")
    model = make_model(kind, **model_params)
    result = {"kind": kind, **fit_and_evaluate(model, train_part, validation)}
    if baselines:
        for name in ("popularity", "random"):
            baseline = make_model(name).fit(train_part)  # only its EPR is reported
            result[f"{name}_val_epr"] = evaluation.epr(baseline, validation)
    split = ({"protocol": "seed", "fraction": fraction, "min_songs": min_songs, "seed": seed}
             if before is None else {"protocol": "date", "before": before.isoformat()})
    result |= {"params": {**model.params, **full_data_params(full)}, **shape_of(full),
               "split": split, "history": model.history}
    return result


def _by_date(settings: Settings, before: date, start: date | None, end: date | None,
             n_top_songs: int | None, data_params: dict[str, Any]
             ) -> tuple[Ratings, Ratings, Ratings]:
    if n_top_songs is not None:
        raise ConfigError("a split by date takes --start/--end, not --n-top-songs")
    train_part, validation = splits.date_split(engine_for(settings), before, start=start,
                                               end=end, **data_params)
    if validation.nnz == 0:
        raise ModelError(f"no country charts a known song for the first time on or after "
                         f"{before}; pick an earlier date")
    return train_part, train_part, validation


def full_data_params(full: Ratings) -> dict[str, Any]:
    return {"eps": full.info.get("eps"), "scaling": full.info.get("scaling")}


def shape_of(full: Ratings) -> dict[str, Any]:
    return {"n_countries": full.shape[0], "n_songs": full.shape[1], "nnz": full.nnz,
            "window": full.info.get("window"), "fingerprint": full.info.get("fingerprint")}


def _check_kind(kind: str, engine: str) -> None:
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _meta(full: Ratings, metrics: dict[str, Any], data_params: dict[str, Any], refit: bool,
          fraction: float, min_songs: int, seed: int) -> dict[str, Any]:
    summary = {k: v for k, v in metrics.items() if k != "per_country"}
    return {
        "metrics": summary,
        "per_country": metrics.get("per_country", []),
        "first_date": full.info.get("first_date"),
        "last_date": full.info.get("last_date"),
        **shape_of(full),
        "ratings": {"scaling": full.info.get("scaling"), "eps": full.info.get("eps"),
                    **data_params},
        "split": {"protocol": "seed", "fraction": fraction, "min_songs": min_songs,
                  "seed": seed},
        "refit_on_all": refit,
    }
