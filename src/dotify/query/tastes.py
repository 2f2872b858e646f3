"""Tastes in song space: what each country plays, and what the model says it would.

A country's **chart profile** is ``r_c(s) = log(1 + streams_c(s) / 1000)`` divided by its
maximum over songs, so every country weighs the same and ``r`` lies in [0, 1] (0 where the
song never charted there). The **world's taste** ``w(s)`` is the mean profile over the
countries. What a country plays (:meth:`Tastes.own`) is ``r̂_c``: the chart profile where the song
charted in ``c``; elsewhere the model's estimate, weighed down by :data:`FILL_IN` so that
songs a country really plays come first and the model only fills in (a product of two
countries that share few songs, say). In discover mode it is the model's estimates alone,
and the world's taste their mean over countries. The engine
(:mod:`dotify.query.recommend`) evaluates an expression on these and takes the world's
taste away once, in proportion to the popularity knob.

The model's estimate (:func:`percentile_power`) is scale-free: each country's model scores
are turned into percentiles over songs and raised to :data:`SHARPNESS`, so a song at the
model's top percentile is worth about as much as a charted song and the tail about nothing.
It depends only on the order of a model's scores, so every model kind, whatever the spread
of its vector lengths or its alpha, answers on the same scale. A country's estimates are
kept (float32) with the columns of its best ``1 / KEPT_SHARE`` of songs in order, so that a
query can score only the songs that may make its top (:mod:`dotify.query.ranking`).

Expressions of these tastes are evaluated song by song by
:func:`dotify.query.arithmetic.evaluate`; the chart truth of the fidelity measure is the
same algebra on the chart profiles themselves (:mod:`dotify.learn.fidelity`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from dotify.countries import GLOBAL

PROFILE_EPS = 1000.0  # streams per unit of the chart profile's log scale
FILL_IN = 0.1  # weight of the model's estimate for a song the country never charted
SHARPNESS = 4.0  # model estimate = percentile ** SHARPNESS
KEPT_SHARE = 5  # a country keeps the columns of its best 1/KEPT_SHARE songs in order


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
    """Each row's scores as ``(rank / n) ** SHARPNESS`` in [0, 1], float32 of the same shape:
    only their order counts. Equal scores share their highest rank (so ties never depend on
    the column order); NaN and -inf rank lowest."""
    scores = np.atleast_2d(np.asarray(scores))
    return np.stack([ranked(row, 0)[0] for row in scores]) if len(scores) else \
        np.zeros(scores.shape, np.float32)


def ranked(scores: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """One row of scores (n,) as its :func:`percentile_power` (float32 (n,)) and the columns
    of its ``keep`` highest, best first (int32, equal scores in any order): one sort."""
    finite = np.asarray(scores, dtype=np.float64)
    finite = np.where(np.isnan(finite), -np.inf, finite)
    n = len(finite)
    order = np.argsort(finite)
    ordered = finite[order]
    last = np.ones(n, dtype=bool)  # the last of each run of equal scores holds the run's rank
    np.not_equal(ordered[1:], ordered[:-1], out=last[:-1])
    run = np.cumsum(last) - last  # how many runs end before each position
    ranks = np.empty(n)
    ranks[order] = (np.flatnonzero(last) + 1)[run]
    best = order[::-1][:keep].astype(np.int32 if n < 2**31 else np.int64)
    return ((ranks / n) ** SHARPNESS).astype(np.float32), best


@dataclass(frozen=True)
class Tastes:
    """Song-space tastes of one model: chart profiles (when the model kept its streams) and
    the world's taste, built once; the model's estimates of a country, computed on its first
    query and kept (all countries' only when discover mode or an old model needs their
    mean: at a million songs that costs about 0.1 s and 5 MB a country)."""

    rows: dict[str, int]  # ISO code -> row
    chart: sp.csr_matrix | None  # chart profiles, or None for a model saved without streams
    real: np.ndarray  # bool per row: a country with data (not global, not all zero)
    world: np.ndarray  # float64 (n_songs,): the mean chart profile of the real countries
    score: Callable[[np.ndarray], np.ndarray]  # the model's scores of some rows
    n_songs: int
    _ranked: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False,
                                                              compare=False)

    @classmethod
    def build(cls, countries: np.ndarray, score: Callable[[np.ndarray], np.ndarray],
              n_songs: int, streams: sp.spmatrix | None, has_vector: np.ndarray) -> Tastes:
        """From the model's ``score`` (rows -> (len(rows), n_songs) scores), its summed
        ``streams`` (or None) and which rows have a vector."""
        codes = [str(c) for c in countries]
        chart = profiles(streams) if streams is not None else None
        if chart is not None:
            chart.sort_indices()  # each row's columns in order: own_at looks them up
        real = np.array([c != GLOBAL for c in codes], dtype=bool) & np.asarray(has_vector, bool)
        if chart is not None:
            real &= np.diff(chart.indptr) > 0
        world = np.zeros(n_songs)
        if chart is not None and real.any():
            world = np.asarray(chart[np.flatnonzero(real)].mean(axis=0)).ravel()
        return cls({c: i for i, c in enumerate(codes)}, chart, real, world, score, n_songs)

    def ranked(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """The model's estimates for one country (:func:`percentile_power`, float32 (n_songs,),
        read-only) and the columns of its best songs, best first (:func:`ranked`)."""
        found = self._ranked.get(row)
        if found is None:  # at worst two threads compute the same row
            found = ranked(self.score(np.array([row]))[0], self.n_songs // KEPT_SHARE)
            for array in found:
                array.flags.writeable = False
            self._ranked[row] = found
        return found

    def rank_all(self) -> None:
        """:meth:`ranked` for every country with data, now: what the first query naming each
        would otherwise wait for (about 5 ms a country at 45,000 songs)."""
        for row in np.flatnonzero(self.real):
            self.ranked(int(row))

    def estimate(self, row: int) -> np.ndarray:
        """The model's estimates for one country (:func:`percentile_power`), float64."""
        return self.ranked(row)[0].astype(np.float64)

    @cached_property
    def model_world(self) -> np.ndarray:
        """The mean estimate of the real countries, float64 (n_songs,)."""
        total = np.zeros(self.n_songs)
        rows = np.flatnonzero(self.real)
        for row in rows:  # one row after another, as a mean over axis 0 adds them
            total += self.ranked(int(row))[0]
        return total / len(rows) if len(rows) else total

    def observed(self, row: int) -> np.ndarray:
        """The chart profile of one row, dense float64 (zeros without streams)."""
        out = np.zeros(self.n_songs)
        if self.chart is not None:
            lo, hi = self.chart.indptr[row], self.chart.indptr[row + 1]
            out[self.chart.indices[lo:hi]] = self.chart.data[lo:hi]
        return out

    def charted(self, row: int) -> np.ndarray:
        """The columns a country charted, in order (empty without streams)."""
        if self.chart is None:
            return np.empty(0, dtype=np.int32)
        return self.chart.indices[self.chart.indptr[row]:self.chart.indptr[row + 1]]

    def own(self, row: int, discover: bool) -> np.ndarray:
        """What a country plays, song by song, float64 in [0, 1]: its chart profile, the
        model filling in at :data:`FILL_IN`; in discover mode (or for a model saved without
        streams) the model's estimates alone."""
        if discover or self.chart is None:
            return self.estimate(row)
        out = FILL_IN * self.estimate(row)  # a new array: the charted songs go in over it
        lo, hi = self.chart.indptr[row], self.chart.indptr[row + 1]
        out[self.chart.indices[lo:hi]] = self.chart.data[lo:hi]  # all > 0 (see profiles)
        return out

    def own_at(self, row: int, discover: bool, columns: np.ndarray) -> np.ndarray:
        """:meth:`own` at some songs only (``columns``: int, increasing unless there are
        fewer of them than songs the country charted), float64: the same values, without a
        pass over every song."""
        out = self.ranked(row)[0][columns].astype(np.float64)
        if discover or self.chart is None:
            return out
        out *= FILL_IN
        lo, hi = self.chart.indptr[row], self.chart.indptr[row + 1]
        charted, data = self.chart.indices[lo:hi], self.chart.data[lo:hi]
        if len(columns) < len(charted):  # each column looked up among the charted songs
            at = np.minimum(np.searchsorted(charted, columns), len(charted) - 1)
            hit = charted[at] == columns
            out[hit] = data[at[hit]]
        elif len(charted):  # each charted song looked up among the columns
            at = np.minimum(np.searchsorted(columns, charted), len(columns) - 1)
            hit = columns[at] == charted
            out[at[hit]] = data[hit]
        return out

    def world_taste(self, discover: bool) -> np.ndarray:
        """The world's taste on the scale of :meth:`own`, float64 (n_songs,)."""
        return self.model_world if discover or self.chart is None else self.world

    def similarity_vectors(self) -> np.ndarray:
        """Country vectors whose cosines are those of the centred chart profiles
        ``r_c - w`` (float64, (n_countries, k)), from the countries' Gram matrix so that no
        dense countries x songs matrix is built; zero rows for countries without data, and
        an empty (n, 0) array when the model kept no streams."""
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
