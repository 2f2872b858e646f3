"""IMF on implicit's ALS: exact against the dense oracle, and good on planted clusters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from dotify import artifact
from dotify.errors import ModelFitError
from dotify.learn.evaluation import epr
from dotify.learn.ratings import Ratings
from dotify.learn.splits import seed_split
from dotify.models import make_model
from dotify.models.imf import IMF, confidence, objective
from tests import oracle
from tests._planted import planted_ratings, songs_meta


def _small(seed: int, m: int = 9, n: int = 14) -> tuple[Ratings, np.ndarray]:
    rng = np.random.default_rng(seed)
    dense = (rng.random((m, n)) < 0.35) * rng.uniform(0.2, 4.0, (m, n))
    dense[0] = 0.0  # a country with no ratings at all
    ratings = Ratings(sp.csr_matrix(dense.astype(np.float32)),
                      np.array([f"c{i}" for i in range(m)]), songs_meta(n))
    return ratings, ratings.matrix.toarray().astype(np.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cholesky_matches_the_exact_oracle_after_every_iteration(seed: int) -> None:
    ratings, dense = _small(seed)
    alpha, lam, f = 3.0, 0.7, 4
    rng = np.random.default_rng(100 + seed)
    x0 = rng.random((dense.shape[0], f)) * 0.1
    y0 = rng.random((dense.shape[1], f)) * 0.1
    x, y = x0, y0
    losses = []
    for iterations in range(1, 7):
        x, y = oracle.als_step(dense, x, y, alpha, lam)
        model = IMF(factors=f, alpha=alpha, regularization=lam, iterations=iterations,
                    solver="cholesky", num_threads=1, track_loss=True)
        model.fit(ratings, initial=(x0, y0))
        assert np.abs(model.country_factors - x).max() < 1e-4
        assert np.abs(model.song_factors - y).max() < 1e-4
        losses.append(oracle.dense_objective(dense, x, y, alpha, lam))
        # the loss tracked during the fit is the seed's objective at each iteration
        assert model.history[-1]["loss"] == pytest.approx(losses[-1], rel=1e-5)
    assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:], strict=False))
    tracked = [h["loss"] for h in model.history]
    assert np.allclose(tracked, losses, rtol=1e-5)


def test_same_factors_as_a_bare_implicit_fit_with_or_without_loss_tracking() -> None:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    ratings, _ = planted_ratings()
    params = {"factors": 6, "alpha": 2.0, "regularization": 0.5, "iterations": 5,
              "random_state": 11}
    with threadpool_limits(1, "blas"):
        bare = AlternatingLeastSquares(factors=6, regularization=0.5, alpha=1.0, iterations=5,
                                       random_state=11)
        bare.fit(confidence(ratings.matrix, 2.0), show_progress=False)
    for track in (False, True):
        ours = IMF(**params, track_loss=track).fit(ratings)
        assert np.array_equal(ours.country_factors, bare.user_factors)
        assert np.array_equal(ours.song_factors, bare.item_factors)
    assert np.allclose(confidence(ratings.matrix, 2.0).data, 1 + 2.0 * ratings.matrix.data)


def test_sparse_objective_equals_the_dense_definition() -> None:
    ratings, dense = _small(5)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(14, 3))
    sparse_loss = objective(confidence(ratings.matrix, 2.5), x, y, 0.3)
    assert sparse_loss == pytest.approx(oracle.dense_objective(dense, x, y, 2.5, 0.3), rel=1e-6)


def test_cg_solver_also_lowers_the_loss() -> None:
    ratings, _ = planted_ratings()
    model = IMF(factors=8, iterations=8, solver="cg", track_loss=True).fit(ratings)
    losses = [h["loss"] for h in model.history]
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert model.country_factors.dtype == np.float32
    quiet = IMF(factors=8, iterations=8, solver="cg").fit(ratings)  # only the final loss
    assert [h["iteration"] for h in quiet.history] == [8]
    assert quiet.history[0]["loss"] == pytest.approx(losses[-1], rel=1e-5)


def test_planted_clusters_beat_popularity_and_neighbours_share_a_cluster() -> None:
    ratings, block = planted_ratings(n_blocks=4, per_block=6)
    train, val = seed_split(ratings, fraction=0.2, min_songs=50, random_state=0)
    model = make_model("imf").fit(train)
    popularity = make_model("popularity").fit(train)
    assert epr(model, val) < epr(popularity, val) - 0.1
    x = model.country_factors / np.linalg.norm(model.country_factors, axis=1, keepdims=True)
    cosine = x @ x.T
    np.fill_diagonal(cosine, -np.inf)
    assert (block[cosine.argmax(axis=1)] == block).mean() >= 0.9


def test_nan_factors_are_refused_with_a_hint() -> None:
    ratings, _ = planted_ratings()
    with pytest.raises(ModelFitError, match="NaN or inf after training; lower alpha"):
        IMF(factors=4, alpha=1e38, iterations=2, track_loss=False).fit(ratings)


@pytest.mark.parametrize(("params", "message"), [
    ({"factors": 0}, "factors must be >= 1, not 0"),
    ({"alpha": -1.0}, "alpha must be >= 0, not -1.0"),
    ({"regularization": -0.1}, r"regularization \(lambda\) must be >= 0, not -0.1"),
    ({"iterations": 0}, "iterations must be >= 1, not 0"),
    ({"solver": "lu"}, "solver must be one of cg, cholesky, not 'lu'"),
])
def test_bad_params_raise(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IMF(**params)


def test_initial_factors_must_fit_the_matrix() -> None:
    ratings, _ = _small(0)
    with pytest.raises(ValueError, match=r"initial factors of shapes \(2, 4\) and \(14, 4\)"):
        IMF(factors=4).fit(ratings, initial=(np.zeros((2, 4)), np.zeros((14, 4))))


def test_same_seed_same_factors_and_artifact_round_trip(tmp_path: Path) -> None:
    ratings, _ = planted_ratings()
    a = IMF(factors=6, iterations=4, random_state=3).fit(ratings)
    b = IMF(factors=6, iterations=4, random_state=3).fit(ratings)
    assert np.array_equal(a.country_factors, b.country_factors)
    saved = artifact.save(a, ratings.countries, ratings.songs, tmp_path, meta={"nnz": 1})
    loaded = artifact.load(saved.path)
    assert loaded.kind == "imf" and loaded.model.params == a.params
    assert np.array_equal(loaded.model.score(), a.score())
    assert json.loads((saved.path / "meta.json").read_text())["history"][-1]["iteration"] == 4


@pytest.mark.slow  # over a second: left to make test, out of make check
def test_simulator_clusters_are_recovered(tmp_path: Path) -> None:
    from dotify.charts import ingest
    from dotify.charts.sim import simulate
    from dotify.config import Settings
    from dotify.learn.ratings import from_store
    from dotify.store.engine import opened

    summary = simulate.simulate(tmp_path / "charts", days=4, seed=0)
    settings = Settings(home=tmp_path / "home")
    with opened(settings) as engine:
        ingest.ingest_paths(engine, [tmp_path / "charts"])
        ratings = from_store(engine)
    truth = json.loads(summary.ground_truth.read_text())["markets"]
    cluster = np.array([truth[c] for c in ratings.countries])
    train, val = seed_split(ratings)
    model = make_model("imf").fit(train)
    assert epr(model, val) < epr(make_model("popularity").fit(train), val)
    x = model.country_factors / np.linalg.norm(model.country_factors, axis=1, keepdims=True)
    cosine = x @ x.T
    np.fill_diagonal(cosine, -np.inf)
    assert (cluster[cosine.argmax(axis=1)] == cluster).mean() >= 0.9
