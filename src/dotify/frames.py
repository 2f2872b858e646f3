"""Results as pandas DataFrames: the one place that imports pandas, an optional extra.

Every ``to_pandas()`` of the public API (:mod:`dotify.api`) calls a function here. pandas is
imported when a table is asked for, never at ``import dotify``; without it,
:class:`~dotify.errors.MissingDependencyError` says to install ``dotify[notebook]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dotify.errors import MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd

    from dotify.learn.ratings import Ratings

INSTALL_HINT = "pandas is not installed; install it with: pip install 'dotify[notebook]'"


def pandas() -> Any:
    """The pandas module, or a :class:`MissingDependencyError` saying how to install it."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingDependencyError(INSTALL_HINT) from exc
    return pd


def ratings_frame(ratings: Ratings, wide: bool = False) -> pd.DataFrame:
    """One row per rated (country, song): ``country`` (category), ``song`` (the song key),
    ``title``, ``artists`` (str), ``rating`` (float32) and, when the summed streams are
    known, ``streams`` (int64). ``wide``: the dense countries x songs matrix instead,
    float32, indexed by country code with one column per song key."""
    pd = pandas()
    matrix = ratings.matrix.tocsr()
    if wide:
        return pd.DataFrame(matrix.toarray(), index=pd.Index(ratings.countries.astype(str),
                                                             name="country"),
                            columns=pd.Index(ratings.songs.keys.astype(str), name="song"))
    coo = matrix.tocoo()
    order = np.lexsort((coo.col, coo.row))
    rows, cols = coo.row[order], coo.col[order]
    columns: dict[str, Any] = {
        "country": pd.Categorical(ratings.countries.astype(str)[rows],
                                  categories=sorted(set(ratings.countries.astype(str)))),
        "song": ratings.songs.keys.astype(str)[cols],
        "title": ratings.songs.titles.astype(str)[cols],
        "artists": ratings.songs.artists.astype(str)[cols],
        "rating": coo.data[order].astype(np.float32),
    }
    if ratings.raw is not None:
        raw = ratings.raw.tocsr()
        columns["streams"] = np.asarray(raw[rows, cols]).ravel().astype(np.int64)
    return pd.DataFrame(columns)


def records_frame(records: Sequence[dict[str, Any]], index: str | None = None,
                  columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame of dicts, one row each (``columns`` first, in order), indexed by
    ``index`` when given; numbers stay numbers and missing values are NaN."""
    pd = pandas()
    frame = pd.DataFrame.from_records(list(records), columns=list(columns) if columns else None)
    return frame.set_index(index) if index else frame
