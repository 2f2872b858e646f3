"""The simulator's song universe: releases, appeal per market, and the hashes behind them.

Everything is a pure function of the seed over an open-ended calendar: each day's releases
come from ``np.random.default_rng([seed, day])``, and whatever varies by market or by day (a
song's appeal in a market, its daily jitter) is a SplitMix64 hash of the seed and those keys.
So the chart of (seed, market, date) never depends on which range of dates was asked for.

A song is global (charts almost everywhere), regional (charts across most markets of its
cluster, rarely outside) or local (one market). Albums drop now and then: many tracks of one
artist at once, briefly. Songs last longer in markets whose real charts turn over slowly
(Latin America, Brazil, Turkey, Japan) than in fast ones (the US, the Nordics, Germany).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from dotify.charts.sim.markets import CLUSTERS, CODES, GLOBAL_ORIGINS, PROFILES

WINDOW = 200  # days a song can chart after its release
MAX_ROWS = 200
MIN_STREAMS = 150  # a row needs this many daily streams: small markets list fewer rows
GROWTH = 1.2  # yearly growth of streams
_BASE_DAY = date(2020, 1, 1).toordinal()  # market sizes are those of 2020
_BASE_CHURN = 24.0  # real new entries per week of a market whose songs last as drawn
_WEEKDAY = np.array([0.973, 0.99, 0.987, 0.987, 1.123, 1.026, 0.915])  # US 2017-2022, Mon..Sun
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class Releases:
    """Struct of arrays, one entry per released song."""

    uid: np.ndarray  # uint64: day ordinal * 4096 + index within the day
    day: np.ndarray  # int64 release day (ordinal)
    scope: np.ndarray  # int8: 0 global, 1 regional, 2 local
    origin: np.ndarray  # int64 index into CODES
    pop: np.ndarray  # float64 base popularity (log-normal: a few big hits)
    tau: np.ndarray  # float64 decay time in days
    ramp: np.ndarray  # float64 days to reach the peak
    artist: np.ndarray  # int64 artist number within the origin market
    feat: np.ndarray  # int64 featured artist number, -1 for none

    @staticmethod
    def concat(parts: list[Releases]) -> Releases:
        names_ = Releases.__dataclass_fields__
        return Releases(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names_})

    def take(self, index: np.ndarray) -> Releases:
        return Releases(**{k: getattr(self, k)[index] for k in Releases.__dataclass_fields__})


# ---------------------------------------------------------------- hashing


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _hash(*keys: object) -> np.ndarray:
    """SplitMix64 over the broadcast keys: uint64 array, a pure function of the keys."""
    with np.errstate(over="ignore"):
        h = np.zeros((), dtype=np.uint64)
        for key in keys:
            h = _mix(h ^ (np.asarray(key).astype(np.uint64) + _GOLD))
        return np.asarray(h)


def _uniform(h: np.ndarray) -> np.ndarray:
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53 + 2.0**-54


def _normal(h: np.ndarray) -> np.ndarray:
    """Standard normal deviates from hashes (Box-Muller on their two 32-bit halves)."""
    u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0**-32
    u2 = ((h & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) * 2.0**-32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


_MASK = (1 << 64) - 1


def hash_int(*keys: int) -> int:
    """The same hash as :func:`_hash` for plain ints, without numpy's per-call cost."""
    h = 0
    for key in keys:
        x = h ^ ((int(key) + 0x9E3779B97F4A7C15) & _MASK)
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & _MASK
        x ^= x >> 27
        x = (x * 0x94D049BB133111EB) & _MASK
        h = x ^ (x >> 31)
    return h


def track_id(seed: int, uid: int) -> str:
    """22 base62 characters, deterministic from the seed and the song."""
    return track_ids(seed, np.array([uid], dtype=np.uint64))[0]


def track_ids(seed: int, uids: np.ndarray) -> list[str]:
    """:func:`track_id` of many songs at once (uint64 uids)."""
    digits = []
    for salt in (1, 2):
        value = _hash(seed, uids, 0x7A11, salt)
        for _ in range(11):
            digits.append(value % np.uint64(62))
            value = value // np.uint64(62)
    table = np.frombuffer(_BASE62.encode(), dtype="S1")
    chars = table[np.stack(digits, axis=1).astype(np.int64)]  # (n, 22)
    return [row.decode() for row in chars.view(f"S{chars.shape[1]}").ravel()]


# ---------------------------------------------------------------- the song universe

_SIZE = np.array([PROFILES[c].top for c in CODES])
_CLUSTER = np.array([CLUSTERS.index(PROFILES[c].cluster) for c in CODES])
_LOCAL = np.array([PROFILES[c].local for c in CODES])
# how much longer a market's own songs last there: slow charts keep their hits (the power was
# fitted so that weekly new entries follow the real ones from the US to Mexico)
_PERSIST = (_BASE_CHURN / np.array([PROFILES[c].churn for c in CODES])) ** 1.7
_CLUSTER_MEMBERS = [np.flatnonzero(_CLUSTER == k) for k in range(len(CLUSTERS))]
_GLOBAL_FROM = np.array([CODES.index(c) for c in GLOBAL_ORIGINS])
_GLOBAL_P = np.array(list(GLOBAL_ORIGINS.values())) / sum(GLOBAL_ORIGINS.values())
_RATE_GLOBAL = 1.0  # new songs per day, before the Friday boost
_RATE_REGIONAL = np.array([1.4 * np.sqrt(len(m)) for m in _CLUSTER_MEMBERS])
_RATE_LOCAL = 1.8 + 0.25 * _LOCAL
_POOL = (40, 150, 300)  # artists per market for global, regional and local songs


def _pick_by_size(rng: np.random.Generator, members: np.ndarray, n: int) -> np.ndarray:
    weight = np.sqrt(_SIZE[members])
    return rng.choice(members, size=n, p=weight / weight.sum())


def releases(seed: int, day: int) -> Releases:
    """The songs released on ``day`` (a date ordinal): a pure function of (seed, day)."""
    rng = np.random.default_rng([seed, day])
    boost = 2.5 if date.fromordinal(day).weekday() == 4 else 0.75  # new music Friday
    n_global = rng.poisson(_RATE_GLOBAL * boost)
    n_regional = rng.poisson(_RATE_REGIONAL * boost)
    n_local = rng.poisson(_RATE_LOCAL * boost)
    origin = np.concatenate([
        rng.choice(_GLOBAL_FROM, size=n_global, p=_GLOBAL_P),
        *(_pick_by_size(rng, m, n) for m, n in zip(_CLUSTER_MEMBERS, n_regional, strict=True)),
        np.repeat(np.arange(len(CODES)), n_local),
    ]).astype(np.int64)
    scope = np.repeat(np.array([0, 1, 2], dtype=np.int8),
                      [n_global, n_regional.sum(), n_local.sum()])
    songs = _attributes(rng, origin, scope)
    if rng.random() < (0.35 if boost > 1 else 0.05):
        songs = Releases.concat([songs, _album(rng)])
    n = len(songs.origin)  # a few hundred at most: uids from index 4000 are Christmas classics
    songs.uid = np.uint64(day) * np.uint64(4096) + np.arange(n, dtype=np.uint64)
    songs.day = np.full(n, day, dtype=np.int64)
    return songs


def _attributes(rng: np.random.Generator, origin: np.ndarray, scope: np.ndarray) -> Releases:
    n = len(origin)
    pool = np.array(_POOL)[scope]
    feat = np.floor(300 * rng.random(n) ** 2).astype(np.int64)
    return Releases(
        uid=np.zeros(n, dtype=np.uint64), day=np.zeros(n, dtype=np.int64), scope=scope,
        origin=origin, pop=np.exp(rng.normal(0.0, 1.2, n)),
        tau=np.clip(np.exp(rng.normal(np.log(10.0), 1.3, n)), 1.0, 400.0),
        ramp=np.where(rng.random(n) < 0.7, 1.0, np.exp(rng.normal(np.log(6.0), 0.7, n))),
        artist=np.floor(pool * rng.random(n) ** 3).astype(np.int64),
        feat=np.where(rng.random(n) < 0.2, feat, -1),
    )


def _album(rng: np.random.Generator) -> Releases:
    """An album drop: one popular artist charts many tracks at once, briefly."""
    n = int(rng.integers(6, 15))
    scope = np.int8(0 if rng.random() < 0.4 else 1)
    if scope == 0:
        origin = int(rng.choice(_GLOBAL_FROM, p=_GLOBAL_P))
    else:
        origin = int(_pick_by_size(rng, np.arange(len(CODES)), 1)[0])
    songs = _attributes(rng, np.full(n, origin, dtype=np.int64), np.full(n, scope))
    songs.pop = np.exp(rng.normal(0.5, 0.5)) * rng.uniform(0.15, 1.0, n)
    songs.tau = np.exp(rng.normal(np.log(7.0), 0.5, n))
    songs.ramp = np.ones(n)
    songs.artist = np.full(n, int(rng.integers(0, 8)), dtype=np.int64)
    return songs


def affinity(seed: int, songs: Releases, market: int) -> np.ndarray:
    """How much ``market`` listens to each song (0: never charts there), float64 (n,)."""
    z = _normal(_hash(seed, 0xAFF, market, songs.uid))
    u = _uniform(_hash(seed, 0x1EA, market, songs.uid))
    same = _CLUSTER[songs.origin] == _CLUSTER[market]
    home = songs.origin == market
    glob = 10.0 * np.exp(0.5 * z) * np.where(same, 1.5, 1.0)
    regional = np.where(same, np.where(u < 0.85, 2.0 * np.exp(0.5 * z), 0.0),
                        np.where(u < 0.01, 0.25 * np.exp(0.5 * z), 0.0))
    regional = regional * np.where(home, 2.0, 1.0)
    local = np.where(home, _LOCAL[market], 0.0)
    return np.select([songs.scope == 0, songs.scope == 1], [glob, regional], local)


def scores(seed: int, songs: Releases, appeal: np.ndarray, market: int,
           days: np.ndarray) -> np.ndarray:
    """Each song's chart score in ``market`` on each day: float64 (len(days), len(songs)).

    Popularity times appeal times the life curve (a rise over ``ramp`` days, then an
    exponential decay over ``tau`` days), with a small daily jitter; 0 outside its window.
    """
    age = days[:, None] - songs.day[None, :]
    live = (age >= 0) & (age <= WINDOW)
    aged = np.maximum(age, 0).astype(np.float64)
    # slow markets keep their own hits, not the global ones
    tau = songs.tau * np.where(songs.scope == 0, 1.0, _PERSIST[market])
    curve = np.exp(-aged / tau) * np.minimum(1.0, (aged + 1.0) / songs.ramp)
    noise = _uniform(_hash(seed, 0xDA7, market, days[:, None], songs.uid[None, :]))
    jitter = np.exp(0.2 * (noise - 0.5))  # +-10%: day-to-day moves as small as the real ones
    return np.where(live, (songs.pop * appeal) * curve * jitter, 0.0)


def stream_counts(seed: int, market: int, days: np.ndarray) -> np.ndarray:
    """Daily streams at positions 1..200 in ``market`` on each day: int64 (len(days), 200).

    ``top * ((p + 3) / 4) ** -exponent``, times the weekday, the yearly growth and a little
    noise; non-increasing along each row.
    """
    profile = PROFILES[CODES[market]]
    weekday = (days + 6) % 7  # date ordinal 1 (0001-01-01) was a Monday
    level = (profile.top * _WEEKDAY[weekday] * GROWTH ** ((days - _BASE_DAY) / 365.0)
             * np.exp(0.05 * _normal(_hash(seed, 0x57, market, days))))
    position = np.arange(1, MAX_ROWS + 1)
    shape = ((position + 3) / 4.0) ** -profile.exponent
    noise = np.exp(0.01 * _normal(_hash(seed, 0x58, market, days[:, None], position[None, :])))
    streams = -np.sort(-(level[:, None] * shape[None, :] * noise), axis=1)
    return np.round(streams).astype(np.int64)
