"""Ingest chart files into the store: files, folders, globs, ``.tar.gz`` archives or bytes.

:func:`ingest_paths` reads every input as a stream (archive members too, never extracted to
disk; see :mod:`dotify.charts.inputs` for what is opened and how it is bounded), validates
each chart whole before writing it, commits whole charts about ``COMMIT_ROWS`` rows per
transaction (a chart is never split across two), records every file in ``ingested_files``
(ok | unchanged | failed, with its sha256 and error) and returns an :class:`IngestReport`.
A bad file adds no rows and does not stop the run; in a many-chart file only the bad charts
are left out. A chart shorter than its market's recent charts is rejected
(:mod:`dotify.charts.completeness`), and so is every chart of a file not yet written when the
file turns out to have changed while it was read. A big load parses small files in worker
processes while this one writes (:mod:`dotify.charts.parsing`, same result; a small file on
disk, such as a month's archive, is opened and decompressed there too) and goes through the
store's bulk path (:meth:`dotify.store.charts.Store.bulk`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine

from dotify.charts.completeness import ChartSizes
from dotify.charts.formats import MAX_POSITION, ONE_CHART_FORMATS, Chart
from dotify.charts.inputs import Entry, Input, Opened, expand, open_entry, size
from dotify.charts.parsing import (
    FILE_BYTES,
    ChartStream,
    Item,
    Parsed,
    Parsers,
    Unread,
    read_small,
)
from dotify.errors import ChartFormatError
from dotify.store.charts import Batch, ChartResult, FileRecord, Store
from dotify.store.sizes import recent_chart_sizes

log = logging.getLogger("dotify")

Progress = Callable[[int, int, str], None]  # (bytes done, bytes in all, current file)
COMMIT_ROWS = 200_000  # fewer, bigger commits: SQLite checkpoints its WAL once per commit
PARALLEL_MIN_ROWS = 250_000  # a load this big (about) parses in worker processes


@dataclass
class IngestReport:
    """What one run did. ``ok`` is False when any file failed."""

    files_ok: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    charts_written: int = 0
    charts_replaced: int = 0
    charts_unchanged: int = 0
    charts_failed: int = 0
    rows: int = 0  # chart entries written
    rows_skipped: int = 0  # global and viral50 rows
    new_songs: int = 0
    markets: set[str] = field(default_factory=set)
    first_date: date | None = None
    last_date: date | None = None
    errors: list[ChartFormatError] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): not charts
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.files_failed == 0

    @property
    def files_skipped(self) -> int:
        return len(self.skipped)

    @property
    def files(self) -> int:
        return self.files_ok + self.files_unchanged + self.files_failed

    def see(self, market: str, day: date) -> None:
        self.markets.add(market)
        self.first_date = min(self.first_date or day, day)
        self.last_date = max(self.last_date or day, day)

    def to_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items()
                if k not in ("markets", "errors", "skipped")}
        data.update(
            markets=sorted(self.markets), ok=self.ok,
            skipped=[{"path": path, "reason": why} for path, why in self.skipped],
            first_date=self.first_date.isoformat() if self.first_date else None,
            last_date=self.last_date.isoformat() if self.last_date else None,
            errors=[{"path": e.path, "line": e.line, "reason": e.reason} for e in self.errors],
        )
        return data


def ingest_paths(target: Engine | Store, paths: Iterable[Input],
                 market: str | None = None, date: date | str | None = None,
                 kind: str | None = None, progress: Progress | None = None,
                 commit_rows: int = COMMIT_ROWS, workers: int | None = None) -> IngestReport:
    """Ingest files, folders (recursive), globs, ``.tar.gz`` archives and (name, bytes) pairs.

    ``market``, ``date`` and ``kind`` apply to files whose name does not say them. Charts
    are committed about ``commit_rows`` rows at a time, each chart whole. ``workers``
    processes parse small files while this one writes (None: one less than the CPUs for a
    load of ``PARALLEL_MIN_ROWS`` rows or more, else none: in a big load the writing
    process is the slowest, and a worker more would take its core); the result is the same.
    """
    store = target if isinstance(target, Store) else Store(target)
    report = IngestReport()
    started = time.perf_counter()
    found = expand(paths)
    for error in found.failed:
        _fail(report, error)
    report.skipped.extend(found.skipped)
    sizes = [size(entry) for entry in found.entries]
    total = sum(sizes)
    batcher = _Batcher(store, report, commit_rows)
    rows = _rows_in(found.entries, sizes)
    if workers is None:
        workers = (os.cpu_count() or 1) - 1 if rows >= PARALLEL_MIN_ROWS else 0
    done = 0
    options = (market, date, kind)
    with store.bulk(rows), (Parsers(workers) if workers > 0 else nullcontext()) as parsers:
        for entry, entry_size in zip(found.entries, sizes, strict=True):
            if parsers is not None and isinstance(entry, Path) and entry_size <= FILE_BYTES:
                # a small file on disk: a worker opens, decompresses and parses it whole
                parsers.submit_file(entry, options, _bytes_in(entry.name, entry_size))
                for item in parsers.ready():
                    _take(batcher, item, options)
                if progress is not None:
                    progress(min(done + entry_size, total), total, str(entry))
            else:
                for opened in _open(report, entry):
                    _read(batcher, opened, options, parsers)
                    if progress is not None:
                        progress(min(done + opened.position(), total), total, opened.name)
            done += entry_size
        if parsers is not None:
            for item in parsers.drain():
                _take(batcher, item, options)
        batcher.flush()
    if progress is not None:
        progress(total, total, "")
    report.seconds = time.perf_counter() - started
    return report


_ROW_BYTES = 90  # a chart row in a CSV file, about; compressed files hold about 4 times more
_COMPRESSED = (".gz", ".tgz")


def _bytes_in(name: str, size: int) -> int:
    """About how many bytes of charts a file of ``size`` bytes holds."""
    return size * (4 if name.lower().endswith(_COMPRESSED) else 1)


def _rows_in(entries: list[Entry], sizes: list[int]) -> int:
    """About how many chart rows files of these sizes hold (to choose how to load them)."""
    names = (entry[0] if isinstance(entry, tuple) else entry.name for entry in entries)
    return sum(map(_bytes_in, names, sizes)) // _ROW_BYTES


def _open(report: IngestReport, entry: Entry) -> Iterator[Opened]:
    """The chart streams of ``entry``; what is failed or skipped goes to the report."""
    return open_entry(entry, lambda e: _fail(report, e),
                      lambda name, why: report.skipped.append((name, why)))


def _fail(report: IngestReport, error: ChartFormatError) -> None:
    report.files_failed += 1
    report.errors.append(error)
    log.info("%s", error)


def _identified(chart: Chart, file_sha256: str) -> Chart:
    """The chart with a digest made of its file's sha256 and its (market, date, kind)."""
    head = f"{file_sha256}\t{chart.market}\t{chart.chart_date}\t{chart.kind}"
    return replace(chart, digest=hashlib.sha256(head.encode()).hexdigest())


class _Batcher:
    """Collects parsed charts and writes them ``commit_rows`` rows per transaction."""

    def __init__(self, store: Store, report: IngestReport, commit_rows: int) -> None:
        self.store, self.report, self.commit_rows = store, report, commit_rows
        self.pending: Batch = []
        self.keys: set[tuple] = set()
        self.rows = 0
        self._sizes: ChartSizes | None = None

    @property
    def sizes(self) -> ChartSizes:
        """The recent chart sizes per market, read from the store once per run."""
        if self._sizes is None:
            self._sizes = ChartSizes(recent_chart_sizes(self.store.engine))
        return self._sizes

    def drop(self, record: FileRecord) -> None:
        """Forget the charts of ``record`` that are not written yet."""
        kept = [(r, charts) for r, charts in self.pending if r is not record]
        if len(kept) != len(self.pending):
            self.pending = kept
            self.keys = {(c.market, c.chart_date, c.kind) for _, charts in kept for c in charts}
            self.rows = sum(sum(map(len, charts)) + 1 for _, charts in kept)

    def add(self, record: FileRecord, charts: list[Chart]) -> None:
        keys = {(c.market, c.chart_date, c.kind) for c in charts}
        if not keys.isdisjoint(self.keys):  # the same chart again: write the first one first
            self.flush()
        self.pending.append((record, charts))
        self.keys |= keys
        self.rows += sum(map(len, charts)) + 1
        if self.rows >= self.commit_rows:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        results = self.store.write(self.pending)
        counted: set[int] = set()  # a big file comes in several parts: count it once
        for (record, charts), done in zip(self.pending, results, strict=True):
            for chart, result in zip(charts, done, strict=True):
                _tally(self.report, chart, result)
            if record.final and id(record) not in counted:
                counted.add(id(record))
                status = record.status
                self.report.files_ok += status == "ok"
                self.report.files_unchanged += status == "unchanged"
                self.report.files_failed += status == "failed"
        self.pending, self.keys, self.rows = [], set(), 0


def _tally(report: IngestReport, chart: Chart, result: ChartResult) -> None:
    report.see(chart.market, chart.chart_date)
    if result.status == "unchanged":
        report.charts_unchanged += 1
        return
    report.charts_replaced += result.replaced
    report.charts_written += not result.replaced
    report.rows += result.rows
    report.new_songs += result.new_songs


def _read(batcher: _Batcher, opened: Opened, options: tuple, parsers: Parsers | None,
          ) -> None:
    """Queue the charts of one opened file: a small one's bytes go to the parsers, a big
    one (or every one without parsers) is read here, after what the parsers hold."""
    if parsers is not None:
        data, opened.stream = read_small(opened.stream)
        if data is not None:
            parsers.submit(opened.name, data, options, opened.changed())
            for item in parsers.ready():
                _take(batcher, item, options)
            return
        for item in parsers.drain():
            _take(batcher, item, options)
    _queue(batcher, ChartStream(opened.stream, opened.name, options), opened.changed)


def _take(batcher: _Batcher, item: Item, options: tuple) -> None:
    """One thing a worker gave back, in its turn: a file's charts, a failure, a skipped
    file, or a file to read here."""
    if isinstance(item, Parsed):
        _queue(batcher, item)
    elif isinstance(item, ChartFormatError):
        _fail(batcher.report, item)
    elif isinstance(item, Unread):
        for opened in _open(batcher.report, item.path):
            _read(batcher, opened, options, None)
    else:
        batcher.report.skipped.append(item)


def _queue(batcher: _Batcher, parsed: Parsed,
           changed: Callable[[], str | None] | None = None) -> None:
    """Check the charts of one file as they come (a chart shorter than its market's recent
    ones is left out) and queue them; its errors go to the report. ``changed`` says, once
    the file is read, whether it changed meanwhile (else ``parsed.changed`` says it)."""
    name = parsed.name
    record = FileRecord(path=name, final=False)
    charts: list[Chart] = []
    short: list[ChartFormatError] = []
    for chart in parsed:
        if (problem := batcher.sizes.problem(chart)) is not None:
            short.append(ChartFormatError(name, chart.line, problem))
            continue
        batcher.sizes.see(chart)
        charts.append(chart)
        if len(charts) * MAX_POSITION >= batcher.commit_rows:  # a big many-chart file
            batcher.add(record, charts)
            charts = []
    rejected = parsed.rejected + short
    errors = parsed.errors + rejected
    if parsed.format not in ONE_CHART_FORMATS:  # else the file's one chart: the file fails
        batcher.report.charts_failed += len(rejected)
    batcher.report.rows_skipped += parsed.rows_skipped
    record.sha256 = parsed.sha256
    if (why := changed() if changed is not None else parsed.changed) is not None:
        errors.insert(0, ChartFormatError(name, None, why))  # what was read may be half
        batcher.drop(record)
        charts = []
    for error in errors:
        batcher.report.errors.append(error)
        log.info("%s", error)
    record.final = True
    if parsed.format in ONE_CHART_FORMATS and errors:
        charts = []
    if len(charts) == 1 and parsed.format in ONE_CHART_FORMATS:  # cheaper than hashing rows
        charts[0] = _identified(charts[0], record.sha256)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        record.error = f"{errors[0]}{more}"
    batcher.add(record, charts)
