"""A home's models in the public API: train one on its stored charts and save it, measure a
kind there (what ``dotify train`` and ``dotify evaluate`` run), save and load models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from dotify.api.learning import Metrics
from dotify.config import Settings

if TYPE_CHECKING:
    from dotify.artifact import Artifact
    from dotify.learn.window import DataWindow

DATA_FIELDS = ("n_countries", "n_songs", "nnz", "window", "fingerprint")
BASELINES = ("popularity", "random")


@dataclass(frozen=True)
class Evaluation(Metrics):
    """A model kind measured on a split of a home's charts: its :class:`Metrics` (with
    ``fit_seconds``), the ``kind`` and the ``params`` it was fitted with (the ratings'
    ``eps`` and ``scaling`` among them), the validation EPR of the popularity and random
    ``baselines``, the ``data`` (its shape, window and fingerprint), the ``split`` and the
    fit's ``history``."""

    kind: str
    params: dict[str, Any]
    baselines: dict[str, float]
    data: dict[str, Any]
    split: dict[str, Any]
    history: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the kind, the metrics and ``per_country``, each baseline's
        ``<name>_val_epr``, ``params``, the data's fields, ``split`` and ``history`` (what
        ``dotify evaluate --json`` prints, less the last two)."""
        return {"kind": self.kind, **self.means, "per_country": self.per_country,
                **{f"{name}_val_epr": value for name, value in self.baselines.items()},
                "params": self.params, **self.data, "split": self.split,
                "history": self.history}


def train_model(home: Settings, kind: str | None = None, params: dict[str, Any] | None = None,
                *, start: date | None = None, end: date | None = None,
                n_top_songs: int | None = None, chart_kind: str | None = None,
                active_days: int | str | None = None, seed: int = 0,
                engine: str | None = None, publish: bool = True,
                progress: Callable[[str], None] | None = None) -> Artifact:
    """Train a model on a home's stored charts, measure it, save it and publish it.

    What ``dotify train`` and the nightly job run: the window's ratings, a seed split, the
    kind fitted on the training part and measured on the held-out one, then fitted again
    on all the ratings and saved with those metrics.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    kind : str, optional
        As in :func:`train`; default ``bpr-net`` (``imf`` with the Spark engine).
    params : dict, optional
        Over the kind's parameters saved by :func:`tune` (with ``home``) or ``dotify
        tune``: the model's own, and ``eps``/``scaling`` for the ratings (as in
        :func:`read_ratings`), e.g. ``{"factors": 16, "eps": 100.0}``.
    start, end, n_top_songs, chart_kind : optional
        The charts, as in :func:`read_ratings`; default all.
    active_days : int or "all", optional
        Learn the (country, song) pairs charted in the window's last N days (see
        :func:`active_since`); default ``home.active_days`` (365).
    seed : int, default 0
        The split's seed and the model's ``random_state`` (unless ``params`` names one).
    engine : {"local", "spark"}, optional
        ``spark`` builds the ratings in Spark and trains ``imf`` as ``spark-als``
        (``dotify[spark]``); default ``home.engine``.
    publish : bool, default True
        Make it the live model.
    progress : callable, optional
        Called with a line of text at each step.

    Returns
    -------
    Artifact
        The saved model, with its ``version``, ``path`` and ``meta`` (``metrics`` and
        ``per_country`` on the split, ``params``, the data's shape and window).

    Raises
    ------
    ConfigError
        For an unknown kind or engine, or a parameter the kind does not take.
    ModelError
        When the window holds no charts.

    Examples
    --------
    >>> saved = dotify.train_model(home, "imf", {"factors": 8})
    >>> saved.meta["n_countries"], dotify.load_model(home).version == saved.version
    (4, True)
    >>> saved.meta["params"]["factors"], "val_epr" in saved.meta["metrics"]
    (8, True)
    """
    from dotify.learn import training
    from dotify.learn.splits import SplitSpec
    from dotify.models import default_kind

    engine = engine or home.engine
    kind = kind or default_kind(engine)
    given, window = _tuned(home, kind, params, seed, start, end, n_top_songs, chart_kind,
                           active_days)
    return training.train(home, kind, given, window=window, split=SplitSpec(seed=seed),
                          engine=engine, publish=publish, progress=progress).artifact


def evaluate_model(home: Settings, kind: str | None = None,
                   params: dict[str, Any] | None = None, *, start: date | None = None,
                   end: date | None = None, n_top_songs: int | None = None,
                   chart_kind: str | None = None, active_days: int | str | None = None,
                   seed: int = 0, before: date | None = None,
                   progress: Callable[[str], None] | None = None) -> Evaluation:
    """Measure a model kind on a split of a home's stored charts; nothing is saved.

    What ``dotify evaluate`` runs: the kind, with its tuned parameters, fitted on the
    training part and measured on the held-out one, beside the popularity and random
    baselines.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    kind : str, optional
        As in :func:`train`; default ``bpr-net`` (``imf`` when ``home.engine`` is Spark).
    params : dict, optional
        As in :func:`train_model`.
    start, end, n_top_songs, chart_kind, active_days : optional
        The charts, as in :func:`train_model`; with ``before``, the active days count back
        from the day before it.
    seed : int, default 0
        The split's seed and the model's ``random_state`` (unless ``params`` names one).
    before : date, optional
        Split by date instead (see :func:`split`): train on the charts before it, validate
        on the pairs new on or after it.
    progress : callable, optional
        Called with a line of text at each step.

    Returns
    -------
    Evaluation
        The metrics (``evaluation["val_epr"]``; ``per_country``, ``to_pandas()``),
        ``kind``, ``params``, ``baselines``, ``data``, ``split``, ``history``;
        ``to_dict()``.

    Raises
    ------
    ConfigError
        For an unknown kind or a parameter the kind does not take.
    ModelError
        When the window holds no charts, or nothing new comes after ``before``.

    Examples
    --------
    >>> measured = dotify.evaluate_model(home, "imf", {"factors": 8})
    >>> measured.split["protocol"], sorted(measured.baselines)
    ('seed', ['popularity', 'random'])
    >>> measured.params["factors"], measured.data["n_countries"]
    (8, 4)
    """
    from dotify.learn import training
    from dotify.learn.splits import SplitSpec
    from dotify.models import default_kind

    kind = kind or default_kind(home.engine)
    last = before - timedelta(days=1) if before and (end is None or end >= before) else end
    given, window = _tuned(home, kind, params, seed, start, end, n_top_songs, chart_kind,
                           active_days, last)
    found = training.evaluate_model(home, kind, given, window=window,
                                    split=SplitSpec.by(before, seed=seed), progress=progress)
    extra = {"kind", "per_country", "params", "split", "history", *DATA_FIELDS,
             *(f"{name}_val_epr" for name in BASELINES)}
    return Evaluation({k: v for k, v in found.items() if k not in extra}, found["per_country"],
                      found["kind"], found["params"],
                      {name: found[f"{name}_val_epr"] for name in BASELINES},
                      {k: found[k] for k in DATA_FIELDS}, found["split"], found["history"])


def _tuned(home: Settings, kind: str, params: dict[str, Any] | None, seed: int,
           start: date | None, end: date | None, n_top_songs: int | None,
           chart_kind: str | None, active_days: int | str | None,
           last: date | None = None) -> tuple[dict[str, Any], DataWindow]:
    """The model's params and the data window: the kind's tuned ones under ``params``, the
    pairs charted in the last ``active_days`` up to ``last`` (default ``end``)."""
    from dotify.api.data import active_since
    from dotify.learn.tuning import tuned_params
    from dotify.learn.window import DataWindow

    given, fields = tuned_params(home, kind, params, seed)
    since = active_since(home, active_days, end=last or end, chart_kind=chart_kind)
    return given, DataWindow.with_fields(fields, start=start, end=end, n_top_songs=n_top_songs,
                                         kind=chart_kind, since=since)


def save_model(home: Settings, model: Artifact, metrics: Metrics | None = None,
               publish: bool = True) -> Artifact:
    """Save a trained model into the home's models folder and, by default, publish it.

    The published model is what :func:`load_model`, ``dotify recommend``, the web app and
    the nightly job's quality gate use.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    model : Artifact
        From :func:`train`.
    metrics : Metrics, optional
        From :func:`evaluate`: recorded with the model (the nightly job compares its next
        model's validation EPR with this one's).
    publish : bool, default True
        Make it the live model.

    Returns
    -------
    Artifact
        The saved model, with its ``version`` and ``path``.

    Examples
    --------
    >>> saved = dotify.save_model(home, model, metrics)
    >>> dotify.load_model(home).version == saved.version
    True
    """
    from dotify import artifact

    meta = {k: v for k, v in model.meta.items() if k not in ("version", "metrics")}
    if metrics is not None:
        meta["metrics"] = dict(metrics.means)
        meta["per_country"] = metrics.per_country
    dates = None
    if model.song_first_date is not None and model.song_last_date is not None:
        dates = (model.song_first_date, model.song_last_date)
    home.ensure_dirs()
    saved = artifact.save(model.model, model.countries, model.songs, home.models_dir, meta,
                          charted=model.charted, song_dates=dates, streams=model.streams)
    if publish:
        artifact.publish(home.models_dir, saved.version)
    return saved


def load_model(home: Settings, version: str | None = None) -> Artifact:
    """Load the live model (or a saved version) of a home.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    version : str, optional
        A saved version's name; default the published one.

    Returns
    -------
    Artifact
        The model, its id maps, song metadata, streams and ``meta`` (kind, params, metrics,
        data window).

    Raises
    ------
    ArtifactError
        When nothing is published (run ``dotify train`` or :func:`save_model`) or the
        version does not exist.

    Examples
    --------
    >>> live = dotify.load_model(home)
    >>> live.kind
    'imf'
    """
    from dotify import artifact

    if version is None:
        return artifact.load_current(home.models_dir)
    return artifact.load(home.models_dir / version)
