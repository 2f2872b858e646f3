"""The four chart formats read from small hand-written files, and every kind of bad input."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotify.charts.formats import (
    Chart,
    ChartReader,
    ChartRow,
    detect_format,
    name_info,
    parse_streams,
    read_chart_file,
)
from dotify.charts.validate import careful_columns, fast_columns, numbered
from dotify.errors import ChartFormatError
from tests.conftest import FIXTURES

CHARTS = FIXTURES / "charts"
BAD = CHARTS / "bad"


def read_all(path: Path, **options: object) -> tuple[ChartReader, list]:
    with open(path, "rb") as stream:
        reader = ChartReader(stream, str(path), **options)  # type: ignore[arg-type]
        return reader, list(reader)


def test_legacy_daily_with_note_line_and_thousands_separator() -> None:
    rows = list(read_chart_file(str(CHARTS / "regional-se-daily-2020-01-03.csv")))
    assert [r.position for r in rows] == [1, 2, 3, 4]
    assert rows[0] == ChartRow("se", date(2020, 1, 3), "daily", 1, "1rgnBhdG2JDFTbYkYRZAku",
                               "Dance Monkey", "Tones And I", 10_969_080)


def test_legacy_weekly_name_gives_market_start_date_and_kind() -> None:
    reader, charts = read_all(CHARTS / "2019-01-04--2019-01-11ad.csv")
    assert reader.format == "legacy"
    (chart,) = charts
    assert (chart.market, chart.chart_date, chart.kind) == ("ad", date(2019, 1, 4), "weekly")
    assert [r.title for r in chart.rows] == ["Calma - Remix", "Con Calma", "Baila Baila Baila"]
    assert chart.rows[0].artists == "Pedro Capó"


def test_market_from_folder_and_date_kind_from_options() -> None:
    _, (chart,) = read_all(CHARTS / "de" / "week-one.csv", chart_date="2020-01-03", kind="weekly")
    assert (chart.market, chart.chart_date, chart.kind) == ("de", date(2020, 1, 3), "weekly")
    assert chart.line == 2  # the first row, right after the header


def test_options_apply_only_where_the_file_name_is_silent() -> None:
    _, (chart,) = read_all(CHARTS / "regional-se-daily-2020-01-03.csv", market="gb",
                           chart_date="2021-05-05", kind="weekly")
    assert (chart.market, chart.chart_date, chart.kind) == ("se", date(2020, 1, 3), "daily")


def test_a_bad_kind_option_is_an_error() -> None:
    with pytest.raises(ChartFormatError, match="kind 'monthly' is not one of daily, weekly"):
        read_all(CHARTS / "de" / "week-one.csv", chart_date="2020-01-03", kind="monthly")


def test_charts_com_with_bom_and_joined_artists() -> None:
    reader, (chart,) = read_all(CHARTS / "regional-us-daily-2017-01-01.csv")
    assert reader.format == "charts-com"
    assert (chart.market, chart.chart_date, chart.kind) == ("us", date(2017, 1, 1), "daily")
    first = chart.rows[0]
    assert first.track_id == "4Km5HrUvYTaSUfiSGPJeQR"
    assert first.artists == "Migos, Lil Uzi Vert"
    assert first.title == "Bad and Boujee (feat. Lil Uzi Vert)"
    assert [r.streams for r in chart.rows] == [1371493, 1180074, 1064351]


def test_kaggle_ranking_groups_charts_and_skips_global() -> None:
    reader, charts = read_all(CHARTS / "worldwide-daily-song-ranking.csv")
    assert reader.format == "kaggle-ranking"
    keys = sorted((c.market, c.chart_date) for c in charts)
    assert keys == [("ec", date(2017, 1, 1)), ("ec", date(2017, 1, 2)), ("fi", date(2017, 1, 1))]
    assert reader.rows_skipped == 2
    fi = next(c for c in charts if c.market == "fi")
    assert fi.rows[2].track_id is None and fi.rows[2].title == "Unknown Song Without Link"
    assert reader.rejected == []


def test_kaggle_charts_maps_country_names_and_rejects_bad_charts() -> None:
    reader, charts = read_all(CHARTS / "spotify-charts.csv")
    assert reader.format == "kaggle-charts"
    assert sorted((c.market, c.chart_date) for c in charts) == [
        ("ar", date(2017, 1, 1)), ("tr", date(2017, 1, 1))]
    tr = next(c for c in charts if c.market == "tr")
    assert [r.streams for r in tr.rows] == [10_012, 9_000]
    assert reader.rows_skipped == 2  # one viral50 row, one Global row
    reasons = sorted((e.line, e.reason) for e in reader.rejected)
    assert reasons == [(8, "unknown market 'Atlantis'"), (10, "the row has no streams")]


@pytest.mark.parametrize(("header", "name"), [
    (',,,"Note",\n', None),
    ('Position,"Track Name",Artist,Streams,URL', "legacy"),
    ("Position,Track Name,Artist,Streams,URL,Date,Region", "kaggle-ranking"),
    ("\ufeffrank,uri,artist_names,track_name,source,peak_rank,previous_rank,days_on_chart,streams",
     "charts-com"),
    ("title,rank,date,artist,url,region,chart,trend,streams", "kaggle-charts"),
])
def test_detect_format(header: str, name: str | None) -> None:
    if name is None:
        with pytest.raises(ChartFormatError, match="unknown header"):
            detect_format(header)
    else:
        assert detect_format(header) == name


def test_name_info() -> None:
    assert name_info("x/regional-gb-weekly-2019-01-04--2019-01-11.csv") == (
        "gb", date(2019, 1, 4), "weekly")
    assert name_info("archive.tar.gz:chart_scrapes/ar/2019-12-27--2020-01-03ar.csv") == (
        "ar", date(2019, 12, 27), "weekly")
    assert name_info("latest.csv") == (None, None, None)


@pytest.mark.parametrize(("text", "value"), [("12", 12), ("10,969,080", 10_969_080),
                                             ("253019.0", 253_019), (" 7 ", 7)])
def test_parse_streams(text: str, value: int) -> None:
    assert parse_streams(text) == value


@pytest.mark.parametrize("text", ["lots", "-3", "1.5", ""])
def test_parse_streams_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="streams"):
        parse_streams(text)


# file, line, reason (a regular expression)
BAD_FILES = [
    ("html.csv", 1, r"an HTML page, not a CSV chart"),
    ("empty.csv", 1, r"the file is empty"),
    ("unknown-header.csv", 1, r"unknown header 'foo,bar,baz'"),
    ("missing-column.csv", 1, r"missing column\(s\) streams for the legacy format"),
    ("streams-text.csv", 3, r"streams 'lots' is not a whole number"),
    ("streams-negative.csv", 3, r"streams '-40' is negative"),
    ("position-duplicate.csv", 4, r"duplicate position 1"),
    ("position-range.csv", 3, r"position 201 is out of range 1..200"),
    ("undecodable.csv", 3, r"undecodable bytes .*not UTF-8"),
]


@pytest.mark.parametrize(("name", "line", "reason"), BAD_FILES)
def test_bad_input_names_file_line_and_reason(name: str, line: int, reason: str) -> None:
    path = BAD / name
    with pytest.raises(ChartFormatError) as caught:
        list(read_chart_file(str(path), market="se", date="2020-01-03"))
    error = caught.value
    assert (error.path, error.line) == (str(path), line)
    assert re.search(reason, error.reason), error.reason
    assert str(error).startswith(f"{path}:{line}: ")


def test_unknown_market_in_the_file_name() -> None:
    path = BAD / "regional-xx-daily-2020-01-01.csv"
    with pytest.raises(ChartFormatError, match=r"-01-01.csv: unknown market 'xx'"):
        list(read_chart_file(str(path)))


def test_an_impossible_date_in_the_file_name() -> None:
    data = (CHARTS / "regional-se-daily-2020-01-03.csv").read_bytes()
    with pytest.raises(ChartFormatError, match=r"regional-se-daily-2020-02-30.csv: the date "
                                               r"in the file name is not a date"):
        list(read_chart_file(data, "regional-se-daily-2020-02-30.csv"))


def test_a_name_without_market_or_date_needs_options() -> None:
    data = (CHARTS / "regional-se-daily-2020-01-03.csv").read_bytes()
    with pytest.raises(ChartFormatError, match="does not say the market and date"):
        list(read_chart_file(data, "latest.csv"))
    rows = list(read_chart_file(io.BytesIO(data), "latest.csv", market="Sweden",
                                date=date(2020, 1, 3)))
    assert {r.market for r in rows} == {"se"} and len(rows) == 4


def test_many_chart_file_rows_resuming_a_closed_chart_are_rejected(monkeypatch) -> None:
    import dotify.charts.formats as formats

    monkeypatch.setattr(formats, "MAX_OPEN_CHARTS", 1)
    text = ("Position,Track Name,Artist,Streams,URL,Date,Region\n"
            "1,A,X,10,,2017-01-01,ec\n1,B,Y,10,,2017-01-01,fi\n2,C,Z,5,,2017-01-01,ec\n")
    reader = ChartReader(io.BytesIO(text.encode()), "mixed.csv")
    charts = list(reader)
    assert [(c.market, len(c.rows)) for c in charts] == [("ec", 1), ("fi", 1)]
    (error,) = reader.rejected
    assert error.line == 4 and "resume after the chart was closed" in error.reason


def test_a_field_over_the_csv_size_limit() -> None:
    head = b'Position,"Track Name",Artist,Streams,URL\n1,x,A,5,\n2,"'
    data = head + (b"y" * 60_000 + b"\n") * 3 + b'",A,5,\n'  # short lines, one long field
    with pytest.raises(ChartFormatError, match=r"big.csv:\d+: not CSV: field larger than"):
        list(read_chart_file(data, "big.csv", market="se", date="2020-01-03"))


def test_a_line_over_the_line_limit() -> None:
    data = b'Position,"Track Name",Artist,Streams,URL\n1,x,A,5,\n2,"' + b"y" * 200_000 + b'",A,5,\n'
    with pytest.raises(ChartFormatError, match=r"big.csv:3: a line longer than 65,536 bytes"):
        list(read_chart_file(data, "big.csv", market="se", date="2020-01-03"))


HEADER = 'Position,"Track Name",Artist,Streams,URL\n'


def legacy_bytes(rows: list[str]) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def test_a_bad_row_after_a_field_with_a_line_break_names_its_own_line() -> None:
    data = legacy_bytes(['1,"Two\nLines",A,5,', "2,B,A,lots,"])
    with pytest.raises(ChartFormatError) as caught:
        list(read_chart_file(data, "x.csv", market="se", date="2020-01-03"))
    assert (caught.value.line, caught.value.reason) == (4, "streams 'lots' is not a whole number")


@pytest.mark.parametrize("rows", [201, 1000])  # the column-wise path, and past its row limit
def test_a_long_file_fails_on_its_first_repeated_position(rows: int) -> None:
    data = legacy_bytes([f"{1 + i % 200},T{i},A,5," for i in range(rows)])
    with pytest.raises(ChartFormatError) as caught:
        list(read_chart_file(data, "long.csv", market="se", date="2020-01-03"))
    assert (caught.value.line, caught.value.reason) == (202, "duplicate position 1")


def test_rows_out_of_order_with_blank_lines_and_separators_are_sorted() -> None:
    data = legacy_bytes(['3,C,Z,"1,000",', "", '1,A,X,"10,969,080",https://x/track/abc',
                         "  ", "2,B,Y,7.0,spotify:track:def"])
    _, (chart,) = read_all_bytes(data)
    assert [(r.position, r.track_id, r.title, r.streams) for r in chart.rows] == [
        (1, "abc", "A", 10_969_080), (2, "def", "B", 7), (3, None, "C", 1000)]
    assert Chart.from_rows(chart.rows, chart.source, chart.line) == chart


def read_all_bytes(data: bytes) -> tuple[ChartReader, list]:
    reader = ChartReader(io.BytesIO(data), "x.csv", market="se", chart_date="2020-01-03")
    return reader, list(reader)


_track = st.text("abcdefXYZ0123456789", min_size=1, max_size=22)
_row = st.tuples(_track | st.just(""), st.text("ab ,\"", max_size=8),
                 st.integers(0, 10**9), st.booleans())


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.permutations(range(1, 201)).map(lambda p: p[:50]), st.lists(_row, min_size=50,
                                                                      max_size=50))
def test_the_column_wise_and_the_row_wise_paths_agree(positions: list[int], rows: list) -> None:
    fields = [[str(pos), f"T{pos}" if not track else title, "A, B",
               f"{streams:,}" if comma else str(streams),
               f"https://x/track/{track}" if track else ""]
              for pos, (track, title, streams, comma) in zip(positions, rows, strict=True)]
    index = {"position": 0, "title": 1, "artists": 2, "streams": 3, "track": 4}
    fast = fast_columns(fields, index)
    assert fast is not None
    assert fast == careful_columns("x.csv", numbered(fields, 1), index)
    assert list(fast.positions) == sorted(positions)
