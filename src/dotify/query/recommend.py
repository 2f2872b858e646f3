"""The recommendation engine: a country expression -> its best songs, ranked.

The query vector ``q`` is the expression evaluated on country vectors (see
:mod:`dotify.query.arithmetic`), each first scaled to length 1 and then less ``1 - popularity``
times the world's taste ``w`` (the mean of all countries' unit vectors)::

    country c -> x_c / |x_c| - (1 - popularity) * w

Each song ``i`` with vector ``y_i`` then scores::

    score_i = (q . y_i) / (|q| * |y_i| ** (1 - popularity))

``popularity = 0`` is the cosine with what sets the countries apart (the songs most
particular to the query); ``popularity = 1`` is the original unit-vector arithmetic and the
projection of ``y_i`` on it, so songs with long vectors, the global hits, rise. Taking the
world's taste out matters because IMF with little regularization gives every country much
the same leading direction (the global hits): without it, even the cosine would answer
every query with the same hits. The world's taste cancels out of a difference such as
``Colombia - Germany``.

:data:`DEFAULT_POPULARITY` is 0.5, chosen on the sweep that ``python
bench/bench_recommend.py`` prints (a week of simulated charts, default IMF; the figures move
with the simulator and the IMF defaults). In its run of 2026-11-26 23:19 UTC a market's own
top 10 at 0.5 was 90% of its planted cluster and 12% global hits, of songs that charted in
about 13 markets; at 0, 100% and 0% of songs from one or two markets; at 1, 47% and 61%.

Ranking is one matrix-vector product and a partial sort. Scores equal to
:data:`TIE_DECIMALS` decimal places are ties, broken by total streams, then by vector
length (both larger first), then by column order, so the top ``n`` is never an arbitrary
pick among equals.

Contributions: the evaluation splits ``q`` into one part per country (the parts sum to
``q``; see :func:`dotify.query.arithmetic.evaluate`), and a country's contribution to a song is
its part's share of the score, ``(part . y_i) / (|q| * |y_i| ** (1 - popularity))``; the
contributions of a song sum to its score.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np

from dotify.artifact import Artifact
from dotify.countries import GLOBAL, MARKETS
from dotify.errors import CountryNotInModelError, DotifyError, ExpressionError
from dotify.query.arithmetic import Country, countries_in, evaluate, parse

log = logging.getLogger("dotify")

DEFAULT_POPULARITY = 0.5
TIE_DECIMALS = 6
MAX_N = 1000
_TINY = 1e-12
_SLACK = 1e-5  # float32 scores are this close (relative) to the exact ones, with room to spare
_EXACT_LIMIT = 100_000  # candidates rescored in float64 at most
_TRACK_ID = re.compile(r"(?:open\.spotify\.com/track/|spotify:track:)([A-Za-z0-9]{22})")
_BARE_ID = re.compile(r"[A-Za-z0-9]{22}")


@dataclass
class RecommendedSong:
    rank: int
    title: str
    artists: str
    url: str
    uri: str  # spotify:track:<id>, or "" when the song's id is unknown
    score: float
    contributions: dict[str, float] = field(default_factory=dict)  # country name -> share


@dataclass
class Recommendation:
    expression: str  # as asked
    parsed: str  # the canonical form of the parsed expression
    songs: list[RecommendedSong]
    popularity: float = DEFAULT_POPULARITY

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SimilarCountry:
    rank: int
    code: str
    name: str
    similarity: float  # cosine of the two country vectors

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- per-artifact cache


@dataclass
class _Prepared:
    """What every query on one artifact reuses: contiguous vectors, norms, id maps."""

    source: np.ndarray  # the artifact's song_vectors array this was built from
    songs: np.ndarray  # float32 (n_songs, f), C-contiguous
    norms: np.ndarray  # float64 (n_songs,)
    countries: np.ndarray  # float64 (n_countries, f), unit rows (zero rows stay zero)
    world: np.ndarray  # float64 (f,): the mean unit vector of the countries, "the world's taste"
    rows: dict[str, int]  # ISO code -> row
    powers: dict[float, np.ndarray] = field(default_factory=dict)  # popularity -> 1/|y|^(1-p)

    def inverse_power(self, popularity: float) -> np.ndarray:
        """float32 ``1 / |y_i| ** (1 - popularity)``, cached for the last few knob values."""
        power = self.powers.get(popularity)
        if power is None:  # safe under threads: at worst two threads compute the same array
            power = (1.0 / np.maximum(self.norms, _TINY) ** (1.0 - popularity)).astype(np.float32)
            if len(self.powers) >= 8:
                self.powers.clear()
            self.powers[popularity] = power
        return power


_CACHE: dict[int, tuple[weakref.ref[Artifact], _Prepared]] = {}


def _prepare(artifact: Artifact) -> _Prepared:
    hit = _CACHE.get(id(artifact))
    if hit is not None and hit[0]() is artifact and hit[1].source is artifact.song_vectors:
        return hit[1]
    songs = np.ascontiguousarray(artifact.song_vectors, dtype=np.float32)
    countries = np.asarray(artifact.country_vectors, dtype=np.float64)
    norms = np.linalg.norm(countries, axis=1, keepdims=True)
    unit = np.divide(countries, norms, out=np.zeros_like(countries), where=norms > 0)
    real = (norms[:, 0] > 0) & (np.asarray(artifact.countries, dtype=str) != GLOBAL)
    prepared = _Prepared(
        source=artifact.song_vectors,
        songs=songs,
        norms=_norms(songs),
        countries=unit,
        world=unit[real].mean(axis=0) if real.any() else np.zeros(unit.shape[1]),
        rows={str(code): i for i, code in enumerate(artifact.countries)},
    )
    key = id(artifact)
    _CACHE[key] = (weakref.ref(artifact, lambda _: _CACHE.pop(key, None)), prepared)
    return prepared


def _norms(vectors: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Row lengths in float64 (float32 sums drift by 1e-7), a block of rows at a time."""
    out = np.empty(len(vectors))
    for lo in range(0, len(vectors), chunk):
        block = vectors[lo:lo + chunk].astype(np.float64)
        out[lo:lo + chunk] = np.sqrt(np.einsum("ij,ij->i", block, block))
    return out


# ---------------------------------------------------------------- queries


def _country_vector(prepared: _Prepared, country: Country, centring: float) -> np.ndarray:
    """The country's unit vector less ``centring`` times the world's taste."""
    row = prepared.rows.get(country.code)
    if row is None:
        region = MARKETS[country.code].region
        near = [m.name for code, m in MARKETS.items()
                if m.region == region and code in prepared.rows]
        raise CountryNotInModelError(country.name, near[:3])
    if not prepared.countries[row].any():
        raise DotifyError(f"{country.name} has a zero vector in this model; it cannot be queried")
    vector = prepared.countries[row] - centring * prepared.world
    if np.linalg.norm(vector) < 1e-9:
        raise DotifyError(f"{country.name}'s taste is the world's average in this model; "
                          "raise popularity to 1 to query it")
    return vector


def _query(prepared: _Prepared, tree: Any,
           centring: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    value = evaluate(tree, lambda c: _country_vector(prepared, c, centring))
    if value.is_scalar:
        raise ExpressionError("the expression has no country in it")
    q = value.vector  # finite: evaluate refuses overflow
    if not q.any():
        raise ExpressionError("the expression cancels out to a zero vector")
    # scores do not depend on q's length, so bring it near 1 before |q| can overflow
    big = float(np.abs(q).max())
    return q / big, {name: part / big for name, part in value.parts.items()}


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

    ``exclude_charting`` leaves out songs that charted in any country of the expression
    (needs the artifact's ``charted`` pattern). ``since``/``until`` keep songs that charted
    inside that window (needs per-song chart dates in the artifact).
    """
    _check_options(n, popularity)
    started = time.perf_counter()
    tree = parse(expression)
    prepared = _prepare(artifact)
    q, parts = _query(prepared, tree, 1.0 - popularity)
    q_norm = float(np.linalg.norm(q))
    scale = prepared.inverse_power(popularity)
    scores = prepared.songs @ (q / q_norm).astype(np.float32)  # float32, one pass over songs
    np.multiply(scores, scale, out=scores)
    allowed = _allowed(artifact, prepared, tree, exclude_charting, since, until)
    if allowed is not None:
        scores[~allowed] = -np.inf
    top, exact = _top(prepared, q / q_norm, popularity, scores, n, artifact.songs.streams,
                      len(scores) if allowed is None else int(allowed.sum()))
    songs = _songs(artifact, prepared, top, exact, parts,
                   1.0 / (q_norm * np.maximum(prepared.norms[top], _TINY) ** (1.0 - popularity)))
    log.debug("recommend %r: %d songs in %.2f ms", str(tree), len(songs),
              1e3 * (time.perf_counter() - started))
    text = expression if isinstance(expression, str) else " ".join(expression)
    return Recommendation(text, str(tree), songs, popularity)


def top(artifact: Artifact, country: str, n: int = 10,
        popularity: float = DEFAULT_POPULARITY) -> Recommendation:
    """A country's best songs by its own vector."""
    return recommend(artifact, country, n=n, popularity=popularity)


def similar(artifact: Artifact, country: str | Sequence[str], n: int = 10) -> list[SimilarCountry]:
    """The ``n`` countries of nearest taste to ``country``: the cosine of their unit vectors
    less the world's taste (so what all countries share does not make them all alike).

    ``country`` may be any expression; the countries it names are left out of the answer,
    and so is the ``global`` chart, which is no country.
    """
    _check_options(n, 0.0)
    tree = parse(country)
    prepared = _prepare(artifact)
    q, _ = _query(prepared, tree, 1.0)
    tastes = prepared.countries - prepared.world
    lengths = np.linalg.norm(tastes, axis=1)
    sims = (tastes @ (q / np.linalg.norm(q))) / np.maximum(lengths, _TINY)
    named = {c.code for c in countries_in(tree)}
    keep = np.array([code not in named and code != GLOBAL and prepared.countries[row].any()
                     and lengths[row] > 1e-9 for code, row in prepared.rows.items()])
    rows = np.array(list(prepared.rows.values()))[keep]
    order = rows[np.lexsort((rows, -np.round(sims[rows], TIE_DECIMALS)))][:n]
    codes = [str(artifact.countries[r]) for r in order]
    return [SimilarCountry(rank, code, MARKETS[code].name if code in MARKETS else code,
                           float(sims[r]))
            for rank, (code, r) in enumerate(zip(codes, order, strict=True), start=1)]


def _check_options(n: int, popularity: float) -> None:
    if not 1 <= n <= MAX_N:
        raise ValueError(f"n must be between 1 and {MAX_N}, not {n!r}")
    if not 0.0 <= popularity <= 1.0:
        raise ValueError(f"popularity must be between 0 and 1, not {popularity!r}")


def _allowed(artifact: Artifact, prepared: _Prepared, tree: Any, exclude_charting: bool,
             since: date | None, until: date | None) -> np.ndarray | None:
    """A bool mask of the songs a query may return, or None when every song may."""
    mask: np.ndarray | None = None
    if exclude_charting:
        if artifact.charted is None:
            raise DotifyError("this model has no record of where songs charted, so discover "
                              "(exclude charting songs) is not available; retrain to get it")
        rows = sorted({prepared.rows[c.code] for c in countries_in(tree)})
        mask = np.asarray(artifact.charted[rows].sum(axis=0)).ravel() == 0
    if since is not None or until is not None:
        window = _date_window(artifact, since, until)
        mask = window if mask is None else mask & window
    return mask


def _date_window(artifact: Artifact, since: date | None, until: date | None) -> np.ndarray:
    """Songs whose chart span [first, last] meets [since, until]; unknown dates never do."""
    first, last = artifact.song_first_date, artifact.song_last_date
    if first is None or last is None:
        raise DotifyError("this model has no per-song chart dates, so since/until are not "
                          "available; retrain to get them")
    keep = np.ones(len(first), dtype=bool)
    if since is not None:
        keep &= np.asarray(last, dtype="datetime64[D]") >= np.datetime64(since, "D")
    if until is not None:
        keep &= np.asarray(first, dtype="datetime64[D]") <= np.datetime64(until, "D")
    return keep


def _top(prepared: _Prepared, q_unit: np.ndarray, popularity: float, scores: np.ndarray,
         n: int, streams: np.ndarray, allowed: int) -> tuple[np.ndarray, np.ndarray]:
    """(columns, float64 scores) of the best ``n`` of the ``allowed`` finite ``scores``.

    The float32 ``scores`` pick the candidates: the k-th best and everything within
    ``_SLACK`` of it. Their scores are then computed again in float64 and rounded to
    TIE_DECIMALS places, so songs that truly tie (parallel vectors, duplicates) compare
    equal; ties go to more streams, then the longer vector, then the lower column.
    """
    k = min(n, allowed)
    if k == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    kth = float(np.partition(scores, len(scores) - k)[len(scores) - k])  # the k-th best
    candidates = np.flatnonzero(scores >= kth - _SLACK * max(1.0, abs(kth)))
    norms = prepared.norms[candidates]
    if len(candidates) <= _EXACT_LIMIT:
        exact = prepared.songs[candidates].astype(np.float64) @ q_unit
        exact /= np.maximum(norms, _TINY) ** (1.0 - popularity)
    else:  # a flood of equal scores (say, many zero vectors): float32 is as good
        exact = scores[candidates].astype(np.float64)
    rounded = np.round(exact, TIE_DECIMALS)
    order = np.lexsort((candidates, -norms, -np.asarray(streams)[candidates].astype(np.float64),
                        -rounded))[:k]
    return candidates[order], exact[order]


def _songs(artifact: Artifact, prepared: _Prepared, index: np.ndarray, scores: np.ndarray,
           parts: dict[str, np.ndarray], scale: np.ndarray) -> list[RecommendedSong]:
    """The songs at ``index`` with their ``scores`` (one each); ``scale`` is
    1/(|q| |y|^(1-p)) for each, turning a part's dot product into its contribution."""
    names = list(parts)
    shares = (np.stack([parts[k] for k in names]) @ prepared.songs[index].T.astype(np.float64)
              * scale) if names else np.zeros((0, len(index)))
    meta = artifact.songs
    return [
        RecommendedSong(
            rank=rank,
            title=str(meta.titles[i]),
            artists=str(meta.artists[i]),
            url=str(meta.urls[i]),
            uri=track_uri(str(meta.urls[i]), str(meta.keys[i])),
            score=float(scores[col]),
            contributions={k: float(shares[j, col]) for j, k in enumerate(names)},
        )
        for col, (rank, i) in enumerate(zip(range(1, len(index) + 1), index, strict=True))
    ]


def track_uri(url: str, key: str = "") -> str:
    """``spotify:track:<id>`` from a track URL or a song key, or "" when neither has an id."""
    for text in (url, key):
        if (m := _TRACK_ID.search(text)) is not None:
            return f"spotify:track:{m.group(1)}"
    return f"spotify:track:{key}" if _BARE_ID.fullmatch(key) else ""
