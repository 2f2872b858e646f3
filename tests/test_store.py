"""The chart store on SQLite, and on PostgreSQL when DOTIFY_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from dotify.charts.formats import Chart, ChartRow
from dotify.store.charts import (
    FileRecord,
    Store,
    _chart_counts,
    chart_counts,
    last_chart_dates,
    song_key,
)
from dotify.store.schema import artists, chart_entries, charts, ingested_files, song_artists, songs

DAY = date(2020, 1, 3)


def make_chart(market: str = "se", day: date = DAY, kind: str = "daily",
               rows: list[tuple] | None = None) -> Chart:
    """rows: (track_id, title, artists, streams), positions 1.. in order."""
    rows = rows if rows is not None else [
        ("1rgnBhdG2JDFTbYkYRZAku", "Dance Monkey", "Tones And I", 5000),
        ("4Km5HrUvYTaSUfiSGPJeQR", "Bad and Boujee", "Migos, Lil Uzi Vert", 4000),
        (None, "Local Hit", "Some Band", 3000),
    ]
    built = tuple(ChartRow(market, day, kind, i, *row) for i, row in enumerate(rows, 1))
    return Chart.from_rows(built, "test", 2)


def entries(store: Store) -> list[tuple]:
    query = (sa.select(charts.c.market, charts.c.chart_date, charts.c.kind,
                       chart_entries.c.position, songs.c.key, chart_entries.c.streams)
             .join(chart_entries, chart_entries.c.chart_id == charts.c.id)
             .join(songs, songs.c.id == chart_entries.c.song_id)
             .order_by(charts.c.market, charts.c.chart_date, chart_entries.c.position))
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_chart_is_written_with_its_songs_and_artists(store: Store) -> None:
    result = store.ingest_chart(make_chart())
    assert (result.status, result.rows, result.new_songs) == ("ok", 3, 3)
    assert entries(store) == [
        ("se", DAY, "daily", 1, "1rgnBhdG2JDFTbYkYRZAku", 5000),
        ("se", DAY, "daily", 2, "4Km5HrUvYTaSUfiSGPJeQR", 4000),
        ("se", DAY, "daily", 3, "n:local hit|some band", 3000),
    ]
    with store.engine.connect() as conn:
        names = conn.execute(
            sa.select(artists.c.name).join(song_artists, song_artists.c.artist_id == artists.c.id)
            .join(songs, songs.c.id == song_artists.c.song_id)
            .where(songs.c.key == "4Km5HrUvYTaSUfiSGPJeQR").order_by(song_artists.c.position)
        ).scalars().all()
    assert names == ["Migos", "Lil Uzi Vert"]


def test_the_same_chart_twice_changes_nothing(store: Store) -> None:
    store.ingest_chart(make_chart())
    before = entries(store), count(store, songs), count(store, artists)
    again = Store(store.engine).ingest_chart(make_chart())  # a fresh store: caches reloaded
    assert again.status == "unchanged" and again.rows == 0
    assert (entries(store), count(store, songs), count(store, artists)) == before


def test_a_changed_chart_replaces_the_old_one_whole(store: Store) -> None:
    store.ingest_chart(make_chart())
    changed = make_chart(rows=[("0VjIjW4GlUZAMYd2vXMi3b", "Blinding Lights", "The Weeknd", 9)])
    result = store.ingest_chart(changed)
    assert result.replaced and result.rows == 1
    assert entries(store) == [("se", DAY, "daily", 1, "0VjIjW4GlUZAMYd2vXMi3b", 9)]
    assert count(store, charts) == 1


def test_songs_are_shared_between_charts_and_markets(store: Store) -> None:
    store.ingest_chart(make_chart("se"))
    result = store.ingest_chart(make_chart("gb", kind="weekly"))
    assert result.new_songs == 0
    assert count(store, songs) == 3 and count(store, chart_entries) == 6


def test_a_batch_records_each_file_with_its_status(store: Store) -> None:
    good, same = FileRecord("a.csv", sha256="a" * 64), FileRecord("b.csv", sha256="b" * 64)
    bad = FileRecord("c.csv", sha256="c" * 64, error="c.csv:1: an HTML page")
    store.write([(good, [make_chart("se"), make_chart("de")]), (bad, [])])
    store.write([(same, [make_chart("se")])])
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(ingested_files.c.path, ingested_files.c.status,
                                      ingested_files.c.rows, ingested_files.c.error)
                            .order_by(ingested_files.c.path)).all()
    assert [tuple(r) for r in rows] == [
        ("a.csv", "ok", 6, None), ("b.csv", "unchanged", 0, None),
        ("c.csv", "failed", 0, "c.csv:1: an HTML page")]


def test_a_file_written_over_several_batches_stays_running_until_final(store: Store) -> None:
    record = FileRecord("big.csv", final=False)
    store.write([(record, [make_chart("se")])])
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(ingested_files.c.status)).scalar_one() == "running"
    record.final, record.sha256 = True, "f" * 64
    store.write([(record, [make_chart("de")])])
    with store.engine.connect() as conn:
        status, rows = conn.execute(sa.select(ingested_files.c.status, ingested_files.c.rows)).one()
    assert (status, rows) == ("ok", 6)


def test_another_writer_adding_the_same_songs_is_retried(store: Store) -> None:
    store.ingest_chart(make_chart("se"))  # loads this store's caches
    other = Store(store.engine)
    newcomer = [("7qiZfU4dY1lWllzX7mPBI3", "Shape of You", "Ed Sheeran", 1)]
    other.ingest_chart(make_chart("de", rows=newcomer))
    result = store.ingest_chart(make_chart("gb", rows=newcomer))  # stale cache: conflict, retry
    assert result.status == "ok" and result.new_songs == 0
    assert count(store, songs) == 4


def test_last_chart_dates_per_market_and_kind(store: Store) -> None:
    for day in (date(2020, 1, 1), date(2020, 1, 5), date(2020, 1, 3)):
        store.ingest_chart(make_chart("se", day))
    store.ingest_chart(make_chart("gb", date(2020, 2, 1)))
    store.ingest_chart(make_chart("de", date(2020, 3, 6), kind="weekly"))
    assert last_chart_dates(store.engine) == {"se": date(2020, 1, 5), "gb": date(2020, 2, 1)}
    assert store.last_chart_dates("weekly") == {"de": date(2020, 3, 6)}
    assert store.chart_dates("se") == date(2020, 1, 5) and store.chart_dates("fr") is None
    with pytest.raises(ValueError, match="kind 'monthly'"):
        last_chart_dates(store.engine, "monthly")


def test_chart_counts_are_the_newest_days_of_one_market(store: Store) -> None:
    for day in (date(2020, 1, 1), date(2020, 1, 5), date(2020, 1, 3)):
        store.ingest_chart(make_chart("se", day))  # three rows each
    store.ingest_chart(make_chart("se", date(2020, 1, 3), kind="weekly",
                                  rows=[(None, "Song 0", "Band", 10), (None, "Song 1", "Band", 9)]))
    store.ingest_chart(make_chart("gb", date(2020, 1, 9)))  # another market: not counted
    assert chart_counts(store.engine, "se", 10) == [
        ("2020-01-05", 1, 3), ("2020-01-03", 2, 5), ("2020-01-01", 1, 3)]
    assert chart_counts(store.engine, "se", 2) == [("2020-01-05", 1, 3), ("2020-01-03", 2, 5)]
    assert chart_counts(store.engine, "fr", 10) == []


def test_chart_counts_read_the_entries_of_their_charts_not_the_table(store: Store) -> None:
    """A country page counts the entries of its market's newest days by their key: the
    whole table of entries (49 million rows at ten years) is never scanned."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the plan asked of SQLite; PostgreSQL plans by its statistics")
    sql = str(_chart_counts("se", 400).compile(store.engine,
                                                compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert any(step.startswith("SEARCH chart_entries USING PRIMARY KEY") for step in plan), plan
    assert not any(step.startswith("SCAN chart_entries") for step in plan), plan


def test_summary(store: Store) -> None:
    assert store.summary()["charts"] == 0
    store.ingest_chart(make_chart("se", date(2020, 1, 1)))
    store.ingest_chart(make_chart("se", date(2020, 1, 2)))
    store.ingest_chart(make_chart("gb", date(2020, 1, 5), rows=[(None, "Solo", "A", 1)]))
    summary = store.summary(top=1)
    assert {k: summary[k] for k in ("markets", "charts", "entries", "songs")} == {
        "markets": 2, "charts": 3, "entries": 7, "songs": 4}
    assert (summary["first_date"], summary["last_date"]) == ("2020-01-01", "2020-01-05")
    assert summary["top_markets"] == [
        {"market": "se", "name": "Sweden", "charts": 2, "entries": 6}]
    # the entries come from the ratings aggregate: a replaced chart is counted anew
    store.ingest_chart(make_chart("se", date(2020, 1, 1), rows=[(None, "Solo", "A", 1)]))
    summary = store.summary()
    assert summary["entries"] == count(store, chart_entries) == 5
    assert [(m["market"], m["charts"], m["entries"]) for m in summary["top_markets"]] == [
        ("se", 2, 4), ("gb", 1, 1)]


def test_song_key_normalises_title_and_artists() -> None:
    assert song_key("4Km5HrUvYTaSUfiSGPJeQR", "x", "y") == "4Km5HrUvYTaSUfiSGPJeQR"
    assert song_key(None, "  Dance   MONKEY ", "Tones And I") == "n:dance monkey|tones and i"
    assert song_key(None, "Ｃafé", "ＡＢ") == song_key(None, "café", "ab")


def test_one_chart_twice_in_one_batch_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="chart se 2020-01-03 daily comes twice in one batch"):
        store.write([(FileRecord("a.csv"), [make_chart()]), (FileRecord("b.csv"), [make_chart()])])
    assert count(store, charts) == 0 and count(store, ingested_files) == 0


def test_entries_written_through_the_driver_raise_sqlalchemy_errors(store: Store) -> None:
    from dotify.store.charts import _insert_entries

    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        _insert_entries(conn, [(999, 1, 999, 5)])  # no such chart or song
    assert count(store, chart_entries) == 0


def test_a_write_reads_the_ids_of_its_own_songs_not_every_song(store: Store) -> None:
    store.ingest_chart(make_chart("se"))
    store.ingest_chart(make_chart("de", rows=[("7qiZfU4dY1lWllzX7mPBI3", "Shape of You",
                                               "Ed Sheeran", 1)]))
    nightly = Store(store.engine)  # as a nightly run opens it: nothing cached yet
    statements: list[str] = []
    listen = ("before_cursor_execute", lambda *args: statements.append(str(args[2])))
    sa.event.listen(store.engine, *listen)
    try:
        result = nightly.ingest_chart(make_chart("gb", rows=[
            ("1rgnBhdG2JDFTbYkYRZAku", "Dance Monkey", "Tones And I", 9),
            ("0VjIjW4GlUZAMYd2vXMi3b", "Blinding Lights", "The Weeknd, Tones And I", 8)]))
    finally:
        sa.event.remove(store.engine, *listen)
    assert (result.status, result.new_songs) == ("ok", 1)
    # the stored song is found by its key, the new one inserted; Shape of You is never read
    assert set(nightly._songs or {}) == {"1rgnBhdG2JDFTbYkYRZAku", "0VjIjW4GlUZAMYd2vXMi3b"}
    assert set(nightly._artists or {}) == {"Tones And I", "The Weeknd"}
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")
             and ("FROM songs" in s or "FROM artists" in s)]
    assert reads and all("WHERE" in s for s in reads), reads
    assert count(store, songs) == 5 and count(store, artists) == 6
    assert ("gb", DAY, "daily", 1, "1rgnBhdG2JDFTbYkYRZAku", 9) in entries(store)
