"""A big ingest: worker processes parse while the store writes, and the song index is built
once at the end. Both must write exactly what the plain path writes."""

from __future__ import annotations

import gzip
import io
import pickle
import shutil
import tarfile
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from dotify.charts import ingest, parsing
from dotify.charts.formats import Chart
from dotify.charts.ingest import ingest_paths
from dotify.charts.validate import Columns
from dotify.errors import ChartFormatError, StoreError
from dotify.store import charts as store_charts
from dotify.store.charts import Store
from dotify.store.engine import create_engine
from dotify.store.schema import chart_entries
from tests._charts import daily_name, legacy_csv
from tests.conftest import FIXTURES
from tests.test_ingest import file_statuses, snapshot

CHARTS = FIXTURES / "charts"


def _has_song_index(store: Store) -> bool:
    names = {ix["name"] for ix in sa.inspect(store.engine).get_indexes("chart_entries")}
    return "ix_chart_entries_song" in names


def _mixed_inputs(folder: Path) -> list[Path]:
    """Good and bad files of every way in: plain, gzip, an archive, a many-chart file, and
    the same chart twice (the later file wins)."""
    folder.mkdir()
    for day in range(1, 9):
        (folder / daily_name("se", f"2020-01-{day:02d}")).write_bytes(legacy_csv(200))
    with gzip.open(folder / (daily_name("no", "2020-01-01") + ".gz"), "wb") as out:
        out.write(legacy_csv(200, salt="n"))
    (folder / daily_name("se", "2020-01-09")).write_bytes(legacy_csv(150))  # cut short?
    (folder / daily_name("de", "2020-01-01")).write_bytes(legacy_csv(3, streams=[5, -4, 3]))
    (folder / daily_name("fi", "2020-01-01")).write_bytes(b"\xff\xfe not a chart")
    for name in ("2019-01-04--2019-01-11ad.csv", "worldwide-daily-song-ranking.csv",
                 "spotify-charts.csv"):
        shutil.copy(CHARTS / name, folder / name)
    (folder / "z").mkdir()  # walked after the files above: a second version of se 01-02
    (folder / "z" / daily_name("se", "2020-01-02")).write_bytes(legacy_csv(200, salt="v2"))
    with tarfile.open(folder / "more.tar.gz", "w:gz") as tar:
        data = legacy_csv(200, salt="a")
        info = tarfile.TarInfo(f"dk/{daily_name('dk', '2020-01-01')}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        readme = tarfile.TarInfo("README.txt")  # skipped: not a chart
        readme.size = 5
        tar.addfile(readme, io.BytesIO(b"hello"))
        link = tarfile.TarInfo(f"dk/{daily_name('dk', '2020-01-02')}")  # failed: a link
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    whole = (folder / "more.tar.gz").read_bytes()
    (folder / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])  # failed: cut short
    return [folder]


def _run(tmp_path: Path, name: str, inputs: list[Path], workers: int) -> tuple:
    engine = create_engine(f"sqlite:///{tmp_path / name}.db")
    store = Store(engine)
    report = ingest_paths(store, inputs, workers=workers)
    facts = report.to_dict()
    facts.pop("seconds")
    found = snapshot(store), file_statuses(store), facts
    engine.dispose()
    return found


@pytest.mark.slow
def test_workers_write_what_one_process_writes(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _mixed_inputs(tmp_path / "in")
    plain = _run(tmp_path, "plain", inputs, workers=0)
    facts = plain[2]
    # four bad files, the cut archive and its member, the link in the archive
    assert (facts["files_failed"], facts["charts_replaced"], facts["charts_failed"]) == (7, 1, 2)
    assert "cut short?" in str(facts["errors"])
    assert facts["skipped"] == [{"path": f"{inputs[0] / 'more.tar.gz'}:README.txt",
                                 "reason": "not a chart file (.csv, .csv.gz, .tar.gz, .tgz, .tar)"}]
    # the small files on disk go to the workers whole, by their paths
    assert _run(tmp_path, "workers", inputs, workers=2) == plain
    # a worker gives back an archive whose member is too big for it, and this process
    # reads it, in its turn among the others; so it does files over the size for a worker
    monkeypatch.setattr(parsing, "SMALL_BYTES", 5_000)
    assert _run(tmp_path, "mixed", inputs, workers=1) == plain
    monkeypatch.setattr(ingest, "FILE_BYTES", 0)
    assert _run(tmp_path, "bytes", inputs, workers=1) == plain


def test_a_big_load_drops_the_song_index_and_builds_it_again(store: Store) -> None:
    with store.bulk(store_charts.BULK_MIN_ROWS - 1) as bulk:
        assert not bulk and _has_song_index(store)  # a small load keeps it
    with pytest.raises(RuntimeError), store.bulk(store_charts.BULK_MIN_ROWS) as bulk:
        assert bulk and not _has_song_index(store)
        raise RuntimeError("the load failed half way")
    assert _has_song_index(store)


def test_a_big_load_builds_the_song_index_with_the_page_cache_it_began_with(
        store: Store) -> None:
    """The writes widen the connection's page cache (random-order inserts into the song
    index); the index built at the end is a sort, slower with that cache, so it goes."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("a page cache of SQLite's")
    seen: list[int] = []

    def before(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("CREATE INDEX"):
            seen.append(cursor.connection.execute("PRAGMA cache_size").fetchone()[0])

    with store.engine.connect() as conn:
        began = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    sa.event.listen(store.engine, "before_cursor_execute", before)
    with store.bulk(store_charts.BULK_MIN_ROWS) as bulk:
        assert bulk
        ingest_paths(store, [("regional-se-daily-2020-01-01.csv", legacy_csv(3))])
        with store._begin() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() != began
    assert seen == [began]


def test_a_store_that_holds_much_keeps_its_index(store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ingest_paths(store, [("regional-se-daily-2020-01-01.csv", legacy_csv(3))])
    monkeypatch.setattr(store_charts, "BULK_MAX_STORED", 100)  # one chart counts as 200
    with store.bulk(store_charts.BULK_MIN_ROWS) as bulk:
        assert not bulk and _has_song_index(store)


def _foreign_keys(store: Store) -> int:
    with store.engine.connect() as conn:
        return len(sa.inspect(conn).get_foreign_keys("chart_entries"))


def test_a_big_load_checks_every_entry_when_it_ends(store: Store) -> None:
    with pytest.raises(StoreError, match="refer to no chart or song"), \
            store.bulk(store_charts.BULK_MIN_ROWS) as bulk:
        assert bulk
        with store._begin() as conn:  # unchecked while the load runs
            store_charts._insert_entries(conn, [(999, 1, 999, 5)])
    assert _has_song_index(store)
    with store.engine.begin() as conn:  # mended, the store opens with its keys checked again
        conn.execute(sa.delete(chart_entries).where(chart_entries.c.chart_id == 999))
    engine = create_engine(store.engine.url.render_as_string(hide_password=False))
    assert _foreign_keys(Store(engine)) == 2
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        store_charts._insert_entries(conn, [(998, 1, 998, 5)])
    engine.dispose()


def test_what_a_killed_load_set_aside_comes_back_when_the_database_opens(
        store: Store) -> None:
    ingest_paths(store, [("regional-se-daily-2020-01-01.csv", legacy_csv(3))])
    with store.engine.begin() as conn:  # as a bulk load killed half way leaves it
        conn.execute(sa.text("DROP INDEX ix_chart_entries_song"))
        if conn.dialect.name == "postgresql":
            for fk in sa.inspect(conn).get_foreign_keys("chart_entries"):
                conn.execute(sa.text(f'ALTER TABLE chart_entries DROP CONSTRAINT "{fk["name"]}"'))
    assert not _has_song_index(store)
    engine = create_engine(store.engine.url.render_as_string(hide_password=False))
    reopened = Store(engine)
    assert _has_song_index(reopened) and _foreign_keys(reopened) == 2
    engine.dispose()


@pytest.mark.parametrize("columns", [
    Columns((1, 2), ("a" * 22, None), ("One", ""), ("X, Y", ""), (5, 1_000_000_000)),
    Columns((1, 2), ("a" * 22, "b" * 22), ("Ünï", "t\n2"), ("", "z"), (0, 7)),
    Columns((), (), (), (), ()),
])
def test_charts_and_errors_come_back_from_a_worker_whole(columns: Columns) -> None:
    chart = Chart("se", date(2020, 1, 2), "daily", columns, "in/a.csv", 3, "d" * 64)
    assert pickle.loads(pickle.dumps(chart)) == chart
    error = pickle.loads(pickle.dumps(ChartFormatError("a.csv", 7, "bad streams")))
    assert (error.path, error.line, error.reason, str(error)) == (
        "a.csv", 7, "bad streams", "a.csv:7: bad streams")


def test_read_small_gives_back_every_byte_of_a_big_or_failing_stream() -> None:
    data, stream = parsing.read_small(io.BytesIO(b"abc"), limit=3)
    assert data == b"abc"
    data, stream = parsing.read_small(io.BytesIO(b"abcdefgh"), limit=3)
    assert data is None and stream.read() == b"abcdefgh"

    class Failing(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise EOFError("cut short")

    data, stream = parsing.read_small(Failing(), limit=3)
    with pytest.raises(EOFError, match="cut short"):
        stream.read()
    assert data is None


def test_a_worker_gives_back_a_file_whose_charts_hold_more_than_it_may(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "month.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for day in (1, 2, 3):
            data = legacy_csv(40, salt=str(day))
            info = tarfile.TarInfo(daily_name("se", f"2020-01-0{day}"))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    options = (None, None, None)
    read = parsing.read_file(archive, options)
    assert [len(item.charts) for item in read if isinstance(item, parsing.Parsed)] == [1, 1, 1]
    assert all(isinstance(item, parsing.Parsed) and item.changed is None for item in read)
    each = len(legacy_csv(40, salt="1"))
    monkeypatch.setattr(parsing, "SMALL_BYTES", 2 * each + 10)  # each fits, all three do not
    assert parsing.read_file(archive, options) == [parsing.Unread(archive)]
