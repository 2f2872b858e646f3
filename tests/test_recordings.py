"""One song per recording: recording keys, merged ratings columns, and the store round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from dotify.charts.ingest import ingest_paths
from dotify.learn.ratings import Ratings, Songs, from_store, scale
from dotify.learn.recordings import merge_recordings, recording_key
from dotify.store.charts import Store


@pytest.mark.parametrize(("a", "b"), [
    (("Dame", "100ry"), ("Dame", "100RY")),
    (("Dame (Explicit)", "100RY"), ("Dame - Clean", "100RY")),
    (("Bad and Boujee (feat. Lil Uzi Vert)", "Migos, Lil Uzi Vert"), ("Bad and Boujee", "Migos")),
    (("Up [feat. X]", "A"), ("Up (with X)", "A feat. X")),
    (("Up (ft. X)", "A & X"), ("Up", "A x X")),
    (("Héroes", "Álvaro Soler"), ("HEROES", "alvaro soler")),
    (("Yesterday - Remastered 2009", "The Beatles"), ("Yesterday", "The Beatles")),
    (("Yesterday - 2009 Remaster", "The Beatles"), ("Yesterday (2009 Remaster)", "The Beatles")),
    (("Up - Radio Edit", "A"), ("Up - Single Version", "A")),
    (("Don't Stop!", "A"), ("Don’t  stop", "A")),
])
def test_versions_of_one_recording_share_a_key(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert recording_key(*a) == recording_key(*b)


@pytest.mark.parametrize(("a", "b"), [
    (("Dame - Remix", "100RY"), ("Dame", "100RY")),
    (("Dame - Live", "100RY"), ("Dame", "100RY")),
    (("Dame - Acoustic", "100RY"), ("Dame", "100RY")),
    (("Dame", "100RY"), ("Dame", "Other")),
])
def test_other_recordings_keep_their_own_key(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert recording_key(*a) != recording_key(*b)


def test_recording_key_by_hand() -> None:
    assert recording_key("Bad and Boujee (feat. Lil Uzi Vert)", "Migos, Lil Uzi Vert") == \
        "bad and boujee|migos"
    assert recording_key("Dame - Remix", "100RY") == "dame remix|100ry"


def _ratings(keys: list[str], titles: list[str], artists: list[str], raw: np.ndarray,
             first: list[str], last: list[str]) -> Ratings:
    """Ratings as from_totals builds them, from a dense raw streams matrix (countries a, b)."""
    raw_csr = sp.csr_matrix(raw.astype(np.float64))
    matrix = raw_csr.astype(np.float32)
    matrix.data = scale(raw_csr.data, "log", 1000.0)
    songs = Songs(np.array(keys), np.array(titles), np.array(artists),
                  np.array([f"https://open.spotify.com/track/{k}" for k in keys]),
                  raw.sum(axis=0).astype(np.int64))
    dates = (np.array(first, dtype="datetime64[D]"), np.array(last, dtype="datetime64[D]"))
    return Ratings(matrix, np.array(["a", "b"]), songs, raw_csr,
                   {"scaling": "log", "eps": 1000.0, "fingerprint": "f"}, dates)


def test_two_ids_of_one_song_become_one_column() -> None:
    # id1 and id3 are one recording; id3 is streamed more, so it represents the song
    raw = np.array([[1000, 500, 3000],
                    [0, 200, 2000]])
    r = _ratings(["id1", "id2", "id3"], ["Dame (Explicit)", "Other", "Dame"],
                 ["100ry", "B", "100RY, X"], raw,
                 ["2020-01-10", "2020-01-01", "2020-01-03"],
                 ["2020-02-01", "2020-01-05", "2020-01-20"])
    merged = merge_recordings(r)
    assert list(merged.songs.keys) == ["id2", "id3"]  # sorted by the representative's key
    assert list(merged.songs.titles) == ["Other", "Dame"]
    assert list(merged.songs.artists) == ["B", "100RY, X"]
    assert merged.songs.urls[1] == "https://open.spotify.com/track/id3"
    assert list(merged.songs.streams) == [700, 6000]
    assert merged.songs.id_lists() == [["id2"], ["id3", "id1"]]
    assert merged.raw is not None
    assert merged.raw.toarray().tolist() == [[500, 4000], [200, 2000]]
    expected = np.log1p(np.array([[500, 4000], [200, 2000]]) / 1000.0)
    assert np.allclose(merged.matrix.toarray(), expected)
    assert merged.matrix.dtype == np.float32
    assert merged.song_dates is not None
    assert [str(d) for d in merged.song_dates[0]] == ["2020-01-01", "2020-01-03"]
    assert [str(d) for d in merged.song_dates[1]] == ["2020-01-05", "2020-02-01"]
    assert merged.info["recordings"] == {"track_ids": 3, "songs": 2}
    assert merged.info["fingerprint"] == "f"
    assert merged.song_index("id3") == 1


def test_nothing_to_merge_returns_the_ratings_themselves() -> None:
    r = _ratings(["id1", "id2"], ["Dame", "Dame - Remix"], ["100RY", "100RY"],
                 np.array([[1, 2], [3, 4]]), ["2020-01-01"] * 2, ["2020-01-02"] * 2)
    assert merge_recordings(r) is r


def test_merging_needs_raw_streams() -> None:
    r = _ratings(["id1", "id2"], ["Dame", "Dame"], ["a", "A"],
                 np.array([[1, 2], [3, 4]]), ["2020-01-01"] * 2, ["2020-01-02"] * 2)
    with pytest.raises(ValueError, match="needs the raw streams"):
        merge_recordings(Ratings(r.matrix, r.countries, r.songs))


def _chart(folder: Path, market: str, day: str, rows: list[tuple[str, str, int, str]]) -> None:
    lines = [",,,\"Note that these figures are generated using a formula.\",",
             "Position,\"Track Name\",Artist,Streams,URL"]
    lines += [f"{i},\"{title}\",\"{artist}\",{streams},https://open.spotify.com/track/{tid}"
              for i, (title, artist, streams, tid) in enumerate(rows, start=1)]
    (folder / f"regional-{market}-daily-{day}.csv").write_text("\n".join(lines) + "\n")


def test_one_song_under_two_track_ids_is_one_song_in_the_ratings(
        store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "charts"
    folder.mkdir()
    _chart(folder, "se", "2020-01-03", [("Dame", "100ry", 5000, "0000000000000000000001"),
                                        ("Roxanne", "Arizona Zervas", 3000,
                                         "0000000000000000000002")])
    _chart(folder, "fi", "2020-01-10", [("Dame (Explicit)", "100RY", 9000,
                                         "0000000000000000000003"),
                                        ("Dame", "100ry", 1000, "0000000000000000000001")])
    assert ingest_paths(store, [folder]).new_songs == 3
    engine = store.engine
    r = from_store(engine)
    assert list(r.songs.titles) == ["Roxanne", "Dame (Explicit)"]  # 3 is streamed most
    assert list(r.songs.streams) == [3000, 15000]
    assert r.songs.id_lists()[1] == ["0000000000000000000003", "0000000000000000000001"]
    assert r.raw is not None
    assert r.raw.toarray().tolist() == [[0, 10000], [3000, 5000]]  # fi, se
    assert r.info["recordings"] == {"track_ids": 3, "songs": 2}
    again = ingest_paths(store, [folder])
    assert (again.files_ok, again.rows, again.new_songs) == (0, 0, 0)
    r2 = from_store(engine)
    assert r2.info == r.info
    assert (r2.raw != r.raw).nnz == 0 and list(r2.songs.keys) == list(r.songs.keys)


def test_songs_arrays_keep_the_ids_and_older_ones_load_without() -> None:
    # the artifact saves Songs.arrays() and loads with Songs.from_arrays
    songs = Songs(np.array(["a", "b"]), np.array(["A", "B"]), np.array(["x", "y"]),
                  np.array(["", ""]), np.array([2, 1]), np.array(["a\nc", "b"]))
    assert Songs.from_arrays(songs.arrays()).id_lists() == [["a", "c"], ["b"]]
    older = {k: v for k, v in songs.arrays().items() if k != "ids"}
    assert Songs.from_arrays(older).ids is None
    assert Songs.from_arrays(older).id_lists() == [["a"], ["b"]]
    assert songs.take(np.array([1])).id_lists() == [["b"]]
