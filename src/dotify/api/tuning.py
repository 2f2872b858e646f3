"""Tuning in the public API: search a model kind's parameters on ratings in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotify.config import Settings
from dotify.learn.tuning import GRID_KINDS

if TYPE_CHECKING:
    import pandas as pd

    from dotify.learn.ratings import Ratings

METRIC_COLUMNS = ("train_epr", "val_epr", "val_epr_filtered", "precision@10", "recall@10",
                  "ndcg@10", "map@10", "auc", "fit_seconds")


@dataclass(frozen=True)
class Tuning:
    """Every trial of a search (its ``params`` and metrics), best first by ``best``; the
    ``data`` searched on (its shape, window and fingerprint) and, when saved into a home,
    the ``heatmap`` and ``best_params_path``."""

    kind: str
    search: str
    trials: list[dict[str, Any]]
    data: dict[str, Any] = field(default_factory=dict)
    heatmap: Path | None = None
    best_params_path: Path | None = None

    @property
    def best(self) -> dict[str, Any]:
        """The trial of the lowest validation EPR."""
        return min(self.trials, key=lambda t: t["val_epr"])

    @property
    def params(self) -> dict[str, Any]:
        """The best trial's model parameters, for :func:`dotify.train` (without ``eps``,
        which :func:`dotify.read_ratings` takes)."""
        return {k: v for k, v in self.best["params"].items() if k not in ("eps", "scaling")}

    @property
    def eps(self) -> float:
        """The best trial's streams scale, for :func:`dotify.read_ratings`."""
        return float(self.best["params"]["eps"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what ``dotify tune --json`` prints): the kind, the best trial's
        metrics and params at the top level, the data's fields, ``best``, every trial and
        the files' paths (None when not saved)."""
        return {"kind": self.kind, **self.best, **self.data, "best": self.best,
                "trials": self.trials,
                **{name: None if path is None else str(path) for name, path in
                   (("heatmap", self.heatmap), ("best_params_path", self.best_params_path))}}

    def to_pandas(self) -> pd.DataFrame:
        """One row per trial in the order run: each parameter, then the metrics (float64)."""
        from dotify.frames import records_frame

        names = list(dict.fromkeys(k for t in self.trials for k in t["params"]))
        rows = [{**t["params"], **{m: t.get(m) for m in METRIC_COLUMNS}} for t in self.trials]
        return records_frame(rows, columns=[*names, *METRIC_COLUMNS])


def tune(ratings: Ratings, kind: str = "imf", search: str | None = None, trials: int = 30,
         seed: int = 0, home: Settings | None = None, *, engine: str = "local",
         on_trial: Callable[[dict[str, Any]], None] | None = None, **fixed: Any) -> Tuning:
    """Search a model kind's parameters by validation EPR on the seed split of ratings.

    Parameters
    ----------
    ratings : Ratings
        From :func:`read_ratings` (all of them: each trial splits them the same way).
    kind : str, default "imf"
        Any model kind with parameters (``imf``, ``net1`` to ``net5``, ``bpr-net``).
    search : {"grid", "bayes"}, optional
        ``grid``: the seed's 4 x 4 alpha x lambda grid (IMF only, at 30 factors unless
        ``fixed`` says); ``bayes``: Optuna's TPE over the kind's whole space and ``eps``.
        Default ``grid`` for IMF, ``bayes`` otherwise.
    trials : int, default 30
        Trials of the ``bayes`` search.
    seed : int, default 0
        The split's seed, the search's and the model's (unless ``fixed`` names a
        ``random_state``).
    home : Settings, optional
        Save the best parameters there for :func:`train_model`, ``dotify train`` and the
        nightly job, and draw the heatmap into its reports folder (as ``dotify tune``
        does).
    engine : {"local", "spark"}, default "local"
        ``spark`` fits every trial with Spark ALS (IMF only, ``dotify[spark]``); the best
        parameters are saved as IMF's.
    on_trial : callable, optional
        Called with each trial (its ``params`` and metrics) as it ends.
    **fixed
        Parameters every trial keeps, e.g. ``factors=16``.

    Returns
    -------
    Tuning
        ``trials``, ``best``, ``params`` (for :func:`train`), ``eps`` (for
        :func:`read_ratings`), ``to_pandas()`` and ``to_dict()``.

    Raises
    ------
    ConfigError
        For an unknown kind or search, a kind with nothing to tune, the grid for a kind
        other than IMF, or a parameter the kind does not take.

    Examples
    --------
    >>> grid = dotify.tune(ratings, "imf", factors=8, iterations=5)
    >>> len(grid.trials)
    16
    >>> grid.to_pandas().pivot_table("val_epr", "alpha", "regularization").shape
    (4, 4)
    """
    from dotify.learn import tuning
    from dotify.learn.splits import SplitSpec
    from dotify.learn.training import check_kind
    from dotify.models import accepted_params

    check_kind(kind)
    search = search or ("grid" if kind in GRID_KINDS else "bayes")
    base = dict(fixed)
    if "random_state" in accepted_params(kind):
        base.setdefault("random_state", seed)
    found = tuning.tune_ratings(ratings, search, trials, base, split=SplitSpec(seed=seed),
                                on_trial=on_trial, engine=engine, kind=kind, settings=home)
    return Tuning(kind, search, found.trials, found.data, found.heatmap, found.best_params_path)
