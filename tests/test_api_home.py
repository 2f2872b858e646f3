"""The public API on a home's charts, what the CLI runs through it: each function on
planted charts, its results' ``to_dict()`` and ``to_pandas()`` shapes and dtypes, and its
errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

import dotify
from dotify.config import Settings
from dotify.errors import ConfigError, ModelError
from dotify.store.engine import opened
from tests._planted import insert_charts


@pytest.fixture
def two_weeks(settings: Settings) -> Settings:
    """Three markets charting on 2020-01-03 and 2020-01-10 (the CLI's date-split example)."""
    with opened(settings) as engine:
        insert_charts(engine, ["co", "de", "mx"], [[(1, 9000), (2, 5000), (3, 100)],
                                                   [(4, 8000), (5, 7000)], [(1, 9500), (3, 50)]],
                      date(2020, 1, 3))
        insert_charts(engine, ["co", "de", "mx"], [[(1, 9000)], [(1, 3000), (5, 900)], [(2, 10)]],
                      date(2020, 1, 10))
    return settings


# ---------------------------------------------------------------- ratings and the date split


def test_split_by_date_trains_on_the_past_and_validates_on_new_pairs(two_weeks: Settings
                                                                      ) -> None:
    ratings = dotify.read_ratings(two_weeks, eps=100.0)
    past, new = dotify.split(ratings, "date", before=date(2020, 1, 10), home=two_weeks)
    assert past.shape == new.shape == (3, 5) and past.nnz == 7
    assert past.info["last_date"] == "2020-01-03" and past.info["eps"] == 100.0
    # new on or after the date among known songs: de's song 1 and mx's song 2 (co's song 1
    # charted before); scaled with the ratings' eps from the streams after the date
    pairs = {(str(new.countries[r]), str(new.songs.keys[c])): float(new.matrix[r, c])
             for r, c in zip(*new.matrix.nonzero(), strict=True)}
    assert pairs == pytest.approx({("de", "track00001"): np.log1p(30.0),
                                   ("mx", "track00002"): np.log1p(0.1)})
    early = dotify.read_ratings(two_weeks, end=date(2020, 1, 9))
    with pytest.raises(ValueError, match="end 2020-01-09 is before the split date"):
        dotify.split(early, "date", before=date(2020, 1, 10), home=two_weeks)


def test_split_by_date_asks_for_its_date_and_home(two_weeks: Settings) -> None:
    ratings = dotify.read_ratings(two_weeks)
    with pytest.raises(ValueError, match="pass the home the ratings were read from"):
        dotify.split(ratings, "date", before=date(2020, 1, 10))
    with pytest.raises(ValueError, match="the date protocol needs a date 'before'"):
        dotify.split(ratings, "date", home=two_weeks)
    with pytest.raises(ValueError, match="the date protocol needs a date 'before'"):
        dotify.split(ratings, "seed", before=date(2020, 1, 10))
    with pytest.raises(ModelError, match="pick an earlier date"):
        dotify.split(ratings, "date", before=date(2020, 1, 11), home=two_weeks)


def test_read_ratings_refuses_an_unknown_engine(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="unknown engine 'hadoop'; choose one of local, spark"):
        dotify.read_ratings(settings, engine="hadoop")


