"""Hostile chart input: each fault reproduced on real files and a real store.

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
from tests._charts import daily_name, legacy_csv


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


# --- 3, 7: a file deleted, cut or changed while it is read; a chart cut short --------------

def _archive(path: Path, members: dict[str, bytes]) -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("fault", ["delete", "truncate"])
def test_an_archive_deleted_or_cut_while_read_fails_cleanly(store: Store, tmp_path: Path,
                                                            fault: str) -> None:
    """The progress callback runs between members: the archive changes under the reader."""
    members = {f"charts/{daily_name('se', day)}": legacy_csv(200, salt=day[-2:])
               for day in DAYS[:3]}
    archive = _archive(tmp_path / "charts.tar.gz", members)

    def meddle(done: int, total: int, name: str) -> None:
        if name.endswith(daily_name("se", DAYS[0])):
            if fault == "delete":
                archive.unlink()
            else:
                archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])

    report = ingest_paths(store, [archive], progress=meddle)
    assert report.files_ok == 1 and report.files_failed >= 1
    reasons = {e.reason for e in report.errors}
    assert reasons & {"the file was deleted or moved while it was read",
                      "the file was replaced while it was read"} or \
        any(r.startswith("the file changed while it was read") for r in reasons)
    assert counts(store) == (1, 200)  # the member read whole before the change, no more
    assert all(status != "running" for _, status in file_rows(store))


def test_a_file_cut_while_read_is_seen_as_changed(tmp_path: Path) -> None:
    from dotify.charts.inputs import open_entry

    path = tmp_path / daily_name("se", DAYS[0])
    path.write_bytes(legacy_csv(200))
    failed: list = []
    entries = open_entry(path, failed.append, lambda *_: None)
    opened = next(entries)
    half = opened.stream.read(5000)
    assert opened.changed() is None and len(half) == 5000
    with open(path, "r+b") as cut:
        cut.truncate(6000)
    assert opened.changed() == "the file changed while it was read (17,504 bytes, then 6,000)"
    entries.close()
    assert failed == []


def test_a_chart_shorter_than_its_markets_recent_charts_is_rejected(store: Store,
                                                                    tmp_path: Path) -> None:
    """A 200-row chart cut to 84 rows at a line boundary (a 200 OK answer cut short)."""
    ingest_paths(store, write_days(tmp_path / "in", "se", DAYS[:6]))
    before = counts(store)
    cut = ("upload.csv", legacy_csv(84))
    ok = ("other.csv", legacy_csv(200, salt="z"))
    report = ingest_paths(store, [cut, ok], market="se", date=DAYS[6])
    assert [str(e) for e in report.errors] == [
        f"upload.csv:2: chart se {DAYS[6]} daily has 84 rows where the market's last 6 charts "
        "all had 200, and its last row streams 1,585,000, more than the last row of any of them "
        "(1,005,000 at most): cut short? (a chart is stored whole or not at all)"]
    assert (report.files_failed, report.files_ok) == (1, 1)
    assert counts(store) == (before[0] + 1, before[1] + 200)
    # older charts, and markets whose charts vary in size, are not judged by it
    old = ingest_paths(store, [("old.csv", legacy_csv(84))], market="se", date="2021-02-01")
    assert old.ok


def test_a_small_markets_chart_short_for_want_of_streams_is_stored(store: Store,
                                                                   tmp_path: Path) -> None:
    """A small market lists only the songs above a number of streams ("up to 200"): after a
    run of full charts, a shorter one whose last row streams no more than theirs did is
    short, not cut. Ten simulated years lost 21 of Andorra's charts before this."""
    head = [2_000_000 - 5_000 * p for p in range(188)]  # the full charts' last: 1,005,000
    for market in ("ad", "lu"):
        ingest_paths(store, write_days(tmp_path / market, market, DAYS[:6]))
    short = ingest_paths(store, [("short.csv", legacy_csv(streams=[*head, 1_005_000]))],
                         market="ad", date=DAYS[6])
    assert short.ok and short.rows == 189
    cut = ingest_paths(store, [("cut.csv", legacy_csv(streams=[*head, 1_005_001]))],
                       market="lu", date=DAYS[6])
    assert cut.files_failed == 1 and cut.rows == 0
    assert "its last row streams 1,005,001, more than the last row of any of them " \
           "(1,005,000 at most): cut short?" in str(cut.errors[0])


def test_a_changed_chart_bigger_or_equal_is_fine(store: Store, tmp_path: Path) -> None:
    ingest_paths(store, write_days(tmp_path / "in", "ad", DAYS[:4], rows=50))
    report = ingest_paths(store, [("new.csv", legacy_csv(63))], market="ad", date=DAYS[4])
    assert report.ok and report.rows == 63


# --- 6: bounded sizes --------------------------------------------------------------------

def _gzip_of(line: bytes, times: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    block = line * 65536
    parts = [packer.compress(block) for _ in range(times // 65536)]
    return b"".join(parts) + packer.flush()


@pytest.mark.slow
def test_a_gzip_bomb_fails_with_its_reason(store: Store, tmp_path: Path) -> None:
    bomb = tmp_path / "regional-se-daily-2021-03-01.csv.gz"
    bomb.write_bytes(_gzip_of(b",,,,\n", 40 << 20))  # 40 KB that would expand to 200 MB
    assert bomb.stat().st_size < 400_000
    report = ingest_paths(store, [bomb, ("ok.csv", legacy_csv(3))], market="fi",
                          date=DAYS[0])
    (error,) = report.errors
    assert error.path == str(bomb)
    assert error.reason.startswith("expands to more than 100 times its compressed size")
    assert report.files_ok == 1 and counts(store) == (1, 3)


def test_an_endless_line_fails_at_once(store: Store, tmp_path: Path) -> None:
    long = tmp_path / "regional-se-daily-2021-03-01.csv.gz"
    long.write_bytes(_gzip_of(b",", 2 << 20))
    plain = tmp_path / "regional-no-daily-2021-03-01.csv"
    plain.write_bytes(legacy_csv(3) + b"4,x," + b"y" * 70_000 + b",5,\n")
    report = ingest_paths(store, [long, plain])
    assert sorted(f"{Path(e.path).name}:{e.line}: {e.reason}" for e in report.errors) == [
        "regional-no-daily-2021-03-01.csv:5: a line longer than 65,536 bytes: not a chart",
        "regional-se-daily-2021-03-01.csv.gz:1: a line longer than 65,536 bytes: not a chart"]
    assert counts(store) == (0, 0)


# --- 9: a big many-chart file is one file ----------------------------------------------------

def test_a_many_chart_file_in_several_commits_is_recorded_once(store: Store,
                                                               tmp_path: Path) -> None:
    url = "https://open.spotify.com/track/"
    lines = ["Position,Track Name,Artist,Streams,URL,Date,Region"]
    for day in DAYS:
        for market in ("se", "no", "fi"):
            lines += [f"{p},S{p},A,{1000 - p},{url}{'t' * 19}{p:03d},{day},{market}"
                      for p in range(1, 31)]
    path = tmp_path / "ranking.csv"
    path.write_text("\n".join(lines) + "\n")
    report = ingest_paths(store, [path], commit_rows=50)
    assert (report.files_ok, report.files_failed, report.charts_written) == (1, 0, 21)
    assert file_rows(store) == [("ranking.csv", "ok")]


# --- 11: what is not a regular file ----------------------------------------------------------

def test_fifo_device_and_link_only_archives_fail_with_a_reason(store: Store,
                                                               tmp_path: Path) -> None:
    import io
    import os
    import tarfile

    fifo = tmp_path / "regional-se-daily-2021-03-01.csv"
    os.mkfifo(fifo)
    links = tmp_path / "links.tar.gz"
    with tarfile.open(links, "w:gz") as tar:
        for kind, name in ((tarfile.SYMTYPE, "a/regional-se-daily-2021-03-02.csv"),
                           (tarfile.LNKTYPE, "a/regional-se-daily-2021-03-03.csv")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "/etc/passwd"
            tar.addfile(info)
    readme = tmp_path / "readme.tar.gz"
    with tarfile.open(readme, "w:gz") as tar:
        info = tarfile.TarInfo("README.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(folder / "regional-no-daily-2021-03-01.csv")
    (folder / "notes.txt").write_text("x")
    report = ingest_paths(store, [fifo, "/dev/zero", links, readme, folder])
    reasons = sorted(f"{Path(e.path.split(':')[-1]).name}: {e.reason}" for e in report.errors)
    assert reasons == [
        "readme.tar.gz: no chart file in the archive",
        "regional-no-daily-2021-03-01.csv: a FIFO, not a regular file: not read",
        "regional-se-daily-2021-03-01.csv: a FIFO, not a regular file: not read",
        "regional-se-daily-2021-03-02.csv: a symbolic link in the archive (to '/etc/passwd'): "
        "not followed",
        "regional-se-daily-2021-03-03.csv: a hard link in the archive (to '/etc/passwd'): "
        "not followed",
        "zero: a character device, not a regular file: not read"]
    assert report.files_failed == 6 and not report.ok
    assert sorted((Path(p.split(":")[-1]).name, why) for p, why in report.skipped) == [
        ("README.txt", "not a chart file (.csv, .csv.gz, .tar.gz, .tgz, .tar)"),
        ("notes.txt", "not a chart file (.csv, .csv.gz, .tar.gz, .tgz, .tar)")]
    assert counts(store) == (0, 0)


def test_cli_names_skipped_and_failed_entries_and_exits_1(home: Path, tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "regional-se-daily-2021-03-01.csv")
    (tmp_path / "notes.txt").write_text("x")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path)])
    assert result.exit_code == 1
    assert "a FIFO, not a regular file: not read" in result.output
    assert f"skipped {tmp_path / 'notes.txt'}: not a chart file" in result.output


def test_a_nul_byte_fails_its_file_not_the_batch(store: Store, tmp_path: Path) -> None:
    """PostgreSQL refuses NUL in text: one such title failed the whole batch."""
    bad = tmp_path / daily_name("se", DAYS[0])
    bad.write_bytes(legacy_csv(5).replace(b"Song 3", b"So\x00ng"))
    good = tmp_path / daily_name("no", DAYS[0])
    good.write_bytes(legacy_csv(5))
    report = ingest_paths(store, [bad, good])
    assert [f"{Path(e.path).name}:{e.line}: {e.reason}" for e in report.errors] == [
        f"{bad.name}:4: a NUL byte: not a text chart (UTF-16 or binary?)"]
    assert report.files_ok == 1 and counts(store) == (1, 5)
