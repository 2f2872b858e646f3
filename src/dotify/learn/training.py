"""``dotify train`` and ``evaluate`` as library functions: ratings -> split -> fit -> evaluate
(-> artifact).

A :class:`~dotify.learn.window.DataWindow` and a :class:`~dotify.learn.splits.SplitSpec` say
which charts and which split; :func:`ratings_reader` reads a window with the local engine or
Spark; :func:`dotify.learn.fitting.fit_and_evaluate` is the fit-and-measure loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from dotify import artifact as artifact_mod
from dotify.config import Settings
from dotify.errors import ConfigError
from dotify.learn import evaluation, ratings
from dotify.learn.fitting import fit_and_evaluate
from dotify.learn.ratings import Ratings
from dotify.learn.splits import RatingsReader, SplitSpec, load_split
from dotify.learn.window import DataWindow
from dotify.models import MODEL_KINDS, Recommender, default_kind, make_model
from dotify.store.engine import opened

log = logging.getLogger("dotify")

ENGINES = ("local", "spark")
Progress = Callable[[str], None]

__all__ = ["ENGINES", "TrainResult", "evaluate_model", "fit_and_evaluate", "ratings_reader",
           "shape_of", "train"]


@dataclass
class TrainResult:
    """What :func:`train` made: the saved artifact (published unless asked not to), metrics."""

    artifact: artifact_mod.Artifact
    metrics: dict[str, Any]
    published: bool
    info: dict[str, Any] = field(default_factory=dict)


@contextmanager
def ratings_reader(settings: Settings, engine: str = "local") -> Iterator[RatingsReader]:
    """A function from a window to the store's ratings, built by SQL (``engine`` "local") or
    by Spark ("spark", on ``settings.spark_master``); the database engine is disposed of when
    the block ends."""
    check_engine(engine)
    with opened(settings) as db:
        if engine == "spark":
            from dotify.spark.ratings import reader

            yield reader(settings, db)
        else:
            yield partial(ratings.from_store, db)


def train(
    settings: Settings,
    kind: str | None = None,
    params: dict[str, Any] | None = None,
    *,
    window: DataWindow | None = None,
    split: SplitSpec | None = None,
    engine: str = "local",
    refit: bool = True,
    publish: bool = True,
    progress: Progress | None = None,
    epochs_search: dict[str, Any] | None = None,
) -> TrainResult:
    """Read ``window``'s ratings, split them by ``split``, fit ``kind`` with ``params`` (the
    model's own), evaluate, save an artifact and publish it.

    ``kind`` defaults to :func:`dotify.models.default_kind` for ``engine``. With ``refit``
    the saved model is fitted again on all ratings (the metrics stay those of the split),
    with what the split's fit chose (:meth:`~dotify.models.Recommender.refit_params`).
    ``engine`` "spark" builds the ratings in Spark (``settings.spark_master``) and trains
    ``imf`` as ``spark-als`` (see ``dotify.models.spark``). The meta's ``epochs_search``
    says when a model last chose something by itself (the newest chart day it saw: a
    network's epochs) and what (:meth:`~dotify.models.Recommender.chosen`): this fit's
    choice, or ``epochs_search`` when ``params`` reuse an earlier one (the nightly job's
    runs in between).
    """
    say = progress or (lambda message: log.info(message))
    kind, model_params = kind or default_kind(engine), dict(params or {})
    if engine == "spark":
        from dotify.models.spark import model_for_spark

        check_kind(kind)
        kind, model_params = model_for_spark(kind, model_params)
    split = split or SplitSpec()
    fitted = _fit_on_split(settings, kind, model_params, window, split, engine, say)
    full, model, metrics = fitted.full, fitted.model, fitted.metrics
    if refit:  # without it, the model just scored is the one saved; what the fit on the
        # split chose (the epochs of a network that stops early) is reused, not searched again
        model = make_model(kind, **model.refit_params(model_params)).fit(full)
    say("saving the model")
    settings.ensure_dirs()
    meta = {**_meta(full, metrics, split, refit), "engine": engine}
    chosen = fitted.model.chosen()
    search = {"on": full.info.get("last_date"), **chosen} if chosen else epochs_search
    if search:
        meta["epochs_search"] = search
    saved = artifact_mod.save(model, full.countries, full.songs, settings.models_dir,
                              meta=meta, song_dates=full.song_dates, streams=full.raw)
    if publish:
        artifact_mod.publish(settings.models_dir, saved.version)
    say(f"saved model {saved.version}" + (" and published it" if publish else ""))
    return TrainResult(saved, metrics, publish, dict(full.info))


def evaluate_model(
    settings: Settings,
    kind: str | None = None,
    params: dict[str, Any] | None = None,
    *,
    window: DataWindow | None = None,
    split: SplitSpec | None = None,
    baselines: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fit ``kind`` on ``split`` of ``window``'s ratings and return its metrics (nothing is
    saved), with the data's shape, the params, and the popularity and random baselines'
    validation EPR. ``kind`` defaults to :func:`dotify.models.default_kind`."""
    say = progress or (lambda message: log.info(message))
    kind, split = kind or default_kind(), split or SplitSpec()
    fitted = _fit_on_split(settings, kind, dict(params or {}), window, split, "local", say)
    result = {"kind": kind, **fitted.metrics}
    if baselines:
        for name in ("popularity", "random"):
            baseline = make_model(name).fit(fitted.train)  # only its EPR is reported
            result[f"{name}_val_epr"] = evaluation.epr(baseline, fitted.validation)
    result |= {"params": {**fitted.model.params, **window_fields(fitted.full)},
               **shape_of(fitted.full), "split": split.info(), "history": fitted.model.history}
    return result


@dataclass
class _Fitted:
    full: Ratings
    train: Ratings
    validation: Ratings
    model: Recommender
    metrics: dict[str, Any]


def _fit_on_split(settings: Settings, kind: str, params: dict[str, Any],
                  window: DataWindow | None, split: SplitSpec, engine: str, say: Progress
                  ) -> _Fitted:
    """Read ``window``'s ratings (by ``engine``), split them, fit ``kind`` on the training
    part and measure it on the validation part."""
    check_kind(kind)
    say("reading charts" + (" with Spark" if engine == "spark" else ""))
    with ratings_reader(settings, engine) as read:
        full, train_part, validation = load_split(read, window or DataWindow(), split)
    say(f"fitting {kind} on {full.shape[0]} countries x {full.shape[1]} songs")
    model = make_model(kind, **params)
    metrics = fit_and_evaluate(model, train_part, validation)
    return _Fitted(full, train_part, validation, model, metrics)


def window_fields(full: Ratings) -> dict[str, Any]:
    """The scaling ``full`` was built with: its ``eps`` and ``scaling``."""
    return {"eps": full.info.get("eps"), "scaling": full.info.get("scaling")}


def shape_of(full: Ratings) -> dict[str, Any]:
    return {"n_countries": full.shape[0], "n_songs": full.shape[1], "nnz": full.nnz,
            "window": full.info.get("window"), "fingerprint": full.info.get("fingerprint")}


def check_kind(kind: str) -> None:
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _meta(full: Ratings, metrics: dict[str, Any], split: SplitSpec, refit: bool
          ) -> dict[str, Any]:
    summary = {k: v for k, v in metrics.items() if k != "per_country"}
    return {
        "metrics": summary,
        "per_country": metrics.get("per_country", []),
        "first_date": full.info.get("first_date"),
        "last_date": full.info.get("last_date"),
        **shape_of(full),
        "ratings": window_fields(full),
        "split": split.info(),
        "refit_on_all": refit,
    }
