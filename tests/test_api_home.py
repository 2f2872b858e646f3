"""The public API on a home's charts, what the CLI runs through it: each function on
planted charts, its results' ``to_dict()`` and ``to_pandas()`` shapes and dtypes, and its
errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import dotify
from dotify import artifact
from dotify.config import Settings
from dotify.errors import ConfigError, ModelError
from dotify.store.charts import Store
from dotify.store.engine import opened
from dotify.store.schema import song_totals
from tests._planted import insert_charts, planted_ratings

METRICS = {"train_epr", "val_epr", "val_epr_filtered", "precision@10", "recall@10", "ndcg@10",
           "map@10", "auc", "fit_seconds"}
FAST_IMF = {"factors": 4, "iterations": 2, "num_threads": 1}


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


# ---------------------------------------------------------------- tune into a home


@pytest.mark.slow
def test_tune_into_a_home_reports_each_trial_and_saves_the_best(planted_home: Settings) -> None:
    ratings = dotify.read_ratings(planted_home)
    seen: list[dict] = []
    found = dotify.tune(ratings, "imf", "bayes", trials=2, home=planted_home,
                        on_trial=seen.append, **FAST_IMF)
    assert seen == found.trials and found.heatmap is not None and found.heatmap.exists()
    saved = json.loads(found.best_params_path.read_text())  # type: ignore[union-attr]
    assert saved["imf"]["params"] == found.best["params"]
    payload = found.to_dict()  # what `tune --json` prints
    assert payload["kind"] == "imf" and payload["val_epr"] == found.best["val_epr"]
    assert payload["n_countries"] == 24 and payload["fingerprint"] == ratings.info["fingerprint"]
    assert len(payload["trials"]) == 2 and payload["heatmap"] == str(found.heatmap)
    assert json.loads(json.dumps(payload)) == payload
    trained = dotify.train_model(planted_home, "imf", {"iterations": 2}, publish=False)
    assert trained.meta["params"]["factors"] == found.params["factors"]
    assert trained.meta["ratings"]["eps"] == found.eps
    alone = dotify.tune(ratings, "imf", "bayes", trials=1, **FAST_IMF)  # no home: nothing saved
    assert alone.heatmap is None and alone.to_dict()["best_params_path"] is None
    assert alone.data == {k: payload[k] for k in alone.data}
    with pytest.raises(ConfigError, match="Spark tunes imf only, not net1"):
        dotify.tune(ratings, "net1", engine="spark")


def test_tune_checks_its_search_and_parameters_before_fitting(planted_home: Settings) -> None:
    ratings = dotify.read_ratings(planted_home)
    with pytest.raises(ConfigError, match="model 'imf' takes no parameter 'epochs'"):
        dotify.tune(ratings, "imf", "bayes", trials=1, epochs=3)
    with pytest.raises(ConfigError, match="trials must be >= 1"):
        dotify.tune(ratings, "imf", "bayes", trials=0)
    with pytest.raises(ConfigError, match="unknown search 'random'; choose one of grid, bayes"):
        dotify.tune(ratings, "imf", "random")


# ---------------------------------------------------------------- train_model, evaluate_model


def test_evaluate_model_measures_a_kind_beside_the_baselines(planted_home: Settings) -> None:
    said: list[str] = []
    found = dotify.evaluate_model(planted_home, "popularity", seed=2, progress=said.append)
    assert isinstance(found, dotify.Evaluation) and found.kind == "popularity"
    assert set(found) == METRICS and set(found.baselines) == {"popularity", "random"}
    assert found["val_epr"] == pytest.approx(found.baselines["popularity"])  # the same model
    assert found.split == {"protocol": "seed", "fraction": 0.2, "min_songs": 50, "seed": 2}
    assert found.data["n_countries"] == 24 and found.data["window"]["start"] is None
    assert found.params == {"eps": 1000.0, "scaling": "log"} and said[0] == "reading charts"
    payload = found.to_dict()  # what `evaluate --json --per-country` prints, and history
    assert list(payload)[:2] == ["kind", "train_epr"]
    assert {"popularity_val_epr", "random_val_epr", "per_country", "split", "nnz"} <= set(payload)
    frame = found.to_pandas()
    assert frame.index.name == "country" and len(frame) == 24
    assert frame["n_test"].dtype == np.int64 and frame["epr"].dtype == np.float64
    assert frame["epr"].mean() == pytest.approx(found["val_epr"])
    assert not list(planted_home.models_dir.glob("2*"))  # nothing saved


def test_evaluate_model_by_date(two_weeks: Settings) -> None:
    found = dotify.evaluate_model(two_weeks, "popularity", before=date(2020, 1, 10))
    assert found.split == {"protocol": "date", "before": "2020-01-10"}
    assert (found.data["n_songs"], found.data["nnz"]) == (5, 7)
    assert found["val_epr"] == pytest.approx((0.0 + 3 / 5) / 2)  # as `evaluate --before`


def test_train_model_takes_the_tuned_params_under_the_given_ones(planted_home: Settings
                                                                 ) -> None:
    planted_home.home.joinpath("best_params.json").write_text(json.dumps(
        {"imf": {"params": {"alpha": 7.0, "regularization": 3.0, "eps": 50.0, "factors": 6,
                            "random_state": 0}}}))
    said: list[str] = []
    saved = dotify.train_model(planted_home, "imf", {"iterations": 2, "regularization": 4.0},
                               seed=3, publish=False, progress=said.append)
    params = saved.meta["params"]
    assert (params["alpha"], params["factors"], params["regularization"]) == (7.0, 6, 4.0)
    assert params["random_state"] == 3 and saved.meta["split"]["seed"] == 3
    assert saved.meta["ratings"] == {"eps": 50.0, "scaling": "log"}
    assert saved.meta["engine"] == "local" and saved.meta["refit_on_all"] is True
    assert METRICS <= set(saved.meta["metrics"]) and len(saved.meta["per_country"]) == 24
    assert saved.path is not None and saved.path.is_dir()
    assert artifact.current_version(planted_home.models_dir) is None  # not published
    assert said[0] == "reading charts" and said[-1] == f"saved model {saved.version}"
    mine = dotify.train_model(planted_home, "imf", {**FAST_IMF, "random_state": 9, "eps": 10.0},
                              start=date(2020, 1, 3), end=date(2020, 1, 3))
    assert mine.meta["params"]["random_state"] == 9 and mine.meta["ratings"]["eps"] == 10.0
    assert mine.meta["window"]["start"] == "2020-01-03"
    assert dotify.load_model(planted_home).version == mine.version


def test_train_model_refuses_what_it_cannot_train(planted_home: Settings, tmp_path: Path
                                                  ) -> None:
    with pytest.raises(ConfigError, match="model 'imf' takes no parameter 'epochs'; it takes "
                                          "factors.*, eps, scaling"):
        dotify.train_model(planted_home, "imf", {"epochs": 3})
    with pytest.raises(ConfigError, match="unknown model 'svd'"):
        dotify.train_model(planted_home, "svd")
    with pytest.raises(ConfigError, match="unknown engine 'hadoop'"):
        dotify.train_model(planted_home, "imf", FAST_IMF, engine="hadoop")
    with pytest.raises(ValueError, match="start 2020-02-01 is after end 2020-01-01"):
        dotify.train_model(planted_home, "imf", start=date(2020, 2, 1), end=date(2020, 1, 1))
    with pytest.raises(ModelError, match="run `dotify ingest` first"):
        dotify.train_model(dotify.open_home(tmp_path / "empty"), "popularity")
