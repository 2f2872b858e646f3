"""The embedded default chart source: realistic synthetic daily charts, ``dotify simulate``.

``Simulator(seed, markets, start).write(out, start, end)`` writes one file per market per
day in the legacy spotifycharts.com format, ``<out>/<cc>/regional-<cc>-daily-YYYY-MM-DD.csv``
(or, with ``monthly=True``, one ``.tar.gz`` of them per market and month, see
:mod:`.archive`), and the planted ground truth beside them in ``<out>/ground_truth.json``.
The chart of (seed, market, date) never depends on the range asked for (see :mod:`.world`),
so the nightly job can ask for the next days with ``write(out, last + 1 day, today)``.

With ``real_starts=True`` a market charts only from the day its real daily chart began
(``Profile.start``: 2017-01-01 for most, later for the markets Spotify launched after); a
chart asked for before that day is a ``ValueError``, and a range before it writes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from dotify.charts.sim import archive
from dotify.charts.sim import season as simseason
from dotify.charts.sim import world as simworld
from dotify.charts.sim.markets import CODES, DEFAULT_MARKETS, PROFILES
from dotify.charts.sim.songs import SongBook
from dotify.countries import lookup

__all__ = ["DEFAULT_START", "ChartRow", "SimulationSummary", "Simulator", "chart_path",
           "simulate"]

log = logging.getLogger("dotify")

DEFAULT_START = date(2020, 1, 1)
BLOCK = 64  # days scored at once
NOTE = (',,,"Note that these figures are generated using a formula that protects against '
        'any artificial inflation of chart positions.",')
HEADER = 'Position,"Track Name",Artist,Streams,URL'
TRUTH_FILE = "ground_truth.json"


@dataclass(frozen=True)
class ChartRow:
    position: int
    title: str
    artist: str
    streams: int
    track_id: str


@dataclass(frozen=True)
class SimulationSummary:
    out: Path
    markets: tuple[str, ...]
    start: date
    end: date
    files: int
    rows: int
    songs: int  # distinct songs charted in the range
    ground_truth: Path
    seconds: float


def chart_path(out: Path, market: str, day: date) -> Path:
    return out / market / f"regional-{market}-daily-{day.isoformat()}.csv"


class Simulator:
    """Synthetic daily charts for ``markets`` (default: the 55 of the real weekly scrape).

    ``start`` is only where :meth:`write` begins by default; the charts themselves depend on
    the seed, the market and the date alone. ``real_starts``: each market charts only from
    the day its real daily chart began (``markets.DAILY_MARKETS`` lists the 73 that have one).
    """

    def __init__(self, seed: int = 0, markets: Iterable[str] | None = None,
                 start: date = DEFAULT_START, real_starts: bool = False) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
                0 <= seed < 2**63):
            raise ValueError(f"seed must be a non-negative integer below 2**63, not {seed!r}")
        self.seed = int(seed)
        self.markets: tuple[str, ...] = _codes(DEFAULT_MARKETS if markets is None else markets)
        self.start = start
        self.real_starts = real_starts
        if real_starts and (never := [c for c in self.markets if PROFILES[c].start is None]):
            raise ValueError(f"{', '.join(lookup(c).name for c in never)} never had a daily "
                             "chart: leave it out, or simulate without real_starts")
        self.songs = SongBook(self.seed)

    def first_day(self, market: str) -> date | None:
        """The first day ``market`` charts on (None: any day)."""
        return PROFILES[market].start if self.real_starts else None

    def charting(self, day: date) -> tuple[str, ...]:
        """The markets that chart on ``day``."""
        return tuple(c for c in self.markets if (self.first_day(c) or day) <= day)

    # -- one chart

    def chart(self, market: str, day: date) -> list[ChartRow]:
        """The chart of ``market`` on ``day``, best first."""
        code = self._charting(market, day)
        _, uids, streams = next(self._charts(code, day, day))
        return [ChartRow(i + 1, *self.songs.names(u), int(s), self.songs.track_id(u))
                for i, (u, s) in enumerate(zip(uids.tolist(), streams.tolist(), strict=True))]

    def chart_csv(self, market: str, day: date) -> bytes:
        """The chart of ``market`` on ``day`` as the legacy CSV download."""
        code = self._charting(market, day)
        _, uids, streams = next(self._charts(code, day, day))
        return self._csv(uids, streams)

    def _charting(self, market: str, day: date) -> str:
        (code,) = _codes([market])
        first = self.first_day(code)
        if first is not None and day < first:
            raise ValueError(f"{lookup(code).name} has no daily chart before {first}, "
                             f"the day its real chart began (asked for {day})")
        return code

    # -- many charts

    def write(self, out: Path | str, start: date | None = None, end: date | None = None,
              monthly: bool = False) -> SimulationSummary:
        """Write every market's daily charts from ``start`` to ``end`` (both included); with
        ``monthly``, one ``.tar.gz`` per market and month (days already in it are kept)."""
        began = time.perf_counter()
        out = Path(out)
        start = start or self.start
        end = end or start + timedelta(days=364)
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        truth_path = out / TRUTH_FILE
        old = _read_truth(truth_path, self.seed)
        files = rows = 0
        charted: dict[str, set[int]] = {code: set() for code in self.markets}
        for code in self.markets:
            for uids in self._write(out, code, self._first(code, start), end, monthly):
                files, rows = files + 1, rows + len(uids)
                charted[code].update(uids.tolist())
        truth = self._merge_truth(old, charted, start, end)
        _write_json(truth_path, truth)
        seconds = time.perf_counter() - began
        log.info("simulated %d charts (%d rows) in %.1f s", files, rows, seconds)
        return SimulationSummary(out, self.markets, start, end, files, rows,
                                 len(set().union(*charted.values())), truth_path, seconds)

    def ground_truth(self, start: date | None = None, end: date | None = None) -> dict:
        """The planted clusters: every market's, and every song's that charts in the range."""
        start = start or self.start
        end = end or start + timedelta(days=364)
        charted: dict[str, set[int]] = {code: set() for code in self.markets}
        for code in self.markets:
            for _, uids, _ in self._charts(code, self._first(code, start), end):
                charted[code].update(uids.tolist())
        return self._merge_truth({}, charted, start, end)

    # -- internals

    def _first(self, code: str, start: date) -> date:
        """The first day from ``start`` on that ``code`` charts."""
        return max(start, self.first_day(code) or start)

    def _write(self, out: Path, code: str, first: date, end: date,
               monthly: bool) -> Iterator[np.ndarray]:
        """Write ``code``'s charts from ``first`` to ``end``, a file a day or an archive a
        month; yields each day's song uids."""
        if first > end:
            return
        (out / code).mkdir(parents=True, exist_ok=True)
        month: dict[str, bytes] = {}
        for day, uids, streams in self._charts(code, first, end):
            path, data = chart_path(out, code, day), self._csv(uids, streams)
            if not monthly:
                path.write_bytes(data)
            else:
                month[path.name] = data
                if day == end or (day + timedelta(days=1)).day == 1:
                    archive.write_month(archive.month_path(out, code, day), month)
                    month = {}
            yield uids

    def _charts(self, code: str, start: date, end: date
                ) -> Iterator[tuple[date, np.ndarray, np.ndarray]]:
        """(day, song uids best first, streams) for each day, scored BLOCK days at a time
        (none when ``start`` is after ``end``)."""
        market = CODES.index(code)
        first, last = start.toordinal(), end.toordinal()
        for lo in range(first, last + 1, BLOCK):
            days = np.arange(lo, min(lo + BLOCK, last + 1))
            songs = self.songs.released(int(days[0]) - simworld.WINDOW, int(days[-1]))
            appeal = simworld.affinity(self.seed, songs, market)
            keep = np.flatnonzero(appeal > 0)
            songs, appeal = songs.take(keep), appeal[keep]
            score = simworld.scores(self.seed, songs, appeal, market, days)
            if simseason.season(days).any():
                classics = self.songs.classics
                songs = simworld.Releases.concat([songs, classics])
                score = np.hstack([score, simseason.scores(self.seed, classics, market, days)])
            streams = simworld.stream_counts(self.seed, market, days)
            for day, row, counts in zip(days.tolist(), score, streams, strict=True):
                uids, n = self._rank(songs, row, counts)
                yield date.fromordinal(day), uids, counts[:n]

    @staticmethod
    def _rank(songs: simworld.Releases, row: np.ndarray,
              streams: np.ndarray) -> tuple[np.ndarray, int]:
        """The best songs of one day's scores, as many as have streams enough to chart."""
        n = min(int(np.count_nonzero(row > 0)),
                int(np.count_nonzero(streams >= simworld.MIN_STREAMS)))
        if n == 0:
            return songs.uid[:0], 0
        top = np.argpartition(-row, n - 1)[:n]
        top = top[np.lexsort((songs.uid[top], -row[top]))]
        return songs.uid[top], n

    def _csv(self, uids: np.ndarray, streams: np.ndarray) -> bytes:
        middles, urls = self.songs.row_parts(uids.tolist())
        rows = [f"{p},{m},{c},{u}" for p, m, c, u in
                zip(range(1, len(urls) + 1), middles, streams.tolist(), urls, strict=True)]
        return "\n".join([NOTE, HEADER, *rows, ""]).encode("utf-8")

    def _merge_truth(self, old: dict, charted: dict[str, set[int]], start: date,
                     end: date) -> dict:
        """The ground truth: each market's cluster; each song that charted, its attributes
        and its planted ``intensity`` in each market where it charted (popularity times the
        market's appeal: how much the market streams it, whatever the day); with
        ``real_starts``, the markets are those begun by ``end``."""
        markets = {**old.get("markets", {}), **{c: PROFILES[c].cluster
                                                for c in self.charting(end)}}
        songs = dict(old.get("songs", {}))
        uids = sorted(set().union(*charted.values()))
        tracks = simworld.track_ids(self.seed, np.array(uids, dtype=np.uint64))
        releases = self.songs.of(uids)
        intensity: dict[int, dict[str, float]] = {uid: {} for uid in uids}
        for code, found in charted.items():
            where = np.flatnonzero(np.isin(releases.uid, np.array(sorted(found), np.uint64)))
            values = self.songs.intensity(releases.take(where), CODES.index(code))
            for uid, value in zip(releases.uid[where].tolist(), values.tolist(), strict=True):
                intensity[uid][code] = float(f"{value:.4g}")
        for uid, track in zip(uids, tracks, strict=True):
            before = songs.get(track, {}).get("intensity", {})
            songs[track] = {**self.songs.truth(uid),
                            "intensity": dict(sorted({**before, **intensity[uid]}.items()))}
        first = min(start, date.fromisoformat(old.get("first", start.isoformat())))
        last = max(end, date.fromisoformat(old.get("last", end.isoformat())))
        starts = {"real_starts": True} if self.real_starts or old.get("real_starts") else {}
        # the song table last: the nightly job's simulator source reads only what precedes it
        return {"seed": self.seed, "start": self.start.isoformat(), "first": first.isoformat(),
                "last": last.isoformat(), **starts, "markets": dict(sorted(markets.items())),
                "songs": songs}


def simulate(out: Path | str, days: int = 365, markets: Iterable[str] | None = None,
             seed: int = 0, start: date | None = None, real_starts: bool = False,
             monthly: bool = False) -> SimulationSummary:
    """Write ``days`` days of charts from ``start`` (default 2020-01-01) into ``out``; see
    :class:`Simulator` for ``real_starts`` and :meth:`Simulator.write` for ``monthly``."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    simulator = Simulator(seed, markets, start or DEFAULT_START, real_starts)
    return simulator.write(out, simulator.start, simulator.start + timedelta(days=days - 1),
                           monthly)


def _codes(markets: Iterable[str]) -> tuple[str, ...]:
    """Market codes for names, codes or aliases; ValueError for 'global' or an empty list."""
    codes = []
    for name in markets:
        code = lookup(name).code
        if code not in PROFILES:
            raise ValueError(f"the simulator has no market {name!r}: it writes country charts "
                             f"only, such as {', '.join(DEFAULT_MARKETS[:5])}")
        codes.append(code)
    if not codes:
        raise ValueError("markets must name at least one market")
    return tuple(dict.fromkeys(codes))


def _read_truth(path: Path, seed: int) -> dict:
    """The ground truth already in ``out``: it must be of the same seed."""
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the existing ground truth ({exc})") from exc
    if old.get("seed") != seed:
        raise ValueError(f"{path} holds charts of seed {old.get('seed')!r}, not {seed}; "
                         "write into another folder or remove it first")
    return old


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")  # C encoder: fast
    os.replace(tmp, path)
