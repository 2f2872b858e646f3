"""ingest_paths over files, folders, globs, archives and bytes; the `dotify ingest` command."""

from __future__ import annotations

import json
import shutil
import tarfile
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from dotify.charts.ingest import ingest_paths
from dotify.cli import app
from dotify.store.charts import Store
from dotify.store.schema import chart_entries, charts, ingested_files, songs
from tests.conftest import FIXTURES

CHARTS = FIXTURES / "charts"
GOOD = ["regional-se-daily-2020-01-03.csv", "2019-01-04--2019-01-11ad.csv",
        "regional-us-daily-2017-01-01.csv", "worldwide-daily-song-ranking.csv"]
GOOD_ROWS = 4 + 3 + 3 + 7  # the global rows of the ranking file are skipped


def copy(tmp_path: Path, *names: str, folder: str = "in") -> Path:
    target = tmp_path / folder
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(CHARTS / name, target / Path(name).name)
    return target


def snapshot(store: Store) -> tuple[list, int, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(charts.c.market, charts.c.chart_date, charts.c.kind,
                                      chart_entries.c.position, chart_entries.c.song_id,
                                      chart_entries.c.streams)
                            .join(chart_entries, chart_entries.c.chart_id == charts.c.id)
                            .order_by(charts.c.market, charts.c.chart_date,
                                      chart_entries.c.position)).all()
        n_songs = conn.execute(sa.select(sa.func.count()).select_from(songs)).scalar_one()
        n_charts = conn.execute(sa.select(sa.func.count()).select_from(charts)).scalar_one()
    return [tuple(r) for r in rows], n_songs, n_charts


def file_statuses(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(ingested_files.c.path, ingested_files.c.status)
                            .order_by(ingested_files.c.id)).all()
    return [(Path(p.split(":")[-1]).name, s) for p, s in rows]


def test_a_folder_of_every_format(store: Store, tmp_path: Path) -> None:
    folder = copy(tmp_path, *GOOD)
    report = ingest_paths(store, [folder])
    assert report.ok and (report.files_ok, report.files_failed) == (4, 0)
    assert report.rows == GOOD_ROWS and report.rows_skipped == 2
    assert report.markets == {"se", "ad", "us", "ec", "fi"}
    assert (report.first_date, report.last_date) == (date(2017, 1, 1), date(2020, 1, 3))
    rows, n_songs, n_charts = snapshot(store)
    assert len(rows) == GOOD_ROWS and n_charts == 6
    assert n_songs == report.new_songs


def test_ingesting_twice_gives_the_same_rows(store: Store, tmp_path: Path) -> None:
    folder = copy(tmp_path, *GOOD)
    ingest_paths(store, [folder])
    before = snapshot(store)
    again = ingest_paths(store, [folder])
    assert (again.files_unchanged, again.files_ok, again.rows, again.new_songs) == (4, 0, 0, 0)
    assert again.charts_unchanged == 6
    assert snapshot(store) == before
    assert [s for _, s in file_statuses(store)] == ["ok"] * 4 + ["unchanged"] * 4


def test_a_changed_file_replaces_its_chart(store: Store, tmp_path: Path) -> None:
    folder = copy(tmp_path, "regional-se-daily-2020-01-03.csv")
    path = folder / "regional-se-daily-2020-01-03.csv"
    ingest_paths(store, [path])
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3] + ['2,"New Song","New Artist",77,']) + "\n")
    report = ingest_paths(store, [path])
    assert (report.files_ok, report.charts_replaced, report.rows) == (1, 1, 2)
    rows, _, n_charts = snapshot(store)
    assert n_charts == 1 and [(r[3], r[5]) for r in rows] == [(1, 10_969_080), (2, 77)]


def test_bad_files_fail_alone_and_the_run_goes_on(store: Store, tmp_path: Path) -> None:
    folder = copy(tmp_path, "regional-se-daily-2020-01-03.csv", "spotify-charts.csv")
    html = folder / "2019-12-27--2020-01-03ar.csv"
    shutil.copy(CHARTS / "bad" / "html.csv", html)
    negative = folder / "regional-de-daily-2020-01-03.csv"
    shutil.copy(CHARTS / "bad" / "streams-negative.csv", negative)
    report = ingest_paths(store, [folder])
    assert not report.ok
    assert (report.files_ok, report.files_failed) == (1, 3)
    reasons = sorted(f"{Path(e.path).name}:{e.line}: {e.reason}" for e in report.errors)
    assert reasons == [
        "2019-12-27--2020-01-03ar.csv:1: an HTML page, not a CSV chart ('<!doctype html>')",
        "regional-de-daily-2020-01-03.csv:3: streams '-40' is negative",
        "spotify-charts.csv:10: the row has no streams",
        "spotify-charts.csv:8: unknown market 'Atlantis'",
    ]
    # the bad one-chart files add nothing; the many-chart file keeps its good charts
    rows, _, n_charts = snapshot(store)
    assert sorted({(r[0], r[1]) for r in rows}) == [
        ("ar", date(2017, 1, 1)), ("se", date(2020, 1, 3)), ("tr", date(2017, 1, 1))]
    with store.engine.connect() as conn:
        failed = dict(conn.execute(sa.select(ingested_files.c.path, ingested_files.c.error)
                                   .where(ingested_files.c.status == "failed")).all())
    assert failed[str(html)] == f"{html}:1: an HTML page, not a CSV chart ('<!doctype html>')"
    assert failed[str(folder / "spotify-charts.csv")].endswith("(and 1 more)")


def test_archives_globs_and_bytes(store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "charts.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(CHARTS / "2019-01-04--2019-01-11ad.csv", "scrapes/ad/2019-01-04--2019-01-11ad.csv")
        tar.add(CHARTS / "bad" / "html.csv", "scrapes/ad/2019-01-11--2019-01-18ad.csv")
        tar.add(CHARTS / "de" / "week-one.csv", "scrapes/README.txt")  # not a chart: left out
    copy(tmp_path, "regional-se-daily-2020-01-03.csv", "regional-us-daily-2017-01-01.csv",
         folder="globbed")
    data = (CHARTS / "de" / "week-one.csv").read_bytes()
    calls: list[tuple[int, int]] = []
    report = ingest_paths(
        store, [archive, str(tmp_path / "globbed" / "regional-*.csv"), ("upload.csv", data)],
        market="de", date="2020-01-03", kind="weekly",
        progress=lambda done, total, name: calls.append((done, total)))
    assert (report.files_ok, report.files_failed) == (4, 1)
    (error,) = report.errors
    assert error.path == f"{archive}:scrapes/ad/2019-01-11--2019-01-18ad.csv" and error.line == 1
    assert report.markets == {"ad", "se", "us", "de"}
    total = calls[-1][1]
    assert calls[-1] == (total, total) and all(d <= t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_missing_paths_and_global_charts(store: Store, tmp_path: Path) -> None:
    lines = (CHARTS / "regional-se-daily-2020-01-03.csv").read_bytes()
    report = ingest_paths(store, [tmp_path / "nowhere", ("regional-global-daily-2020-01-03.csv",
                                                            lines)])
    assert (report.files_ok, report.files_failed, report.rows, report.rows_skipped) == (1, 1, 0, 4)
    assert report.errors[0].reason == "no such file, folder or glob match"


def test_cli_ingest_exit_status_summary_and_json(home: Path, tmp_path: Path) -> None:
    folder = copy(tmp_path, "regional-se-daily-2020-01-03.csv")
    bad = CHARTS / "bad" / "position-duplicate.csv"
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(folder), str(bad), "--market", "se",
                                 "--date", "2020-01-04"])
    assert result.exit_code == 1, result.output
    assert f"{bad}:4: duplicate position 1" in result.output
    for label in ("files ok", "files failed", "new songs", "date range"):
        assert label in result.output
    again = runner.invoke(app, ["ingest", "--json", str(folder)])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["files_unchanged"], report["files_failed"], report["ok"]) == (1, 0, True)
    stats = runner.invoke(app, ["stats", "--json"])
    assert stats.exit_code == 0
    assert json.loads(stats.stdout)["entries"] == 4
    shown = runner.invoke(app, ["stats"])
    assert "Sweden" in shown.output and "2020-01-03 .. 2020-01-03" in shown.output


def test_two_versions_of_a_chart_in_one_run_the_later_wins(store: Store) -> None:
    first = (CHARTS / "regional-se-daily-2020-01-03.csv").read_bytes()
    second = first.replace(b"250311", b"250312")
    name = "regional-se-daily-2020-01-03.csv"
    report = ingest_paths(store, [(name, first), (name, second), (name, second)])
    assert (report.charts_written, report.charts_replaced, report.charts_unchanged) == (1, 1, 1)
    rows, _, _ = snapshot(store)
    assert rows[1][5] == 250312


def test_gzipped_files_and_a_truncated_archive(store: Store, tmp_path: Path) -> None:
    import gzip

    zipped = tmp_path / "regional-se-daily-2020-01-03.csv.gz"
    zipped.write_bytes(gzip.compress((CHARTS / "regional-se-daily-2020-01-03.csv").read_bytes()))
    archive = tmp_path / "cut.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(CHARTS / "regional-us-daily-2017-01-01.csv", "data/us.csv")
    archive.write_bytes(archive.read_bytes()[:300])  # cut inside the member's data
    report = ingest_paths(store, [archive, zipped], market="us", date="2017-01-01")
    assert (report.files_ok, report.files_failed, report.rows) == (1, 2, 4)
    assert report.markets == {"se"}
    assert [str(e) for e in report.errors] == [
        f"{archive}:data/us.csv: unreadable: unexpected end of data",
        f"{archive}: unreadable archive: unexpected end of data"]


def test_cli_refuses_an_unknown_kind(home: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(CHARTS), "--kind", "monthly"])
    assert result.exit_code == 2
    assert "'monthly' is not one of daily, weekly" in result.output


def test_one_chart_spelt_two_ways_in_a_many_chart_file_is_one_chart(
        store: Store, tmp_path: Path) -> None:
    """'us' and 'US' rows of one day are the same chart: never two charts in one batch."""
    path = tmp_path / "worldwide.csv"
    url = "https://open.spotify.com/track/"
    path.write_text("Position,Track Name,Artist,Streams,URL,Date,Region\n"
                    f"1,A,X,300,{url}{'a' * 22},2017-01-01,us\n"
                    f"2,B,Y,200,{url}{'b' * 22},2017-01-01,US\n"
                    f"1,A,X,30,{url}{'a' * 22},2017-01-01,se\n"
                    f"1,A,X,30,{url}{'a' * 22},2017-01-01,SE\n")
    report = ingest_paths(store, [path])
    assert (report.charts_written, report.rows) == (1, 2)  # us kept, se rejected
    assert [f"{e.line}: {e.reason}" for e in report.errors] == [
        "5: duplicate position 1"]
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(charts.c.market, charts.c.chart_date)).all()
    assert stored == [("us", date(2017, 1, 1))]
