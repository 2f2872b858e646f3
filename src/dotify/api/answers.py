"""The answering half of the public API: recommend, top, similar, fidelity, the taste map."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from dotify.learn.fidelity import POPULARITIES, FidelityRow
from dotify.query.recommend import DEFAULT_POPULARITY, Recommendation, SimilarCountry

if TYPE_CHECKING:
    import pandas as pd

    from dotify.artifact import Artifact
    from dotify.learn.ratings import Ratings

SONG_COLUMNS = ("rank", "title", "artists", "score", "match", "uri", "url")


@dataclass
class Answer(Recommendation):
    """The songs for an expression, best first (``songs``), with the expression as
    understood (``parsed``), the ``popularity`` and the ``world_weight`` it was answered
    with."""

    def to_pandas(self) -> pd.DataFrame:
        """One row per song, indexed by ``rank``: ``title``, ``artists``, ``uri``, ``url``
        (str), ``score``, ``match`` (0-100) and each country's share of the score, the
        world's apart (float64)."""
        from dotify.frames import records_frame

        parts = list(dict.fromkeys(k for s in self.songs for k in s.contributions))
        rows = [{**{c: getattr(s, c) for c in SONG_COLUMNS}, **s.contributions}
                for s in self.songs]
        return records_frame(rows, index="rank", columns=[*SONG_COLUMNS, *parts])


class SimilarCountries(list[SimilarCountry]):
    """The countries nearest in taste, nearest first."""

    def to_pandas(self) -> pd.DataFrame:
        """One row per country, indexed by ``rank``: ``code``, ``name`` (str) and
        ``similarity`` (float64, a cosine)."""
        from dotify.frames import records_frame

        return records_frame([c.to_dict() for c in self], index="rank",
                             columns=["rank", "code", "name", "similarity"])


class FidelityTable(list[FidelityRow]):
    """One row per group of expressions and popularity setting."""

    def to_pandas(self) -> pd.DataFrame:
        """Columns ``group`` (str), ``popularity``, ``charts``, ``local``, ``either``
        (float64) and ``expressions``, ``repeated`` (int64)."""
        from dotify.frames import records_frame

        return records_frame([r.to_dict() for r in self],
                             columns=[f.name for f in fields(FidelityRow)])


@dataclass(frozen=True)
class TasteMap:
    """Countries in cluster order (similar ones side by side): their ``codes``, ``names``,
    ``regions``, cosine ``similarity`` (n x n) and a 2-D t-SNE layout ``xy`` (n x 2, in
    [0, 1]); the same as the web app's map."""

    codes: list[str]
    names: list[str]
    regions: list[str]
    similarity: np.ndarray
    xy: np.ndarray

    def to_pandas(self) -> pd.DataFrame:
        """One row per country, indexed by its code: ``name``, ``region`` (str), ``x``,
        ``y`` (float64), then one column per country code, the similarity (float64), so
        that ``frame[frame.index]`` is the square similarity matrix."""
        from dotify.frames import pandas

        frame = pandas().DataFrame({"name": self.names, "region": self.regions,
                                    "x": self.xy[:, 0], "y": self.xy[:, 1]},
                                   index=pandas().Index(self.codes, name="code"))
        square = pandas().DataFrame(self.similarity, index=frame.index, columns=self.codes)
        return frame.join(square)


def recommend(model: Artifact, expression: str, n: int = 10,
              popularity: float = DEFAULT_POPULARITY, discover: bool = False,
              since: date | None = None, until: date | None = None) -> Answer:
    """The best songs for a country expression such as ``"Colombia x Turkey - Germany"``.

    ``+`` and ``-`` add and take away a taste, ``x`` (``*``) keeps what both play, ``/``
    what the first plays much more; numbers weigh terms; the usual precedence holds.

    Parameters
    ----------
    model : Artifact
        From :func:`load_model` or :func:`train`.
    expression : str
        Countries by name, ISO code or alias, and operators.
    n : int, default 10
        How many songs (1 to 1000).
    popularity : float, default 0.5
        1 answers with what the countries play most, 0 with what sets them apart from
        the world.
    discover : bool, default False
        Leave out what the expression's countries already chart; the model ranks the rest.
    since, until : date, optional
        Only songs that charted within these days.

    Returns
    -------
    Answer
        ``songs`` (rank, title, artists, url, uri, score, match, contributions),
        ``parsed``; ``to_pandas()``.

    Raises
    ------
    ExpressionError, UnknownCountryError
        For bad syntax (with the position) or an unknown country (with suggestions).

    Examples
    --------
    >>> answer = dotify.recommend(live, "Colombia x Turkey - Germany", n=5)
    >>> answer.parsed
    'Colombia * Turkey - Germany'
    >>> len(answer.to_pandas())
    5
    """
    from dotify.query import recommend as engine

    found = engine.recommend(model, expression, n, popularity, discover, since, until)
    return Answer(**{f.name: getattr(found, f.name) for f in fields(found)})


def top(model: Artifact, country: str, n: int = 10,
        popularity: float = DEFAULT_POPULARITY) -> Answer:
    """A country's own best songs: :func:`recommend` of the country alone.

    Parameters
    ----------
    model : Artifact
        From :func:`load_model` or :func:`train`.
    country : str
        A name, ISO code or alias.
    n : int, default 10
        How many songs.
    popularity : float, default 0.5
        As in :func:`recommend`.

    Returns
    -------
    Answer
        As :func:`recommend`'s.

    Examples
    --------
    >>> dotify.top(live, "Japan", n=3).to_pandas().index.tolist()
    [1, 2, 3]
    """
    return recommend(model, country, n, popularity)


def similar(model: Artifact, country: str, n: int = 10) -> SimilarCountries:
    """The countries nearest in taste: the cosine of their chart profiles less the world's.

    Parameters
    ----------
    model : Artifact
        From :func:`load_model` or :func:`train`.
    country : str
        A country, or an expression of countries with ``+`` and ``-``.
    n : int, default 10
        How many countries.

    Returns
    -------
    SimilarCountries
        ``SimilarCountry`` (rank, code, name, similarity), nearest first; ``to_pandas()``.

    Examples
    --------
    >>> nearest = dotify.similar(live, "Colombia", n=2)
    >>> [c.rank for c in nearest]
    [1, 2]
    """
    from dotify.query import recommend as engine

    return SimilarCountries(engine.similar(model, country, n))


def fidelity(model: Artifact, truth: Ratings, expressions: Sequence[str] | None = None,
             popularities: Sequence[float] = POPULARITIES, n: int = 10,
             discover: bool = False) -> FidelityTable:
    """Do the model's answers agree with the charts? Precision@n against two truths.

    An expression's chart truth is its value song by song on the countries' chart
    profiles ``log(1 + streams/1000) / max``; its local truth the same less the world's
    mean profile. A song of an answer is a hit when it is in a truth's top 50.

    Parameters
    ----------
    model : Artifact
        From :func:`load_model` or :func:`train`.
    truth : Ratings
        The charts to compare with (they need their streams: :func:`read_ratings`).
    expressions : sequence of str, optional
        One group ``file`` of these; default every single country and combinations of
        neighbours (sums, differences, products).
    popularities : sequence of float, default (0, 0.25, 0.5, 0.75, 1)
        The knob settings to measure.
    n : int, default 10
        Songs per answer.
    discover : bool, default False
        Measure discover answers.

    Returns
    -------
    FidelityTable
        ``FidelityRow`` (group, popularity, expressions, charts, local, either, repeated);
        ``to_pandas()``.

    Examples
    --------
    >>> table = dotify.fidelity(live, ratings, ["Colombia", "Japan"], popularities=[0, 1])
    >>> table.to_pandas()[["group", "popularity"]].values.tolist()
    [['file', 0.0], ['file', 1.0]]
    """
    from dotify.learn.fidelity import fidelity as measure

    groups = None if expressions is None else {"file": list(expressions)}
    return FidelityTable(measure(model, truth, groups, popularities, n, discover))


def taste_map(model: Artifact) -> TasteMap:
    """The countries' similarity in cluster order and their t-SNE map (the web app's).

    Parameters
    ----------
    model : Artifact
        From :func:`load_model` or :func:`train`.

    Returns
    -------
    TasteMap
        ``codes``, ``names``, ``regions``, ``similarity``, ``xy``; ``to_pandas()``.

    Examples
    --------
    >>> atlas = dotify.taste_map(live)
    >>> atlas.similarity.shape == (len(atlas.codes), len(atlas.codes))
    True
    """
    from dotify.query import maps
    from dotify.query.recommend import taste_vectors

    codes, vectors = taste_vectors(model)
    drawn = maps.taste_map(codes, vectors)
    countries = drawn["countries"]
    return TasteMap([c["code"] for c in countries], [c["name"] for c in countries],
                    [c["region"] for c in countries],
                    np.asarray(drawn["similarity"], dtype=np.float64),
                    np.asarray(drawn["xy"], dtype=np.float64).reshape(-1, 2))
