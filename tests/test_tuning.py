"""Tuning: the seed's grid, the seeded Bayesian search, the heatmap and the saved best."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dotify.errors import ConfigError
from dotify.learn.splits import SplitSpec
from dotify.learn.tuning import (
    SEED_GRID,
    grid_trials,
    load_best_params,
    load_tuned,
    rescaled,
    tune,
)
from dotify.store.engine import engine_for
from tests._planted import insert_planted, planted_ratings

pytestmark = pytest.mark.slow

FAST = {"iterations": 3, "num_threads": 1, "factors": 8}


def test_grid_is_the_seeds_alpha_by_lambda() -> None:
    trials = grid_trials({"factors": 30})
    assert len(trials) == 16
    assert {(t["alpha"], t["regularization"]) for t in trials} == {
        (a, lam) for a in SEED_GRID["alpha"] for lam in SEED_GRID["regularization"]}
    assert all(t["factors"] == 30 for t in trials)


def test_grid_tune_saves_best_params_and_heatmap(settings) -> None:  # type: ignore[no-untyped-def]
    insert_planted(engine_for(settings), weeks=1)
    assert load_best_params(settings) == {}
    seen = []
    result = tune(settings, "grid", base=FAST, on_trial=seen.append)
    assert len(result.trials) == len(seen) == 16
    assert result.best["val_epr"] == min(t["val_epr"] for t in result.trials)
    best = load_best_params(settings)
    assert best == result.best["params"]
    assert {best["alpha"], best["regularization"]} <= {0.1, 1.0, 10.0, 100.0}
    assert best["eps"] == 1000.0 and best["iterations"] == 3
    png = settings.reports_dir / "tuning_heatmap.png"
    assert result.heatmap == png and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((settings.home / "best_params.json").read_text())["imf"]["search"] == "grid"


def test_bayes_search_is_seeded(settings) -> None:  # type: ignore[no-untyped-def]
    insert_planted(engine_for(settings), weeks=1)
    runs = [tune(settings, "bayes", trials=3, base={"num_threads": 1},
                 split=SplitSpec(seed=4)) for _ in range(2)]
    params = [[t["params"] for t in r.trials] for r in runs]
    assert params[0] == params[1]
    assert len({p["alpha"] for p in params[0]}) == 3  # it did explore
    assert all(1.0 <= p["eps"] <= 1e5 and 4 <= p["factors"] <= 64 for p in params[0])
    assert load_best_params(settings)["alpha"] == runs[1].best["params"]["alpha"]


def test_rescaled_keeps_the_pattern_and_changes_values() -> None:
    ratings, _ = planted_ratings()
    with pytest.raises(ValueError, match="carry no raw streams"):
        rescaled(ratings, 10.0)


def test_rescaled_from_the_store(settings) -> None:  # type: ignore[no-untyped-def]
    from dotify.learn.ratings import from_store, scale

    insert_planted(engine_for(settings), weeks=1)
    full = from_store(engine_for(settings))
    other = rescaled(full, 10.0)
    assert (other.matrix != 0).sum() == full.nnz
    assert np.allclose(other.matrix.data, scale(full.raw.data, "log", 10.0))
    assert other.info["eps"] == 10.0 and rescaled(full, 1000.0) is full


def test_every_kind_is_tuned_in_its_own_space_and_saved_apart(settings) -> None:  # type: ignore[no-untyped-def]
    insert_planted(engine_for(settings), weeks=1)
    settings.home.mkdir(parents=True, exist_ok=True)
    old = {"kind": "imf", "params": {"alpha": 2.0, "eps": 10.0}}  # an older file: one record
    (settings.home / "best_params.json").write_text(json.dumps(old))
    assert load_best_params(settings) == old["params"]
    result = tune(settings, "bayes", trials=2, base={"epochs": 2}, kind="net1")
    for trial in result.trials:
        p = trial["params"]
        assert 8 <= p["factors"] <= 64 and 1e-4 <= p["lr"] <= 1e-2 and p["epochs"] == 2
    assert load_best_params(settings, "net1") == result.best["params"]
    assert load_best_params(settings) == old["params"]  # imf's record is kept
    assert load_tuned(settings, "net1")[1] == {"eps": result.best["params"]["eps"]}
    assert load_best_params(settings, "net2") == {}
    with pytest.raises(ConfigError, match="random has no parameters to tune"):
        tune(settings, "bayes", kind="random")


def test_bad_search_and_bad_best_params_file(settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown search 'random'; choose one of grid, bayes"):
        tune(settings, "random")
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "best_params.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="best_params.json: not a best-parameters file"):
        load_best_params(settings)
