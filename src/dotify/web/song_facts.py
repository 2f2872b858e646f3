"""What a song row says beyond its title: the song's home market, how it charted in each
country of the query, and a one-line reason in words.

- The **home market** of a song is the market where it stands highest against that
  market's own biggest hit (the largest chart profile ``log(1 + streams / 1000) / max`` of
  :mod:`dotify.query.tastes`), read from the artifact's summed streams; None for a model
  saved without them.
- A country's **standing** is the song's peak position, streams and chart days there, from
  the store (:mod:`dotify.store.song_history`); without a database, whether it charted
  there in the model's data (``artifact.charted``).
- The **reason** puts the standings in words, wanted countries first: "top 5 in Colombia
  and Turkey, never charted in Germany". A country is *wanted* when more of it raises the
  score (``+``, ``x``, a numerator), *avoided* when it lowers it (``-``, a denominator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dotify.artifact import Artifact
from dotify.countries import GLOBAL, MARKETS
from dotify.query.arithmetic import Country, Node, countries_in, evaluate
from dotify.query.tastes import profiles
from dotify.store.song_history import Peak

BUCKETS = (1, 5, 10, 20, 50, 100)  # "#1", "top 5", ... ; beyond: "top 200"


@dataclass(frozen=True)
class Standing:
    """One song in one queried country."""

    code: str
    name: str
    wanted: bool  # more of this country raises the score
    charted: bool
    peak: int | None = None  # best position, when the store knows it
    streams: int | None = None
    charts: int | None = None  # days (or weeks) on the chart


def roles(tree: Node) -> list[tuple[Country, bool]]:
    """Each country of ``tree`` once, in order, with True when raising its taste raises the
    expression's value (wanted) and False when it lowers it (avoided).

    One evaluation answers for every country: element 0 has every taste at 0.5, element
    ``i + 1`` the ``i``-th country's at 0.6 (element by element, as evaluating each alone)."""
    found: dict[str, Country] = {}
    for country in countries_in(tree):
        found.setdefault(country.code, country)
    at = {code: i for i, code in enumerate(found, start=1)}

    def raised(c: Country) -> np.ndarray:
        vector = np.full(len(found) + 1, 0.5)
        vector[at[c.code]] = 0.6
        return vector

    value = np.broadcast_to(evaluate(tree, raised).vector, len(found) + 1)
    return [(country, bool(value[i] >= value[0])) for i, country in enumerate(found.values(),
                                                                               start=1)]


def home_markets(artifact: Artifact) -> np.ndarray:
    """Per song column, the ISO code of its home market ("" when unknown), str array."""
    n = len(artifact.songs)
    if artifact.streams is None or not len(artifact.countries):
        return np.full(n, "", dtype=object)
    profile = profiles(artifact.streams)
    countries = np.asarray(artifact.countries).astype(str)
    keep = np.flatnonzero(countries != GLOBAL)
    if not len(keep):
        return np.full(n, "", dtype=object)
    profile = profile[keep].tocsc()
    best = np.asarray(profile.argmax(axis=0)).ravel()
    top = np.asarray(profile.max(axis=0).todense()).ravel()
    return np.where(top > 0, countries[keep][best], "").astype(object)


def standings(countries: Sequence[tuple[Country, bool]], peaks: dict[str, Peak] | None,
              charted: set[str]) -> list[Standing]:
    """The standings of one song in the query's ``countries`` (:func:`roles`), from the
    store's ``peaks`` (None when there is no store) or the model's ``charted`` codes."""
    out = []
    for country, wanted in countries:
        if peaks is None:
            out.append(Standing(country.code, country.name, wanted, country.code in charted))
            continue
        peak = peaks.get(country.code)
        out.append(Standing(country.code, country.name, wanted, peak is not None,
                            peak.best if peak else None, peak.streams if peak else None,
                            peak.charts if peak else None))
    return out


def reason(rows: Sequence[Standing]) -> str:
    """One line in words: "top 5 in Colombia and Turkey, never charted in Germany"."""
    groups: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: not r.wanted):  # wanted first, order kept
        groups.setdefault(_phrase(row), []).append(row.name)
    return ", ".join(f"{phrase} in {_and(names)}" for phrase, names in groups.items())


def _phrase(row: Standing) -> str:
    if not row.charted:
        return "never charted"
    if row.peak is None:
        return "charted"
    if not row.wanted:
        return f"peaked at #{row.peak}"
    if row.peak == 1:
        return "#1"
    return f"top {next((b for b in BUCKETS if row.peak <= b), 200)}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def home_of(code: str) -> dict[str, str] | None:
    """``{"code", "name"}`` of a home market code, or None for ""."""
    if not code:
        return None
    market = MARKETS.get(code)
    return {"code": code, "name": market.name if market else code.upper()}
