"""What the pages read from the chart store, through one engine opened on first use: how
much chart data a market has (``History``, the SQL is :func:`dotify.store.charts.chart_counts`)
and how songs charted (:mod:`dotify.store.song_history`). Without a database, or when it
cannot be read, the song reads answer None and the pages say less.

A song's peaks are kept per :meth:`ChartHistory.version` of the store, a token that changes
with every write committed to it (on SQLite: the file's identity and ``PRAGMA
data_version`` on a connection of its own, a few microseconds to read), so the hit songs
that most answers share are read from the store once per change, not once per request,
and never outlive a change. Where no such token is known (a server database such as
PostgreSQL) every request reads the store, as before.

A live model's songs have their peaks in every market of the model read all at once, in
batches, into a :class:`PeakTable` of that store version and model (``preload``: when a
model is prepared, and in a background thread after a write to the store; ``bench_web.py
--home`` prints how long it takes). While a table of the current version is
there a request reads nothing; until then it reads its own songs as above (and for
``REREAD_AFTER_S`` after a read that a write overtook, as an ingest's chart-by-chart
commits do). Random queries, whose songs and markets seldom repeat, are the ones this
serves.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Hashable, Sequence
from dataclasses import astuple, dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.config import Settings
from dotify.errors import StoreError
from dotify.store.charts import chart_counts
from dotify.store.engine import engine_for
from dotify.store.song_history import MAX_KEYS, Peak, song_peaks, song_positions
from dotify.web.cache import VersionedCache

log = logging.getLogger("dotify")

MAX_DAYS = 400
PEAKS_CACHED = 50_000  # (song, market) pairs, about 20 MB
REREAD_AFTER_S = 10.0  # after a peak table read that a write overtook
ABSENT = "absent"  # the version of a store with no database file yet


@dataclass(frozen=True)
class History:
    """Per-day counts for one market, newest day first; ``note`` says why it is empty."""

    days: list[tuple[str, int, int]]  # (ISO date, charts, entries)
    total_charts: int
    total_entries: int
    note: str | None = None


@dataclass(frozen=True)
class Catalogue:
    """The songs (each its store keys) and markets of one model ``version``: what a
    :class:`PeakTable` is read for."""

    version: str
    songs: Sequence[tuple[str, ...]]
    markets: frozenset[str]


@dataclass(frozen=True)
class PeakTable:
    """Every peak of a catalogue's songs in its markets, as read at store version ``at``:
    (store keys, market) -> (best, streams, charts, kind), where the song charted. One dict
    of tuples: the cyclic collector tracks the dict alone, not a container per song."""

    at: tuple[Hashable, str]  # (store version, model version)
    markets: frozenset[str]
    peaks: dict[tuple[tuple[str, ...], str], tuple] = field(repr=False)

    def of(self, keys: Sequence[str], markets: Sequence[str]) -> dict[str, Peak]:
        song = tuple(keys)
        return {m: Peak(*row) for m in markets if (row := self.peaks.get((song, m)))}


class ChartHistory:
    """Reads chart counts from the settings' store; opens the engine on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        url = settings.db_url
        self._path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") \
            else None
        self._watch: tuple[sqlite3.Connection, tuple[int, int]] | None = None
        # a peak kept as a plain tuple, () where the song never charted: tuples of numbers
        # and strings leave the cyclic collector's lists, so 50,000 of them cost no GC time
        self._peaks: VersionedCache[tuple] = VersionedCache(PEAKS_CACHED)
        self._table: PeakTable | None = None
        self._reading: tuple[Hashable, str] | None = None  # the table being read, or tried
        self._again_at = 0.0  # no read starts before (monotonic) after one the store changed
        self.failures = 0  # song reads that failed (an answer made meanwhile is not kept)

    @property
    def local(self) -> bool:
        """True when the store is an SQLite file (or none): its reads take no network trip."""
        return self._path is not None

    def version(self) -> Hashable | None:
        """A token equal between two calls only when no write was committed to the store in
        between: ``ABSENT`` without a database file, None when it cannot be known (not
        SQLite, or the file cannot be opened)."""
        if self._path is None:
            return None
        try:
            found = os.stat(self._path)
        except OSError:
            return ABSENT
        identity = (found.st_dev, found.st_ino)
        with self._lock:
            try:
                if self._watch is None or self._watch[1] != identity:  # replaced: watch anew
                    self._close_watch()
                    self._watch = (sqlite3.connect(  # mode=rw: never creates the file
                        f"file:{self._path}?mode=rw", uri=True, check_same_thread=False),
                        identity)
                # changes whenever another connection commits (sqlite.org/pragma.html)
                changes = self._watch[0].execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                self._close_watch()
                return None
        return (*identity, changes)

    def for_market(self, code: str) -> History:
        engine = self._engine_or_none()
        if engine is None:
            return History([], 0, 0, "There is no chart database yet: run `dotify ingest` "
                                      "(or `make demo`) to load charts.")
        try:
            days = chart_counts(engine, code, MAX_DAYS)
        except (sa.exc.SQLAlchemyError, StoreError) as exc:
            return History([], 0, 0, f"The chart database cannot be read: {type(exc).__name__}.")
        note = None if days else "The database holds no charts for this market."
        return History(days, sum(d[1] for d in days), sum(d[2] for d in days), note)

    def song_peaks(self, songs_keys: list[list[str]], markets: list[str],
                   catalogue: Catalogue | None = None) -> list[dict[str, Peak]] | None:
        """Per song (its store keys), its :class:`Peak` per market; None without a store or
        when it cannot be read. From the peak table of ``catalogue`` (the live model's)
        when one of this store version is read (a read of it is started when none is),
        else only the songs not kept at this version are read."""
        version = self.version()
        engine = self._engine_or_none()
        if engine is None:
            if version != ABSENT:  # a file there that cannot be opened
                self.failures += 1
            return None
        table = self._table_of(version, catalogue) if catalogue is not None else None
        if table is not None and table.markets.issuperset(markets):
            return [table.of(keys, markets) for keys in songs_keys]
        found: list[dict[str, Peak] | None] = [self._kept(version, keys, markets)
                                               for keys in songs_keys]
        missing = list(dict.fromkeys(tuple(keys) for keys, peaks in zip(
            songs_keys, found, strict=True) if peaks is None))
        try:
            read = dict(zip(missing, song_peaks(engine, missing, markets) if missing else [],
                            strict=True))
        except (sa.exc.SQLAlchemyError, StoreError):
            self.failures += 1
            return None
        for keys, peaks in read.items():
            for market in markets:
                peak = peaks.get(market)
                self._peaks.put(version, (keys, market), astuple(peak) if peak else ())
        return [read[tuple(keys)] if peaks is None else peaks
                for keys, peaks in zip(songs_keys, found, strict=True)]

    def _table_of(self, version: Hashable | None, catalogue: Catalogue) -> PeakTable | None:
        """The peak table of ``catalogue`` at ``version``; None while it is not read, after
        starting its read in a background thread (one at a time, once per version)."""
        if version is None or version == ABSENT:
            return None
        at = (version, catalogue.version)
        table = self._table
        if table is not None and table.at == at:
            return table
        with self._lock:
            if self._reading == at or time.monotonic() < self._again_at:
                return None
            self._reading = at
        threading.Thread(target=self.preload, args=(catalogue,), name="dotify-peaks",
                         daemon=True).start()
        return None

    def preload(self, catalogue: Catalogue) -> PeakTable | None:
        """Read the peak table of ``catalogue`` at the store's current version and keep it;
        None when the store cannot be read or changed meanwhile (a later request reads
        again)."""
        engine = self._engine_or_none()  # first: opening it may bring the schema up to date
        version = self.version()
        if engine is None or version is None or version == ABSENT:
            return None
        with self._lock:
            self._reading = (version, catalogue.version)
        markets = sorted(catalogue.markets)
        peaks: dict[tuple[tuple[str, ...], str], tuple] = {}
        try:
            for batch in _batches(catalogue.songs):
                for keys, found in zip(batch, song_peaks(engine, batch, markets), strict=True):
                    for market, peak in found.items():
                        peaks[(keys, market)] = astuple(peak)
        except (sa.exc.SQLAlchemyError, StoreError, ValueError) as exc:  # ValueError: a song
            log.warning("reading the songs' peaks failed: %s", exc)  # of > MAX_KEYS keys
            return None
        if self.version() != version:  # written to meanwhile: the table may mix versions;
            with self._lock:  # read again after a pause (an ingest commits chart by chart)
                self._reading, self._again_at = None, time.monotonic() + REREAD_AFTER_S
            return None
        table = PeakTable((version, catalogue.version), catalogue.markets, peaks)
        self._table = table
        return table

    def _kept(self, version: Hashable | None, keys: list[str],
              markets: list[str]) -> dict[str, Peak] | None:
        """The peaks of one song as kept at ``version``; None unless every market's is."""
        if not keys:
            return {}
        kept = [self._peaks.get(version, (tuple(keys), market)) for market in markets]
        if any(k is None for k in kept):
            return None
        return {m: Peak(*k) for m, k in zip(markets, kept, strict=True) if k}

    def song_positions(self, keys: list[str],
                       markets: list[str]) -> dict[str, list[tuple[str, int]]] | None:
        """One song's positions per market, oldest first; None without a store."""
        engine = self._engine_or_none()
        if engine is None:
            return None
        try:
            return song_positions(engine, keys, markets, MAX_DAYS)
        except (sa.exc.SQLAlchemyError, StoreError):
            return None

    def _engine_or_none(self) -> Engine | None:
        url = self.settings.db_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            return None  # never create an empty database just to show a page
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = engine_for(self.settings)
                except StoreError:
                    return None
            return self._engine

    def close(self) -> None:
        self._table = None
        if self._engine is not None:
            self._engine.dispose()
        with self._lock:
            self._close_watch()

    def _close_watch(self) -> None:
        if self._watch is not None:
            self._watch[0].close()
            self._watch = None


def _batches(songs: Sequence[tuple[str, ...]]) -> list[list[tuple[str, ...]]]:
    """``songs`` in order, cut into lists of at most MAX_KEYS store keys together."""
    batches: list[list[tuple[str, ...]]] = [[]]
    size = 0
    for keys in songs:
        if batches[-1] and size + len(keys) > MAX_KEYS:
            batches.append([])
            size = 0
        batches[-1].append(keys)
        size += len(keys)
    return batches if batches[0] else []
