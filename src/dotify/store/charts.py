"""The chart store: idempotent chart writes and the read queries over them (SQLAlchemy Core).

A chart is always written inside one transaction, never split across two: ``write`` takes
a batch of whole, validated charts (with their files' records) and commits them together, so
a chart and its file's record appear together or not at all. A chart whose content is
already stored is left alone ("unchanged"); a changed chart for the same (market,
chart_date, kind) replaces the old one whole. Songs are keyed by Spotify track id when
known, else by ``"n:" + normalised title + "|" + normalised artists`` (:func:`song_key`);
the key -> id map is loaded once per :class:`Store` and kept in memory, so a write does no
per-row SELECT. Chart entries, the bulk of every write, go straight to the driver in the
same transaction (executemany over plain tuples; COPY on PostgreSQL), and the ratings
aggregate (:mod:`dotify.store.aggregate`) follows them in that transaction.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain, repeat
from typing import NamedTuple

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dotify.charts.formats import MAX_POSITION, Chart, Columns
from dotify.countries import MARKETS
from dotify.errors import StoreError
from dotify.store import aggregate, bulk, pgcopy
from dotify.store.schema import (
    artists,
    as_date,
    chart_entries,
    charts,
    ingested_files,
    markets,
    song_artists,
    song_totals,
    songs,
)

log = logging.getLogger("dotify")

_TITLE_MAX, _ARTISTS_MAX, _KEY_MAX, _ARTIST_MAX = 512, 1024, 1100, 512


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def song_key(track_id: str | None, title: str, artist_names: str) -> str:
    """The store's key of a song: its Spotify id, else ``n:<title>|<artists>`` normalised."""
    if track_id:
        return track_id
    return f"n:{_norm(title)}|{_norm(artist_names)}"[:_KEY_MAX]


def chart_digest(chart: Chart) -> str:
    """sha256 of a chart's content: ``chart.digest`` when set (a one-chart file's own
    sha256 with the chart's identity), else of its rows."""
    if chart.digest:
        return chart.digest
    text = "\n".join(f"{p}\t{t}\t{ti}\t{a}\t{s}"
                     for p, t, ti, a, s in zip(*chart.columns, strict=True))
    head = f"{chart.market}\t{chart.chart_date}\t{chart.kind}\n"
    return hashlib.sha256((head + text).encode()).hexdigest()


# built once: SQLAlchemy then compiles each a single time per run
_CHART_KEY = sa.tuple_(charts.c.market, charts.c.chart_date, charts.c.kind)
_UPDATE_CHART = sa.update(charts).where(charts.c.id == sa.bindparam("c"))
_DELETE_ENTRIES = sa.delete(chart_entries).where(chart_entries.c.chart_id == sa.bindparam("c"))
_UPDATE_FILE = sa.update(ingested_files).where(ingested_files.c.id == sa.bindparam("f"))


class ChartResult(NamedTuple):
    status: str  # "ok" (written or replaced) | "unchanged"
    rows: int  # entries written
    new_songs: int
    replaced: bool = False


@dataclass
class FileRecord:
    """A file's row in ``ingested_files``; ``final`` False keeps it "running" (more to come)."""

    path: str
    sha256: str = ""
    error: str | None = None
    final: bool = True
    id: int | None = None
    rows: int = 0  # entries written so far, over every batch
    charts_ok: int = 0
    charts_unchanged: int = 0

    def add(self, results: list[ChartResult]) -> None:
        self.rows += sum(r.rows for r in results)
        self.charts_ok += sum(r.status == "ok" for r in results)
        self.charts_unchanged += sum(r.status == "unchanged" for r in results)

    @property
    def status(self) -> str:
        if not self.final:
            return "running"
        if self.error:
            return "failed"
        return "unchanged" if self.charts_unchanged and not self.charts_ok else "ok"


Batch = list[tuple[FileRecord, list[Chart]]]
_UNCHANGED = ChartResult("unchanged", 0, 0)
# a load of BULK_MIN_ROWS entries or more into a store of at most BULK_MAX_STORED (and at
# most a quarter of the load: a load again of what is stored writes little, and building
# the index again would cost it more than it saves) builds the song index and checks the
# foreign keys once at the end (Store.bulk); a replaced chart's
# aggregate rows are recomputed without the index, by scanning its market's entries, which
# stays cheap in a store that small
BULK_MIN_ROWS, BULK_MAX_STORED = 1_000_000, 2_000_000
_LOOKUP_CHUNK = 300  # charts per lookup query (3 parameters each)


class Store:
    """Writes and reads charts on one engine. Not shared between threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._songs: dict[str, int] | None = None
        self._artists: dict[str, int] | None = None
        self._markets: set[str] | None = None
        self._writer: Connection | None = None  # a bulk load's connection (Store.bulk)

    # --- writes ----------------------------------------------------------------------

    def ingest_chart(self, chart: Chart, file_id: int | None = None) -> ChartResult:
        """Write one chart in its own transaction; unchanged content is left alone."""
        record = FileRecord(path="", id=file_id)
        return self.write([(record, [chart])], record_files=False)[0][0]

    def write(self, batch: Batch, record_files: bool = True) -> list[list[ChartResult]]:
        """Write the charts of several files, and the files' records, in one transaction.

        Each chart is written whole (entries replaced when its content changed, left alone
        when not); every chart must already be validated. On a conflict with another writer
        the transaction is rolled back and tried once more with fresh caches.
        """
        snapshot = [(r.id, r.rows, r.charts_ok, r.charts_unchanged) for r, _ in batch]
        for attempt in range(2):
            try:
                with self._begin() as conn:
                    results, fresh = self._write_batch(conn, batch, record_files)
            except sa.exc.IntegrityError as exc:  # another writer added the same song/chart
                self._reset(batch, snapshot)
                if attempt:
                    raise StoreError(f"cannot write charts: {exc.orig}") from exc
                continue
            except sa.exc.DBAPIError as exc:  # the database refused the write: it rolled back
                self._reset(batch, snapshot)
                raise StoreError(f"cannot write charts to {self.engine.url!r}: {exc.orig}") from exc
            except BaseException:
                self._reset(batch, snapshot)
                raise
            # new songs went into the cache in the write (_song_ids); new artists go now
            self._artists.update(fresh[1])  # type: ignore[union-attr]
            return results
        raise AssertionError("unreachable")

    def _reset(self, batch: Batch, snapshot: list[tuple]) -> None:
        self._songs = self._artists = self._markets = None
        for (record, _), (file_id, rows, ok, unchanged) in zip(batch, snapshot, strict=True):
            record.id, record.rows, record.charts_ok, record.charts_unchanged = (
                file_id, rows, ok, unchanged)

    def _write_batch(self, conn: Connection, batch: Batch, record_files: bool,
                     ) -> tuple[list[list[ChartResult]], tuple[dict, dict]]:
        """Bulk statements for the whole batch: one lookup of the stored charts, then one
        insert each for new songs, charts and entries."""
        self._load_caches(conn)
        fresh: tuple[dict[str, int], dict[str, int]] = ({}, {})
        # a big file's charts come in several parts of one batch: one record, written once
        records = list({id(record): record for record, _ in batch}.values())
        if record_files:
            _insert_files(conn, [record for record in records if record.id is None])
        items = [(record, chart, chart_digest(chart)) for record, file_charts in batch
                 for chart in file_charts]
        found = _find_charts(conn, [chart for _, chart, _ in items])
        results: list[ChartResult] = [_UNCHANGED] * len(items)
        writes = []
        for i, (record, chart, digest) in enumerate(items):
            old = found.get((chart.market, chart.chart_date, chart.kind))
            if old is None or old[1] != digest:
                writes.append((i, record.id, chart, digest, None if old is None else old[0]))
        if writes:
            self._write_charts(conn, writes, fresh, results)
        per_file, start = [], 0
        for record, file_charts in batch:
            done = results[start:start + len(file_charts)]
            start += len(file_charts)
            record.add(done)
            per_file.append(done)
        if record_files:
            _update_files(conn, records)
        return per_file, fresh

    def _write_charts(self, conn: Connection, writes: list[tuple], fresh: tuple[dict, dict],
                      results: list[ChartResult]) -> None:
        """Insert or replace the charts of ``writes`` (index, file_id, chart, digest, old
        chart id or None); each one's result goes to ``results[index]``."""
        for market in {chart.market for _, _, chart, _, _ in writes}:
            self._ensure_market(conn, market)
        charts_ = [chart for _, _, chart, _, _ in writes]
        keys = [_song_keys(chart.columns) for chart in charts_]
        song_ids, new_keys = self._song_ids(conn, charts_, keys, fresh)
        replaced = [old for _, _, _, _, old in writes if old is not None]
        old_songs = _entry_songs(conn, replaced) if replaced else {}
        chart_ids = _chart_ids(conn, writes)
        for (i, _, chart, _, old_id), chart_keys in zip(writes, keys, strict=True):
            new = 0
            if new_keys:  # a new song counts for its first chart
                new = len(new_keys.intersection(chart_keys))
                new_keys.difference_update(chart_keys)
            results[i] = ChartResult("ok", len(chart), new, old_id is not None)
        _insert_entries(conn, _entries(conn, chart_ids, charts_, song_ids))
        # the ratings aggregate, in this transaction: new charts add to it, then a replaced
        # chart's songs (old and new) are recomputed from the entries, new ones included
        writes_ids = list(zip(writes, song_ids, strict=True))
        aggregate.add(conn, [(w[2], ids) for w, ids in writes_ids if w[4] is None])
        if replaced:
            affected: dict[tuple[str, str], set[int]] = {}
            for (_, _, chart, _, old), ids in writes_ids:
                if old is not None:
                    affected.setdefault((chart.market, chart.kind), set()).update(
                        ids, old_songs.get(old, ()))
            aggregate.recompute(conn, affected)

    def _load_caches(self, conn: Connection) -> None:
        # songs and artists come into their caches as writes meet them (_stored): a day's
        # charts read the ids of their songs, not of every song the history holds
        if self._songs is None:
            self._songs = {}
        if self._artists is None:
            self._artists = {}
        if self._markets is None:
            self._markets = set(conn.execute(sa.select(markets.c.code)).scalars())

    def _ensure_market(self, conn: Connection, code: str) -> None:
        assert self._markets is not None
        if code in self._markets:
            return
        market = MARKETS.get(code)
        if market is None:
            raise ValueError(f"market {code!r} is not in the registry")
        conn.execute(sa.insert(markets).values(code=code, name=market.name, region=market.region))
        self._markets.add(code)

    def _song_ids(self, conn: Connection, charts_: list[Chart], keys: list[Sequence[str]],
                  fresh: tuple[dict[str, int], dict[str, int]],
                  ) -> tuple[list[list[int]], set[str]]:
        """The song id of each row of each chart (``keys`` are their song keys), inserting
        unknown songs (and their artists) into the transaction; ``fresh`` collects the new
        ids until it commits. Also returns the keys of the new songs."""
        known = self._songs
        assert known is not None
        missing = set().union(*keys).difference(known)
        if missing:  # stored ones first
            known.update(_stored(conn, songs.c.key, missing))
            missing.difference_update(known)
        if missing:
            found: dict[str, tuple[str | None, str, str]] = {}
            for chart, chart_keys in zip(charts_, keys, strict=True):
                if missing.isdisjoint(chart_keys):
                    continue
                cols = chart.columns
                for i in sorted(map(chart_keys.index, missing.intersection(chart_keys)
                                    .difference(found))):  # in the order they come
                    found[chart_keys[i]] = (cols.track_ids[i], cols.titles[i], cols.artists[i])
            self._insert_songs(conn, found, fresh)
            # the cache holds them from now on: a write that fails drops it (_reset)
            known.update(fresh[0])
        return [list(map(known.__getitem__, chart_keys)) for chart_keys in keys], missing

    def _insert_songs(self, conn: Connection, missing: dict[str, tuple[str | None, str, str]],
                      fresh: tuple[dict[str, int], dict[str, int]]) -> None:
        """Insert the songs of ``missing`` (key -> track id, title, artists), their artists
        and their links; the new ids go to ``fresh``."""
        new_songs = fresh[0]
        names = {k: _split_artists(display) for k, (_, _, display) in missing.items()}
        artist_ids = self._artist_ids(conn, names.values(), fresh[1])
        rows = [{"key": k, "spotify_id": track, "title": title[:_TITLE_MAX],
                 "artists": display[:_ARTISTS_MAX],
                 "artist_id": artist_ids[names[k][0]] if names[k] else None}
                for k, (track, title, display) in missing.items()]
        new_songs.update(_insert_returning_ids(conn, songs, rows, "key"))
        links = [{"song_id": new_songs[k], "artist_id": artist_ids[name], "position": i}
                 for k, song_names in names.items() for i, name in enumerate(song_names)]
        if links and pgcopy.fast(conn):
            pgcopy.copy_rows(conn, song_artists, list(links[0]),
                             (list(link.values()) for link in links))
        elif links:
            conn.execute(sa.insert(song_artists), links)

    def _artist_ids(self, conn: Connection, names: Iterable[list[str]],
                    new_artists: dict[str, int]) -> dict[str, int]:
        """Artist name -> id for every name in ``names``, inserting the unknown ones."""
        known = self._artists
        assert known is not None
        wanted = {n for song_names in names for n in song_names}
        unseen = {n for n in wanted if n not in known and n not in new_artists}
        if unseen:
            known.update(_stored(conn, artists.c.name, unseen))
        missing = sorted(n for n in unseen if n not in known)
        if missing:
            new_artists.update(_insert_returning_ids(conn, artists,
                                                     [{"name": name} for name in missing],
                                                     "name"))
        return {n: known.get(n) or new_artists[n] for n in wanted}

    @contextmanager
    def bulk(self, rows: int) -> Iterator[bool]:
        """Around a load of about ``rows`` new chart entries: when that is a big load into a
        nearly empty store, its writes go through one connection that builds the entries'
        song index and checks their foreign keys once, at the end (:mod:`dotify.store.bulk`),
        instead of row by row. Yields whether it did; each write stays a transaction."""
        with self.engine.connect() as conn:
            stored = _count(conn, charts) * MAX_POSITION
        if rows < BULK_MIN_ROWS or stored > min(BULK_MAX_STORED, rows // 4):
            yield False
            return
        with bulk.relaxed(self.engine) as writer:
            self._writer = writer
            try:
                yield True
            finally:
                self._writer = None

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A transaction on the bulk load's connection, else on a fresh one."""
        if self._writer is None:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self._writer.begin():
                yield self._writer

    # --- reads -----------------------------------------------------------------------

    def last_chart_dates(self, kind: str = "daily") -> dict[str, date]:
        return last_chart_dates(self.engine, kind)

    def chart_dates(self, market: str, kind: str = "daily") -> date | None:
        """The last chart date stored for ``market`` (None when it has none)."""
        return last_chart_dates(self.engine, kind).get(market)

    def summary(self, top: int = 10) -> dict:
        """What the store holds: counts, date range, files by status, the biggest markets."""
        with self.engine.connect() as conn:
            return _summary(conn, top)


def _file_values(record: FileRecord) -> dict:
    return {"path": record.path, "sha256": record.sha256, "rows": record.rows,
            "status": record.status, "error": record.error, "ingested_at": _now()}


def _insert_files(conn: Connection, records: list[FileRecord]) -> None:
    if not records:
        return
    rows = [_file_values(record) for record in records]
    if pgcopy.fast(conn):
        ids = pgcopy.insert_with_ids(conn, ingested_files, list(rows[0]),
                                     [list(row.values()) for row in rows])
        for record, file_id in zip(records, ids, strict=True):
            record.id = file_id
        return
    # RETURNING in any order (row by row where it must keep the order): the ids of each path,
    # in id order, go to its records in theirs
    inserted = conn.execute(sa.insert(ingested_files).returning(ingested_files.c.path,
                                                                 ingested_files.c.id), rows)
    by_path: dict[str, list[int]] = {}
    for path, file_id in sorted(inserted.all(), key=lambda row: row[1], reverse=True):
        by_path.setdefault(path, []).append(file_id)
    for record in records:
        record.id = by_path[record.path].pop()


_UPDATE_FILES = sa.text(
    "UPDATE ingested_files SET rows = u.rows, status = u.status, error = u.error,"
    " sha256 = u.sha256, ingested_at = u.at"
    " FROM unnest(CAST(:fs AS integer[]), CAST(:rowss AS integer[]),"
    " CAST(:statuss AS text[]), CAST(:errors AS text[]), CAST(:sha256s AS text[]),"
    " CAST(:ingested_ats AS timestamptz[]))"
    " AS u(id, rows, status, error, sha256, at) WHERE ingested_files.id = u.id")


def _update_files(conn: Connection, records: list[FileRecord]) -> None:
    values = [{"f": record.id, **_file_values(record)} for record in records]
    if pgcopy.fast(conn):  # one statement of arrays, not one per file
        conn.execute(_UPDATE_FILES, {f"{name}s": [v[name] for v in values]
                                     for name in ("f", "rows", "status", "error", "sha256",
                                                  "ingested_at")})
        return
    conn.execute(_UPDATE_FILE, values)


def _insert_returning_ids(conn: Connection, table: sa.Table, rows: list[dict],
                          key: str) -> list[tuple[str, int]]:
    """Insert ``rows`` into ``table``: (the row's ``key`` value, its new id) for each."""
    if pgcopy.fast(conn):
        ids = pgcopy.insert_with_ids(conn, table, list(rows[0]),
                                     [list(row.values()) for row in rows])
        return [(str(row[key]), i) for row, i in zip(rows, ids, strict=True)]
    # RETURNING rows come back in any order: mapped by the key
    inserted = conn.execute(sa.insert(table).returning(table.c[key], table.c.id), rows)
    return [(k, i) for k, i in inserted.all()]


_FIND_CHARTS = sa.text(
    "SELECT c.id, c.sha256, c.market, c.chart_date, c.kind FROM charts c"
    " JOIN unnest(CAST(:markets AS text[]), CAST(:days AS date[]), CAST(:kinds AS text[]))"
    " AS w(market, chart_date, kind)"
    " ON c.market = w.market AND c.chart_date = w.chart_date AND c.kind = w.kind")


def _find_charts(conn: Connection, wanted: list[Chart]) -> dict[tuple, tuple[int, str]]:
    """(market, chart_date, kind) -> (id, sha256) of the stored charts among ``wanted``;
    ValueError when one chart comes twice (the second would overwrite the first unseen)."""
    keys = [(c.market, c.chart_date, c.kind) for c in wanted]
    if len(set(keys)) != len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"chart {twice[0]} {twice[1]} {twice[2]} comes twice in one batch")
    found: dict[tuple, tuple[int, str]] = {}
    if pgcopy.fast(conn):  # one statement of three arrays
        markets_, days, kinds = zip(*keys, strict=True) if keys else ((), (), ())
        rows = conn.execute(_FIND_CHARTS, {"markets": list(markets_), "days": list(days),
                                           "kinds": list(kinds)})
        return {(market, as_date(day), kind): (chart_id, sha)
                for chart_id, sha, market, day, kind in rows}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start:start + _LOOKUP_CHUNK]
        query = sa.select(charts.c.id, charts.c.sha256, charts.c.market, charts.c.chart_date,
                          charts.c.kind).where(_CHART_KEY.in_(chunk))
        for chart_id, sha, market, day, kind in conn.execute(query):
            found[(market, as_date(day), kind)] = (chart_id, sha)
    return found


_FOUND_CHUNK = 1_000  # values per lookup statement (SQLite's limit is far above)


def _stored(conn: Connection, column: sa.Column, values: Iterable[str]) -> list[tuple[str, int]]:
    """(value, id) of the rows of ``column``'s table whose ``column`` is among ``values``."""
    table = column.table
    wanted = sorted(values)
    if pgcopy.fast(conn):  # one statement of an array
        text = sa.text(f"SELECT {column.name}, id FROM {table.name} "
                       f"WHERE {column.name} = ANY(CAST(:values AS text[]))")
        return [(value, id_) for value, id_ in conn.execute(text, {"values": wanted})]
    found: list[tuple[str, int]] = []
    for start in range(0, len(wanted), _FOUND_CHUNK):
        query = sa.select(column, table.c.id).where(
            column.in_(wanted[start:start + _FOUND_CHUNK]))
        found.extend((value, id_) for value, id_ in conn.execute(query))
    return found


def _entry_songs(conn: Connection, chart_ids: list[int]) -> dict[int, set[int]]:
    """The song ids on each of these stored charts."""
    found: dict[int, set[int]] = {}
    for start in range(0, len(chart_ids), _LOOKUP_CHUNK):
        query = sa.select(chart_entries.c.chart_id, chart_entries.c.song_id).where(
            chart_entries.c.chart_id.in_(chart_ids[start:start + _LOOKUP_CHUNK]))
        for chart_id, song_id in conn.execute(query):
            found.setdefault(chart_id, set()).add(song_id)
    return found


def _chart_ids(conn: Connection, writes: list[tuple]) -> list[int]:
    """The ids of the charts in ``writes``: new ones inserted, old ones emptied for new
    entries."""
    new = [(file_id, chart, digest) for _, file_id, chart, digest, old in writes if old is None]
    ids: dict[tuple, int] = {}
    if new and pgcopy.fast(conn):
        new_ids = pgcopy.insert_with_ids(
            conn, charts, ["market", "chart_date", "kind", "sha256", "file_id"],
            [(c.market, c.chart_date, c.kind, digest, file_id) for file_id, c, digest in new])
        ids = {(c.market, c.chart_date, c.kind): i
               for i, (_, c, _) in zip(new_ids, new, strict=True)}
    elif new:  # RETURNING rows come back in any order: map them by the chart's key
        inserted = conn.execute(
            sa.insert(charts).returning(charts.c.id, charts.c.market, charts.c.chart_date,
                                        charts.c.kind),
            [{"market": c.market, "chart_date": c.chart_date, "kind": c.kind, "sha256": digest,
              "file_id": file_id} for file_id, c, digest in new])
        ids = {(market, as_date(day), kind): chart_id
               for chart_id, market, day, kind in inserted}
    replaced = [(old, file_id, digest) for _, file_id, _, digest, old in writes if old is not None]
    if replaced:
        conn.execute(_DELETE_ENTRIES, [{"c": old} for old, _, _ in replaced])
        conn.execute(_UPDATE_CHART, [{"c": old, "sha256": digest, "file_id": file_id}
                                     for old, file_id, digest in replaced])
    return [old if old is not None else ids[(chart.market, chart.chart_date, chart.kind)]
            for _, _, chart, _, old in writes]


_SQLITE_CACHE_KIB = 65_536  # this connection's page cache while it writes entries
_ENTRY_COLUMNS = "chart_entries (chart_id, position, song_id, streams)"


def _entries(conn: Connection, chart_ids: list[int], charts_: list[Chart],
             song_ids: list[list[int]]) -> np.ndarray | Iterator[tuple[int, int, int, int]]:
    """The entries of these charts: rows of chart id, position, song id, streams; in an
    array for a binary COPY, else as tuples of the charts' own ints (an array's rows made
    into Python ints again would cost more than the insert)."""
    if not pgcopy.fast(conn):
        return chain.from_iterable(
            zip(repeat(chart_id), chart.columns.positions, ids, chart.columns.streams)
            for chart_id, chart, ids in zip(chart_ids, charts_, song_ids, strict=True))
    sizes = [len(chart) for chart in charts_]
    entries = np.empty((sum(sizes), 4), np.int64)
    entries[:, 0] = np.repeat(np.asarray(chart_ids, np.int64), sizes)
    entries[:, 1] = np.fromiter(chain.from_iterable(c.columns.positions for c in charts_),
                                np.int64, len(entries))
    entries[:, 2] = np.fromiter(chain.from_iterable(song_ids), np.int64, len(entries))
    entries[:, 3] = np.fromiter(chain.from_iterable(c.columns.streams for c in charts_),
                                np.int64, len(entries))
    return entries


def _insert_entries(conn: Connection,
                    entries: np.ndarray | Iterable[tuple[int, int, int, int]]) -> None:
    """Insert chart entries (rows of chart id, position, song id, streams: an array on
    PostgreSQL, tuples elsewhere, see :func:`_entries`) straight through the DBAPI cursor of
    ``conn``'s transaction: a binary COPY on PostgreSQL (psycopg), executemany elsewhere.
    Driver errors come out as SQLAlchemy's (``IntegrityError``, ``OperationalError``), as
    from Core."""
    if pgcopy.fast(conn):
        if not isinstance(entries, np.ndarray):
            entries = np.fromiter(chain.from_iterable(entries), np.int64).reshape(-1, 4)
        pgcopy.copy_entries(conn, chart_entries, entries)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {_ENTRY_COLUMNS} VALUES ({mark}, {mark}, {mark}, {mark})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with pgcopy.driver_errors(conn, sql):
            if conn.dialect.name == "sqlite":  # the song index takes random-order inserts
                cursor.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
            cursor.executemany(sql, entries)
    finally:
        cursor.close()


def _song_keys(cols: Columns) -> Sequence[str]:
    """The song key of each row: its track id, else normalised title and artists."""
    if None not in cols.track_ids:
        return cols.track_ids  # type: ignore[return-value]
    return [track or song_key(None, title, names)
            for track, title, names in zip(cols.track_ids, cols.titles, cols.artists,
                                           strict=True)]


def _split_artists(display: str) -> list[str]:
    """Artist names of a display string (joined with ", "), first artist first, no repeats."""
    names = (n.strip()[:_ARTIST_MAX] for n in display.split(", "))
    return list(dict.fromkeys(n for n in names if n))


def _now() -> datetime:
    return datetime.now(UTC)


def last_chart_dates(engine: Engine, kind: str = "daily") -> dict[str, date]:
    """The last ingested chart date per market for charts of ``kind``."""
    if kind not in ("daily", "weekly"):
        raise ValueError(f"kind {kind!r} is not one of daily, weekly")
    query = (sa.select(charts.c.market, sa.func.max(charts.c.chart_date))
             .where(charts.c.kind == kind).group_by(charts.c.market))
    with engine.connect() as conn:
        return {market: as_date(day) for market, day in conn.execute(query)}


def chart_days(engine: Engine, kind: str, first: date, last: date
               ) -> tuple[list[tuple[str, date]], dict[str, date]]:
    """The (market, day) pairs of ``kind`` charts stored from ``first`` to ``last``, and each
    market's earliest stored day of that kind."""
    with engine.connect() as conn:
        stored = conn.execute(sa.select(charts.c.market, charts.c.chart_date).where(
            charts.c.kind == kind, charts.c.chart_date >= first,
            charts.c.chart_date <= last)).all()
        earliest = conn.execute(sa.select(charts.c.market, sa.func.min(charts.c.chart_date))
                                .where(charts.c.kind == kind).group_by(charts.c.market)).all()
    return ([(m, as_date(d)) for m, d in stored], {m: as_date(d) for m, d in earliest})


def chart_counts(engine: Engine, market: str, max_days: int) -> list[tuple[str, int, int]]:
    """(ISO day, charts, entries) of ``market``, newest day first, at most ``max_days``."""
    with engine.connect() as conn:
        return [(str(day), int(n), int(e)) for day, n, e in conn.execute(
            _chart_counts(market, max_days))]


def _chart_counts(market: str, max_days: int) -> sa.Select:
    """The query of :func:`chart_counts`: the entries of the market's newest ``max_days``
    days alone are counted, through the entries' primary key (a country page reads a few
    thousand rows, however long the history)."""
    days = (sa.select(charts.c.chart_date).where(charts.c.market == market).distinct()
            .order_by(charts.c.chart_date.desc()).limit(max_days).subquery())
    return (
        sa.select(charts.c.chart_date, sa.func.count(sa.distinct(charts.c.id)),
                  sa.func.count(chart_entries.c.chart_id))
        .select_from(charts.join(days, days.c.chart_date == charts.c.chart_date)
                     .outerjoin(chart_entries, chart_entries.c.chart_id == charts.c.id))
        .where(charts.c.market == market)
        .group_by(charts.c.chart_date)
        .order_by(charts.c.chart_date.desc())
    )


def count_charts(engine: Engine) -> int:
    """How many charts the store holds."""
    with engine.connect() as conn:
        return _count(conn, charts)


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _summary(conn: Connection, top: int) -> dict:
    """The entries are counted from the ratings aggregate, whose days per (market, kind,
    song) sum to the entries (it is written with them; ``dotify stats --verify`` checks it):
    a few seconds less per ten years of charts than counting 49 million rows."""
    first, last = conn.execute(
        sa.select(sa.func.min(charts.c.chart_date), sa.func.max(charts.c.chart_date))).one()
    kinds: dict[str, int] = dict(conn.execute(
        sa.select(charts.c.kind, sa.func.count()).group_by(charts.c.kind)).all())
    files: dict[str, int] = dict(conn.execute(
        sa.select(ingested_files.c.status, sa.func.count())
        .group_by(ingested_files.c.status)).all())
    per_market: dict[str, int] = dict(conn.execute(
        sa.select(charts.c.market, sa.func.count()).group_by(charts.c.market)).all())
    entries = {m: int(n) for m, n in conn.execute(
        sa.select(song_totals.c.market, sa.func.sum(song_totals.c.days))
        .group_by(song_totals.c.market)).all()}
    rows = sorted(((m, per_market.get(m, 0), n) for m, n in entries.items() if n),
                  key=lambda row: (-row[2], row[0]))
    return {
        "markets": len(rows),
        "charts": _count(conn, charts),
        "entries": sum(entries.values()),
        "songs": _count(conn, songs),
        "artists": _count(conn, artists),
        "first_date": as_date(first).isoformat() if first else None,
        "last_date": as_date(last).isoformat() if last else None,
        "kinds": kinds,
        "files": files,
        "top_markets": [
            {"market": m, "name": MARKETS[m].name if m in MARKETS else m, "charts": c,
             "entries": e} for m, c, e in rows[:top]],
    }
