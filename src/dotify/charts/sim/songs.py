"""The simulator's song book: releases by day (cached), and each song's id, title and artist.

A song's uid is ``release day ordinal * 4096 + index within the day``, so its attributes are
found again from the uid alone. Names are drawn from :mod:`dotify.charts.sim.names` in the
language of the song's origin market; an artist is (origin market, artist number) and keeps
its name across songs.
"""

from __future__ import annotations

import random
from datetime import date

import numpy as np

from dotify.charts.sim import names
from dotify.charts.sim import season as simseason
from dotify.charts.sim import world as simworld
from dotify.charts.sim.markets import CODES, PROFILES

TRACK_URL = "https://open.spotify.com/track/"
SCOPES = ("global", "regional", "local")


def quote(field: str) -> str:
    """Quote a CSV field the way the legacy download does: when it holds a space or a comma."""
    if any(ch in field for ch in ' ,"\n\r'):
        return '"' + field.replace('"', '""') + '"'
    return field


class SongBook:
    """Every song of one seed: its releases by day, names, CSV parts and ground truth (cached)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._days: dict[int, simworld.Releases] = {}
        self._names: dict[int, tuple[str, str]] = {}
        self._rows: dict[int, tuple[str, str]] = {}
        self._artists: dict[tuple[int, int], str] = {}
        self.classics = simseason.classics(seed)

    def released(self, first: int, last: int) -> simworld.Releases:
        """Every song released from day ``first`` to ``last`` (date ordinals, both included)."""
        return simworld.Releases.concat([self._day(day) for day in range(first, last + 1)])

    def _day(self, day: int) -> simworld.Releases:
        if day not in self._days:
            self._days[day] = simworld.releases(self.seed, day)
        return self._days[day]

    def of(self, uids: list[int]) -> simworld.Releases:
        """The releases of these song uids, in their order."""
        parts = []
        for uid in uids:
            if simseason.is_classic(uid):
                parts.append(self.classics.take(np.array([uid % 4096 - simseason.CLASSIC0])))
            else:
                parts.append(self._day(uid // 4096).take(np.array([uid % 4096])))
        return simworld.Releases.concat(parts) if parts else self.classics.take(np.array([], int))

    def intensity(self, songs: simworld.Releases, market: int) -> np.ndarray:
        """The planted intensity of each song in ``market``: its popularity times the
        market's appeal (how much the market streams it at its peak; 0: never charts there)."""
        classic = np.array([simseason.is_classic(int(u)) for u in songs.uid], dtype=bool)
        appeal = np.where(classic, simseason.appeal(self.seed, songs, market),
                          simworld.affinity(self.seed, songs, market))
        return np.asarray(songs.pop * appeal)

    def _attrs(self, uid: int) -> tuple[int, int, int, int, int]:
        """(release day, scope, origin, artist, featured artist) of a song."""
        if simseason.is_classic(uid):
            songs, i = self.classics, uid % 4096 - simseason.CLASSIC0
        else:
            songs, i = self._day(uid // 4096), uid % 4096
        return (int(songs.day[i]), int(songs.scope[i]), int(songs.origin[i]),
                int(songs.artist[i]), int(songs.feat[i]))

    def track_id(self, uid: int) -> str:
        return simworld.track_id(self.seed, uid)

    def artist(self, origin: int, number: int) -> str:
        key = (origin, number)
        if key not in self._artists:
            rng = random.Random(simworld.hash_int(self.seed, 0xA57, origin, number))
            self._artists[key] = names.artist(rng, PROFILES[CODES[origin]].language)
        return self._artists[key]

    def names(self, uid: int) -> tuple[str, str]:
        """(title, primary artist); a featured artist goes in the title, as on the charts."""
        if uid not in self._names:
            _, _, origin, number, feat = self._attrs(uid)
            lang = PROFILES[CODES[origin]].language
            rng = random.Random(simworld.hash_int(self.seed, 0x717, uid))
            if simseason.is_classic(uid):
                title = names.holiday_title(rng, lang)
                self._names[uid] = (title, self.artist(origin, number))
                return self._names[uid]
            title = names.title(rng, lang)
            twist = rng.random()
            if twist < 0.03:
                title = f"{title}, {names.title(rng, lang).lower()}"
            elif twist < 0.05:
                title = f'"{title}"'
            elif twist < 0.09:
                title = f"{title} - Remix"
            if feat >= 0 and feat != number:
                title = f"{title} (feat. {self.artist(origin, feat)})"
            self._names[uid] = (title, self.artist(origin, number))
        return self._names[uid]

    def row_parts(self, uids: list[int]) -> tuple[list[str], list[str]]:
        """Each song's CSV middle (quoted title and artist) and its URL."""
        rows = self._rows
        missing = [uid for uid in uids if uid not in rows]
        ids = simworld.track_ids(self.seed, np.array(missing, dtype=np.uint64)) if missing else []
        for uid, track in zip(missing, ids, strict=True):
            title, artist = self.names(uid)
            rows[uid] = (f"{quote(title)},{quote(artist)}", TRACK_URL + track)
        parts = [rows[uid] for uid in uids]
        return [p[0] for p in parts], [p[1] for p in parts]

    def truth(self, uid: int) -> dict:
        day, scope, origin, _, _ = self._attrs(uid)
        profile = PROFILES[CODES[origin]]
        title, artist = self.names(uid)
        return {"cluster": profile.cluster, "scope": SCOPES[scope], "origin": profile.code,
                "language": profile.language, "title": title, "artists": artist,
                "released": date.fromordinal(day).isoformat(),
                "seasonal": simseason.is_classic(uid)}
