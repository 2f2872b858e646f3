"""Expected percentile ranking and the top-k metrics, on answers worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from dotify.learn.evaluation import (
    epr,
    epr_from_scores,
    epr_per_country,
    evaluate,
    evaluate_scores,
    topk_from_scores,
)
from dotify.learn.ratings import Ratings
from dotify.models import make_model
from tests._planted import songs_meta

# 3 countries x 5 songs. Country 1 scores every song alike (ties); country 2 ties nothing.
SCORES = np.array([[5, 4, 3, 2, 1],
                   [1, 1, 1, 1, 1],
                   [0.1, 0.9, 0.5, 0.45, 0.3]], dtype=np.float32)
TRAIN = sp.csr_matrix(np.array([[1, 0, 0, 0, 0],
                                [1, 0, 0, 0, 0],
                                [0, 1, 0, 0, 0]], dtype=np.float32))
TEST = sp.csr_matrix(np.array([[0, 2, 0, 1, 0],
                               [0, 0, 1, 0, 0],
                               [0, 0, 3, 0, 0]], dtype=np.float32))


def test_epr_by_hand() -> None:
    # ranks over all 5 songs: country 0 puts song 1 at position 1 (0.2) and song 3 at
    # position 3 (0.6): (2*0.2 + 1*0.6)/3 = 1/3; country 1 ties all five: positions 0..4
    # average 2 -> 0.4; country 2 puts song 2 second -> 0.2.
    rows, per = epr_per_country(SCORES, TEST)
    assert rows.tolist() == [0, 1, 2]
    assert np.allclose(per, [1 / 3, 0.4, 0.2])
    assert epr_from_scores(SCORES, TEST) == pytest.approx((1 / 3 + 0.4 + 0.2) / 3)


def test_filtered_epr_by_hand() -> None:
    # without each country's training song, 4 candidates: country 0 ranks song 1 first (0)
    # and song 3 third (2/4): (2*0 + 1*0.5)/3 = 1/6; country 1's four ties average
    # position 1.5 -> 0.375; country 2's song 2 comes first -> 0.
    _, per = epr_per_country(SCORES, TEST, TRAIN, filtered=True)
    assert np.allclose(per, [1 / 6, 0.375, 0.0])
    assert epr_from_scores(SCORES, TEST, TRAIN, filtered=True) == pytest.approx(
        (1 / 6 + 0.375) / 3)


def test_countries_without_held_out_ratings_are_left_out() -> None:
    test = TEST.tolil()
    test[1, 2] = 0
    rows, per = epr_per_country(SCORES, test.tocsr())
    assert rows.tolist() == [0, 2] and np.allclose(per, [1 / 3, 0.2])


def test_constant_and_random_scores_are_about_one_half() -> None:
    rng = np.random.default_rng(0)
    test = sp.random(40, 2000, density=0.02, random_state=1, format="csr")
    assert epr_from_scores(np.zeros((40, 2000)), test) == pytest.approx(1999 / 4000)
    assert epr_from_scores(rng.random((40, 2000)), test) == pytest.approx(0.5, abs=0.02)


def test_topk_by_hand() -> None:
    top = topk_from_scores(SCORES, TEST, TRAIN, k=2)
    # country 0: candidates 1..4, top two [1, 2], relevant {1, 3}
    assert top["precision"][0] == 0.5 and top["recall"][0] == 0.5
    assert top["ndcg"][0] == pytest.approx(1 / (1 + 1 / np.log2(3)))
    assert top["map"][0] == pytest.approx(0.5)
    assert top["auc"][0] == pytest.approx(0.75)  # 3 of the 4 (held-out, other) pairs right
    # country 1 ties everything: AUC one half; country 2: top two [2, 3], relevant {2}
    assert top["auc"][1] == pytest.approx(0.5)
    assert top["precision"][2] == 0.5 and top["recall"][2] == 1.0
    assert top["ndcg"][2] == pytest.approx(1.0) and top["map"][2] == pytest.approx(1.0)
    assert top["auc"][2] == pytest.approx(1.0)


def _ratings(matrix: sp.csr_matrix) -> Ratings:
    return Ratings(sp.csr_matrix(matrix), np.array(["co", "de", "jp"]), songs_meta(5))


def test_evaluate_keys_and_per_country() -> None:
    result = evaluate_scores(SCORES, _ratings(TEST), _ratings(TRAIN), k=2)
    assert set(result) == {"epr", "epr_filtered", "precision@2", "recall@2", "ndcg@2", "map@2",
                           "auc", "per_country"}
    assert result["epr"] == pytest.approx((1 / 3 + 0.4 + 0.2) / 3)
    assert [c["country"] for c in result["per_country"]] == ["co", "de", "jp"]
    assert result["per_country"][2]["recall@2"] == 1.0


def checkerboard(blocks: int = 3, per_block: int = 5, songs: int = 20
                 ) -> tuple[Ratings, Ratings, np.ndarray]:
    """Countries of a block share its songs; each country's held-out song is one of them."""
    m, n = blocks * per_block, blocks * songs
    dense = np.zeros((m, n), dtype=np.float32)
    held = np.zeros_like(dense)
    for u in range(m):
        b = u // per_block
        dense[u, b * songs:(b + 1) * songs] = 1.0
        held_song = b * songs + (u % songs)
        dense[u, held_song], held[u, held_song] = 0.0, 1.0
    countries = np.array([f"c{u:02d}" for u in range(m)])
    meta = songs_meta(n)
    return (Ratings(sp.csr_matrix(dense), countries, meta),
            Ratings(sp.csr_matrix(held), countries, meta), held.argmax(axis=1))


def test_checkerboard_held_out_song_ranks_near_the_top() -> None:
    train, test, _ = checkerboard()
    model = make_model("imf", factors=3, alpha=5.0, regularization=0.1, iterations=15,
                       solver="cholesky").fit(train)
    # the held-out song is one of the block's 20 of 60 songs: unfiltered rank < 20/60;
    # among the songs a country has not played, it comes first
    assert epr(model, test) < 1 / 3
    assert epr(model, test, train, filtered=True) < 0.05
    assert evaluate(model, test, train)["precision@10"] == pytest.approx(0.1)
    rand = make_model("random").fit(train)
    assert epr(rand, test) == pytest.approx(0.5, abs=0.15)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"test matrix shape \(3, 4\) does not match"):
        epr_from_scores(SCORES, TEST[:, :4])
    with pytest.raises(ValueError, match="filtered EPR needs the train matrix"):
        epr_from_scores(SCORES, TEST, filtered=True)
    with pytest.raises(ValueError, match="no held-out ratings"):
        epr_from_scores(SCORES, sp.csr_matrix(SCORES.shape))
    with pytest.raises(ValueError, match="NaN or inf"):
        epr_from_scores(np.full(SCORES.shape, np.nan), TEST)
    with pytest.raises(ValueError, match="k must be >= 1, not 0"):
        topk_from_scores(SCORES, TEST, TRAIN, k=0)
