"""Ranking songs by a query's score: the best ``n``, ties broken, mostly without scoring
every song.

:func:`best` ranks scores rounded to :data:`TIE_DECIMALS` places, equal ones by more streams
and then by the lower column, so the top ``n`` is never an arbitrary pick among equals.

:func:`shortlisted` finds that same top ``n`` from a shortlist. A country plays a song it
charted at its chart profile (a few thousand songs a country) and any other song at
``FILL_IN`` times the model's estimate (:mod:`dotify.query.tastes`), and keeps its best
songs by the model in order. So the engine scores, for each country whose higher values
can raise the score (not one only taken away or divided by), the songs it charted and its
``depth`` best songs by the model. Every other song has each such country's value between 0
and ``FILL_IN`` times the country's estimate at ``depth`` (in discover mode, where no chart
counts, the estimate itself), and every other country's between 0 and 1; interval
arithmetic (:func:`dotify.query.arithmetic.span`) turns these into ``U``, the best score
such a song could reach (the world's taste, never negative, only lowers it). When the
``n``-th best score found is more than :data:`MARGIN` above ``U``, no other song can reach
the top ``n`` nor tie with it once rounded: :func:`best` over the shortlist is :func:`best`
over every song, song for song. Otherwise the shortlist goes deeper, as deep as the ``n``-th
best score found so far needs (at most :data:`GROWTH` times), scoring only the songs it
adds. The engine scores every song instead when a shortlist would hold more than
``1 / KEPT_SHARE`` of the songs, or when an expression's values may exceed :data:`LARGEST`.

At a million songs a query scores 5,000 to 90,000 of them
(``python bench/bench_recommend.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from dotify.query.algebra import Span
from dotify.query.arithmetic import Country, Node, span
from dotify.query.tastes import FILL_IN, KEPT_SHARE, Tastes

TIE_DECIMALS = 6
MARGIN = 1e-5  # a shortlist holds the top n when all else scores this far below its n-th
LARGEST = 1e6  # above this an expression's values round too coarsely for MARGIN to hold
GROWTH = 4  # how much deeper into each country's best songs the next shortlist goes
FIRST_SHARE = 64  # the first depth without charts to narrow the songs (discover): 1/64th

Scores = Callable[[np.ndarray], np.ndarray]  # increasing columns -> their scores, float64
Allowed = Callable[[np.ndarray], np.ndarray | None]  # columns -> bool mask, or None: all


def best(scores: np.ndarray, n: int, streams: np.ndarray, allowed: int,
         columns: np.ndarray | None = None) -> np.ndarray:
    """Positions of the best ``n`` of the ``allowed`` finite ``scores`` of the songs at
    ``columns`` (by default every song, in order): scores rounded to TIE_DECIMALS places,
    ties to more ``streams`` (one per song), then to the lower column."""
    k = min(n, allowed)
    if k == 0:
        return np.empty(0, dtype=np.int64)
    kth = float(np.partition(scores, len(scores) - k)[len(scores) - k])  # the k-th best
    # rounding moves a score by at most half a unit of the last place: round only these
    candidates = np.flatnonzero(scores >= kth - 10.0 ** -TIE_DECIMALS)
    at = candidates if columns is None else columns[candidates]
    rounded = np.round(scores[candidates], TIE_DECIMALS)
    order = np.lexsort((at, -np.asarray(streams)[at].astype(np.float64), -rounded))[:k]
    return candidates[order]


def hopeless(tastes: Tastes, rows: dict[str, int]) -> bool:
    """True when a shortlist would cost about as much as scoring every song: a country of
    the query (``rows``: code -> row) charted more than ``1 / KEPT_SHARE`` of the songs."""
    charted = max((len(tastes.charted(row)) for row in rows.values()), default=0)
    return charted * KEPT_SHARE > tastes.n_songs


def shortlisted(tastes: Tastes, tree: Node, rows: dict[str, int], discover: bool, n: int,
                scores: Scores, streams: np.ndarray, allowed: Allowed | None = None,
                excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(columns, scores) of the best ``n`` songs, as :func:`best` over every song gives
    them, found from a shortlist (see the module's docstring); None when no shortlist of at
    most 1/KEPT_SHARE of the songs is shown to hold them.

    ``rows`` maps the codes of ``tree``'s countries to their rows in ``tastes``, and
    ``tree``'s values stay within :data:`LARGEST` (:func:`~dotify.query.arithmetic.largest`
    for values in [0, 1]). ``scores(columns)`` are the scores of the songs at ``columns``
    (increasing), ``allowed(columns)`` a bool mask of those an answer may hold, and
    ``excluded`` columns no answer holds.
    """
    scale = 1.0 if discover or tastes.chart is None else FILL_IN
    raising = _raising(tree, rows)
    orders = [tastes.ranked(rows[code])[1] for code in raising]
    kept = min((len(order) for order in orders), default=0)
    charted = [] if scale == 1.0 else [tastes.charted(rows[code]) for code in raising]
    beyond = partial(_beyond, tastes, tree, rows, raising, scale)
    seen = np.zeros(tastes.n_songs, dtype=bool)
    if excluded is not None:
        seen[excluded] = True  # never scored
    columns, values, scored = np.empty(0, np.int64), np.empty(0), 0
    first = min(kept, max(tastes.n_songs // FIRST_SHARE, n))
    previous, depth = 0, 0 if charted else first
    while True:  # each time, the songs not scored yet of a deeper shortlist
        fresh = _fresh(seen, charted + [order[previous:depth] for order in orders])
        scored += len(fresh)
        if scored * KEPT_SHARE > tastes.n_songs:
            return None  # about as much work as scoring every song
        found = scores(fresh)
        mask = None if allowed is None else allowed(fresh)
        if mask is not None:
            fresh, found = fresh[mask], found[mask]
        columns, values = np.concatenate([columns, fresh]), np.concatenate([values, found])
        k = min(n, len(values))
        kth = float(np.partition(values, len(values) - k)[len(values) - k]) if k else -np.inf
        if k == n and beyond(depth) < kth - MARGIN:
            top = best(values, n, streams, len(values), columns)
            return columns[top], values[top]
        if not raising or depth >= kept:
            return None
        near = values >= kth - 10.0 ** -TIE_DECIMALS  # only these can still make the top
        columns, values = columns[near], values[near]
        # deeper, but no deeper than the n-th best score found so far needs
        deeper = min(kept, max(first, GROWTH * depth))
        if k == n:
            deeper = _first(partial(_below, beyond, kth - MARGIN), depth + 1, deeper)
        charted, previous, depth = [], depth, deeper


def _first(holds: Callable[[int], bool], low: int, high: int) -> int:
    """A ``d`` in [low, high], within 1/64 of that range of the least one, for which
    ``holds(d)`` (which stays true once true); else ``high``."""
    close = max(1, (high - low) // 64)
    while high - low > close:
        middle = (low + high) // 2
        low, high = (low, middle) if holds(middle) else (middle + 1, high)
    return high


def _below(beyond: Callable[[int], float], score: float, depth: int) -> bool:
    return beyond(depth) < score


def _raising(tree: Node, rows: dict[str, int]) -> list[str]:
    """The codes of the countries whose higher values can raise the expression's values
    (not one that is only taken away or divided by)."""
    top = span(tree, lambda _: (0.0, 1.0))[1]
    return [code for code in rows if span(tree, partial(_silent, code))[1] < top]


def _silent(code: str, country: Country) -> Span:
    """Values in [0, 1] for every country but ``code``'s, which is 0."""
    return 0.0, 0.0 if country.code == code else 1.0


def _beyond(tastes: Tastes, tree: Node, rows: dict[str, int], raising: list[str], scale: float,
            depth: int) -> float:
    """The best score a song outside the shortlist of ``depth`` could reach: its value for
    every raising country is at most ``scale`` times the country's estimate at ``depth``
    (what it charted is in the shortlist), and for the others at most 1."""
    high = dict.fromkeys(rows, 1.0)
    for code in raising:
        estimates, order = tastes.ranked(rows[code])
        if len(order):  # past the songs kept in order, the last one kept bounds the others
            high[code] = scale * float(estimates[order[min(depth, len(order) - 1)]])
    return span(tree, lambda c: (0.0, high[c.code]))[1]


def _fresh(seen: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """The columns of ``columns`` not ``seen`` yet, each once, in increasing order (int64);
    they are marked seen."""
    out = []
    for some in columns:
        some = some[~seen[some]]
        seen[some] = True
        out.append(some)
    return np.sort(np.concatenate([np.empty(0, np.int32), *out])).astype(np.int64)
