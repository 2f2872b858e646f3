"""Tastes in song space: what each country plays, what the model says it would, and the
algebra of a country expression evaluated song by song.

A country's **chart profile** is ``r_c(s) = log(1 + streams_c(s) / 1000)`` divided by its
maximum over songs, so every country weighs the same and ``r`` lies in [0, 1] (0 where the
song never charted there). The **world's taste** ``w(s)`` is the mean profile over the
countries. The popularity knob ``p`` moves a country's taste between what sets it apart
(``p = 0``: ``r_c - w``, the seed's "local" answers) and what it plays most (``p = 1``:
``r_c``)::

    leaf_c(s) = r̂_c(s) - (1 - p) * w(s)

``r̂_c`` is the chart profile where the song charted in ``c``; elsewhere it is the model's
estimate, weighed down by :data:`FILL_IN` so that songs a country really plays come first
and the model only fills in (a product of two countries that share few songs, say). In
discover mode the songs the query's countries already chart are left out, and the leaves
are the model's estimates alone, less ``1 - p`` times their mean over countries.

The model's estimate (:meth:`Tastes.intensity`) is scale-free: each country's model scores
are turned into percentiles over songs and raised to :data:`SHARPNESS`, so a song at the
model's top percentile is worth about as much as a charted song and the tail about nothing.
It depends only on the order of a model's scores, so every model kind, whatever the spread
of its vector lengths or its alpha, answers on the same scale.

Expressions are evaluated element-wise over songs (:func:`evaluate`): ``+`` and ``-`` add
and take away, a number weighs, ``x`` multiplies the positive parts (what both play), ``/``
divides the numerator's positive part by the denominator's, floored at
:data:`DIVISION_FLOOR`. The chart truth of the fidelity measure is the same algebra on the
chart profiles themselves (:mod:`dotify.learn.fidelity`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from dotify.countries import GLOBAL
from dotify.errors import ExpressionError
from dotify.query.arithmetic import BinOp, Country, Neg, Node, Number

PROFILE_EPS = 1000.0  # streams per unit of the chart profile's log scale
FILL_IN = 0.1  # weight of the model's estimate for a song the country never charted
SHARPNESS = 4.0  # model estimate = percentile ** SHARPNESS
DIVISION_FLOOR = 0.05  # smallest denominator of a quotient, on the profile scale [0, 1]


def profiles(streams: sp.spmatrix) -> sp.csr_matrix:
    """Chart profiles ``log(1 + s / 1000) / max`` per row of a countries x songs matrix of
    summed streams, CSR float64; rows with no streams stay zero."""
    r = sp.csr_matrix(streams, dtype=np.float64, copy=True)
    r.eliminate_zeros()
    r.data = np.log1p(r.data / PROFILE_EPS)
    peak = np.asarray(r.max(axis=1).todense()).ravel()
    peak[peak <= 0] = 1.0
    out: sp.csr_matrix = sp.csr_matrix(sp.diags(1.0 / peak) @ r)
    return out


def percentile_power(scores: np.ndarray) -> np.ndarray:
    """Each row's scores as ``(rank / n) ** SHARPNESS`` in [0, 1] (ties share a rank), so
    only their order counts. float32 of the same shape."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    n = scores.shape[1]
    out = np.empty(scores.shape, np.float32)
    for i, row in enumerate(scores):
        finite = np.where(np.isfinite(row), row, -np.inf)
        order = np.argsort(finite, kind="stable")
        ranks = np.empty(n, np.float64)
        ranks[order] = np.arange(1, n + 1)
        # equal scores share their highest rank, so ties never depend on the column order
        sorted_vals = finite[order]
        ends = np.r_[np.flatnonzero(sorted_vals[1:] != sorted_vals[:-1]), n - 1]
        starts = np.r_[0, ends[:-1] + 1]
        for lo, hi in zip(starts, ends, strict=True):
            if hi > lo:
                ranks[order[lo:hi + 1]] = hi + 1
        out[i] = (ranks / n) ** SHARPNESS
    return out


@dataclass
class Tastes:
    """Song-space tastes of one model: chart profiles (when the model kept its streams),
    the world's taste, and the model's estimates, computed once per row and cached.

    ``score_rows(rows)`` is the model's own score (float, (len(rows), n_songs)).
    """

    rows: dict[str, int]  # ISO code -> row
    n_songs: int
    score_rows: Callable[[np.ndarray], np.ndarray]
    chart: sp.csr_matrix | None  # chart profiles, or None for a model saved without streams
    real: np.ndarray  # bool per row: a country with data (not global, not all zero)
    world: np.ndarray = field(init=False)
    _estimates: np.ndarray | None = field(default=None, init=False, repr=False)
    _model_world: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.chart is not None and self.real.any():
            self.world = np.asarray(self.chart[np.flatnonzero(self.real)].mean(axis=0)).ravel()
        else:
            self.world = np.zeros(self.n_songs)

    @classmethod
    def build(cls, countries: np.ndarray, score_rows: Callable[[np.ndarray], np.ndarray],
              n_songs: int, streams: sp.spmatrix | None, has_vector: np.ndarray) -> Tastes:
        codes = [str(c) for c in countries]
        chart = profiles(streams) if streams is not None else None
        real = np.array([c != GLOBAL for c in codes]) & np.asarray(has_vector, bool)
        if chart is not None:
            real &= np.diff(chart.indptr) > 0
        return cls({c: i for i, c in enumerate(codes)}, n_songs, score_rows, chart, real)

    def estimates(self) -> np.ndarray:
        """The model's estimates for every country, float32 (n_countries, n_songs)."""
        if self._estimates is None:  # at worst two threads compute the same array
            all_rows = np.arange(len(self.rows))
            self._estimates = percentile_power(self.score_rows(all_rows))
        return self._estimates

    def model_world(self) -> np.ndarray:
        if self._model_world is None:
            est = self.estimates()
            self._model_world = (est[self.real].mean(axis=0) if self.real.any()
                                 else np.zeros(self.n_songs, np.float32)).astype(np.float64)
        return self._model_world

    def observed(self, row: int) -> np.ndarray:
        """The chart profile of one row, dense float64 (zeros without streams)."""
        out = np.zeros(self.n_songs)
        if self.chart is not None:
            lo, hi = self.chart.indptr[row], self.chart.indptr[row + 1]
            out[self.chart.indices[lo:hi]] = self.chart.data[lo:hi]
        return out

    def leaf(self, row: int, popularity: float, discover: bool) -> tuple[np.ndarray, np.ndarray]:
        """A country's taste at knob ``popularity`` as (its own part, the world's part),
        float64; the taste is their sum (see the module docstring)."""
        estimate = self.estimates()[row].astype(np.float64)
        if discover or self.chart is None:
            return estimate, -(1.0 - popularity) * self.model_world()
        r = self.observed(row)
        return np.where(r > 0, r, FILL_IN * estimate), -(1.0 - popularity) * self.world

    def similarity_vectors(self) -> np.ndarray:
        """Country vectors whose cosines are those of the centred chart profiles
        ``r_c - w`` (float64, (n_countries, k)), from the countries' Gram matrix so that no
        dense countries x songs matrix is built; zero rows for countries without data.
        None-equivalent (an empty (n, 0) array) when the model kept no streams."""
        n = len(self.rows)
        if self.chart is None:
            return np.zeros((n, 0))
        real = np.flatnonzero(self.real)
        r = self.chart[real]
        rw = r @ self.world
        gram = np.asarray((r @ r.T).todense()) - rw[:, None] - rw[None, :] + self.world @ self.world
        values, vectors = np.linalg.eigh((gram + gram.T) / 2)
        keep = values > 1e-12 * max(1.0, float(values.max(initial=0.0)))
        out = np.zeros((n, int(keep.sum())))
        out[real] = vectors[:, keep] * np.sqrt(values[keep])
        return out


# ---------------------------------------------------------------- song-space algebra


@dataclass
class SongValue:
    """A scalar (``values`` 0-d, no parts) or per-song values split into per-country parts
    that sum to ``values``."""

    values: np.ndarray
    parts: dict[str, np.ndarray]

    @property
    def is_scalar(self) -> bool:
        return self.values.ndim == 0


WORLD = "the world"  # the name of the world's part in a value's parts


def evaluate(tree: Node, leaf: Callable[[Country], np.ndarray | tuple[np.ndarray, np.ndarray]]
             ) -> SongValue:
    """Evaluate ``tree`` song by song, given each country's values (float64, (n_songs,)),
    or (own part, world's part) pairs whose sum is the country's values: the world's
    parts then go to a part of their own, :data:`WORLD`, so a subtracted country's part is
    what it takes away.

    Parts: sums add them, a number scales them; a product or quotient gives each side half
    of the result, shared among that side's countries in proportion to their parts
    (``part / side``) where the side is positive (all of it where only that side is: a
    quotient over a floored denominator). Non-finite results are an
    :class:`ExpressionError`.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = _evaluate(tree, leaf)
    if not all(np.isfinite(v).all() for v in (value.values, *value.parts.values())):
        raise ExpressionError("the expression overflows; use smaller weights")
    return value


def _evaluate(tree: Node, leaf: Callable[[Country], Any]) -> SongValue:
    if isinstance(tree, Country):
        given = leaf(tree)
        if isinstance(given, tuple):
            own, world = (np.asarray(v, dtype=np.float64) for v in given)
            return SongValue(own + world, {tree.name: own, WORLD: world})
        values = np.asarray(given, dtype=np.float64)
        return SongValue(values, {tree.name: values})
    if isinstance(tree, Number):
        return SongValue(np.asarray(tree.value, dtype=np.float64), {})
    if isinstance(tree, Neg):
        inner = _evaluate(tree.operand, leaf)
        return SongValue(-inner.values, {k: -v for k, v in inner.parts.items()})
    assert isinstance(tree, BinOp)
    a, b = _evaluate(tree.left, leaf), _evaluate(tree.right, leaf)
    if tree.op in "+-":
        return _sum(a, b, tree, 1.0 if tree.op == "+" else -1.0)
    if a.is_scalar or b.is_scalar:
        return _scaled(a, b, tree)
    if tree.op == "*":
        values = np.maximum(a.values, 0.0) * np.maximum(b.values, 0.0)
    else:
        values = np.maximum(a.values, 0.0) / np.maximum(b.values, DIVISION_FLOOR)
    return SongValue(values, _shared(values, a, b))


def _sum(a: SongValue, b: SongValue, node: BinOp, sign: float) -> SongValue:
    if a.is_scalar and b.is_scalar:
        return SongValue(a.values + sign * b.values, {})
    if a.is_scalar or b.is_scalar:
        word = "add" if sign > 0 else "subtract"
        raise ExpressionError(f"cannot {word} a number and a country; use a weight such as "
                              "'0.5 * Colombia'", node.pos)
    parts = dict(a.parts)
    for name, part in b.parts.items():
        parts[name] = parts.get(name, 0.0) + sign * part
    return SongValue(a.values + sign * b.values, parts)


def _scaled(a: SongValue, b: SongValue, node: BinOp) -> SongValue:
    """A number times, or divided into, a value (or two numbers)."""
    if node.op == "*":
        scale, other = (a, b) if a.is_scalar else (b, a)
        return SongValue(a.values * b.values,
                         {k: v * scale.values for k, v in other.parts.items()})
    if b.is_scalar:
        if b.values == 0:
            raise ExpressionError("division by zero", node.pos)
        return SongValue(a.values / b.values, {k: v / b.values for k, v in a.parts.items()})
    raise ExpressionError("cannot divide a number by a country; divide a country by a "
                          "number or by another country", node.pos)


def _shared(values: np.ndarray, a: SongValue, b: SongValue) -> dict[str, np.ndarray]:
    parts: dict[str, np.ndarray] = {}
    for side, other in ((a, b), (b, a)):
        positive = side.values > 0
        # half where both sides are positive; all of it where only this one is (a quotient
        # over a floored denominator), so the parts always sum to the value
        weight = np.where(other.values > 0, 0.5, 1.0)
        denominator = np.where(positive, side.values, 1.0)
        for name, part in side.parts.items():
            share = np.where(positive, weight * values * part / denominator, 0.0)
            parts[name] = parts.get(name, 0.0) + share
    return parts


def upper_bound(tree: Node, low: float, high: float) -> float:
    """The largest value ``tree`` can take when every country's value lies in
    [``low``, ``high``] (interval arithmetic): the score of a perfect match."""
    return _interval(tree, low, high)[1]


def _interval(tree: Node, low: float, high: float) -> tuple[float, float]:
    if isinstance(tree, Country):
        return low, high
    if isinstance(tree, Number):
        return tree.value, tree.value
    if isinstance(tree, Neg):
        lo, hi = _interval(tree.operand, low, high)
        return -hi, -lo
    assert isinstance(tree, BinOp)
    (a_lo, a_hi), (b_lo, b_hi) = _interval(tree.left, low, high), _interval(tree.right, low, high)
    scalar_a, scalar_b = _is_number(tree.left), _is_number(tree.right)
    if tree.op == "+":
        return a_lo + b_lo, a_hi + b_hi
    if tree.op == "-":
        return a_lo - b_hi, a_hi - b_lo
    if scalar_a or scalar_b or tree.op == "*":
        if tree.op == "*" and not (scalar_a or scalar_b):
            a_lo, a_hi, b_lo, b_hi = max(a_lo, 0), max(a_hi, 0), max(b_lo, 0), max(b_hi, 0)
        if tree.op == "/":  # a country over a number
            b_lo, b_hi = 1.0 / b_hi if b_hi else 0.0, 1.0 / b_lo if b_lo else 0.0
        corners = [a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi]
        return min(corners), max(corners)
    # country / country: positive part over a floored positive part
    return 0.0, max(a_hi, 0.0) / DIVISION_FLOOR if a_hi > 0 else 0.0


def _is_number(tree: Node) -> bool:
    return isinstance(tree, Number) or (isinstance(tree, Neg) and _is_number(tree.operand))
