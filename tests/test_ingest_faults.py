"""Hostile chart input (issue 13): each fault reproduced on real files and a real store.

Every case asserts the rule of the ingest: the bad unit fails with its file, line and
reason; nothing of it is stored; the rest of the run goes on; the exit status is not 0.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from dotify.charts.ingest import ingest_paths
from dotify.cli import app
from dotify.store.charts import Store
from dotify.store.schema import chart_entries, charts, ingested_files
from tests._charts import daily_name, legacy_csv, legacy_rows


def counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(charts)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(chart_entries)).scalar_one())


def file_rows(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [(Path(p).name, s) for p, s in conn.execute(
            sa.select(ingested_files.c.path, ingested_files.c.status)
            .order_by(ingested_files.c.id))]


def write_days(folder: Path, market: str, days: list[str], rows: int = 200) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for day in days:
        path = folder / daily_name(market, day)
        path.write_bytes(legacy_csv(rows))
        paths.append(path)
    return paths


DAYS = [f"2021-03-{d:02d}" for d in range(1, 8)]


# --- 1, 2: stream counts -------------------------------------------------------------------

@pytest.mark.parametrize("count", [2**63, 2**64 + 1, 9 * 10**18, 10**10])
def test_a_stream_count_out_of_range_fails_its_file_only(store: Store, tmp_path: Path,
                                                         count: int) -> None:
    """2^63 crashed the whole batch; 9e18 was stored and then broke every training run."""
    write_days(tmp_path / "in", "se", DAYS[:5])
    counts_ = [2_000_000 - p for p in range(200)]
    counts_[2] = count
    bad = tmp_path / "in" / daily_name("se", DAYS[5])
    bad.write_bytes(legacy_csv(streams=counts_))
    report = ingest_paths(store, [tmp_path / "in"])
    assert (report.files_ok, report.files_failed, report.charts_written) == (5, 1, 5)
    (error,) = report.errors
    assert f"{error.path}:{error.line}" == f"{bad}:4"
    assert error.reason.startswith("streams out of range: ")
    assert counts(store) == (5, 1000)


def test_a_many_chart_file_rejects_only_the_chart_with_the_huge_count(store: Store,
                                                                      tmp_path: Path) -> None:
    url = "https://open.spotify.com/track/"
    path = tmp_path / "ranking.csv"
    path.write_text("Position,Track Name,Artist,Streams,URL,Date,Region\n"
                    f"1,A,X,300,{url}{'a' * 22},2017-01-01,us\n"
                    f"1,A,X,{2**63},{url}{'a' * 22},2017-01-01,se\n"
                    f"1,A,X,30,{url}{'a' * 22},2017-01-01,fi\n")
    report = ingest_paths(store, [path])
    assert [str(e) for e in report.errors] == [
        f"{path}:3: streams out of range: '{2**63}' is above 1,000,000,000, "
        "far more than any real chart's count"]
    assert report.charts_written == 2 and not report.ok


# --- 5: dates ------------------------------------------------------------------------------

def test_future_dates_are_rejected_in_names_options_and_rows(store: Store, tmp_path: Path,
                                                             ) -> None:
    named = tmp_path / daily_name("se", "2099-01-01")
    named.write_bytes(legacy_csv(3))
    ranking = tmp_path / "ranking.csv"
    ranking.write_text("Position,Track Name,Artist,Streams,URL,Date,Region\n"
                       "1,A,X,300,,2099-01-01,us\n1,A,X,300,,1999-12-31,us\n")
    report = ingest_paths(store, [named, ranking, ("upload.csv", legacy_csv(3))],
                          market="de", date="2999-05-05")
    reasons = sorted(f"{Path(e.path).name}:{e.line}: {e.reason}" for e in report.errors)
    assert [r.split(" (")[0] for r in reasons] == [
        "ranking.csv:2: chart date 2099-01-01 is in the future",
        "ranking.csv:3: chart date 1999-12-31 is before 2000-01-01: not a chart's date",
        "regional-se-daily-2099-01-01.csv:None: chart date 2099-01-01 is in the future",
        "upload.csv:None: chart date 2999-05-05 is in the future"]
    assert counts(store) == (0, 0) and report.files_failed == 3


def test_cli_exits_1_on_a_future_chart(home: Path, tmp_path: Path) -> None:
    named = tmp_path / daily_name("se", "2099-01-01")
    named.write_bytes(legacy_csv(3))
    result = CliRunner().invoke(app, ["ingest", str(named)])
    assert result.exit_code == 1
    assert "chart date 2099-01-01 is in the future" in result.output
