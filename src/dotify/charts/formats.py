"""Read every supported chart CSV format into one validated row model.

Four formats are told apart by their header line (:func:`detect_format`):

- ``legacy``: the spotifycharts.com download, an optional note line, then
  ``Position,"Track Name",Artist,Streams,URL``; one chart per file, whose market, date and
  kind come from the file name (``regional-<cc>-daily-YYYY-MM-DD.csv``,
  ``<start>--<end><cc>.csv`` = weekly, a ``<cc>/`` folder) or from options;
- ``kaggle-ranking``: the Kaggle "worldwide daily song ranking", legacy columns plus
  ``Date,Region``; many charts per file, ``global`` rows skipped;
- ``charts-com``: the charts.spotify.com download (UTF-8 BOM,
  ``rank,uri,artist_names,track_name,...,streams``); one chart per file, named like legacy;
- ``kaggle-charts``: the Kaggle "spotify charts" dump
  (``title,rank,date,artist,url,region,chart,trend,streams``); many charts per file,
  ``top200`` kept, ``viral50`` and ``Global`` skipped, region is a country name.

:class:`ChartReader` streams a binary file and yields whole :class:`Chart` objects, their rows
checked and kept as columns by :mod:`dotify.charts.validate`. Bad input raises
:class:`~dotify.errors.ChartFormatError` naming the file, the line and the reason; in the
many-chart formats a bad row rejects only its own chart (see ``ChartReader.rejected``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, islice
from pathlib import PurePosixPath
from typing import BinaryIO, NamedTuple

from dotify.charts.validate import (
    EMPTY,
    MAX_POSITION,
    Columns,
    careful_columns,
    check_chart_date,
    fast_columns,
    is_blank,
    numbered,
    parse_position,
    parse_streams,
    track_id,
)
from dotify.countries import GLOBAL, find
from dotify.errors import ChartFormatError

__all__ = ["FORMATS", "KINDS", "MAX_POSITION", "ONE_CHART_FORMATS", "Chart", "ChartReader",
           "ChartRow", "Columns", "Format", "NameInfo", "chart_identity", "detect_format",
           "name_info", "parse_position", "parse_streams", "read_chart_file", "track_id"]

KINDS = ("daily", "weekly")
MAX_OPEN_CHARTS = 512  # many-chart files: charts kept open at once before the oldest is closed
_FAST_ROWS = 4 * MAX_POSITION  # a one-chart file with more rows takes the careful path
MAX_LINE_BYTES = 64 * 1024  # real chart lines are a few hundred bytes
_BATCH_BYTES = 1 << 20


class ChartRow(NamedTuple):
    """One validated chart entry."""

    market: str  # lower-case ISO code of a country market
    chart_date: date  # the day, or a weekly chart's first day
    kind: str  # "daily" | "weekly"
    position: int  # 1..200
    track_id: str | None  # Spotify track id, None when the file has none
    title: str
    artists: str  # joined with ", "
    streams: int


_new = tuple.__new__  # builds a ChartRow from checked fields without the Python-level __new__


@dataclass(frozen=True)
class Chart:
    """One (market, chart_date, kind) chart. Its rows, sorted by position, are kept as
    :class:`Columns` (cheap to validate and to write); ``rows`` builds ChartRow tuples."""

    market: str
    chart_date: date
    kind: str
    columns: Columns
    source: str  # the file it came from
    line: int  # the line of its first row
    digest: str | None = None  # what identifies its content, when known without the rows

    @classmethod
    def from_rows(cls, rows: tuple[ChartRow, ...] | list[ChartRow], source: str = "",
                  line: int = 0) -> Chart:
        """The chart of ``rows`` (all of one market, date and kind, in position order)."""
        first = rows[0]
        columns = Columns(*map(tuple, zip(*(r[3:] for r in rows), strict=True)))
        return cls(first.market, first.chart_date, first.kind, columns, source, line)

    @property
    def rows(self) -> tuple[ChartRow, ...]:
        head = (self.market, self.chart_date, self.kind)
        return tuple(_new(ChartRow, head + row) for row in zip(*self.columns, strict=True))

    def __len__(self) -> int:
        return len(self.columns.positions)

    def __reduce__(self) -> tuple:
        """Pickled compact (parsed charts come back from ingest worker processes): numbers
        as machine integers, texts joined by NUL, which a chart never holds."""
        cols = self.columns
        ids = cols.track_ids if None in cols.track_ids else "\0".join(cols.track_ids)  # type: ignore[arg-type]
        packed = (array("H", cols.positions).tobytes(), ids, "\0".join(cols.titles),
                  "\0".join(cols.artists), array("q", cols.streams).tobytes())
        return _unpack, (self.market, self.chart_date, self.kind, packed, self.source,
                         self.line, self.digest)


def _unpack(market: str, chart_date: date, kind: str, packed: tuple, source: str, line: int,
            digest: str | None) -> Chart:
    positions, ids, titles, artists, streams = packed
    if not positions:
        return Chart(market, chart_date, kind, EMPTY, source, line, digest)
    cols = Columns(tuple(array("H", positions)),
                   tuple(ids.split("\0")) if isinstance(ids, str) else ids,
                   tuple(titles.split("\0")), tuple(artists.split("\0")),
                   tuple(array("q", streams)))
    return Chart(market, chart_date, kind, cols, source, line, digest)


@dataclass(frozen=True)
class Format:
    """A CSV format: the header columns each field is read from (lower-case)."""

    name: str
    columns: dict[str, str]
    many_charts: bool


_LEGACY_COLUMNS = {
    "position": "position", "title": "track name", "artists": "artist",
    "streams": "streams", "track": "url",
}
FORMATS: tuple[Format, ...] = (
    Format("legacy", _LEGACY_COLUMNS, many_charts=False),
    Format("kaggle-ranking", {**_LEGACY_COLUMNS, "date": "date", "region": "region"}, True),
    Format("charts-com", {
        "position": "rank", "track": "uri", "artists": "artist_names",
        "title": "track_name", "streams": "streams",
    }, many_charts=False),
    Format("kaggle-charts", {
        "title": "title", "position": "rank", "date": "date", "artists": "artist",
        "track": "url", "region": "region", "chart": "chart", "streams": "streams",
    }, many_charts=True),
)


ONE_CHART_FORMATS = frozenset(f.name for f in FORMATS if not f.many_charts)


def detect_format(header_line: str, path: object = "<input>", line: int = 1) -> str:
    """The name of the format whose header ``header_line`` is; ChartFormatError otherwise."""
    fields = next(csv.reader([header_line.lstrip("\ufeff")]), [])
    return _detect([name.strip().lower() for name in fields], path, line).name


def _detect(header: list[str], path: object, line: int) -> Format:
    names = set(header)
    scored = sorted(
        FORMATS,
        key=lambda f: (len(names & set(f.columns.values())) / len(f.columns), len(f.columns)),
        reverse=True,
    )
    best = scored[0]
    wanted = set(best.columns.values())
    if wanted <= names:
        return best
    if len(names & wanted) * 2 >= len(wanted):
        missing = ", ".join(sorted(wanted - names))
        raise ChartFormatError(path, line,
                               f"missing column(s) {missing} for the {best.name} format")
    raise ChartFormatError(
        path, line, f"unknown header {','.join(header)[:120]!r}; expected one of the "
        f"{', '.join(f.name for f in FORMATS)} chart formats",
    )


# --- what the file name says -------------------------------------------------------------

_DAILY_NAME = re.compile(
    r"regional-(?P<cc>[a-z]+)-(?P<kind>daily|weekly)-(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:--\d{4}-\d{2}-\d{2})?\.csv(?:\.gz)?$", re.IGNORECASE)
_WEEKLY_NAME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})--\d{4}-\d{2}-\d{2}(?P<cc>[a-z]{2})\.csv(?:\.gz)?$",
    re.IGNORECASE)


class NameInfo(NamedTuple):
    market: str | None
    chart_date: date | None
    kind: str | None


def name_info(name: str) -> NameInfo:
    """Market, date and kind as far as a file's name (not its folders) says them;
    ValueError for an impossible date such as 2020-02-30."""
    base = _posix(name).name
    if match := _DAILY_NAME.search(base):
        return NameInfo(match["cc"].lower(), date.fromisoformat(match["date"]),
                        match["kind"].lower())
    if match := _WEEKLY_NAME.search(base):
        return NameInfo(match["cc"].lower(), date.fromisoformat(match["date"]), "weekly")
    return NameInfo(None, None, None)


def _posix(name: str) -> PurePosixPath:
    return PurePosixPath(name.replace("\\", "/").split(":")[-1])


def _folder_market(name: str) -> str | None:
    folder = _posix(name).parent.name.lower()
    return folder if len(folder) == 2 and find(folder) else None


def chart_identity(path: object, name: str, market: str | None, day: date | str | None,
                   kind: str | None) -> NameInfo:
    """The (market, date, kind) of a one-chart file: what its name says, else the options,
    else (market) its ``<cc>/`` folder; the kind defaults to daily."""
    if isinstance(day, str):
        day = _parse_date(path, None, day, check=False)  # checked below, if it is used
    if kind is not None and kind not in KINDS:
        raise ChartFormatError(path, None, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    try:
        info = name_info(name)
    except ValueError as exc:
        raise ChartFormatError(path, None, f"the date in the file name is not a date ({exc})"
                               ) from None
    market = info.market or market or _folder_market(name)
    day = info.chart_date or day
    kind = info.kind or kind or "daily"
    if market is None or day is None:
        raise ChartFormatError(path, None, "the file name does not say the market and date "
                                           "(regional-<cc>-daily-YYYY-MM-DD.csv); give them")
    found = find(str(market))
    if found is None:
        raise ChartFormatError(path, None, f"unknown market {market!r}")
    try:
        check_chart_date(day)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ChartFormatError(path, None, str(exc)) from None
    return NameInfo(found.code, day, str(kind))  # type: ignore[arg-type]


def _parse_date(path: object, line: int | None, text: str, check: bool = True) -> date:
    try:
        day = date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ChartFormatError(path, line, f"bad date {text[:40]!r} (want YYYY-MM-DD)"
                               ) from None
    if not check:
        return day
    try:
        return check_chart_date(day)
    except ValueError as exc:
        raise ChartFormatError(path, line, str(exc)) from None


# --- reading -----------------------------------------------------------------------------

def _text_lines(stream: BinaryIO, path: object) -> Iterator[str]:
    """Decode a binary stream in batches of whole lines; undecodable bytes name their line."""
    return chain.from_iterable(_text_batches(stream, path))


def _text_batches(stream: BinaryIO, path: object) -> Iterator[io.StringIO]:
    """Whole lines about a MiB at a time; a line longer than MAX_LINE_BYTES is an error
    (no real chart line comes near, and a file of one endless line would fill the memory)."""
    done = 0  # lines before this batch
    carry = b""
    while True:
        chunk = stream.read(_BATCH_BYTES)
        data = carry + chunk
        if chunk:
            cut = data.rfind(b"\n") + 1
            if cut == 0 or len(data) - cut > MAX_LINE_BYTES:
                if len(data) - cut > MAX_LINE_BYTES:
                    _check_lines(data, done, path)
                carry = data
                continue
            data, carry = data[:cut], data[cut:]
        elif not data:
            return
        if done == 0:
            data = data.removeprefix(codecs.BOM_UTF8)
        if len(data) > MAX_LINE_BYTES:
            _check_lines(data, done, path)
        if (nul := data.find(b"\0")) >= 0:  # never in a CSV chart; PostgreSQL refuses it
            raise ChartFormatError(path, done + data.count(b"\n", 0, nul) + 1,
                                   "a NUL byte: not a text chart (UTF-16 or binary?)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = done + data.count(b"\n", 0, exc.start) + 1
            raise ChartFormatError(path, line, f"undecodable bytes ({exc.reason}); "
                                               "the file is not UTF-8") from None
        yield io.StringIO(text, newline="")
        done += data.count(b"\n")
        if not chunk:
            return


def _check_lines(data: bytes, done: int, path: object) -> None:
    """ChartFormatError naming the first line of ``data`` longer than MAX_LINE_BYTES."""
    lengths = list(map(len, data.split(b"\n")))
    if max(lengths) > MAX_LINE_BYTES:
        line = done + next(i for i, n in enumerate(lengths) if n > MAX_LINE_BYTES) + 1
        raise ChartFormatError(path, line, f"a line longer than {MAX_LINE_BYTES:,} bytes: "
                                           "not a chart")


def _is_note(fields: list[str]) -> bool:
    return any("note that" in f.lower() for f in fields) and sum(bool(f) for f in fields) <= 1


@dataclass
class _OpenChart:
    key: tuple[str, str]
    line: int
    rows: list[tuple[str, ...]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    error: ChartFormatError | None = None


class ChartReader:
    """Iterate over the charts of one binary CSV stream (never loads a many-chart file whole).

    ``name`` is the file's name (for errors, and market/date/kind in one-chart formats);
    ``market``, ``chart_date`` and ``kind`` are used where the name does not say them.
    After iteration: ``format``, ``rows_skipped`` (global, viral50), ``rejected`` (errors of
    charts left out of a many-chart file). A one-chart file raises on its first error.
    """

    def __init__(self, stream: BinaryIO, name: str, market: str | None = None,
                 chart_date: date | str | None = None, kind: str | None = None) -> None:
        self.stream, self.name = stream, name
        self.options = (market, chart_date, kind)
        self.format: str | None = None
        self.rows_skipped = 0
        self.rejected: list[ChartFormatError] = []
        self._closed: set[tuple[str, str]] = set()
        # raw (region, date) text -> the chart's identity (market code, ISO date), or why not
        self._identities: dict[tuple[str, str], tuple[str, str] | ChartFormatError] = {}

    def __iter__(self) -> Iterator[Chart]:
        reader = csv.reader(_text_lines(self.stream, self.name))
        try:
            yield from self._charts(reader)
        except csv.Error as exc:  # a field over the size limit, a stray quote in strict mode
            raise ChartFormatError(self.name, reader.line_num, f"not CSV: {exc}") from None

    def _charts(self, reader) -> Iterator[Chart]:  # type: ignore[no-untyped-def]
        header = self._header(reader)
        fmt = _detect(header, self.name, reader.line_num)
        self.format = fmt.name
        index = {name: i for i, name in enumerate(header)}
        columns = {key: index[col] for key, col in fmt.columns.items()}
        if fmt.many_charts:
            yield from self._many(reader, columns)
        else:
            chart = self._one(reader, columns)
            if chart.market == GLOBAL:  # global is a chart, not a country
                self.rows_skipped += len(chart)
            else:
                yield chart

    def _header(self, reader: Iterator[list[str]]) -> list[str]:
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            first = fields[0].lstrip()
            if first.startswith("<"):
                raise ChartFormatError(self.name, getattr(reader, "line_num", None),
                                       f"an HTML page, not a CSV chart ({first[:40]!r})")
            if _is_note(fields):
                continue
            return [f.strip().lower() for f in fields]
        raise ChartFormatError(self.name, max(getattr(reader, "line_num", 0), 1),
                               "the file is empty (no header line)")

    def _one(self, reader, columns: dict[str, int]) -> Chart:  # type: ignore[no-untyped-def]
        """The file's one chart: its rows read at once and checked column-wise; when that
        finds anything odd (or the file is long), row by row for the line and reason."""
        market, day, kind = chart_identity(self.name, self.name, *self.options)
        header_line = reader.line_num
        rows = list(islice(reader, _FAST_ROWS))
        cols = fast_columns(rows, columns) if len(rows) < _FAST_ROWS else None
        if cols is None:
            rest = ((reader.line_num, fields) for fields in reader)
            cols = careful_columns(self.name, chain(numbered(rows, header_line), rest), columns)
        if not cols.positions:
            raise ChartFormatError(self.name, reader.line_num, "no chart rows after the header")
        return Chart(market, day, kind, cols, self.name, header_line + 1)  # type: ignore[arg-type]

    def _many(self, reader, columns: dict[str, int]) -> Iterator[Chart]:  # type: ignore[no-untyped-def]
        region_col, date_col, chart_col = columns["region"], columns["date"], columns.get("chart")
        width = max(columns.values()) + 1
        open_charts: OrderedDict[tuple[str, str], _OpenChart] = OrderedDict()
        for fields in reader:
            if is_blank(fields):
                continue
            line = reader.line_num
            if len(fields) < width:
                self.rejected.append(ChartFormatError(
                    self.name, line, f"expected {width} fields, found {len(fields)}"))
                continue
            region = fields[region_col].strip()
            if region.lower() == GLOBAL or (chart_col is not None
                                            and fields[chart_col].strip() != "top200"):
                self.rows_skipped += 1
                continue
            identity = self._identity(region, fields[date_col], line)
            key = identity if isinstance(identity, tuple) else (region, fields[date_col])
            chart = open_charts.get(key)
            if chart is None:
                chart = self._open(key, line, open_charts)
                if isinstance(identity, ChartFormatError):
                    chart.error = identity
                if len(open_charts) > MAX_OPEN_CHARTS:
                    yield from self._close(open_charts.popitem(last=False)[1], columns)
            if chart.error is None:
                chart.rows.append(tuple(fields))  # tuples of str: the GC stops tracking them
                chart.lines.append(line)
        while open_charts:
            yield from self._close(open_charts.popitem(last=False)[1], columns)

    def _identity(self, region: str, day_text: str, line: int
                  ) -> tuple[str, str] | ChartFormatError:
        """Charts are keyed by market code and date, not by how a row spells them: "US" and
        "us" rows of one day are one chart (else the store would see the chart twice)."""
        raw = (region, day_text)
        found = self._identities.get(raw)
        if found is None:
            market = find(region)
            try:
                if market is None:
                    raise ChartFormatError(self.name, line, f"unknown market {region!r}")
                found = (market.code, _parse_date(self.name, line, day_text).isoformat())
            except ChartFormatError as exc:
                found = exc
            self._identities[raw] = found
        return found

    def _open(self, key: tuple[str, str], line: int,
              open_charts: OrderedDict[tuple[str, str], _OpenChart]) -> _OpenChart:
        chart = _OpenChart(key, line)
        if key in self._closed:
            chart.error = ChartFormatError(
                self.name, line, f"rows of chart {key[0]} {key[1]} resume after the chart "
                "was closed; sort the file by region and date")
        open_charts[key] = chart
        return chart

    def _close(self, chart: _OpenChart, columns: dict[str, int]) -> Iterator[Chart]:
        self._closed.add(chart.key)
        if chart.error is None:
            try:
                yield self._build(chart, columns)
                return
            except ChartFormatError as exc:
                chart.error = exc
        self.rejected.append(chart.error)  # type: ignore[arg-type]

    def _build(self, chart: _OpenChart, columns: dict[str, int]) -> Chart:
        cols = fast_columns(chart.rows, columns)
        if cols is None:
            cols = careful_columns(self.name, zip(chart.lines, chart.rows, strict=True), columns)
        code, day = chart.key  # resolved by _identity when the chart was opened
        return Chart(code, date.fromisoformat(day), "daily", cols, self.name, chart.line)


def read_chart_file(source: str | bytes | BinaryIO, name: str | None = None,
                    market: str | None = None, date: date | str | None = None,
                    kind: str | None = None) -> Iterator[ChartRow]:
    """Every row of a chart file (a path, bytes or a binary stream); raises on bad input."""
    if isinstance(source, str):
        with open(source, "rb") as opened:
            yield from read_chart_file(opened, name or source, market, date, kind)
        return
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source
    reader = ChartReader(stream, name or "<bytes>", market, date, kind)
    for chart in reader:
        yield from chart.rows
    if reader.rejected:
        raise reader.rejected[0]
