"""Per-song chart history from the store (SQLite; PostgreSQL too when its URL is given)."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from dotify.config import Settings
from dotify.store.engine import opened
from dotify.store.song_history import Peak, song_peaks, song_positions
from tests.web_support import write_charts

ROWS = [
    # market, day, kind, position, key, streams
    ("co", "2021-01-01", "daily", 3, "a1", 900),
    ("co", "2021-01-02", "daily", 1, "a1", 1000),
    ("co", "2021-01-03", "daily", 7, "a2", 500),  # a2: the same recording as a1
    ("co", "2021-01-03", "daily", 9, "a1", 400),  # both on one day: the better position
    ("co", "2021-01-04", "weekly", 2, "a1", 9999),  # weekly rows are ignored beside daily
    ("tr", "2021-01-04", "weekly", 40, "a1", 300),  # only weekly: read
    ("de", "2021-01-01", "daily", 5, "b", 800),
]


@pytest.fixture
def charted(db_settings: Settings) -> Settings:
    write_charts(db_settings, ROWS)
    return db_settings


def test_peaks_merge_a_songs_keys_and_prefer_daily_charts(charted: Settings) -> None:
    with opened(charted) as engine:
        found = song_peaks(engine, [["a1", "a2"], ["b"], ["nowhere"]], ["co", "tr", "de"])
    assert found[0] == {"co": Peak(best=1, streams=900 + 1000 + 500 + 400, charts=3,
                                   kind="daily"),
                        "tr": Peak(best=40, streams=300, charts=1, kind="weekly")}
    assert found[1] == {"de": Peak(best=5, streams=800, charts=1, kind="daily")}
    assert found[2] == {}


def test_peaks_of_single_id_songs_read_no_chart_entry(charted: Settings) -> None:
    statements: list[str] = []
    with opened(charted) as engine:
        sa.event.listen(engine, "before_cursor_execute",
                        lambda *args: statements.append(str(args[2])))
        found = song_peaks(engine, [["b"], ["a1"]], ["co", "tr", "de"])
    assert found == [{"de": Peak(best=5, streams=800, charts=1, kind="daily")},
                     {"co": Peak(best=1, streams=900 + 1000 + 400, charts=3, kind="daily"),
                      "tr": Peak(best=40, streams=300, charts=1, kind="weekly")}]
    assert statements and not any("chart_entries" in s for s in statements), statements


def test_peaks_of_other_markets_are_left_out(charted: Settings) -> None:
    with opened(charted) as engine:
        assert song_peaks(engine, [["a1"]], ["de"]) == [{}]
        assert song_peaks(engine, [["a1"]], []) == [{}]
        assert song_peaks(engine, [], ["co"]) == []


def test_positions_day_by_day_oldest_first(charted: Settings) -> None:
    with opened(charted) as engine:
        found = song_positions(engine, ["a1", "a2"], ["co", "tr", "de"])
        latest = song_positions(engine, ["a1", "a2"], ["co"], max_points=2)
    assert found == {"co": [("2021-01-01", 3), ("2021-01-02", 1), ("2021-01-03", 7)],
                     "tr": [("2021-01-04", 40)]}
    assert latest == {"co": [("2021-01-02", 1), ("2021-01-03", 7)]}


def test_too_many_keys_are_refused(charted: Settings) -> None:
    with opened(charted) as engine, pytest.raises(ValueError, match="at most 500"):
        song_peaks(engine, [[f"k{i}"] for i in range(501)], ["co"])


def test_peaks_count_each_chart_once_whatever_the_ids_overlap(db_settings: Settings) -> None:
    rng = random.Random(7)
    songs_ids = [[f"s{s}i{i}" for i in range(rng.randint(1, 3))] for s in range(12)]
    rows, positions = [], {}
    for market in ("co", "tr"):
        for day in range(1, 21):
            keys = rng.sample([k for ids in songs_ids for k in ids], 10)
            for position, key in enumerate(keys, 1):
                rows.append((market, f"2021-01-{day:02d}", "daily", position, key, 100 - position))
                positions.setdefault(key, []).append((market, day, position))
    write_charts(db_settings, rows)
    shared = [ids for ids in songs_ids if len({(m, d) for k in ids for m, d, _ in positions.get(
        k, [])}) < sum(len(positions.get(k, [])) for k in ids)]
    assert len(shared) >= 3  # songs whose ids share charts: counted once
    expected = []
    for ids in songs_ids:
        seen = [p for key in ids for p in positions.get(key, [])]
        expected.append({market: Peak(
            best=min(p for m, _, p in seen if m == market),
            streams=sum(100 - p for m, _, p in seen if m == market),
            charts=len({d for m, d, _ in seen if m == market}), kind="daily")
            for market in {m for m, _, _ in seen}})
    with opened(db_settings) as engine:
        assert song_peaks(engine, songs_ids, ["co", "tr"]) == expected
