"""Comparing model kinds in the public API: every kind on one split, one table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dotify.learn.compare import COLUMNS, MODELS

if TYPE_CHECKING:
    import pandas as pd

    from dotify.learn.ratings import Ratings


class Comparison(dict[str, dict[str, Any]]):
    """One entry per model kind, in the order asked: its metrics on the split
    (``train_epr``, ``val_epr``, ``val_epr_filtered``, ``ndcg@10``, ``fit_seconds``,
    ``tune_trials``, and ``cold_epr`` on a cold split) and the ``params`` it was fitted
    with."""

    def to_pandas(self) -> pd.DataFrame:
        """One row per model, indexed by ``model``: the metrics (float64) and
        ``tune_trials`` (int64); not the params."""
        from dotify.frames import records_frame

        columns = [*COLUMNS, *(["cold_epr"] if any("cold_epr" in r for r in self.values())
                               else [])]
        rows = [{"model": kind, **{c: row[c] for c in columns}} for kind, row in self.items()]
        return records_frame(rows, index="model", columns=["model", *columns])


def compare(ratings: Ratings, models: Sequence[str] = MODELS, protocol: str = "seed",
            fraction: float = 0.2, seed: int = 0, *, epochs: int | None = None,
            tune: int = 0, progress: Callable[[str], None] | None = None) -> Comparison:
    """Fit several model kinds on one split of ratings and measure them side by side.

    Every model is fitted on the same training part and scored on the same held-out part,
    from its defaults (the parameters saved by :func:`tune` are not used: they would tune
    some models and not others), or after the same budget of tuning for each.

    Parameters
    ----------
    ratings : Ratings
        From :func:`read_ratings`.
    models : sequence of str, default every kind but Spark's
        The kinds to fit, e.g. ``["imf", "net1", "bpr-net", "popularity"]``.
    protocol : {"seed", "cold"}, default "seed"
        The split, as in :func:`split`; ``cold`` adds ``cold_epr``.
    fraction : float, default 0.2
        What is held out.
    seed : int, default 0
        The split's seed and every model's.
    epochs : int, optional
        Epochs of networks 1 to 5 (default theirs).
    tune : int, default 0
        Tune every kind with parameters first, with this many trials of the bayes search
        on a split of the training part, then fit it with the best on the whole of it.
    progress : callable, optional
        Called with a line of text as each kind is tuned and fitted.

    Returns
    -------
    Comparison
        ``{kind: {metric: value, ..., "params": {...}}}``, as ``dotify compare --json``
        prints it; ``to_pandas()``.

    Raises
    ------
    ConfigError
        For an unknown kind or split.
    ModelError
        When the ratings are empty or nothing is held out.

    Examples
    --------
    >>> table = dotify.compare(ratings, ["imf", "popularity", "random"])
    >>> frame = table.to_pandas()
    >>> frame.index.tolist()
    ['imf', 'popularity', 'random']
    >>> frame.columns.tolist()
    ['train_epr', 'val_epr', 'val_epr_filtered', 'ndcg@10', 'fit_seconds', 'tune_trials']
    """
    from dotify.learn.compare import check_models, check_split, compare_split
    from dotify.learn.splits import SplitSpec

    check_models(models)
    check_split(protocol)
    spec = SplitSpec(protocol, fraction, seed=seed)
    return Comparison(compare_split(ratings, models, split=spec, epochs=epochs,
                                    progress=progress, tune_trials=tune))
