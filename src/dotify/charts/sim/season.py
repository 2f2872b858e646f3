"""Christmas classics: a fixed catalogue of old songs that return to the charts every December.

In the real 2019-2021 weekly charts, a third to nearly half of the US, German and Swedish
top 200 in the week before Christmas were Christmas songs (six to eight of the top 10), while
Latin America, Brazil and Japan charted only a handful. The simulator plants the same: a
catalogue of classics per seed, mostly from English-speaking markets, charting from mid
November to Boxing Day, strongest where the real charts had them.

Classics have uids ``CATALOGUE_DAY * 4096 + CLASSIC0 + k``, apart from any day's releases.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from dotify.charts.sim import world as simworld
from dotify.charts.sim.markets import CODES, PROFILES

CATALOGUE_DAY = date(1990, 12, 1).toordinal()
CLASSIC0 = 4000  # a day never releases this many songs
N_CLASSICS = 100
LEAD_DAYS = 42  # classics return this many days before Christmas Eve

# where the classics come from, and how much each cluster plays them
_ORIGINS: dict[str, float] = {
    "us": 0.45, "gb": 0.22, "ca": 0.03, "de": 0.06, "se": 0.06, "no": 0.03, "dk": 0.02,
    "fi": 0.02, "fr": 0.03, "nl": 0.02, "pl": 0.02, "at": 0.02, "it": 0.02,
}
_HOLIDAY: dict[str, float] = {
    "anglo": 1.0, "nordic": 1.2, "german": 1.2, "francophone": 0.7, "central": 0.8,
    "baltic": 0.9, "mediterranean": 0.3, "eastern": 0.4, "latin": 0.1, "lusophone": 0.04,
    "east_asia": 0.25, "southeast_asia": 0.2, "arabic": 0.05, "south_asia": 0.05,
}
_WEIGHT = np.array([_HOLIDAY[PROFILES[c].cluster] for c in CODES])
_CLUSTER = np.array([PROFILES[c].cluster for c in CODES])
_ENGLISH = np.array([PROFILES[c].language == "english" for c in CODES])
_FROM = np.array([CODES.index(c) for c in _ORIGINS])
_FROM_P = np.array(list(_ORIGINS.values())) / sum(_ORIGINS.values())


def is_classic(uid: int) -> bool:
    return uid // 4096 == CATALOGUE_DAY and uid % 4096 >= CLASSIC0


def classics(seed: int) -> simworld.Releases:
    """The seed's catalogue of Christmas classics (``day`` holds a year of release)."""
    rng = np.random.default_rng([seed, 0xC1A55])
    origin = rng.choice(_FROM, size=N_CLASSICS, p=_FROM_P).astype(np.int64)
    years = rng.integers(1945, 2016, size=N_CLASSICS)
    return simworld.Releases(
        uid=(np.uint64(CATALOGUE_DAY) * np.uint64(4096) + np.uint64(CLASSIC0)
             + np.arange(N_CLASSICS, dtype=np.uint64)),
        day=np.array([date(int(y), 11, 1).toordinal() for y in years], dtype=np.int64),
        scope=np.zeros(N_CLASSICS, dtype=np.int8), origin=origin,
        pop=np.exp(rng.normal(0.0, 0.8, N_CLASSICS)), tau=np.ones(N_CLASSICS),
        ramp=np.ones(N_CLASSICS), artist=np.floor(60 * rng.random(N_CLASSICS) ** 2).astype(
            np.int64), feat=np.full(N_CLASSICS, -1, dtype=np.int64))


def season(days: np.ndarray) -> np.ndarray:
    """How much classics are played on each day (date ordinals): 0 outside the season."""
    years = np.array([date.fromordinal(int(d)).year for d in days])
    eve = np.array([date(int(y), 12, 24).toordinal() for y in years])
    before = eve - days
    rising = np.exp(-np.clip(before, 0, None) / 18.0)
    after = np.select([before == -1, before == -2], [0.5, 0.15], 0.0)
    return np.where((before >= 0) & (before <= LEAD_DAYS), rising, after)


def appeal(seed: int, songs: simworld.Releases, market: int) -> np.ndarray:
    """How much ``market`` listens to each classic in season, float64 (n,)."""
    z = simworld._normal(simworld._hash(seed, 0xC4A, market, songs.uid))
    at_home = (_CLUSTER[songs.origin] == _CLUSTER[market]) | _ENGLISH[songs.origin]
    return np.asarray(8.0 * _WEIGHT[market] * np.exp(0.5 * z) * np.where(at_home, 1.0, 0.2))


def scores(seed: int, songs: simworld.Releases, market: int, days: np.ndarray) -> np.ndarray:
    """The classics' chart scores in ``market`` on each day: (len(days), len(songs))."""
    noise = simworld._uniform(simworld._hash(seed, 0xDA7, market, days[:, None],
                                             songs.uid[None, :]))
    jitter = np.exp(0.2 * (noise - 0.5))
    return season(days)[:, None] * (songs.pop * appeal(seed, songs, market))[None, :] * jitter
