"""The public API (``dotify.api``, exported from ``dotify``): each function on planted or
simulated charts, the ``to_pandas()`` shapes and dtypes, and what ``import dotify`` loads."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import dotify
from dotify.config import Settings
from dotify.errors import (
    ArtifactError,
    ConfigError,
    ExpressionError,
    MissingDependencyError,
    ModelError,
    StoreError,
    UnknownCountryError,
)
from dotify.learn.ratings import Ratings
from tests._planted import planted_ratings, simulated_home

MARKETS = ["co", "mx", "ar", "es", "tr", "de", "at", "ch", "jp", "kr", "se", "no"]
EAGER = {"DotifyError", "Settings", "__version__"}


# ---------------------------------------------------------------- the package


def test_import_dotify_loads_neither_numpy_nor_torch() -> None:
    code = ("import sys, dotify; print(json.dumps(['numpy' in sys.modules, 'torch' in "
            "sys.modules, 'pandas' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, False, False]


def test_every_exported_name_resolves_to_the_api() -> None:
    import dotify.api

    assert set(dotify.__all__) - EAGER == set(dotify.api.__all__)
    for name in dotify.api.__all__:
        assert getattr(dotify, name) is getattr(dotify.api, name)
    assert set(dotify.__all__) <= set(dir(dotify))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        dotify.nothing  # noqa: B018


def test_every_public_function_has_parameters_returns_and_an_example() -> None:
    import inspect

    import dotify.api

    functions = [getattr(dotify.api, n) for n in dotify.api.__all__
                 if inspect.isfunction(getattr(dotify.api, n))]
    assert len(functions) == 21
    for function in functions:
        doc = inspect.getdoc(function) or ""
        for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------"):
            assert section in doc, f"{function.__name__} lacks {section.splitlines()[0]}"
        assert ">>> " in doc


def test_to_pandas_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    ratings, _ = planted_ratings()
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an environment without it raises
    with pytest.raises(MissingDependencyError, match=r"pip install 'dotify\[notebook\]'"):
        ratings.to_pandas()


# ---------------------------------------------------------------- planted ratings, in memory


def test_ratings_to_pandas_long_and_wide() -> None:
    ratings, _ = planted_ratings()
    long = ratings.to_pandas()
    assert len(long) == ratings.nnz
    assert list(long.columns) == ["country", "song", "title", "artists", "rating"]
    assert isinstance(long["country"].dtype, pd.CategoricalDtype)
    assert long["rating"].dtype == np.float32
    assert pd.api.types.is_string_dtype(long["song"])
    first = long.iloc[0]
    row, col = ratings.country_index(first["country"]), ratings.song_index(first["song"])
    assert first["rating"] == ratings.matrix[row, col]
    wide = ratings.to_pandas(wide=True)
    assert wide.shape == ratings.shape
    assert (wide.dtypes == np.float32).all()
    assert np.array_equal(wide.to_numpy(), ratings.matrix.toarray())
    assert list(wide.index) == list(ratings.countries)


def test_split_parts_add_up_and_the_cold_split_holds_out_whole_songs() -> None:
    ratings, _ = planted_ratings()
    train, validation = dotify.split(ratings, fraction=0.25, min_songs=10, seed=3)
    assert train.nnz + validation.nnz == ratings.nnz
    assert (train.matrix.multiply(validation.matrix)).nnz == 0
    assert dotify.split(ratings, fraction=0.25, min_songs=10, seed=3).validation.nnz \
        == validation.nnz
    cold_train, cold = dotify.split(ratings, "cold", seed=1)
    held = np.flatnonzero(cold.matrix.getnnz(axis=0))
    assert len(held) and cold_train.matrix[:, held].nnz == 0
    with pytest.raises(ValueError, match="protocol must be one of seed, date, cold"):
        dotify.split(ratings, "by-song")
    with pytest.raises(ValueError, match="pass the home the ratings were read from"):
        dotify.split(ratings, "date", before=date(2020, 1, 10))
    with pytest.raises(ModelError, match="nothing is held out"):
        dotify.split(ratings, min_songs=10_000)


def test_train_checks_the_kind_and_its_parameters() -> None:
    ratings, _ = planted_ratings()
    with pytest.raises(ConfigError, match="unknown model 'svd'"):
        dotify.train(ratings, "svd")
    with pytest.raises(ConfigError, match="takes no parameter 'epochs'; it takes factors"):
        dotify.train(ratings, "imf", epochs=3)
    empty = ratings.with_matrix(sp.csr_matrix(ratings.shape, dtype=np.float32))
    with pytest.raises(ModelError, match="empty"):
        dotify.train(empty, "imf")


def test_train_and_evaluate_find_the_planted_blocks() -> None:
    ratings, _ = planted_ratings()
    train, validation = dotify.split(ratings, min_songs=10)
    model = dotify.train(train, "imf", factors=8, alpha=10.0, iterations=10)
    assert model.country_vectors.shape == (ratings.shape[0], 8)
    assert model.meta["kind"] == "imf" and model.meta["n_songs"] == ratings.shape[1]
    metrics = dotify.evaluate(model, validation, train)
    baseline = dotify.evaluate(dotify.train(train, "random"), validation, train)
    assert metrics["val_epr"] < 0.25 < 0.4 < baseline["val_epr"]
    assert set(metrics) == {"train_epr", "val_epr", "val_epr_filtered", "precision@10",
                            "recall@10", "ndcg@10", "map@10", "auc"}
    frame = metrics.to_pandas()
    assert frame.index.name == "country" and len(frame) == len(metrics.per_country)
    assert frame["n_test"].dtype == np.int64 and frame["epr"].dtype == np.float64
    assert frame["epr"].mean() == pytest.approx(metrics["val_epr"])
    other, _ = planted_ratings(pool=70)
    with pytest.raises(ValueError, match="not those of these ratings"):
        dotify.evaluate(model, other, other)


# ---------------------------------------------------------------- a home on simulated charts


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Ratings]:
    """Three weeks of simulated charts of 12 markets, ingested into a home."""
    settings, ratings, _ = simulated_home(tmp_path_factory.mktemp("api"), days=21,
                                          markets=MARKETS)
    return settings, ratings


@pytest.fixture(scope="module")
def live(world: tuple[Settings, Ratings]) -> dotify.Artifact:
    home, ratings = world
    return dotify.save_model(home, dotify.train(ratings, "imf", alpha=10.0))


def test_open_home_makes_the_folder_and_the_database(tmp_path: Path) -> None:
    home = dotify.open_home(tmp_path / "h")
    assert home.home == (tmp_path / "h").resolve()
    assert (tmp_path / "h" / "dotify.db").exists() and home.models_dir.is_dir()
    other = dotify.open_home(tmp_path / "h2", database=f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert (tmp_path / "elsewhere.db").exists() and not (tmp_path / "h2" / "dotify.db").exists()
    with pytest.raises(StoreError, match="cannot open the database"):
        dotify.open_home(tmp_path / "h3", database="postgresql+psycopg://u@127.0.0.1:1/db")
    assert other.db_url.endswith("elsewhere.db")


@pytest.mark.slow
def test_simulate_and_ingest_fill_a_home(tmp_path: Path) -> None:
    summary = dotify.simulate(tmp_path / "charts", days=3, markets=["co", "jp"])
    assert summary.files == 6 and summary.ground_truth.exists()
    bad = tmp_path / "charts" / "co" / "regional-co-daily-2020-01-04.csv"
    bad.write_text("<!doctype html><html></html>")
    home = dotify.open_home(tmp_path / "home")
    report = dotify.ingest(home, tmp_path / "charts")
    assert (report.files_ok, report.files_failed, report.rows) == (6, 1, summary.rows)
    assert "an HTML page" in str(report.errors[0])
    assert dotify.ingest(home, str(tmp_path / "charts")).files_unchanged == 6


@pytest.mark.slow
def test_read_ratings_windows_and_scales_the_store(world: tuple[Settings, Ratings]) -> None:
    home, ratings = world
    again = dotify.read_ratings(home)
    assert again.shape == ratings.shape and again.info["fingerprint"] == ratings.info[
        "fingerprint"]
    assert sorted(again.countries) == sorted(MARKETS)
    week = dotify.read_ratings(home, date(2020, 1, 1), date(2020, 1, 7))
    assert week.info["last_date"] == "2020-01-07" and week.nnz < ratings.nnz
    coarse = dotify.read_ratings(home, eps=10_000.0).to_pandas()
    assert np.allclose(coarse["rating"], np.log1p(coarse["streams"] / 10_000.0), rtol=1e-5)
    frame = ratings.to_pandas()
    assert frame["streams"].dtype == np.int64 and (frame["streams"] > 0).all()
    assert frame["streams"].sum() == ratings.songs.streams.sum()
    with pytest.raises(ValueError, match="eps must be > 0"):
        dotify.read_ratings(home, eps=0)


@pytest.mark.slow
def test_evaluate_cold_start(world: tuple[Settings, Ratings]) -> None:
    _, ratings = world
    train, cold = dotify.split(ratings, "cold", seed=0)
    metrics = dotify.evaluate(dotify.train(train, "imf"), cold, train, cold=True)
    assert 0.0 <= metrics["cold_epr"] <= 1.0 and "cold_epr" in dict(metrics)


@pytest.mark.slow
def test_tune_the_seed_grid_and_save_its_best(world: tuple[Settings, Ratings],
                                              tmp_path: Path) -> None:
    from dotify.learn.tuning import load_tuned

    _, ratings = world
    home = dotify.open_home(tmp_path / "tuned")
    grid = dotify.tune(ratings, "imf", factors=8, iterations=4, home=home)
    assert len(grid.trials) == 16 and grid.search == "grid"
    assert grid.best["val_epr"] == min(t["val_epr"] for t in grid.trials)
    assert grid.eps == 1000.0 and "eps" not in grid.params and grid.params["factors"] == 8
    frame = grid.to_pandas()
    assert frame.shape == (16, 8 + 1 + 9)  # IMF's eight parameters, eps, the metrics
    table = frame.pivot_table("val_epr", "alpha", "regularization")
    assert table.shape == (4, 4) and table.to_numpy().min() == grid.best["val_epr"]
    assert frame["val_epr"].dtype == np.float64
    params, fields = load_tuned(home, "imf")
    assert params["alpha"] == grid.params["alpha"] and fields == {"eps": 1000.0}
    assert (home.reports_dir / "tuning_heatmap.png").exists()
    with pytest.raises(ConfigError, match="tune bpr-net with search='bayes'"):
        dotify.tune(ratings, "bpr-net", search="grid")
    with pytest.raises(ConfigError, match="popularity has no parameters"):
        dotify.tune(ratings, "popularity")


@pytest.mark.slow
def test_tune_bayes_searches_the_kind_and_eps(world: tuple[Settings, Ratings]) -> None:
    _, ratings = world
    found = dotify.tune(ratings, "imf", "bayes", trials=3, seed=1, iterations=3)
    assert len(found.trials) == 3 and len({t["params"]["eps"] for t in found.trials}) == 3
    assert list(found.to_pandas().columns[:5]) == ["factors", "alpha", "regularization",
                                                   "iterations", "solver"]


@pytest.mark.slow
def test_save_and_load_models(world: tuple[Settings, Ratings], live: dotify.Artifact) -> None:
    home, ratings = world
    train, validation = dotify.split(ratings)
    model = dotify.train(train, "imf")
    metrics = dotify.evaluate(model, validation, train)
    kept = dotify.save_model(home, model, metrics, publish=False)
    assert dotify.load_model(home).version == live.version
    loaded = dotify.load_model(home, kept.version)
    assert loaded.meta["metrics"]["val_epr"] == metrics["val_epr"]
    assert np.array_equal(loaded.song_vectors, model.song_vectors)
    assert loaded.streams is not None and loaded.streams.nnz == train.nnz
    with pytest.raises(ArtifactError, match="no published model"):
        dotify.load_model(dotify.open_home(home.home.parent / "empty"))


@pytest.mark.slow
def test_recommend_and_top_answer_with_tables(live: dotify.Artifact) -> None:
    answer = dotify.recommend(live, "colombia x TR - Germany", n=7, popularity=0.25)
    assert answer.parsed == "Colombia * Turkey - Germany" and len(answer.songs) == 7
    frame = answer.to_pandas()
    assert frame.index.tolist() == list(range(1, 8)) and frame.index.name == "rank"
    assert answer.world_weight == 0  # a difference: the world is no part of the scores
    assert list(frame.columns) == ["title", "artists", "score", "match", "uri", "url",
                                   "Colombia", "Turkey", "Germany"]
    assert frame["score"].is_monotonic_decreasing and frame["score"].dtype == np.float64
    assert frame[["Colombia", "Turkey", "Germany"]].sum(axis=1).to_numpy() \
        == pytest.approx(frame["score"].to_numpy())
    assert (frame["Germany"] <= 0).all()
    mine = dotify.top(live, "Japan", n=5, popularity=0.5)
    assert [s.title for s in mine.songs] == [s.title for s in dotify.recommend(live, "JP",
                                                                                n=5).songs]
    shares = mine.to_pandas()[["Japan", "the world"]]
    assert (shares["the world"] < 0).all() and (shares["Japan"] > 0).all()
    with pytest.raises(UnknownCountryError, match="Did you mean Colombia"):
        dotify.recommend(live, "Colombai")
    with pytest.raises(ExpressionError, match="position"):
        dotify.recommend(live, "Colombia +")


@pytest.mark.slow
def test_similar_lists_the_nearest_countries(live: dotify.Artifact) -> None:
    nearest = dotify.similar(live, "Colombia", n=5)
    frame = nearest.to_pandas()
    assert frame.index.tolist() == [1, 2, 3, 4, 5] and "co" not in set(frame["code"])
    assert frame["similarity"].is_monotonic_decreasing
    assert frame["similarity"].dtype == np.float64
    assert set(frame["code"][:2]) <= {"mx", "ar", "es"}  # the simulator's Latin cluster


@pytest.mark.slow
def test_fidelity_table(live: dotify.Artifact, world: tuple[Settings, Ratings]) -> None:
    _, ratings = world
    table = dotify.fidelity(live, ratings, popularities=[0.0, 1.0])
    frame = table.to_pandas()
    assert frame.shape == (4, 7)
    assert frame["group"].tolist() == ["single", "single", "combination", "combination"]
    assert frame["expressions"].tolist()[:2] == [len(MARKETS)] * 2
    assert frame["repeated"].dtype == np.int64 and frame["charts"].dtype == np.float64
    assert (frame["either"] >= frame[["charts", "local"]].max(axis=1)).all()
    single = frame[frame["group"] == "single"].set_index("popularity")
    assert single.loc[1.0, "charts"] >= single.loc[0.0, "charts"]
    mine = dotify.fidelity(live, ratings, ["Japan + Korea"], popularities=[0.5]).to_pandas()
    assert mine["group"].tolist() == ["file"] and mine["expressions"].tolist() == [1]


@pytest.mark.slow
def test_taste_map_is_the_similarity_in_cluster_order(live: dotify.Artifact) -> None:
    atlas = dotify.taste_map(live)
    frame = atlas.to_pandas()
    assert sorted(frame.index) == sorted(MARKETS) and frame.index.name == "code"
    assert list(frame.columns[:4]) == ["name", "region", "x", "y"]
    square = frame[frame.index].to_numpy()
    assert square.shape == (12, 12) and np.allclose(square, square.T)
    assert np.allclose(np.diag(square), 1.0, atol=1e-3)
    assert frame[["x", "y"]].to_numpy().min() >= 0 and frame[["x", "y"]].to_numpy().max() <= 1
    nearest = dotify.similar(live, "Germany", n=1)[0]
    assert frame.loc["de", nearest.code] == pytest.approx(nearest.similarity, abs=1e-4)
