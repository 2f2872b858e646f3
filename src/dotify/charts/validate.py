"""Validate a chart's CSV rows into :class:`Columns`: a fast column-wise path, a careful row path.

A chart's rows arrive as CSV field lists. :func:`fast_columns` checks them a column at a time
(``map(int, ...)``, ``min``/``max``, one ``set``): no per-row Python code runs for a
well-formed chart, and it answers None for anything odd. :func:`careful_columns` then walks
the rows one by one and raises :class:`~dotify.errors.ChartFormatError` naming the line and
the reason of the first bad row; both give the same columns for good input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from dotify.errors import ChartFormatError

MAX_POSITION = 200
# The largest real count seen is about 30 million (a weekly US chart); a billion leaves room
# for any real chart while keeping sums over years of charts far inside 64-bit integers.
MAX_STREAMS = 1_000_000_000
MAX_TRACK_ID = 32  # Spotify ids are 22 characters; the store's column holds 32
FIRST_DATE = date(2000, 1, 1)  # older than any chart: a typo or a hostile value
FIELDS = ("position", "track", "title", "artists", "streams")  # what every format has


class Columns(NamedTuple):
    """A chart's rows as columns, sorted by position."""

    positions: tuple[int, ...]
    track_ids: tuple[str | None, ...]  # None where the file has no track id
    titles: tuple[str, ...]
    artists: tuple[str, ...]  # joined with ", "
    streams: tuple[int, ...]


EMPTY = Columns((), (), (), (), ())


# --- one field ---------------------------------------------------------------------------

def parse_streams(text: str) -> int:
    """Streams as an int: '10,969,080' and '253019.0' are accepted; ValueError otherwise,
    also for a count above :data:`MAX_STREAMS` ("streams out of range")."""
    if len(text) > 40:  # int() of thousands of digits is slow, and no count is that long
        raise ValueError(f"streams out of range: {_shown(text)} has {len(text)} characters")
    try:
        value = int(text)
    except ValueError:
        whole, dot, fraction = text.strip().replace(",", "").partition(".")
        if not whole.lstrip("-").isdigit() or fraction.strip("0") or (dot and not whole):
            raise ValueError(f"streams {text!r} is not a whole number") from None
        value = int(whole)
    if value < 0:
        raise ValueError(f"streams {text!r} is negative")
    if value > MAX_STREAMS:
        raise ValueError(f"streams out of range: {_shown(text)} is above {MAX_STREAMS:,}, "
                         "far more than any real chart's count")
    return value


def _shown(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 24 else text[:21] + "...")


def _streams(text: str) -> int:
    if not text.strip():
        raise ValueError("the row has no streams")
    return parse_streams(text)


def parse_position(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"position {text!r} is not a whole number") from None
    if not 1 <= value <= MAX_POSITION:
        raise ValueError(f"position {value} is out of range 1..{MAX_POSITION}")
    return value


@lru_cache(maxsize=1 << 18)
def track_id(text: str) -> str | None:
    """The Spotify id of ``https://open.spotify.com/track/<id>`` or ``spotify:track:<id>``."""
    text = text.strip()
    if not text:
        return None
    tail = re.split(r"[/:]", text.split("?")[0].rstrip("/"))[-1]
    if not tail.isalnum() or not tail.isascii() or len(tail) > MAX_TRACK_ID:
        raise ValueError(f"no Spotify track id in {_shown(text)}")
    return tail


def latest_chart_date() -> date:
    """Tomorrow (UTC): no market's day is later than that, in any time zone, and a chart is
    published only after its day."""
    return datetime.now(UTC).date() + timedelta(days=1)


def check_chart_date(day: date) -> date:
    """``day`` when a chart can be of that day; ValueError for the future or before 2000."""
    latest = latest_chart_date()
    if day > latest:
        raise ValueError(f"chart date {day} is in the future (later than tomorrow, {latest})")
    if day < FIRST_DATE:
        raise ValueError(f"chart date {day} is before {FIRST_DATE}: not a chart's date")
    return day


# --- a whole chart -----------------------------------------------------------------------

def is_blank(fields: Sequence[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


def fast_columns(rows: Sequence[Sequence[str]], columns: dict[str, int]) -> Columns | None:
    """The columns of ``rows`` when every row is well formed, else None (blank or short
    rows, a bad number, a position out of range or twice, a row with neither id nor title)."""
    if not rows or min(map(len, rows)) < max(columns.values()) + 1:
        return None
    cols = list(zip(*rows, strict=False))
    pos, track, title, artists, streams = (cols[columns[k]] for k in FIELDS)
    try:
        positions = tuple(map(int, pos))
        try:
            counts = tuple(map(int, streams))
        except ValueError:  # thousands separators, "253019.0"
            counts = tuple(map(parse_streams, streams))
        track_ids = tuple(map(track_id, track))
    except ValueError:
        return None
    if (min(positions) < 1 or max(positions) > MAX_POSITION or min(counts) < 0
            or max(counts) > MAX_STREAMS or len(set(positions)) != len(positions)):
        return None
    titles = tuple(map(str.strip, title))
    if None in track_ids and not all(map(any, zip(track_ids, titles, strict=True))):
        return None
    return _sorted(Columns(positions, track_ids, titles, tuple(map(str.strip, artists)),
                           counts))


def careful_columns(path: object, numbered: Iterable[tuple[int, Sequence[str]]],
                    columns: dict[str, int]) -> Columns:
    """The columns of (line, fields) rows, blank rows skipped; ChartFormatError naming the
    line and the reason of the first bad row."""
    parse = row_parser(columns)
    seen: set[int] = set()
    rows: list[tuple] = []
    for line, fields in numbered:
        if is_blank(fields):
            continue
        try:
            row = parse(fields)
        except ValueError as exc:
            raise ChartFormatError(path, line, str(exc)) from None
        if row[0] in seen:
            raise ChartFormatError(path, line, f"duplicate position {row[0]}")
        seen.add(row[0])
        rows.append(row)
    if not rows:
        return EMPTY
    rows.sort()
    return Columns(*map(tuple, zip(*rows, strict=True)))


def numbered(rows: list[list[str]], before: int) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) for rows parsed after line ``before``; a row's line is its last one,
    as ``csv.reader.line_num`` says (a quoted field may hold line breaks)."""
    line = before
    for fields in rows:
        line += 1 + sum(f.count("\n") + f.count("\r") - f.count("\r\n") for f in fields)
        yield line, fields


def _sorted(cols: Columns) -> Columns:
    positions = cols.positions
    if list(positions) == sorted(positions):
        return cols
    order = sorted(range(len(positions)), key=positions.__getitem__)
    return Columns._make(tuple(col[i] for i in order) for col in cols)


def row_parser(columns: dict[str, int]) -> Callable[[Sequence[str]], tuple]:
    """A function from CSV fields to (position, track_id, title, artists, streams)."""
    pos, track, title, artists, streams = (columns[k] for k in FIELDS)
    width = max(columns.values()) + 1

    def parse(fields: Sequence[str]) -> tuple:
        if len(fields) < width:
            raise ValueError(f"expected {width} fields, found {len(fields)}")
        tid = track_id(fields[track])
        name = fields[title].strip()
        if tid is None and not name:
            raise ValueError("the row has neither a track id nor a title")
        return (parse_position(fields[pos]), tid, name, fields[artists].strip(),
                _streams(fields[streams]))

    return parse
