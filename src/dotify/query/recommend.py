"""The recommendation engine: a country expression -> its best songs, ranked.

Songs are scored in song space (:mod:`dotify.query.tastes`): each country of the
expression is what it plays (its chart profile, 0 to 1, the model filling in the songs it
never charted); the expression is evaluated song by song (``x`` is what both play, ``-``
takes away), and the world's taste (the mean profile) is then taken away once, ``1 -
popularity`` times the expression's world weight ``k``::

    score(s) = E(r̂)(s) - (1 - popularity) * k * w(s)

``k`` (:func:`world_weight`) is what the expression gives when every country plays the same
song at 1: 1 for "Japan", 2 for "Japan + Korea", 1 for "Japan x Korea", and 0 for "Japan -
Korea", where the world's taste cancels out as it does in the local truth of
:mod:`dotify.learn.fidelity`: a difference already takes away what both countries share,
so the knob leaves it alone. The world is never added: ``k`` is at least 0, so in
``Colombia x Turkey - Germany`` (``k`` = 0) a song only the world plays never scores from
the world.

``popularity = 1`` answers with what the countries play most; ``0`` with what sets them
apart from the world (the songs most particular to them); :data:`DEFAULT_POPULARITY`,
0.5, is between, chosen on the real 2019-2021 weekly charts with ``dotify fidelity``
(``python bench/bench_fidelity.py``): its answers agree with the charts and with the local
taste alike. In discover mode the songs the query's countries already chart are left out
and the model's estimates alone rank the rest (measured by held-out EPR).

Each song gets a ``match`` from 0 to 100: its score over ``B``, the largest score the
expression could reach (every country at its top song, every subtracted one silent), so
matches compare across queries and knob settings. Equal scores (to :data:`TIE_DECIMALS`
places) go to more streams, then to the lower column, so the top ``n`` is never an
arbitrary pick among equals. The top ``n`` come from a shortlist of the songs shown to hold
them, the same as scoring every song would give (:mod:`dotify.query.ranking`): at a million
songs a query scores a few thousand to some ninety thousand of them.
Each country's contribution is its share of the score, and the world's share is listed
apart (:data:`WORLD`): a subtracted country's is never positive.

Similarity of countries (:func:`similar`, :func:`taste_vectors`) is the cosine of their
chart profiles less the world's taste (Colombia's nearest are Ecuador and Bolivia, Germany's
Austria and Switzerland); the map, the report and the country page all use it.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache, partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from dotify.artifact import Artifact
from dotify.countries import MARKETS
from dotify.errors import CountryNotInModelError, DotifyError, ExpressionError
from dotify.query.algebra import Value
from dotify.query.arithmetic import (
    MAX_TERMS,
    Country,
    countries_in,
    evaluate,
    largest,
    parse,
    upper_bound,
)
from dotify.query.ranking import LARGEST, TIE_DECIMALS, best, hopeless, shortlisted
from dotify.query.tastes import Tastes

log = logging.getLogger("dotify")

DEFAULT_POPULARITY = 0.5
MAX_N = 1000
_TINY = 1e-12
WORLD = "the world"  # the name of the world's share in a song's contributions
_TRACK_ID = re.compile(r"(?:open\.spotify\.com/track/|spotify:track:)([A-Za-z0-9]{22})")
_BARE_ID = re.compile(r"[A-Za-z0-9]{22}")


@dataclass
class RecommendedSong:
    rank: int
    title: str
    artists: str
    url: str
    uri: str  # spotify:track:<id>, or "" when the song's id is unknown
    score: float  # the expression's value for the song, in chart-profile units
    contributions: dict[str, float] = field(default_factory=dict)  # country name -> share
    match: float = 0.0  # 0-100: the score over the best score the expression could reach


@dataclass
class Recommendation:
    expression: str  # as asked
    parsed: str  # the canonical form of the parsed expression
    songs: list[RecommendedSong]
    popularity: float = DEFAULT_POPULARITY
    world_weight: float = 1.0  # how much of the world's taste the knob takes away (0: none)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SimilarCountry:
    rank: int
    code: str
    name: str
    similarity: float  # cosine of the two countries' centred unit vectors

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- per-artifact cache


@dataclass(frozen=True)
class _Prepared:
    """What every query on one artifact reuses: its tastes and the similarity vectors."""

    source: np.ndarray  # the artifact's song_vectors array this was built from
    tastes: Tastes
    similarity: np.ndarray  # centred country vectors: cosines are the countries' similarity
    lengths: np.ndarray  # their lengths


_CACHE: dict[int, tuple[weakref.ref[Artifact], _Prepared]] = {}


def _prepare(artifact: Artifact) -> _Prepared:
    hit = _CACHE.get(id(artifact))
    if hit is not None and hit[0]() is artifact and hit[1].source is artifact.song_vectors:
        return hit[1]
    countries = np.asarray(artifact.country_vectors, dtype=np.float64)
    has_vector = np.linalg.norm(countries, axis=1) > 0
    tastes = Tastes.build(artifact.countries, artifact.model.score, len(artifact.songs),
                          artifact.streams, has_vector)
    similarity = tastes.similarity_vectors()
    if similarity.shape[1] == 0:  # a model saved without streams: its own vectors
        unit = countries / np.where(has_vector, np.linalg.norm(countries, axis=1), 1.0)[:, None]
        similarity = unit - (unit[tastes.real].mean(axis=0) if tastes.real.any() else 0.0)
    prepared = _Prepared(artifact.song_vectors, tastes, similarity,
                         np.linalg.norm(similarity, axis=1))
    key = id(artifact)
    _CACHE[key] = (weakref.ref(artifact, lambda _: _CACHE.pop(key, None)), prepared)
    return prepared


def warm(artifact: Artifact) -> None:
    """Build what every query on ``artifact`` reuses, every country's ranking included, so
    that no request waits for it (a server does this before a model goes live)."""
    _prepare(artifact).tastes.rank_all()


# ---------------------------------------------------------------- queries


def _row(prepared: _Prepared, country: Country) -> int:
    """The country's row, or a clear error when the model cannot answer for it."""
    row = prepared.tastes.rows.get(country.code)
    if row is None:
        region = MARKETS[country.code].region
        near = [m.name for code, m in MARKETS.items()
                if m.region == region and code in prepared.tastes.rows]
        raise CountryNotInModelError(country.name, near[:3])
    if not prepared.tastes.real[row]:
        raise DotifyError(f"{country.name} has no data in this model; it cannot be queried")
    return row


def recommend(
    artifact: Artifact,
    expression: str | Sequence[str],
    n: int = 10,
    popularity: float = DEFAULT_POPULARITY,
    exclude_charting: bool = False,
    since: date | None = None,
    until: date | None = None,
) -> Recommendation:
    """The ``n`` best songs for ``expression`` (a string or a token list), best first.

    ``exclude_charting`` (discover) leaves out songs that charted in any country of the
    expression (needs the artifact's ``charted`` pattern) and ranks the rest by the model.
    ``since``/``until`` keep songs that charted inside that window (needs per-song chart
    dates in the artifact).
    """
    _check_options(n, popularity)
    started = time.perf_counter()
    tree = parse(expression)
    prepared = _prepare(artifact)
    rows = {c.code: _row(prepared, c) for c in countries_in(tree)}
    if rows and cancels_out(tree):
        raise ExpressionError(f"{tree} cancels out: it is 0 for every song, so no song "
                              "would be chosen over another but by its streams")
    query = _Query(artifact, prepared.tastes, tree, rows, n, popularity,
                   bool(exclude_charting), since, until)
    # scoring every song is needed only when no shortlist is shown to hold the top n
    found = _from_shortlist(query) if largest(tree, 0.0, 1.0) <= LARGEST else None
    top, scores, weight = found or _from_every_song(query)
    # then the parts of the chosen songs alone
    tastes, order = prepared.tastes, np.argsort(top)
    back = np.argsort(order)
    parts = evaluate(tree, lambda c: _columns(
        tastes.own_at(rows[c.code], query.discover, top[order])[back], c.name)).parts
    if weight:  # no world: no part
        parts[WORLD] = -((1.0 - popularity) * weight * tastes.world_taste(query.discover)[top])
    songs = _songs(artifact, top, scores, parts, upper_bound(tree, 0.0, 1.0))
    log.debug("recommend %r: %d songs in %.2f ms", str(tree), len(songs),
              1e3 * (time.perf_counter() - started))
    text = expression if isinstance(expression, str) else " ".join(expression)
    return Recommendation(text, str(tree), songs, popularity, weight)


@dataclass(frozen=True)
class _Query:
    """One query on one artifact, as asked."""

    artifact: Artifact
    tastes: Tastes
    tree: Any
    rows: dict[str, int]  # the code of each country of the expression -> its row
    n: int
    popularity: float
    discover: bool
    since: date | None
    until: date | None


def _from_every_song(query: _Query) -> tuple[np.ndarray, np.ndarray, float]:
    """(columns, scores) of the best songs, every song scored, and the world weight."""
    tastes, tree, discover = query.tastes, query.tree, query.discover
    own = {code: tastes.own(row, discover) for code, row in query.rows.items()}
    value = evaluate(tree, lambda c: Value(own[c.code], {}))
    if value.is_scalar:
        raise ExpressionError("the expression has no country in it")
    weight = world_weight(tree)
    scores = value.vector - (1.0 - query.popularity) * weight * tastes.world_taste(discover)
    allowed = _allowed(query)
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    top = best(scores, query.n, query.artifact.songs.streams,
               len(scores) if allowed is None else int(allowed.sum()))
    return top, scores[top], weight


def _from_shortlist(query: _Query) -> tuple[np.ndarray, np.ndarray, float] | None:
    """What :func:`_from_every_song` gives, from a shortlist (:mod:`dotify.query.ranking`);
    None when none is shown to hold the top. For an expression no value of which
    overflows: the errors of :func:`_from_every_song` come first, in its order."""
    if hopeless(query.tastes, query.rows):
        return None
    weight = world_weight(query.tree)  # raises what evaluating the expression would
    if not query.rows:
        raise ExpressionError("the expression has no country in it")
    excluded = _excluded(query) if query.discover else None
    window = None
    if query.since is not None or query.until is not None:
        window = partial(_date_window, query.artifact, query.since, query.until)
        window(np.empty(0, dtype=np.int64))  # a model without chart dates says so now
    scores = partial(_scores, query, (1.0 - query.popularity) * weight)
    found = shortlisted(query.tastes, query.tree, query.rows, query.discover, query.n, scores,
                        query.artifact.songs.streams, window, excluded)
    return None if found is None else (*found, weight)


def _scores(query: _Query, world: float, columns: np.ndarray) -> np.ndarray:
    """The scores of the songs at ``columns`` (increasing): the expression on what each
    country plays less ``world`` times the world's taste, float64, as every song's are."""
    own = {code: query.tastes.own_at(row, query.discover, columns)
           for code, row in query.rows.items()}
    value = evaluate(query.tree, lambda c: Value(own[c.code], {}))
    if not world:  # x - 0 * w is x: no need of the world's taste
        return value.vector
    return value.vector - world * query.tastes.world_taste(query.discover)[columns]


def world_weight(tree: Any) -> float:
    """How many times the world's taste an expression holds (at least 0): its value when
    every country plays one song at 1 (so ``A + B`` is 2, ``A - B`` 0, ``A x B`` 1)."""
    return max(float(_probed(tree)[0]), 0.0)


def cancels_out(tree: Any) -> bool:
    """Whether an expression is 0 (to :data:`TIE_DECIMALS` places) whatever its countries
    play, as ``Japan - Japan`` or ``0 x Japan`` are: tried on every country at 1 and on
    random tastes between 0 and 1 (a polynomial or quotient of them that is not 0 is not 0
    at all of those). ``-Japan`` does not cancel out: it ranks what Japan plays least."""
    return not np.round(_probed(tree), TIE_DECIMALS).any()


# the tastes an expression is probed at: every country at 1 (the world weight), then 32
# random ones between 0 and 1 (one column per country; an expression names at most MAX_TERMS)
_PROBES = np.vstack([np.ones(MAX_TERMS), np.random.default_rng(0).random((32, MAX_TERMS))])


@lru_cache(maxsize=256)
def _probed(tree: Any) -> np.ndarray:
    """The expression's value at each of :data:`_PROBES` (read-only): one evaluation that
    a query's world weight and its cancel-out check share."""
    codes = sorted({c.code for c in countries_in(tree)})
    taste = {code: _PROBES[:, i] for i, code in enumerate(codes)}
    value = evaluate(tree, lambda c: taste[c.code])
    out = np.array(np.broadcast_to(value.vector, len(_PROBES)), dtype=np.float64)
    out.flags.writeable = False
    return out


def top(artifact: Artifact, country: str, n: int = 10,
        popularity: float = DEFAULT_POPULARITY) -> Recommendation:
    """A country's best songs."""
    return recommend(artifact, country, n=n, popularity=popularity)


def taste_vectors(artifact: Artifact) -> tuple[np.ndarray, np.ndarray]:
    """(codes, vectors) of the countries :func:`similar` compares: the cosines of these
    vectors (:func:`dotify.query.maps.cosine_matrix`) are the one similarity that the CLI,
    the country page, the map and the report show."""
    prepared = _prepare(artifact)
    keep = np.flatnonzero(prepared.tastes.real & (prepared.lengths > 1e-9))
    return np.asarray(artifact.countries)[keep], prepared.similarity[keep]


def similar(artifact: Artifact, country: str | Sequence[str], n: int = 10) -> list[SimilarCountry]:
    """The ``n`` countries of nearest taste to ``country``: the cosine of their chart
    profiles less the world's taste (so what all countries share does not make them all
    alike); for a model saved without streams, of its unit country vectors less their mean.

    ``country`` may be any expression of countries, numbers, ``+`` and ``-`` (evaluated on
    those vectors); the countries it names are left out of the answer, and so is the
    ``global`` chart, which is no country.
    """
    _check_options(n, 0.0)
    tree = parse(country)
    prepared = _prepare(artifact)
    tastes, lengths = prepared.similarity, prepared.lengths

    def vector(c: Country) -> np.ndarray:
        row = _row(prepared, c)
        if lengths[row] <= 1e-9:
            raise DotifyError(f"{c.name}'s taste is the world's average in this model")
        return tastes[row] / lengths[row]

    value = evaluate(tree, vector)
    if value.is_scalar or not value.vector.any():
        raise ExpressionError("the expression has no country in it, or cancels out")
    q = value.vector / np.linalg.norm(value.vector)
    sims = (tastes @ q) / np.maximum(lengths, _TINY)
    named = {c.code for c in countries_in(tree)}
    keep = np.array([code not in named and prepared.tastes.real[row] and lengths[row] > 1e-9
                     for code, row in prepared.tastes.rows.items()])
    rows = np.array(list(prepared.tastes.rows.values()))[keep]
    order = rows[np.lexsort((rows, -np.round(sims[rows], TIE_DECIMALS)))][:n]
    codes = [str(artifact.countries[r]) for r in order]
    return [SimilarCountry(rank, code, MARKETS[code].name if code in MARKETS else code,
                           float(np.clip(sims[r], -1.0, 1.0)))
            for rank, (code, r) in enumerate(zip(codes, order, strict=True), start=1)]


def _check_options(n: int, popularity: float) -> None:
    if not 1 <= n <= MAX_N:
        raise ValueError(f"n must be between 1 and {MAX_N}, not {n!r}")
    if not 0.0 <= popularity <= 1.0:
        raise ValueError(f"popularity must be between 0 and 1, not {popularity!r}")


def _allowed(query: _Query) -> np.ndarray | None:
    """A bool mask of the songs a query may return, or None when every song may."""
    mask: np.ndarray | None = None
    if query.discover:
        mask = np.ones(len(query.artifact.songs), dtype=bool)
        mask[_excluded(query)] = False
    if query.since is not None or query.until is not None:
        window = _date_window(query.artifact, query.since, query.until)
        mask = window if mask is None else mask & window
    return mask


def _excluded(query: _Query) -> np.ndarray:
    """The columns a discover query leaves out: the songs its countries charted."""
    charted = query.artifact.charted
    if charted is None:
        raise DotifyError("this model has no record of where songs charted, so discover "
                          "(exclude charting songs) is not available; retrain to get it")
    charted = charted if isinstance(charted, sp.csr_matrix) else sp.csr_matrix(charted)
    return np.concatenate([np.empty(0, dtype=np.int64), *(
        charted.indices[lo:hi][charted.data[lo:hi] != 0] for lo, hi in
        (charted.indptr[row:row + 2] for row in sorted(set(query.rows.values()))))])


def _date_window(artifact: Artifact, since: date | None, until: date | None,
                 columns: np.ndarray | None = None) -> np.ndarray:
    """Songs (all, or those at ``columns``) whose chart span [first, last] meets [since,
    until]; unknown dates never do."""
    first, last = artifact.song_first_date, artifact.song_last_date
    if first is None or last is None:
        raise DotifyError("this model has no per-song chart dates, so since/until are not "
                          "available; retrain to get them")
    if columns is not None:
        first, last = np.asarray(first)[columns], np.asarray(last)[columns]
    keep = np.ones(len(first), dtype=bool)
    if since is not None:
        keep &= np.asarray(last, dtype="datetime64[D]") >= np.datetime64(since, "D")
    if until is not None:
        keep &= np.asarray(first, dtype="datetime64[D]") <= np.datetime64(until, "D")
    return keep


def _columns(values: np.ndarray, name: str) -> Value:
    """A country's ``values`` at some songs, as its own part."""
    return Value(values, {name: values})


def _songs(artifact: Artifact, index: np.ndarray, scores: np.ndarray,
           parts: dict[str, np.ndarray], best: float) -> list[RecommendedSong]:
    """The songs at ``index`` with their ``scores`` and ``parts`` (one per song of
    ``index``) and their 0-100 matches (scores over ``best``)."""
    meta = artifact.songs
    titles, artists, urls, keys = (np.asarray(a)[index].tolist() for a in
                                   (meta.titles, meta.artists, meta.urls, meta.keys))
    shares = {k: np.broadcast_to(part, len(index)).tolist() for k, part in parts.items()}
    return [
        RecommendedSong(
            rank=j + 1,
            title=str(titles[j]),
            artists=str(artists[j]),
            url=str(urls[j]),
            uri=track_uri(str(urls[j]), str(keys[j])),
            score=score,
            contributions={k: share[j] for k, share in shares.items()},
            match=round(min(max(100.0 * score / best, 0.0), 100.0), 1) if best > 0 else 0.0,
        )
        for j, score in enumerate(np.asarray(scores, dtype=np.float64).tolist())
    ]


def track_uri(url: str, key: str = "") -> str:
    """``spotify:track:<id>`` from a track URL or a song key, or "" when neither has an id."""
    for text in (url, key):
        if (m := _TRACK_ID.search(text)) is not None:
            return f"spotify:track:{m.group(1)}"
    return f"spotify:track:{key}" if _BARE_ID.fullmatch(key) else ""
