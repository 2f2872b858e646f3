"""Splits: the seed's protocol and the split by date keep id maps, are disjoint, add up."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotify.learn.ratings import Ratings, from_store
from dotify.learn.splits import date_split, seed_split
from dotify.learn.window import DataWindow
from dotify.store.engine import engine_for
from tests._planted import insert_charts, planted_ratings


def _random_ratings(seed: int, m: int = 12, n: int = 90, density: float = 0.5) -> Ratings:
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < rng.uniform(0.05, density, size=(m, 1))
    rows, cols = np.nonzero(mask)
    from tests._planted import songs_meta

    return Ratings.from_triples(np.array([f"c{i}" for i in range(m)]), songs_meta(n), rows, cols,
                                rng.uniform(0.1, 5.0, len(rows)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), fraction=st.floats(0.05, 0.95),
       min_songs=st.integers(0, 60))
def test_seed_split_properties(seed: int, fraction: float, min_songs: int) -> None:
    ratings = _random_ratings(seed)
    train, val = seed_split(ratings, fraction, min_songs, random_state=seed)
    assert train.shape == val.shape == ratings.shape
    assert train.countries is ratings.countries and val.songs is ratings.songs
    assert train.matrix.multiply(val.matrix).nnz == 0  # disjoint
    assert abs(train.matrix + val.matrix - ratings.matrix).max() == 0  # adds up
    n = np.diff(ratings.matrix.indptr)
    held = np.diff(val.matrix.indptr)
    expected = np.where(n > min_songs, (fraction * n).astype(int), 0)
    assert np.array_equal(held, expected)  # only countries with > min_songs, int(fraction n)


def test_same_seed_same_split_and_other_seed_another() -> None:
    ratings, _ = planted_ratings()
    a = seed_split(ratings, random_state=7)[1].matrix
    b = seed_split(ratings, random_state=7)[1].matrix
    c = seed_split(ratings, random_state=8)[1].matrix
    assert (a != b).nnz == 0
    assert (a != c).nnz > 0
    assert seed_split(ratings, random_state=np.random.default_rng(7))[1].nnz == a.nnz


def test_seed_split_splits_raw_streams_alike() -> None:
    ratings, _ = planted_ratings()
    ratings = Ratings(ratings.matrix, ratings.countries, ratings.songs,
                      ratings.matrix.astype(np.float64) * 1000)
    train, val = seed_split(ratings)
    assert (val.raw != 0).sum() == val.nnz and (train.raw != 0).sum() == train.nnz


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fraction": 1.0}, "fraction must be strictly between 0 and 1, not 1.0"),
    ({"min_songs": -1}, "min_songs must be >= 0, not -1"),
])
def test_seed_split_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        seed_split(planted_ratings()[0], **kwargs)


def test_date_split(db_settings) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(db_settings)
    insert_charts(engine, ["co", "de"], [[(1, 5000), (2, 3000)], [(2, 7000)]], date(2020, 1, 3))
    # after the split: co repeats 1 and finds 3 (known before, in de's chart); de finds 1;
    # song 9 is new to everyone and jp is a new market: both left out
    insert_charts(engine, ["co", "de", "jp"], [[(1, 4000), (3, 800)], [(1, 2000), (9, 10)],
                                               [(1, 10)]], date(2020, 1, 10))
    insert_charts(engine, ["de"], [[(3, 1000)]], date(2020, 1, 4))  # de charts 3 before too
    train, val = date_split(engine, DataWindow(), date(2020, 1, 10))
    assert list(train.countries) == ["co", "de"] and list(val.songs.keys) == list(train.songs.keys)
    keys = list(train.songs.keys)
    assert keys == ["track00001", "track00002", "track00003"]
    new = {(str(val.countries[i]), keys[j]) for i, j in zip(*val.matrix.nonzero(), strict=True)}
    assert new == {("co", "track00003"), ("de", "track00001")}
    assert train.matrix.multiply(val.matrix).nnz == 0
    before = from_store(engine, DataWindow(end=date(2020, 1, 9)))
    assert abs(train.matrix - before.matrix).max() == 0
    assert val.info["split"] == {"kind": "date", "before": "2020-01-10"}
    with pytest.raises(ValueError, match="no charts before 2020-01-01"):
        date_split(engine, DataWindow(), date(2020, 1, 1))
