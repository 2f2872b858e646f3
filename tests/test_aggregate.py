"""The ratings aggregate: always what the chart entries say, and what a whole-history
ratings read uses instead of them (SQLite, and PostgreSQL when its URL is given)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from dotify.charts.ingest import ingest_paths
from dotify.cli import app
from dotify.errors import StoreError
from dotify.learn.ratings import from_store
from dotify.learn.window import DataWindow
from dotify.store import aggregate
from dotify.store.charts import Store
from dotify.store.schema import chart_entries, song_totals
from dotify.store.totals import chart_totals
from tests.conftest import FIXTURES

CHARTS = FIXTURES / "charts"
HEADER = "Position,Track Name,Artist,Streams,URL"


def _chart(folder: Path, market: str, day: str, rows: list[tuple[str, int]]) -> Path:
    lines = [HEADER] + [f"{i},{title},Someone,{streams},https://open.spotify.com/track/"
                        f"{title.lower():0>22}" for i, (title, streams) in enumerate(rows, 1)]
    path = folder / market / f"regional-{market}-daily-{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _totals(store: Store) -> dict[tuple, tuple]:
    with store.engine.connect() as conn:
        return {tuple(r[:3]): tuple(r[3:]) for r in conn.execute(sa.select(song_totals))}


def _by_entries(store: Store, window: DataWindow) -> dict[str, list]:
    """The ratings read of ``window`` summed from the entries (the aggregate bypassed)."""
    from dotify.store.totals import COLUMNS, _from_entries

    with store.engine.connect() as conn:
        rows = conn.execute(_from_entries(window)).all()
    return {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}


def _sorted(columns: dict[str, list]) -> list[tuple]:
    return sorted(zip(*(columns[k] for k in ("market", "key", "streams")), strict=True))


def test_ingest_reingest_and_a_replaced_chart_keep_it_equal_to_the_entries(
        store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _chart(folder, "se", "2020-01-03", [("Alpha", 5000), ("Beta", 3000), ("Gamma", 1000)])
    _chart(folder, "se", "2020-01-04", [("Beta", 6000), ("Alpha", 4000)])
    _chart(folder, "no", "2020-01-03", [("Alpha", 2000), ("Delta", 900)])
    shutil.copy(CHARTS / "2019-01-04--2019-01-11ad.csv", folder / "2019-01-04--2019-01-11ad.csv")
    assert ingest_paths(store, [folder]).ok
    assert aggregate.differences(store.engine) == (0, [])
    totals = _totals(store)
    alpha_se = next(v for k, v in totals.items() if k[:2] == ("se", "daily") and v[0] == 9000)
    assert alpha_se[1] == 2  # two chart days, 5000 + 4000 streams
    assert str(alpha_se[2])[:10] == "2020-01-03" and str(alpha_se[3])[:10] == "2020-01-04"
    assert ingest_paths(store, [folder]).files_ok == 0  # re-ingest: nothing changes
    assert _totals(store) == totals
    # the chart of 2020-01-04 changes: Alpha leaves it, Epsilon comes in
    _chart(folder, "se", "2020-01-04", [("Beta", 6500), ("Epsilon", 800)])
    report = ingest_paths(store, [folder])
    assert report.ok and report.charts_replaced == 1
    assert aggregate.differences(store.engine) == (0, [])
    after = _totals(store)
    assert (5000, 1) in {v[:2] for k, v in after.items() if k[:2] == ("se", "daily")}
    assert len(after) == len(totals) + 1
    whole = DataWindow()
    assert _sorted(chart_totals(store.engine, whole)) == _sorted(_by_entries(store, whole))


def test_a_rolled_back_write_leaves_it_as_it_was(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _chart(folder, "se", "2020-01-03", [("Alpha", 5000), ("Beta", 3000)])
    assert ingest_paths(store, [folder]).ok
    before = _totals(store)
    # the database refuses the file's record at the very end of the next write's
    # transaction, after its entries and the aggregate are written: it all rolls back
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text("CREATE TRIGGER refuse BEFORE UPDATE ON ingested_files "
                                 "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            conn.execute(sa.text("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql "
                                 "AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$"))
            conn.execute(sa.text("CREATE TRIGGER refuse BEFORE UPDATE ON ingested_files "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse()"))
    _chart(folder, "se", "2020-01-04", [("Alpha", 7000), ("Gamma", 100)])
    _chart(folder, "se", "2020-01-03", [("Alpha", 5500), ("Beta", 3000)])  # replaced too
    with pytest.raises(StoreError, match="refused"):
        ingest_paths(Store(store.engine), [folder])
    assert _totals(store) == before
    assert aggregate.differences(store.engine) == (0, [])


def test_a_whole_history_read_touches_no_chart_entry(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _chart(folder, "se", "2020-01-03", [("Alpha", 5000), ("Beta", 3000)])
    _chart(folder, "se", "2020-01-04", [("Beta", 6000)])
    _chart(folder, "fi", "2020-01-04", [("Alpha", 100)])
    assert ingest_paths(store, [folder]).ok
    statements: list[str] = []
    listen = ("before_cursor_execute", lambda *args: statements.append(str(args[2])))
    sa.event.listen(store.engine, *listen)
    try:
        whole = from_store(store.engine)
        read_whole = list(statements)
        statements.clear()
        covering = from_store(store.engine, DataWindow(end=date(2021, 1, 1)))
        read_covering = list(statements)
        statements.clear()
        inside = from_store(store.engine, DataWindow(start=date(2020, 1, 4)))
        read_inside = list(statements)
    finally:
        sa.event.remove(store.engine, *listen)
    assert read_whole and not any(chart_entries.name in s for s in read_whole), read_whole
    assert not any(chart_entries.name in s for s in read_covering)
    assert any(chart_entries.name in s for s in read_inside)  # a window inside the history
    assert (whole.raw != covering.raw).nnz == 0
    assert whole.raw.sum() == 5000 + 3000 + 6000 + 100 and inside.raw.sum() == 6100
    assert whole.song_dates is not None and covering.song_dates is not None
    for mine, theirs in zip(whole.song_dates, covering.song_dates, strict=True):
        assert (mine == theirs).all()
    assert [str(d) for d in whole.song_dates[0]] == ["2020-01-03", "2020-01-03"]


def test_an_older_database_gets_it_built_on_open(store: Store, tmp_path: Path) -> None:
    from dotify.store.engine import create_engine

    _chart(tmp_path / "in", "se", "2020-01-03", [("Alpha", 5000), ("Beta", 3000)])
    assert ingest_paths(store, [tmp_path / "in"]).ok
    before = _totals(store)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(song_totals))  # as a database written before the aggregate
    engine = create_engine(store.engine.url.render_as_string(hide_password=False))
    try:
        assert _totals(Store(engine)) == before
    finally:
        engine.dispose()


def test_a_database_from_before_the_best_position_gets_it_on_open(store: Store,
                                                                 tmp_path: Path) -> None:
    from dotify.store.engine import create_engine

    _chart(tmp_path / "in", "se", "2020-01-03", [("Alpha", 5000), ("Beta", 3000)])
    _chart(tmp_path / "in", "se", "2020-01-04", [("Beta", 6000), ("Alpha", 100)])
    assert ingest_paths(store, [tmp_path / "in"]).ok
    before = _totals(store)
    assert sorted(row[-1] for row in before.values()) == [1, 1]  # each song's best position
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE song_totals DROP COLUMN best"))
    engine = create_engine(store.engine.url.render_as_string(hide_password=False))
    try:
        assert _totals(Store(engine)) == before
        assert aggregate.differences(engine) == (0, [])
    finally:
        engine.dispose()


def test_stats_verify_finds_a_difference_and_rebuild_mends_it(home: Path, tmp_path: Path) -> None:
    _chart(tmp_path / "in", "se", "2020-01-03", [("Alpha", 5000), ("Beta", 3000)])
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(tmp_path / "in")]).exit_code == 0
    ok = runner.invoke(app, ["stats", "--verify"])
    assert ok.exit_code == 0 and "matches the chart entries" in ok.output
    from dotify.config import Settings
    from dotify.store.engine import opened

    with opened(Settings(home=home)) as engine, engine.begin() as conn:
        conn.execute(sa.update(song_totals).values(streams=song_totals.c.streams + 1))
    bad = runner.invoke(app, ["stats", "--verify", "--json"])
    assert bad.exit_code == 1
    assert '"differences": 2' in bad.stdout and '"streams": 5001' in bad.stdout
    mended = runner.invoke(app, ["stats", "--rebuild"])
    assert mended.exit_code == 0 and "(rebuilt)" in mended.output
    assert runner.invoke(app, ["stats", "--verify"]).exit_code == 0


@pytest.mark.parametrize("window", [DataWindow(kind="daily"), DataWindow(kind="weekly"),
                                    DataWindow()])
def test_kinds_are_kept_apart(store: Store, tmp_path: Path, window: DataWindow) -> None:
    folder = tmp_path / "in"
    _chart(folder, "ad", "2019-01-04", [("Alpha", 5000)])
    shutil.copy(CHARTS / "2019-01-04--2019-01-11ad.csv", folder / "2019-01-04--2019-01-11ad.csv")
    assert ingest_paths(store, [folder]).ok
    assert _sorted(chart_totals(store.engine, window)) == _sorted(_by_entries(store, window))


@pytest.mark.parametrize("window", [
    DataWindow(since=date(2019, 1, 4)), DataWindow(since=date(2019, 1, 12)),
    DataWindow(kind="daily", since=date(2019, 1, 12)),
    DataWindow(kind="weekly", since=date(2019, 1, 12)),
    DataWindow(kind="weekly", since=date(2019, 1, 4)), DataWindow(since=date(2019, 2, 1))])
def test_the_active_pairs_of_each_kind_are_those_of_the_entries(
        store: Store, tmp_path: Path, window: DataWindow) -> None:
    # Calma is on ad's weekly chart of 2019-01-04 and on a daily one a week later: active
    # since 2019-01-12 in the daily charts only, with its weekly streams when no kind is asked
    folder = tmp_path / "in"
    path = _chart(folder, "ad", "2019-01-12", [("Alpha", 5000)])
    shutil.copy(CHARTS / "2019-01-04--2019-01-11ad.csv", folder / "2019-01-04--2019-01-11ad.csv")
    alpha = f"1,Alpha,Someone,5000,https://open.spotify.com/track/{'alpha':0>22}"
    assert alpha in path.read_text()
    path.write_text(path.read_text().replace(alpha, '1,"Calma - Remix","Pedro Capó",700,'
                                             "https://open.spotify.com/track/5iwz1NiezX7WWjnCgY5TH4"))
    assert ingest_paths(store, [folder]).ok
    mine = _sorted(chart_totals(store.engine, window))
    assert mine == _sorted(_by_entries(store, window))
    calma = [row for row in mine if row[1] == "5iwz1NiezX7WWjnCgY5TH4"]
    if window.since == date(2019, 1, 12) and window.kind != "weekly":
        assert calma == [("ad", "5iwz1NiezX7WWjnCgY5TH4", 700 + 1302 * (window.kind is None))]
    if window.since == date(2019, 2, 1):
        assert mine == []


def test_the_active_pairs_are_found_by_their_index_not_a_scan(store: Store) -> None:
    from dotify.store.totals import _from_aggregate

    if store.engine.dialect.name != "sqlite":
        pytest.skip("the plan asked of SQLite; PostgreSQL plans by its statistics")
    query = _from_aggregate(DataWindow(since=date(2020, 1, 1)))
    sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert any("COVERING INDEX ix_song_totals_last" in step for step in plan), plan
    assert not any(step.startswith("SCAN song_totals") for step in plan), plan
