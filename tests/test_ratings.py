"""The ratings matrix from the store: SQL aggregation, windows, scaling, id maps, metadata."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import scipy.sparse as sp
from sqlalchemy.engine import Engine

from dotify.learn.ratings import Ratings, from_store, scale
from dotify.learn.window import DataWindow
from dotify.store.charts import Store
from tests._planted import insert_charts, songs_meta

D1, D2, D3 = date(2020, 1, 3), date(2020, 1, 10), date(2020, 1, 17)


def test_scale_variants_by_hand() -> None:
    raw = np.array([0.0, 999.0, 1000.0, 9999.0])
    assert np.allclose(scale(raw, "log", 1000.0), np.log1p(raw / 1000.0))
    assert np.allclose(scale(raw, "written", 1000.0), [0.0, 0.0, np.log(1001 / 1000), np.log(10.0)])
    assert np.allclose(scale(raw, "raw"), raw)
    assert scale(raw, "log").dtype == np.float32


@pytest.mark.parametrize(("scaling", "eps", "message"), [
    ("sqrt", 1000.0, "scaling must be one of log, written, raw, not 'sqrt'"),
    ("log", 0.0, "eps must be > 0, not 0.0"),
])
def test_scale_rejects_bad_arguments(scaling: str, eps: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scale(np.ones(2), scaling, eps)


@pytest.fixture
def charts3(store: Store) -> Engine:
    """Three weeks of charts for Colombia, Germany, Japan and the global chart."""
    engine = store.engine
    codes = ["co", "de", "jp", "global"]
    insert_charts(engine, codes, [[(1, 5000), (2, 3000)], [(2, 7000), (3, 1000)],
                                  [(4, 2500)], [(1, 10**6)]], D1)
    insert_charts(engine, codes, [[(1, 4000), (5, 2000)], [(2, 1000)],
                                  [(4, 500), (1, 100)], [(2, 10**6)]], D2)
    insert_charts(engine, codes[:2], [[(5, 6000)], [(3, 3000), (6, 900)]], D3)
    return engine


def _dense(r: Ratings) -> dict[tuple[str, str], float]:
    coo = r.raw.tocoo()
    return {(str(r.countries[i]), str(r.songs.keys[j])): v
            for i, j, v in zip(coo.row, coo.col, coo.data, strict=True)}


def test_sums_streams_per_country_and_song_without_global(charts3: Engine) -> None:
    r = from_store(charts3)
    assert list(r.countries) == ["co", "de", "jp"]
    assert list(r.songs.keys) == [f"track{j:05d}" for j in (1, 2, 3, 4, 5, 6)]
    assert _dense(r) == {("co", "track00001"): 9000, ("co", "track00002"): 3000,
                         ("co", "track00005"): 8000, ("de", "track00002"): 8000,
                         ("de", "track00003"): 4000, ("de", "track00006"): 900,
                         ("jp", "track00004"): 3000, ("jp", "track00001"): 100}
    expected = scale(r.raw.toarray(), "log", 1000.0)
    assert np.allclose(r.matrix.toarray(), expected)
    assert r.matrix.dtype == np.float32 and isinstance(r.matrix, sp.csr_matrix)


def test_song_metadata_and_totals(charts3: Engine) -> None:
    r = from_store(charts3)
    j = r.songs.keys.tolist().index("track00001")
    assert r.songs.titles[j] == "Song 1" and r.songs.artists[j] == "Artist 1"
    assert r.songs.urls[j] == "https://open.spotify.com/track/track00001"
    assert r.songs.streams[j] == 9100  # the global chart's streams are not counted
    assert r.country_index("jp") == 2 and r.song_index("track00004") == 3
    with pytest.raises(ValueError, match="song 'track09999' is not in these ratings"):
        r.song_index("track09999")


def test_date_window_and_kind(charts3: Engine) -> None:
    r = from_store(charts3, DataWindow(start=D2, end=D2))
    assert _dense(r) == {("co", "track00001"): 4000, ("co", "track00005"): 2000,
                         ("de", "track00002"): 1000, ("jp", "track00004"): 500,
                         ("jp", "track00001"): 100}
    assert r.info["window"] == {"start": "2020-01-10", "end": "2020-01-10",
                                "n_top_songs": None, "kind": None, "since": None}
    assert r.info["first_date"] == r.info["last_date"] == "2020-01-10"
    assert from_store(charts3, DataWindow(kind="daily")).shape == (0, 0)


def test_since_keeps_the_pairs_charted_since_with_their_streams_since(charts3: Engine) -> None:
    # pairs last charted on or after D2; a pair that began before keeps the share of its
    # total that falls since D2, its streams spread evenly over its first to last chart day
    # (co's song 1: D1 and D2, 8 days, 1 of them since D2: 9000 / 8); co's song 2 (D1 only)
    # is left out; de's song 3 (D1 to D3, 15 days, 8 since D2): 4000 * 8 / 15
    recent = {("co", "track00001"): 1125, ("co", "track00005"): 8000,
              ("de", "track00002"): 1000, ("de", "track00003"): 2133,
              ("de", "track00006"): 900, ("jp", "track00004"): 375,
              ("jp", "track00001"): 100}
    from_aggregate = from_store(charts3, DataWindow(since=D2))
    assert _dense(from_aggregate) == recent
    assert from_aggregate.info["window"]["since"] == "2020-01-10"
    # the entries' path (a window the aggregate does not answer) gives the same
    from_entries = from_store(charts3, DataWindow(n_top_songs=100, since=D2))
    assert _dense(from_entries) == recent
    assert _dense(from_store(charts3, DataWindow(since=D3))) == {
        ("co", "track00005"): 1000, ("de", "track00003"): 267, ("de", "track00006"): 900}
    # inside a window: the pairs of the window charted since, its days only
    assert _dense(from_store(charts3, DataWindow(end=D2, since=D2))) == {
        ("co", "track00001"): 1125, ("co", "track00005"): 2000, ("de", "track00002"): 1000,
        ("jp", "track00004"): 375, ("jp", "track00001"): 100}
    with pytest.raises(ValueError, match="since 2020-01-17 is after end 2020-01-10"):
        DataWindow(end=D2, since=D3)


def test_active_days_count_back_from_the_end_or_the_newest_chart() -> None:
    assert DataWindow().active(8, D3).since == D2  # the last 8 days hold D2 and D3
    assert DataWindow().active(7, D3).since == date(2020, 1, 11)
    assert DataWindow(end=D2).active(1, D3).since == D2  # the earlier of its end and the
    assert DataWindow(end=D3).active(1, D2).since == D2  # newest chart
    assert DataWindow(end=D2).active(1, None).since == D2
    assert DataWindow().active(10**12, D3).since is None  # longer than the calendar
    assert DataWindow().active(None, D3).since is None
    assert DataWindow().active(30, None).since is None  # an empty store: every pair
    for bad in (0, -3, True, 1.5):
        with pytest.raises(ValueError, match="active days must be a whole number >= 1"):
            DataWindow().active(bad, None)  # refused even with no day to count from


def test_n_top_songs_takes_the_most_recent_chart_rows(charts3: Engine) -> None:
    # newest first, then market code, then position: D3 co (5), D3 de (3, 6), D2 co (1, ...)
    r = from_store(charts3, DataWindow(n_top_songs=4))
    assert _dense(r) == {("co", "track00005"): 6000, ("de", "track00003"): 3000,
                         ("de", "track00006"): 900, ("co", "track00001"): 4000}


def test_scalings_and_zero_entries(charts3: Engine) -> None:
    raw = from_store(charts3, DataWindow(scaling="raw"))
    assert raw.matrix.toarray().max() == 9000
    written = from_store(charts3, DataWindow(scaling="written", eps=1000.0))
    # jp's 100 and de's 900 streams give log((1 + r)/1000) < 0: clipped to 0 and dropped
    assert written.nnz == 6 and written.raw.nnz == 8
    assert written.info["scaling"] == "written" and written.info["eps"] == 1000.0


def test_fingerprint_follows_the_data(charts3: Engine) -> None:
    first = from_store(charts3).info["fingerprint"]
    assert from_store(charts3).info["fingerprint"] == first
    raw = from_store(charts3, DataWindow(scaling="raw"))
    assert raw.info["fingerprint"] == first  # the same triples
    insert_charts(charts3, ["jp"], [[(6, 10)]], D3)
    assert from_store(charts3).info["fingerprint"] != first


def test_bad_windows_raise(charts3: Engine) -> None:
    with pytest.raises(ValueError, match="start 2020-01-17 is after end 2020-01-03"):
        from_store(charts3, DataWindow(start=D3, end=D1))
    with pytest.raises(ValueError, match="n_top_songs must be >= 1 or None, not 0"):
        from_store(charts3, DataWindow(n_top_songs=0))


def test_ratings_check_themselves() -> None:
    songs = songs_meta(3)
    with pytest.raises(ValueError, match=r"does not match 2 countries x 3 songs"):
        Ratings(sp.csr_matrix((2, 4), dtype=np.float32), np.array(["co", "de"]), songs)
    with pytest.raises(ValueError, match="ratings must be >= 0"):
        Ratings.from_triples(np.array(["co"]), songs, np.array([0]), np.array([1]),
                             np.array([-1.0]))


def test_song_dates_span_every_country_the_song_charted_in(charts3: Engine) -> None:
    r = from_store(charts3)
    assert r.song_dates is not None
    first, last = r.song_dates
    spans = {str(k): (str(f), str(t)) for k, f, t in zip(r.songs.keys, first, last, strict=True)}
    # track 1: co on D1 and D2, jp on D2 (global's D1 entry left out)
    assert spans["track00001"] == (str(D1), str(D2))
    assert spans["track00002"] == (str(D1), str(D2))  # co/de D1, de D2
    assert spans["track00005"] == (str(D2), str(D3))
    assert spans["track00006"] == (str(D3), str(D3))
    windowed = from_store(charts3, DataWindow(start=D2))
    assert str(windowed.song_dates[0][list(windowed.songs.keys).index("track00001")]) == str(D2)


@pytest.mark.parametrize("window", [
    DataWindow(),
    DataWindow(date(2020, 1, 2), date(2020, 3, 4), n_top_songs=5, kind="daily"),
    DataWindow(end=date(2021, 1, 1)),
])
def test_a_window_reads_back_from_its_info(window: DataWindow) -> None:
    # eps and scaling are not in the chart selection info writes; they keep their defaults
    assert DataWindow.from_info(window.info()) == window
    assert DataWindow.from_info(None) == DataWindow()
