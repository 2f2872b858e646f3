"""The public API on a home's charts, what the CLI runs through it: each function on
planted charts, its results' ``to_dict()`` and ``to_pandas()`` shapes and dtypes, and its
errors."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

import dotify
from dotify.config import Settings
from dotify.errors import ConfigError, ModelError
from dotify.store.charts import Store
from dotify.store.engine import opened
from dotify.store.schema import song_totals
from tests._planted import insert_charts, planted_ratings


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


# ---------------------------------------------------------------- what the database holds


def test_stats_counts_what_the_home_holds(planted_home: Settings) -> None:
    held = dotify.stats(planted_home, top=3)
    assert (held.markets, held.charts) == (24, 24)
    assert held.first_date == held.last_date == date(2020, 1, 3)
    assert held.kinds == {"weekly": 24} and held.entries > held.songs > 0
    with opened(planted_home) as engine:
        assert held.to_dict() == Store(engine).summary(top=3)  # what `stats --json` printed
    assert json.loads(json.dumps(held.to_dict()))["first_date"] == "2020-01-03"
    frame = held.to_pandas()
    assert frame.index.name == "market" and list(frame.columns) == ["name", "charts", "entries"]
    assert len(frame) == 3 and frame["entries"].dtype == np.int64
    assert frame["entries"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="top must be >= 1"):
        dotify.stats(planted_home, top=0)


def test_stats_of_an_empty_home(settings: Settings) -> None:
    held = dotify.stats(dotify.open_home(settings.home))
    assert (held.markets, held.charts, held.first_date) == (0, 0, None)
    assert held.to_pandas().empty


def test_verify_aggregate_finds_a_difference_and_rebuild_mends_it(planted_home: Settings
                                                                  ) -> None:
    assert dotify.verify_aggregate(planted_home).ok
    with opened(planted_home) as engine, engine.begin() as conn:
        conn.execute(sa.update(song_totals).where(song_totals.c.market == "co")
                     .values(streams=song_totals.c.streams + 1))
    found = dotify.verify_aggregate(planted_home)
    assert not found.ok and found.differences == 70 and len(found.first) == 20
    first = found.first[0]
    assert first["market"] == "co" and first["stored"]["streams"] == \
        first["expected"]["streams"] + 1
    assert found.to_dict() == {"differences": 70, "first": found.first, "rebuilt": False}
    mended = dotify.verify_aggregate(planted_home, rebuild=True)
    assert mended.ok and mended.rebuilt and mended.first == []


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


# ---------------------------------------------------------------- compare


def test_compare_measures_kinds_on_one_split() -> None:
    ratings, _ = planted_ratings()
    said: list[str] = []
    table = dotify.compare(ratings, ["popularity", "random"], seed=1, progress=said.append)
    assert list(table) == ["popularity", "random"] and table["popularity"]["params"] == {}
    assert said[0].startswith("24 countries x 330 songs; seed split") and said[-1] == \
        "fitting random"
    assert json.loads(json.dumps(table)) == table  # what `compare --json` prints
    frame = table.to_pandas()
    assert frame.index.name == "model" and list(frame.index) == ["popularity", "random"]
    assert list(frame.columns) == ["train_epr", "val_epr", "val_epr_filtered", "ndcg@10",
                                   "fit_seconds", "tune_trials"]
    assert frame["tune_trials"].dtype == np.int64 and frame["val_epr"].dtype == np.float64
    assert frame.loc["random", "val_epr"] == pytest.approx(0.5, abs=0.1)
    assert frame.loc["popularity", "val_epr"] == table["popularity"]["val_epr"]
    cold = dotify.compare(ratings, ["popularity"], "cold").to_pandas()
    assert cold.columns[-1] == "cold_epr" and cold["cold_epr"].dtype == np.float64


def test_compare_refuses_unknown_kinds_and_splits() -> None:
    ratings, _ = planted_ratings()
    with pytest.raises(ConfigError, match="unknown model\\(s\\) 'nope'"):
        dotify.compare(ratings, ["imf", "nope"])
    with pytest.raises(ConfigError, match="unknown split 'date'; choose one of seed, cold"):
        dotify.compare(ratings, ["random"], "date")
    with pytest.raises(ValueError, match="fraction must be strictly between 0 and 1"):
        dotify.compare(ratings, ["random"], fraction=1.5)


@pytest.mark.slow
def test_compare_gives_every_kind_the_same_tuning_budget(planted_home: Settings) -> None:
    ratings = dotify.read_ratings(planted_home)  # tuning rescales the streams: from the store
    table = dotify.compare(ratings, ["imf", "popularity"], tune=2)
    assert {k: row["tune_trials"] for k, row in table.items()} == {"imf": 2, "popularity": 0}
    assert {"factors", "alpha", "regularization"} <= set(table["imf"]["params"])
    assert table["imf"]["val_epr"] < table["popularity"]["val_epr"]


