"""Tuning in the public API: search a model kind's parameters on ratings in memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dotify.config import Settings

if TYPE_CHECKING:
    import pandas as pd

    from dotify.learn.ratings import Ratings

METRIC_COLUMNS = ("train_epr", "val_epr", "val_epr_filtered", "precision@10", "recall@10",
                  "ndcg@10", "map@10", "auc", "fit_seconds")


@dataclass(frozen=True)
class Tuning:
    """Every trial of a search (its ``params`` and metrics), best first by ``best``."""

    kind: str
    search: str
    trials: list[dict[str, Any]]

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

    def to_pandas(self) -> pd.DataFrame:
        """One row per trial in the order run: each parameter, then the metrics (float64)."""
        from dotify.frames import records_frame

        names = list(dict.fromkeys(k for t in self.trials for k in t["params"]))
        rows = [{**t["params"], **{m: t.get(m) for m in METRIC_COLUMNS}} for t in self.trials]
        return records_frame(rows, columns=[*names, *METRIC_COLUMNS])


def tune(ratings: Ratings, kind: str = "imf", search: str | None = None, trials: int = 30,
         seed: int = 0, home: Settings | None = None, **fixed: Any) -> Tuning:
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
        The split's seed, the search's and the model's.
    home : Settings, optional
        Save the best parameters there for ``dotify train`` and the nightly job, and draw
        the heatmap into its reports folder (as ``dotify tune`` does).
    **fixed
        Parameters every trial keeps, e.g. ``factors=16``.

    Returns
    -------
    Tuning
        ``trials``, ``best``, ``params`` (for :func:`train`), ``eps`` (for
        :func:`read_ratings`) and ``to_pandas()``.

    Examples
    --------
    >>> grid = dotify.tune(ratings, "imf", factors=8, iterations=5)
    >>> len(grid.trials)
    16
    >>> grid.to_pandas().pivot_table("val_epr", "alpha", "regularization").shape
    (4, 4)
    """
    from dotify.errors import ConfigError
    from dotify.learn import tuning
    from dotify.learn.splits import SplitSpec
    from dotify.learn.training import check_kind
    from dotify.models import accepted_params, search_space

    check_kind(kind)
    search = search or ("grid" if kind in tuning.GRID_KINDS else "bayes")
    if search not in tuning.SEARCHES:
        raise ConfigError(f"unknown search {search!r}; choose one of "
                          f"{', '.join(tuning.SEARCHES)}")
    if not search_space(kind):
        raise ConfigError(f"{kind} has no parameters to tune")
    if search == "grid" and kind not in tuning.GRID_KINDS:
        raise ConfigError(f"the grid is the seed's alpha x lambda for imf; tune {kind} with "
                          "search='bayes'")
    if trials < 1:
        raise ConfigError(f"trials must be >= 1, not {trials}")
    base = {**({"factors": 30} if search == "grid" else {}), **fixed}
    if "random_state" in accepted_params(kind):
        base.setdefault("random_state", seed)
    split = SplitSpec(seed=seed)
    if search == "grid":
        done = [tuning.run_trial(ratings, p, split, kind) for p in tuning.grid_trials(base)]
    else:
        done = tuning.bayes_search(ratings, base, trials, split, kind=kind)
    result = Tuning(kind, search, done)
    if home is not None:
        home.ensure_dirs()
        tuning.save_best_params(home, result.best, search, ratings, kind)
        tuning.write_heatmap(done, home.reports_dir / tuning.HEATMAP_FILE,
                             binned=search == "bayes")
    return result
