"""The neural networks: shapes, the loss by hand, learning a planted matrix, determinism,
saving and loading through the artifact, titles, and cold songs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dotify import artifact
from dotify.learn.evaluation import epr_from_scores
from dotify.learn.ratings import Ratings, Songs
from dotify.models import make_model, model_class
from dotify.models._torch_data import all_threads, imf_loss, pair_batches
from dotify.models.titles import artist_ids, build_vocab, encode_titles, words

pytestmark = pytest.mark.slow

NETS = ["net1", "net2", "net3", "net4", "net5"]
ALL = [*NETS, "bpr-net"]
FAST = {"epochs": 2, "batch_size": 64, "factors": 4}


def planted(n_groups: int = 2, per_group: tuple[int, int] = (4, 20), seed: int = 0) -> Ratings:
    """Countries of group g rate (most of) the songs of group g: a rank-``n_groups`` pattern.

    Titles and first artists follow the groups too, so title and artist networks can tell
    the groups apart.
    """
    rng = np.random.default_rng(seed)
    n_c, n_s = per_group[0] * n_groups, per_group[1] * n_groups
    song_group = np.arange(n_s) // per_group[1]
    titles = np.array([f"{['sol', 'rain', 'fire'][g]} song {i}" for i, g in enumerate(song_group)])
    artists = np.array([f"band{g}{i % 3}, guest{i}" for i, g in enumerate(song_group)])
    songs = Songs(np.array([f"s{i}" for i in range(n_s)]), titles, artists,
                  np.full(n_s, ""), rng.integers(1, 100, n_s))
    rows, cols = np.nonzero(np.arange(n_c)[:, None] // per_group[0] == song_group[None, :])
    keep = rng.random(len(rows)) < 0.9
    values = rng.uniform(1.0, 5.0, keep.sum())
    return Ratings.from_triples(np.array([f"c{i}" for i in range(n_c)]), songs,
                                rows[keep], cols[keep], values)


def hold_out_one(ratings: Ratings, seed: int = 0) -> tuple[Ratings, Ratings]:
    """Move one rated song of every country to a test matrix."""
    rng = np.random.default_rng(seed)
    m = ratings.matrix.tolil()
    test = m.copy() * 0
    for row in range(m.shape[0]):
        col = rng.choice(m.rows[row])
        test[row, col], m[row, col] = m[row, col], 0
    return ratings.with_matrix(m.tocsr()), ratings.with_matrix(test.tocsr())


@pytest.fixture(scope="module")
def data() -> Ratings:
    return planted()


def test_imf_loss_matches_a_hand_worked_batch() -> None:
    # c = 1 + 0.5 r = [2, 1, 1.5]; p = [1, 0, 1]; (p - y)^2 = [0.25, 0.04, 0.25]
    pred = torch.tensor([0.5, 0.2, 1.5])
    r = torch.tensor([2.0, 0.0, 1.0])
    assert imf_loss(pred, r, alpha=0.5).item() == pytest.approx((0.5 + 0.04 + 0.375) / 3)


def test_pair_batches_cover_every_pair_once() -> None:
    gen = torch.Generator().manual_seed(0)
    songs = torch.tensor([0, 2, 3, 5, 6])
    for by_song in (False, True):
        pairs = [(int(r), int(c)) for rows, cols in pair_batches(3, songs, 4, gen, by_song)
                 for r, c in zip(rows, cols, strict=True)]
        assert sorted(pairs) == [(r, int(c)) for r in range(3) for c in songs]


@pytest.mark.parametrize("kind", ALL)
def test_each_network_fits_and_scores_every_song(kind: str, data: Ratings) -> None:
    model = make_model(kind, **(FAST | ({"epochs": 10} if kind == "bpr-net" else {})))
    model.fit(data)
    scores = model.score()
    assert scores.shape == data.shape and scores.dtype == np.float32
    assert np.isfinite(scores).all()
    assert model.country_factors.shape == (data.shape[0], 4)
    assert model.song_factors.shape == (data.shape[1], 4)
    np.testing.assert_allclose(model.score(np.array([1, 3])), scores[[1, 3]], rtol=1e-5,
                               atol=1e-6)
    assert model.history and all(np.isfinite(h.get("loss", 0.0)) for h in model.history)


def test_net1_score_is_the_dot_product_of_its_embeddings(data: Ratings) -> None:
    model = make_model("net1", **FAST).fit(data)
    np.testing.assert_allclose(model.score(), model.country_factors @ model.song_factors.T,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["net3", "net4", "net5"])
def test_scoring_a_table_equals_the_pairwise_forward_pass(kind: str, data: Ratings) -> None:
    model = make_model(kind, **FAST).fit(data)
    module = model.module
    rows = torch.arange(data.shape[0]).repeat_interleave(data.shape[1])
    cols = torch.arange(data.shape[1]).repeat(data.shape[0])
    with torch.no_grad():
        pairs = module(rows, cols).view(data.shape).numpy()
    np.testing.assert_allclose(model.score(), pairs, rtol=1e-4, atol=1e-5)


def test_net1_learns_a_planted_rank_2_matrix() -> None:
    # Each country's held-out song competes with the ~33 songs it did not rate: the 30 of
    # the other group and the few of its own group left out; the pattern puts it near the top.
    train, test = hold_out_one(planted(per_group=(5, 30)))
    model = make_model("net1", factors=2, epochs=10, batch_size=32, lr=0.05, alpha=2.0)
    model.fit(train)
    assert epr_from_scores(model.score(), test.matrix, train.matrix, filtered=True) < 0.1
    assert model.history[-1]["loss"] < model.history[0]["loss"]


@pytest.mark.parametrize("kind", ["net3", "net4", "bpr-net"])
def test_same_seed_gives_the_same_scores(kind: str, data: Ratings) -> None:
    params = FAST | ({"epochs": 10} if kind == "bpr-net" else {})
    first = make_model(kind, random_state=3, **params).fit(data).score()
    again = make_model(kind, random_state=3, **params).fit(data).score()
    other = make_model(kind, random_state=4, **params).fit(data).score()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_the_ranking_net_shares_its_full_batch_between_torchs_threads() -> None:
    """bpr-net's step over every pair runs on torch's own thread count unless told, and
    the count changes the time, not the weights; the mini-batch networks keep one thread."""
    used: list[int] = []

    class Watched(model_class("bpr-net")):  # type: ignore[misc, valid-type]
        def _run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            used.append(torch.get_num_threads())
            return super()._run(*args, **kwargs)

    big = planted(per_group=(20, 1500), seed=1)  # 40 x 3,000: big enough to split
    params = {"factors": 8, "epochs": 10, "validation_fraction": 0.0}
    alone = Watched(threads=1, **params).fit(big)
    shared = Watched(**params).fit(big)
    assert used == [1, all_threads()]
    np.testing.assert_array_equal(alone.song_factors, shared.song_factors)
    np.testing.assert_array_equal(alone.score(), shared.score())
    assert make_model("net1")._threads() == 1


@pytest.mark.parametrize("kind", ALL)
def test_saved_and_loaded_model_scores_the_same(kind: str, data: Ratings, tmp_path: Path) -> None:
    model = make_model(kind, **(FAST | ({"epochs": 10} if kind == "bpr-net" else {})))
    model.fit(data)
    saved = artifact.save(model, data.countries, data.songs, tmp_path)
    loaded = artifact.load(saved.path)
    assert loaded.kind == kind
    np.testing.assert_array_equal(loaded.model.score(), model.score())
    np.testing.assert_array_equal(loaded.country_vectors, model.country_factors)


def test_title_nets_save_vocabulary_tokens_and_artists(data: Ratings) -> None:
    model = make_model("net5", **FAST).fit(data)
    state = model.state()
    assert set(state["vocab"]) >= {"sol", "rain", "song"}
    assert state["title_tokens"].shape == (data.shape[1], 16)
    assert state["artist_ids"].shape == (data.shape[1],)
    assert "band00" in set(state["artist_names"]) and "guest1" not in set(state["artist_names"])


def test_ranking_net_stops_early_on_validation(data: Ratings) -> None:
    train, test = hold_out_one(data)
    model = make_model("bpr-net", factors=4, epochs=400, eval_every=5, patience=2)
    model.fit(train, test)
    evaluated = [h["epoch"] for h in model.history if "validation_epr" in h]
    assert evaluated and evaluated[-1] < 400
    assert epr_from_scores(model.score(), test.matrix, train.matrix, filtered=True) < 0.15


def test_ranking_net_without_validation_chooses_its_epochs_on_a_holdout(data: Ratings) -> None:
    model = make_model("bpr-net", factors=4, epochs=30, eval_every=5, patience=2).fit(data)
    chosen = [h["chosen_epochs"] for h in model.history if "chosen_epochs" in h]
    assert len(chosen) == 1 and 5 <= chosen[0] <= 30


def test_a_refit_on_all_trains_the_epochs_the_split_chose(data: Ratings) -> None:
    given = {"factors": 4, "epochs": 30, "eval_every": 5, "patience": 2, "random_state": 1}
    on_split = make_model("bpr-net", **given).fit(data)
    chosen = next(h["chosen_epochs"] for h in on_split.history if "chosen_epochs" in h)
    again = on_split.refit_params(given)
    assert again == {**given, "epochs": int(chosen), "validation_fraction": 0.0}
    refit = make_model("bpr-net", **again).fit(data)
    assert not any("chosen_epochs" in h or "validation_epr" in h for h in refit.history)
    assert make_model("imf").refit_params(given) is given  # nothing chosen to reuse
    net = model_class("bpr-net")
    for unusable in ({}, {"epochs": 31}, {"epochs": 0}, {"epochs": "30"}, {"epochs": True}):
        assert net.reusing(given, unusable) is given  # none, or more than a search may take
    with pytest.raises(ValueError, match="validation_fraction must be in"):
        make_model("bpr-net", validation_fraction=1.5)


def test_ranking_net_with_too_few_ratings_to_hold_out_trains_every_epoch() -> None:
    tiny = planted(per_group=(2, 6))  # about 5 songs per country: none held out
    model = make_model("bpr-net", factors=2, epochs=12).fit(tiny)
    assert [h["chosen_epochs"] for h in model.history if "chosen_epochs" in h] == [12]


@pytest.mark.parametrize("params, bad", [
    ({"factors": 0}, "factors"), ({"alpha": -1}, "alpha"), ({"lr": 0}, "lr"),
    ({"epochs": 1.5}, "epochs"), ({"device": 3}, "device"), ({"colour": "red"}, "colour"),
])
def test_bad_parameters_are_refused_by_name(params: dict, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        make_model("net2", **params)


def test_unfitted_network_says_what_to_do() -> None:
    from dotify.errors import ModelError

    with pytest.raises(ModelError, match="fit"):
        make_model("net4").score()


def test_titles_become_pre_padded_word_ids() -> None:
    assert words("Don't Start Now (feat. DaBaby) - Remix") == [
        "don't", "start", "now", "feat", "dababy", "remix"]
    vocab = build_vocab(np.array(["love me", "love you", "me"]), vocab_size=2)
    assert list(vocab) == ["love", "me"]
    ids = encode_titles(np.array(["you love me", "", "a b c d e love"]), vocab, max_len=4)
    np.testing.assert_array_equal(ids, [[0, 1, 2, 3], [0, 0, 0, 0], [1, 1, 1, 2]])


def test_first_artists_become_ids_with_zero_for_unknown() -> None:
    ids, names = artist_ids(np.array(["B, A", "A", "C & D, E"]))
    assert list(names) == ["", "A", "B", "C & D"]
    np.testing.assert_array_equal(ids, [2, 1, 3])
    unknown, _ = artist_ids(np.array(["Z", "A, B"]), names)
    np.testing.assert_array_equal(unknown, [0, 1])


@pytest.mark.parametrize("shape, rank", [((20, 300), 20), ((20, 300), 5), ((30, 12), 12)])
def test_thin_svd_matches_lapack(shape: tuple[int, int], rank: int) -> None:
    import numpy as np
    import scipy.sparse as sp

    from dotify.models.nets import thin_svd

    rng = np.random.default_rng(rank)
    dense = rng.random((shape[0], rank)) @ rng.random((rank, shape[1]))  # of rank ``rank``
    if rank == min(shape):  # full rank: sparse, as ratings are
        dense[rng.random(shape) < 0.5] = 0.0
    u, s, v = thin_svd(sp.csr_matrix(dense))
    expected = np.linalg.svd(dense, compute_uv=False)
    assert np.allclose(s[:rank], expected[:rank], rtol=1e-6)
    assert np.allclose((u * s) @ v.T, dense, atol=1e-6 * expected[0])
    assert np.allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-8)
    assert np.all(np.diff(s) <= 1e-9) and np.all(s[rank:] < 1e-6 * s[0] + 1e-12)
