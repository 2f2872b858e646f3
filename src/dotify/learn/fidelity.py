"""Fidelity: do a model's answers agree with the raw charts?

For each country ``c`` and song ``s`` the chart profile is
``r_c(s) = log(1 + streams_c(s) / 1000) / max_s`` (0 where ``s`` never charted in ``c``;
see :func:`dotify.query.tastes.profiles`). The **chart truth** of an expression is the
expression evaluated song by song on these profiles (``+``/``-`` add and take away, ``x``
multiplies the positive parts, numbers weigh; :func:`dotify.query.tastes.evaluate`); the
**local truth** is the same on ``r_c - w``, the profiles less their mean over countries:
what sets the countries apart. A song of an answer is a hit when it is among a truth's
top :data:`TRUTH_TOP` songs with a positive value. Precision@n is reported against the
chart truth, the local truth and either, per group of expressions (every single country,
and combinations: sums of two or three neighbours, differences, products) and per
popularity setting, with the number of answers that list one song twice.

Songs are matched by key; a song of the answer that the truth's ratings lack is a miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dotify.artifact import Artifact
from dotify.learn.ratings import Ratings
from dotify.query import recommend as engine
from dotify.query.arithmetic import Node, evaluate, parse
from dotify.query.tastes import profiles

TRUTH_TOP = 50
POPULARITIES = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class FidelityRow:
    group: str  # "single", "combination" or "file"
    popularity: float
    expressions: int  # how many were answered
    charts: float  # mean precision@n against the chart truth
    local: float  # ... against the local truth
    either: float  # ... against either
    repeated: int  # answers that list one song twice

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Truth:
    """Chart and local truths of expressions over one ``Ratings`` (its ``raw`` streams)."""

    def __init__(self, ratings: Ratings) -> None:
        if ratings.raw is None:
            raise ValueError("fidelity needs the ratings' summed streams (Ratings.raw)")
        self.chart = np.asarray(profiles(ratings.raw).todense())
        has_data = np.asarray(self.chart.any(axis=1), dtype=bool)
        world = self.chart[has_data].mean(axis=0) if has_data.any() else 0.0
        self.local = self.chart - world
        self.row = {str(c): i for i, c in enumerate(ratings.countries) if has_data[i]}
        self.column = {str(k): j for j, k in enumerate(ratings.songs.keys)}

    def tops(self, tree: Node, k: int = TRUTH_TOP) -> tuple[set[int], set[int]]:
        """The columns of the chart truth's and the local truth's top ``k`` (positive)."""
        return (_top(evaluate(tree, lambda c: self.chart[self.row[c.code]]).vector, k),
                _top(evaluate(tree, lambda c: self.local[self.row[c.code]]).vector, k))


def _top(values: np.ndarray, k: int) -> set[int]:
    positive = np.flatnonzero(values > 0)
    return set(positive[np.argsort(-values[positive], kind="stable")[:k]].tolist())


def precision(answer: Sequence[int], truth: set[int]) -> float:
    """The share of ``answer`` (columns; -1 for a song the truth lacks) in ``truth``."""
    return float(np.mean([c in truth for c in answer])) if len(answer) else 0.0


def expressions(artifact: Artifact, codes: Sequence[str]) -> tuple[list[str], list[str]]:
    """(every single country, combinations): for each country in turn, by its nearest
    countries in taste (:func:`dotify.query.recommend.similar`), one of: a sum with its
    nearest, a sum with its two nearest, a difference with its least similar, a product
    with its nearest."""
    singles = [str(c) for c in codes]
    combos: list[str] = []
    for i, code in enumerate(singles):
        near = [s.code for s in engine.similar(artifact, code, n=len(singles))]
        near = [c for c in near if c in set(singles)]
        if len(near) < 2:
            continue
        combos.append([f"{code} + {near[0]}", f"{code} + {near[0]} + {near[1]}",
                       f"{code} - {near[-1]}", f"{code} x {near[0]}"][i % 4])
    return singles, combos


def fidelity(artifact: Artifact, truth_ratings: Ratings,
             groups: Mapping[str, Sequence[str]] | None = None,
             popularities: Sequence[float] = POPULARITIES, n: int = 10,
             discover: bool = False) -> list[FidelityRow]:
    """Precision@``n`` of ``artifact``'s answers against the truths of ``truth_ratings``,
    one row per group of expressions and popularity. ``groups`` defaults to the single
    countries and the combinations of :func:`expressions` over the countries that both the
    model and the truth have."""
    truth = Truth(truth_ratings)
    if groups is None:
        codes = [str(c) for c in artifact.countries if str(c) in truth.row]
        singles, combos = expressions(artifact, codes)
        groups = {"single": singles, "combination": combos}
    parsed = {name: [parse(e) for e in exprs] for name, exprs in groups.items()}
    tops = {id(t): truth.tops(t) for trees in parsed.values() for t in trees}
    rows = []
    for name, trees in parsed.items():
        for p in popularities:
            found: list[tuple[float, float, float]] = []
            repeated = 0
            for tree in trees:
                answer = engine.recommend(artifact, str(tree), n=n, popularity=p,
                                          exclude_charting=discover)
                keys = [truth.column.get(_key(artifact, s), -1) for s in answer.songs]
                recordings = [(s.title.casefold(), s.artists.casefold()) for s in answer.songs]
                repeated += len(set(recordings)) < len(recordings)
                chart, local = tops[id(tree)]
                found.append((precision(keys, chart), precision(keys, local),
                              precision(keys, chart | local)))
            mean = np.mean(found, axis=0) if found else np.zeros(3)
            rows.append(FidelityRow(name, float(p), len(found), round(float(mean[0]), 3),
                                    round(float(mean[1]), 3), round(float(mean[2]), 3),
                                    repeated))
    return rows


def _key(artifact: Artifact, song: engine.RecommendedSong) -> str:
    """The song key of an answered song (its Spotify id, or the store's title key)."""
    if song.uri:
        return song.uri.rsplit(":", 1)[-1]
    hits = np.flatnonzero((artifact.songs.titles == song.title)
                          & (artifact.songs.artists == song.artists))
    return str(artifact.songs.keys[hits[0]]) if len(hits) else ""
