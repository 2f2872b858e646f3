"""The recommendation engine on a hand-made chart whose answers are worked out by hand.

Streams are ``1000 * (2 ** k - 1)``, so a chart profile ``log(1 + s / 1000) / max`` is
``k / k_max``; every country's biggest song is the global hit (k = 4), so ``r = k / 4``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from dotify import artifact as store
from dotify.artifact import Artifact
from dotify.errors import (
    CountryNotInModelError,
    DotifyError,
    ExpressionError,
    UnknownCountryError,
)
from dotify.learn.ratings import Songs
from dotify.models import make_model
from dotify.query import recommend as engine
from dotify.query import tastes
from dotify.query.algebra import DIVISION_FLOOR
from dotify.query.arithmetic import parse, upper_bound
from dotify.query.recommend import WORLD, cancels_out, recommend, similar, top, world_weight

COUNTRIES = np.array(["co", "mx", "de", "at", "tr", "jp", "kr"])  # kr: no streams at all
TITLES = ["Latin", "Latin mx", "German", "German at", "Turkish", "Latin Turkish", "Global hit",
          "J-pop", "Silent"]
# chart level k per country (rows) and song (columns); 0: never charted there
K = np.array([
    # Lat Lmx Ger Gat Tur LTu Glo Jpo Sil
    [3,   1,  0,  0,  0,  2,  4,  0,  0],  # co
    [3,   2,  0,  0,  0,  0,  4,  0,  0],  # mx
    [0,   0,  3,  1,  0,  0,  4,  0,  0],  # de
    [0,   0,  3,  2,  0,  0,  4,  0,  0],  # at
    [0,   0,  0,  0,  3,  2,  4,  0,  0],  # tr
    [0,   0,  0,  0,  0,  0,  4,  3,  0],  # jp
    [0,   0,  0,  0,  0,  0,  0,  0,  0],  # kr
])
STREAMS = np.where(K > 0, 1000 * (2.0 ** K - 1), 0.0)
R = K / 4  # the chart profiles
W = R[:6].mean(axis=0)  # the world's taste: kr has no data and is left out
LATIN, LATIN_MX, GERMAN, GERMAN_AT, TURKISH, LATIN_TURKISH, GLOBAL_HIT, JPOP, SILENT = range(9)
# the model: axis 0 Latin, 1 German-speaking, 2 Turkish, 3 Japanese
COUNTRY_VECTORS = np.array([
    [1.0, 0.0, 0.0, 0.0], [0.9, 0.0, 0.0, 0.3], [0.0, 1.0, 0.0, 0.0], [0.0, 0.9, 0.0, 0.3],
    [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5],
], dtype=np.float32)
SONG_VECTORS = np.array([
    [1.0, 0.0, 0.0, 0.0], [0.8, 0.0, 0.0, 0.2], [0.0, 1.0, 0.0, 0.0], [0.0, 0.8, 0.0, 0.2],
    [0.0, 0.0, 1.0, 0.0], [0.7, 0.0, 0.7, 0.0], [0.6, 0.6, 0.6, 0.6], [0.0, 0.0, 0.0, 1.0],
    [0.0, 0.0, 0.0, 0.0],
], dtype=np.float32)


def _songs(n: int, streams: np.ndarray | None = None) -> Songs:
    ids = [f"{i:022d}" for i in range(n)]
    return Songs(
        keys=np.array(ids),
        titles=np.array(TITLES if n == len(TITLES) else [f"Song {i}" for i in range(n)]),
        artists=np.array([f"Artist {i}" for i in range(n)]),
        urls=np.array([f"https://open.spotify.com/track/{i}" for i in ids]),
        streams=(STREAMS.sum(axis=0).astype(np.int64) if streams is None and n == len(TITLES)
                 else np.arange(n, 0, -1, dtype=np.int64) * 10 if streams is None else streams),
    )


def _artifact(kind: str = "imf", countries: np.ndarray = COUNTRIES,
              country_vectors: np.ndarray = COUNTRY_VECTORS,
              song_vectors: np.ndarray = SONG_VECTORS, songs: Songs | None = None,
              charted: sp.csr_matrix | None = None,
              streams: np.ndarray | None = STREAMS) -> Artifact:
    model = make_model(kind)
    model.country_factors = np.asarray(country_vectors, dtype=np.float32)
    model.song_factors = np.asarray(song_vectors, dtype=np.float32)
    songs = songs or _songs(len(song_vectors))
    return Artifact(model, countries, songs, {"version": "test"}, None, charted,
                    streams=None if streams is None else sp.csr_matrix(streams))


@pytest.fixture
def art() -> Artifact:
    return _artifact()


def _titles(result: engine.Recommendation) -> list[str]:
    return [s.title for s in result.songs]


def _scores(result: engine.Recommendation) -> dict[str, float]:
    return {s.title: s.score for s in result.songs}


def _estimates(art: Artifact) -> np.ndarray:
    """The model's estimates by the spec: (rank / n) ** 4, ties at their highest rank."""
    scores = art.model.score().astype(np.float64)
    return (rankdata(scores, method="max", axis=1) / scores.shape[1]) ** 4


# ---------------------------------------------------------------- tastes, by hand


def test_profiles_are_log_streams_over_their_maximum() -> None:
    got = tastes.profiles(sp.csr_matrix(np.array([[1000.0, 3000.0, 0.0], [0.0, 0.0, 0.0],
                                                  [7000.0, 0.0, 15000.0]])))
    assert isinstance(got, sp.csr_matrix) and got.dtype == np.float64
    np.testing.assert_allclose(got.toarray(), [[0.5, 1.0, 0.0], [0.0, 0.0, 0.0],
                                               [0.75, 0.0, 1.0]])
    np.testing.assert_allclose(tastes.profiles(sp.csr_matrix(STREAMS)).toarray(), R)


def test_percentile_power_keeps_only_the_order() -> None:
    got = tastes.percentile_power(np.array([[3.0, 1.0, 2.0, 2.0], [30.0, -5.0, 7.0, 7.0]]))
    expected = [1.0, (1 / 4) ** 4, (3 / 4) ** 4, (3 / 4) ** 4]  # ties share the higher rank
    assert got.dtype == np.float32 and got.shape == (2, 4)
    np.testing.assert_allclose(got, [expected, expected], rtol=1e-6)
    np.testing.assert_allclose(tastes.percentile_power(np.array([np.nan, 5.0])),
                               [[(1 / 2) ** 4, 1.0]])  # NaN ranks last


def test_ranked_is_the_percentile_power_and_the_best_columns() -> None:
    rng = np.random.default_rng(6)
    for trial in range(100):
        n = int(rng.integers(1, 300))
        scores = rng.choice([0.0, 1.0, 2.0, np.nan, -np.inf, 5.0], size=n) if trial % 2 \
            else rng.normal(size=n).astype(np.float32)
        estimates, order = tastes.ranked(scores, n // 3)
        finite = np.where(np.isnan(scores), -np.inf, scores.astype(np.float64))
        expected = ((rankdata(finite, method="max") / n) ** tastes.SHARPNESS).astype(np.float32)
        np.testing.assert_array_equal(estimates, expected)
        np.testing.assert_array_equal(tastes.percentile_power(scores[None])[0], expected)
        assert len(order) == n // 3 and len(set(order.tolist())) == len(order)
        assert (np.diff(estimates[order]) <= 0).all()  # best first
        rest = np.setdiff1d(np.arange(n), order)
        assert not len(order) or not len(rest) or estimates[rest].max() <= estimates[order[-1]]


def test_own_at_some_songs_is_own_there(art: Artifact) -> None:
    rng = np.random.default_rng(7)
    big = _artifact(country_vectors=rng.normal(size=(len(COUNTRIES), 4)),
                    song_vectors=rng.normal(size=(300, 4)), songs=_songs(300),
                    streams=rng.choice([0.0, 0.0, 0.0, 2000.0, 9000.0], size=(len(COUNTRIES), 300)))
    for model in (art, big):
        prepared = engine._prepare(model).tastes
        for row in range(6):
            for discover in (False, True):
                whole = prepared.own(row, discover)
                columns = np.sort(rng.choice(len(whole), len(whole) // 2, replace=False))
                np.testing.assert_array_equal(prepared.own_at(row, discover, columns),
                                              whole[columns])
                assert prepared.own_at(row, discover, columns[:0]).shape == (0,)


def test_the_model_world_is_the_mean_estimate(art: Artifact) -> None:
    prepared = engine._prepare(art).tastes
    expected = np.mean([_estimates(art)[r].astype(np.float32).astype(np.float64)
                        for r in range(6)], axis=0)
    np.testing.assert_array_equal(prepared.model_world, expected)  # kr has no data


@pytest.mark.parametrize(("expression", "low", "bound"), [
    ("Colombia", -0.5, 1.0),
    ("2 Colombia", -0.5, 2.0),
    ("-Colombia", -0.5, 0.5),
    ("Colombia / 2", -0.5, 0.5),
    ("Colombia - Germany", -0.5, 1.5),
    ("Colombia - Germany", 0.0, 1.0),
    ("Colombia x Turkey", -1.0, 1.0),
    ("Colombia x Turkey - Germany", -0.5, 1.5),
    ("Colombia + 2 Turkey - 0.5 Germany", 0.0, 3.0),
    ("Colombia / Turkey", -0.5, 1.0 / (1.0 + DIVISION_FLOOR)),
])
def test_upper_bound_is_interval_arithmetic(expression: str, low: float, bound: float) -> None:
    assert upper_bound(parse(expression), low, 1.0) == pytest.approx(bound)


# ---------------------------------------------------------------- recommendations


def test_a_country_gets_its_own_songs_first(art: Artifact) -> None:
    result = recommend(art, "Colombia", n=3, popularity=0.0)
    assert _titles(result) == ["Latin", "Latin Turkish", "Latin mx"]
    assert [s.score for s in result.songs] == pytest.approx(
        [0.75 - 0.25, 0.5 - 1 / 6, 0.25 - 0.125])
    assert [s.rank for s in result.songs] == [1, 2, 3]
    assert result.songs[0].match == 50.0  # 0.5 of the bound 1
    global_hit = _scores(recommend(art, "Colombia", n=9, popularity=0.0))["Global hit"]
    assert global_hit == pytest.approx(0.0)  # everyone plays it: nothing particular


def test_popularity_raises_the_global_hit(art: Artifact) -> None:
    hits = recommend(art, "Colombia", n=4, popularity=1.0)
    assert _titles(hits) == ["Global hit", "Latin", "Latin Turkish", "Latin mx"]
    assert [s.score for s in hits.songs] == pytest.approx([1.0, 0.75, 0.5, 0.25])
    assert hits.songs[0].match == 100.0  # r = 1 over the bound 1
    assert hits.songs[0].contributions == pytest.approx({"Colombia": 1.0, WORLD: 0.0})
    ranks = [_titles(recommend(art, "Colombia", n=9, popularity=p)).index("Global hit")
             for p in np.linspace(0.0, 1.0, 11)]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > 2 and ranks[-1] == 0


def test_a_product_gives_what_both_play(art: Artifact) -> None:
    local = recommend(art, "Colombia x Turkey", n=1, popularity=0.0)
    assert local.parsed == "Colombia * Turkey"
    song = local.songs[0]
    assert song.title == "Latin Turkish"  # the one song both chart, less the world's
    assert song.score == pytest.approx(0.5 * 0.5 - 1 / 6)  # the global hit: 1 * 1 - 1 = 0
    # each side gets half of what both play; the world's 1/6 is taken away once
    assert song.contributions == pytest.approx(
        {"Colombia": 1 / 8, "Turkey": 1 / 8, WORLD: -1 / 6})
    hits = recommend(art, "Colombia x Turkey", n=3, popularity=1.0)
    assert _titles(hits)[:2] == ["Global hit", "Latin Turkish"]
    assert [s.score for s in hits.songs[:2]] == pytest.approx([1.0, 0.25])
    assert hits.songs[2].score <= 0.75 * tastes.FILL_IN  # a charted song times a fill-in


def test_subtracting_a_country_takes_its_songs_away(art: Artifact) -> None:
    for popularity in (0.0, 0.5, 1.0):
        everything = recommend(art, "Colombia - Germany", n=9, popularity=popularity).songs
        assert _titles(recommend(art, "Colombia - Germany", n=7, popularity=popularity)) == \
            [s.title for s in everything[:7]]
        assert {"German", "German at"} <= {s.title for s in everything[6:]}
        for song in everything:
            assert song.contributions["Germany"] <= 0.0
        scores = {s.title: s.score for s in everything}
        world = {s.title: s.contributions[WORLD] for s in everything if WORLD in s.contributions}
        # in "A - B" the world's taste cancels out (its world weight is 0): what both
        # play scores nothing at any popularity, and the world is neither taken nor added
        assert world == {}
        assert scores["Global hit"] == pytest.approx(1.0 - 1.0)
        assert scores["Latin"] >= 0.75 - tastes.FILL_IN
        assert scores["German"] <= tastes.FILL_IN - 0.75
    plain = _scores(recommend(art, "Colombia + Germany", n=9))
    assert plain["German"] > 0 > _scores(recommend(art, "Colombia - Germany", n=9))["German"]


@pytest.mark.parametrize(("expression", "weight"), [
    ("Colombia", 1.0), ("Colombia + Turkey", 2.0), ("Colombia + 2 Turkey", 3.0),
    ("Colombia - Turkey", 0.0), ("Colombia x Turkey", 1.0), ("Colombia x Turkey - Germany", 0.0),
    ("2 Colombia - Turkey", 1.0), ("-Colombia", 0.0), ("Colombia / 2", 0.5),
    ("Colombia / Turkey", 1 / (2 + DIVISION_FLOOR)),
])
def test_the_world_weight_is_the_value_when_every_country_plays_alike(
        expression: str, weight: float) -> None:
    assert world_weight(parse(expression)) == pytest.approx(weight)


def test_the_world_is_never_added_back(art: Artifact) -> None:
    for popularity in (0.0, 0.5):
        result = recommend(art, "Colombia x Turkey - Germany", n=9, popularity=popularity)
        assert all(WORLD not in s.contributions for s in result.songs)  # it plays no part
        assert _scores(result)["Global hit"] == pytest.approx(0.0)  # 1 x 1 - 1: nothing more
        assert _titles(result)[0] == "Latin Turkish"


def test_contributions_sum_to_the_score(art: Artifact) -> None:
    art.charted = sp.csr_matrix(STREAMS > 0)
    for expression in ("Colombia + 2 Turkey - 0.5 Germany", "Colombia x Mexico - Austria",
                       "(Colombia + Turkey) / Germany", "Colombia / Turkey",
                       "Colombia + Colombia", "-(Colombia x Turkey) + Turkey", "Japan / 2"):
        for popularity in (0.0, 0.3, 1.0):
            for discover in (False, True):
                result = recommend(art, expression, n=9, popularity=popularity,
                                   exclude_charting=discover)
                for song in result.songs:
                    total = sum(song.contributions.values())
                    assert total == pytest.approx(song.score, abs=1e-9), (expression, song)
    song = recommend(art, "Colombia + Turkey", n=1, popularity=1.0).songs[0]
    assert song.title == "Global hit"
    assert song.contributions == pytest.approx({"Colombia": 1.0, "Turkey": 1.0, WORLD: 0.0})


def test_match_is_between_0_and_100(art: Artifact) -> None:
    for expression in ("Colombia", "Colombia x Turkey - Germany", "Colombia / Turkey",
                       "2 Colombia - 3 Japan", "-Germany"):
        for popularity in (0.0, 0.5, 1.0):
            result = recommend(art, expression, n=9, popularity=popularity)
            assert all(0.0 <= s.match <= 100.0 for s in result.songs)
            best = upper_bound(parse(expression), 0.0, 1.0)
            for song in result.songs:
                expected = np.clip(100 * song.score / best, 0, 100) if best > 0 else 0.0
                assert song.match == pytest.approx(expected, abs=0.0501)  # one decimal


def test_division_is_finite_and_favours_what_the_denominator_lacks(art: Artifact) -> None:
    result = recommend(art, "Colombia / Turkey", n=9, popularity=1.0)
    assert len(result.songs) == 9
    assert all(np.isfinite(s.score) and 0.0 <= s.match <= 100.0 for s in result.songs)
    # Latin: 3/4 over 3/4 + Turkey's fill-in (at most 0.1) + the floor
    assert _titles(result)[:2] == ["Latin", "Latin mx"]
    assert 0.75 / 0.9 <= result.songs[0].score <= 0.75 / 0.8
    scores = _scores(result)
    assert scores["Latin Turkish"] == pytest.approx(0.5 / (0.5 + 0.5 + DIVISION_FLOOR))
    assert scores["Global hit"] == pytest.approx(1.0 / (2.0 + DIVISION_FLOOR))
    for song in result.songs:  # Turkey only ever takes away
        assert song.contributions["Turkey"] <= 0.0 <= song.contributions["Colombia"]
    same = _scores(recommend(art, "Colombia / Colombia", n=9, popularity=1.0))
    assert same["Latin"] == pytest.approx(0.75 / (1.5 + DIVISION_FLOOR))


def test_ties_are_broken_by_streams_then_column() -> None:
    n = 200
    rng = np.random.default_rng(7)
    streams = rng.permutation(n).astype(np.int64) // 2  # every stream count twice
    chart = np.zeros((2, n))
    chart[0] = 5000.0  # Colombia plays every song alike: all score 1
    chart[1, 0] = 5000.0
    art = _artifact(countries=COUNTRIES[:2], country_vectors=COUNTRY_VECTORS[:2],
                    song_vectors=rng.normal(size=(n, 4)), songs=_songs(n, streams),
                    streams=chart)
    result = recommend(art, "Colombia", n=10, popularity=1.0)
    order = np.lexsort((np.arange(n), -streams))[:10]
    assert [s.title for s in result.songs] == [f"Song {i}" for i in order]
    assert [s.score for s in result.songs] == pytest.approx([1.0] * 10)
    assert recommend(art, "Colombia", n=1, popularity=1.0).songs[0].title == f"Song {order[0]}"


def _oracle(art: Artifact, streams: np.ndarray, popularity: float) -> np.ndarray:
    """``Colombia + 2 Mexico - Germany`` by the spec, in plain numpy."""
    logs = np.log1p(streams / 1000.0)
    peak = logs.max(axis=1, keepdims=True)
    r = np.divide(logs, peak, out=np.zeros_like(logs), where=peak > 0)
    real = r.any(axis=1)
    world = r[real].mean(axis=0)
    estimate = _estimates(art).astype(np.float32).astype(np.float64)
    own = np.where(r > 0, r, tastes.FILL_IN * estimate)
    weight = 1 + 2 - 1  # the world weight: the expression with every country at 1
    return own[0] + 2 * own[1] - own[2] - (1 - popularity) * weight * world


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.5, 1.0]), st.integers(1, 30))
def test_the_ranking_matches_a_brute_force_oracle(seed: int, popularity: float, n: int) -> None:
    """Scores and order agree with float64 arithmetic and a full sort, ties included."""
    rng = np.random.default_rng(seed)
    streams = rng.choice([0.0, 0.0, 1000.0, 3000.0, 50_000.0], size=(len(COUNTRIES), 40))
    streams[:3, 0] = 1000.0  # the queried countries have data
    songs = rng.normal(size=(40, 3))
    songs[30:35] = songs[:5]  # duplicates tie in the model too
    song_streams = rng.integers(0, 5, 40)
    art = _artifact(country_vectors=rng.normal(size=(len(COUNTRIES), 3)), song_vectors=songs,
                    songs=_songs(40, song_streams), streams=streams)
    result = recommend(art, "Colombia + 2 Mexico - Germany", n=n, popularity=popularity)

    expected = _oracle(art, streams, popularity)
    got = np.array([s.score for s in result.songs])
    index = np.array([int(s.title.split()[1]) for s in result.songs])
    np.testing.assert_allclose(got, expected[index], atol=1e-9)
    np.testing.assert_allclose(got, np.sort(expected)[::-1][:n], atol=1.01e-6)
    rounded = np.round(got, engine.TIE_DECIMALS)
    for j in range(len(index) - 1):  # equal to 6 places: more streams, then lower column
        a, b = index[j], index[j + 1]
        assert rounded[j] >= rounded[j + 1]
        if rounded[j] == rounded[j + 1]:
            assert (song_streams[a], -a) > (song_streams[b], -b)
    ties = np.round(expected, engine.TIE_DECIMALS)
    cutoff = ties[index[-1]]
    if len(index) < 40:  # nothing left out beats or ties-and-wins against the last one
        out = np.setdiff1d(np.arange(40), index)
        assert (ties[out] <= cutoff).all()
        last = (song_streams[index[-1]], -index[-1])
        assert all((song_streams[o], -o) < last for o in out if ties[o] == cutoff)


_words = st.sampled_from(["Colombia", "mx", "Germany", "AT", "Türkiye", "Chile", "x", "*", "/",
                         "÷", "+", "-", "(", ")", "2", "0.5", "0", "1e300", "="])


@settings(max_examples=200, deadline=None)
@given(st.lists(_words, min_size=1, max_size=12), st.sampled_from([0.0, 0.5, 1.0]),
       st.booleans())
def test_any_expression_gives_finite_songs_or_a_dotify_error(words: list[str],
                                                              popularity: float,
                                                              with_streams: bool) -> None:
    art = _artifact(streams=STREAMS if with_streams else None)
    try:
        result = recommend(art, words, n=7, popularity=popularity)
    except DotifyError as error:
        assert str(error)
        return
    assert result.songs and all(np.isfinite(s.score) for s in result.songs)
    for song in result.songs:
        assert all(np.isfinite(v) for v in song.contributions.values())
        assert 0.0 <= song.match <= 100.0
        assert sum(song.contributions.values()) == pytest.approx(song.score, rel=1e-9,
                                                                 abs=1e-9)


def test_token_lists_and_strings_agree(art: Artifact) -> None:
    a = recommend(art, ["Colombia", "x", "Mexico", "-", "Germany", "="], n=5)
    b = recommend(art, "colombia X MX - DE", n=5)
    assert a.parsed == b.parsed == "Colombia * Mexico - Germany"
    assert a.songs == b.songs


def test_the_result_is_plain_json(art: Artifact) -> None:
    result = recommend(art, "Colombia + Turkey", n=2, popularity=0.0)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["expression"] == "Colombia + Turkey"
    assert data["parsed"] == "Colombia + Turkey"
    assert data["popularity"] == 0.0
    song = data["songs"][0]
    assert set(song) == {"rank", "title", "artists", "url", "uri", "score", "contributions",
                         "match"}
    assert set(song["contributions"]) == {"Colombia", "Turkey", WORLD}
    # Latin Turkish: (1/2 - 1/6) twice, over the bound 2
    assert song["title"] == "Latin Turkish" and song["match"] == pytest.approx(33.3)
    assert song["uri"] == f"spotify:track:{LATIN_TURKISH:022d}"
    assert song["url"] == f"https://open.spotify.com/track/{LATIN_TURKISH:022d}"


def test_track_uris_come_from_urls_or_keys() -> None:
    sid = "4uLU6hMCjMI75M1A2tKUQC"
    assert engine.track_uri(f"https://open.spotify.com/track/{sid}", "x") == f"spotify:track:{sid}"
    assert engine.track_uri("", sid) == f"spotify:track:{sid}"
    assert engine.track_uri("", f"spotify:track:{sid}") == f"spotify:track:{sid}"
    assert engine.track_uri("", "n:title|artist") == ""


def test_discover_leaves_out_what_already_charts_there(art: Artifact) -> None:
    art.charted = sp.csr_matrix(STREAMS > 0)
    for popularity in (0.0, 1.0):
        found = recommend(art, "Colombia + Turkey", n=9, exclude_charting=True,
                          popularity=popularity)
        assert {s.title for s in found.songs} == {"German", "German at", "J-pop", "Silent"}
        # the model's estimates alone, less (1 - popularity) times their mean over countries
        estimate = _estimates(art)
        leaf = estimate - (1 - popularity) * estimate[:6].mean(axis=0)
        expected = leaf[0] + leaf[4]
        for song in found.songs:
            assert song.score == pytest.approx(expected[TITLES.index(song.title)], abs=1e-6)
        assert [s.score for s in found.songs] == sorted((s.score for s in found.songs),
                                                        reverse=True)


def test_discover_without_a_charted_record_says_so() -> None:
    old = _artifact(streams=None)  # a model saved with neither streams nor a charted record
    with pytest.raises(DotifyError, match="no record of where songs charted"):
        recommend(old, "Colombia", exclude_charting=True)


def test_streams_are_a_record_of_where_songs_charted(art: Artifact) -> None:
    assert art.charted is not None
    np.testing.assert_array_equal(art.charted.toarray(), STREAMS > 0)


def test_date_window_without_dates_says_so(art: Artifact) -> None:
    with pytest.raises(DotifyError, match="no per-song chart dates"):
        recommend(art, "Colombia", since=date(2020, 1, 1))


def test_date_window_keeps_songs_charting_inside_it(tmp_path: Path) -> None:
    first = np.array(["2020-01-01", "2020-03-01", "2020-01-15", "2020-06-01", "2019-12-01",
                      "2020-02-01", "2020-01-01", "2020-07-01", "NaT"], dtype="datetime64[D]")
    last = np.array(["2020-01-31", "2020-03-31", "2020-05-01", "2020-06-30", "2019-12-31",
                     "2020-02-28", "2020-12-31", "2020-07-31", "NaT"], dtype="datetime64[D]")
    model = make_model("imf")
    model.country_factors, model.song_factors = COUNTRY_VECTORS, SONG_VECTORS
    art = store.load(store.save(model, COUNTRIES, _songs(9), tmp_path, streams=STREAMS,
                                song_dates=(first, last)).path)
    np.testing.assert_array_equal(art.song_first_date, first)

    def window(since: date | None, until: date | None) -> set[str]:
        return set(_titles(recommend(art, "Colombia", n=9, since=since, until=until)))

    assert window(date(2020, 3, 10), date(2020, 3, 20)) == {"Latin mx", "German",
                                                           "Global hit"}
    assert window(date(2020, 6, 1), None) == {"German at", "Global hit", "J-pop"}
    assert window(None, date(2019, 12, 31)) == {"Turkish"}
    assert "Silent" in window(None, None)  # no window: no filter
    assert "Silent" not in window(date(2000, 1, 1), None)  # unknown dates are outside any
    assert _titles(recommend(art, "Colombia", n=2, popularity=0.0,
                             since=date(2020, 2, 1))) == ["Latin Turkish", "Latin mx"]
    with pytest.raises(ValueError, match="one first and one last date per song"):
        store.save(model, COUNTRIES, _songs(9), tmp_path, song_dates=(first[:3], last))


def test_a_known_market_missing_from_the_model(art: Artifact) -> None:
    with pytest.raises(CountryNotInModelError) as caught:
        recommend(art, "Colombia + Chile")
    assert isinstance(caught.value, UnknownCountryError)
    assert "Chile is a known market but the current model has no vector" in str(caught.value)
    assert caught.value.suggestions == ["Colombia", "Mexico"]  # same region, in the model


def test_a_country_without_streams_cannot_be_queried(art: Artifact) -> None:
    for expression in ("South Korea", "Colombia x South Korea", "Colombia - KR"):
        with pytest.raises(DotifyError, match="South Korea has no data in this model"):
            recommend(art, expression)
    with pytest.raises(DotifyError, match="South Korea has no data"):
        similar(art, "KR")
    assert "kr" not in {c.code for c in similar(art, "Colombia", n=10)}


def test_bad_expressions_and_options(art: Artifact) -> None:
    with pytest.raises(UnknownCountryError, match="Did you mean Colombia"):
        recommend(art, "Colombai")
    with pytest.raises(ExpressionError, match="no country"):
        recommend(art, "2 * 3")
    with pytest.raises(ExpressionError, match="division by zero"):
        recommend(art, "Colombia / 0")
    with pytest.raises(ExpressionError, match="cannot divide a number by a country"):
        recommend(art, "2 / Colombia")
    with pytest.raises(ExpressionError, match="cannot add a number and a country"):
        recommend(art, "2 + Colombia")
    with pytest.raises(ValueError, match="n must be between 1 and 1000, not 0"):
        recommend(art, "Colombia", n=0)
    with pytest.raises(ExpressionError, match="(?s)Colombia - Colombia cancels out.*streams"):
        recommend(art, "Colombia - Colombia")
    with pytest.raises(ValueError, match="popularity must be between 0 and 1, not 1.5"):
        recommend(art, "Colombia", popularity=1.5)


def test_huge_weights_scale_the_scores_not_the_ranking(art: Artifact) -> None:
    huge = recommend(art, "1e300 Colombia + 1e300 Turkey", n=9)
    plain = recommend(art, "Colombia + Turkey", n=9)
    assert _titles(huge) == _titles(plain)
    assert [s.score for s in huge.songs] == pytest.approx([1e300 * s.score for s in plain.songs])
    assert [s.match for s in huge.songs] == [s.match for s in plain.songs]
    with pytest.raises(ExpressionError, match="overflows"):
        recommend(art, "1e300 Colombia x 1e300 Turkey")


def test_n_larger_than_the_catalogue(art: Artifact) -> None:
    assert len(recommend(art, "Colombia", n=100).songs) == len(TITLES)


def test_similar_countries_by_centred_chart_profiles(art: Artifact) -> None:
    found = similar(art, "Colombia", n=5)
    assert [c.code for c in found][:1] == ["mx"]
    assert found[0].name == "Mexico"
    assert {c.code for c in found} == {"mx", "de", "at", "tr", "jp"}
    assert [c.rank for c in found] == [1, 2, 3, 4, 5]
    centred = R[:6] - W
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    expected = {code: float(unit[0] @ unit[i]) for i, code in enumerate(COUNTRIES[:6])}
    for country in found:
        assert country.similarity == pytest.approx(expected[country.code], abs=1e-9)
    assert [c.similarity for c in found] == sorted((c.similarity for c in found), reverse=True)
    assert similar(art, "Germany", n=1)[0].code == "at"
    assert similar(art, "Turkey", n=1)[0].code == "co"  # the one who shares a song with it


def test_taste_vectors_give_the_same_cosines(art: Artifact) -> None:
    codes, vectors = engine.taste_vectors(art)
    assert list(codes) == list(COUNTRIES[:6])  # kr has no data
    centred = R[:6] - W
    np.testing.assert_allclose(vectors @ vectors.T, centred @ centred.T, atol=1e-9)


def test_similar_leaves_out_the_global_chart() -> None:
    art = _artifact(countries=np.array(["co", "mx", "de", "at", "global"]),
                    country_vectors=COUNTRY_VECTORS[:5], streams=STREAMS[:5])
    assert "global" not in {c.code for c in similar(art, "Germany", n=10)}
    with pytest.raises(DotifyError, match="Global"):  # no country: not in the world's taste
        similar(art, "World", n=1)


def test_top_is_the_country_on_its_own(art: Artifact) -> None:
    assert top(art, "Turkey", n=3, popularity=0.0).songs == \
        recommend(art, "Turkey", n=3, popularity=0.0).songs
    assert _titles(top(art, "TR", n=2, popularity=0.0)) == ["Turkish", "Latin Turkish"]


def test_prepared_tastes_are_cached_per_artifact(art: Artifact) -> None:
    first = engine._prepare(art)
    assert engine._prepare(art) is first
    other = _artifact()
    assert engine._prepare(other) is not first
    art.model.song_factors = SONG_VECTORS[::-1].copy()  # a new model in the same object
    assert engine._prepare(art) is not first


def test_warm_ranks_every_country_with_data_before_any_query(art: Artifact) -> None:
    engine.warm(art)
    tastes = engine._prepare(art).tastes
    # kr has a vector but no charts: nothing to rank for it, and no query can name it
    assert sorted(tastes._ranked) == [tastes.rows[c] for c in ("co", "mx", "de", "at", "tr", "jp")]
    cold = _artifact()
    for expression in ("Colombia", "Germany x Austria - Japan", "Turkey / Mexico"):
        assert recommend(art, expression, n=9) == recommend(cold, expression, n=9)


def test_without_streams_the_model_answers_alone() -> None:
    """An older artifact, saved without streams: every leaf is the model's estimate."""
    art = _artifact(streams=None)
    # Colombia's model scores: Latin 1, Latin mx 0.8, Latin Turkish 0.7, Global hit 0.6,
    # five songs at 0 (sharing rank 5 of 9)
    hits = recommend(art, "Colombia", n=5, popularity=1.0)
    assert _titles(hits)[:4] == ["Latin", "Latin mx", "Latin Turkish", "Global hit"]
    assert [s.score for s in hits.songs] == pytest.approx(
        [1.0, (8 / 9) ** 4, (7 / 9) ** 4, (6 / 9) ** 4, (5 / 9) ** 4], rel=1e-6)
    assert hits.songs[0].match == 100.0
    assert "South Korea" in recommend(art, "South Korea x Colombia", n=1).songs[0].contributions
    local = recommend(art, "Colombia", n=9, popularity=0.0)
    world = _estimates(art)[:7].mean(axis=0)
    for song in local.songs:
        assert song.contributions[WORLD] == pytest.approx(-world[TITLES.index(song.title)],
                                                          rel=1e-6)
    assert similar(art, "Germany", n=1)[0].code == "at"  # by the model's vectors


def test_streams_survive_save_and_load(tmp_path: Path) -> None:
    model = make_model("imf")
    model.country_factors, model.song_factors = COUNTRY_VECTORS, SONG_VECTORS
    saved = store.save(model, COUNTRIES, _songs(9), tmp_path, streams=STREAMS)
    loaded = store.load(saved.path)
    assert loaded.streams is not None
    np.testing.assert_array_equal(loaded.streams.toarray(), STREAMS)
    np.testing.assert_array_equal(loaded.charted.toarray(), STREAMS > 0)  # implied
    for expression in ("Colombia", "Colombia x Turkey - Germany", "Colombia / Turkey"):
        for popularity in (0.0, 0.5, 1.0):
            for discover in (False, True):
                a, b = (recommend(x, expression, n=9, popularity=popularity,
                                  exclude_charting=discover) for x in (saved, loaded))
                assert a.songs == b.songs
    assert similar(saved, "Colombia") == similar(loaded, "Colombia")
    with pytest.raises(ValueError, match="streams must be a countries x songs matrix"):
        store.save(model, COUNTRIES, _songs(9), tmp_path, streams=STREAMS[:, :3])


@pytest.mark.parametrize("kind", ["imf", "net1", "spark-als", "random", "popularity"])
def test_every_model_kind_answers_after_save_and_load(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    f = 1 if kind == "popularity" else 4
    model = make_model(kind, **({} if kind == "popularity" else {"factors": f}))
    model.country_factors = rng.normal(size=(len(COUNTRIES), f)).astype(np.float32)
    model.song_factors = rng.normal(size=(50, f)).astype(np.float32)
    model.load_state({})  # a network builds its layers around the factors set here
    streams = rng.choice([0.0, 2000.0, 9000.0], size=(len(COUNTRIES), 50))
    for chart in (None, streams):
        saved = store.save(model, COUNTRIES, _songs(50), tmp_path, streams=chart)
        loaded = store.load(saved.path)
        expression = "Colombia x Turkey - Germany" if f > 1 else "Colombia + 2 Turkey"
        a = recommend(saved, expression, n=10)
        b = recommend(loaded, expression, n=10)
        assert a.songs == b.songs and len(a.songs) == 10
        scores = [s.score for s in a.songs]
        assert scores == sorted(scores, reverse=True)
        assert all(np.isfinite(scores))


# ---------------------------------------------------------------- on simulated charts


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Artifact, dict[str, str]]:
    """A week of simulated charts for 55 markets, ingested and factorized by IMF;
    (artifact, the planted cluster of each song key and of each market code)."""
    from tests._planted import simulated_home

    _, ratings, truth = simulated_home(tmp_path_factory.mktemp("simulated"), days=7)
    model = make_model("imf").fit(ratings)
    clusters = {key: truth["songs"][key]["cluster"] for key in ratings.songs.keys}
    clusters |= truth["markets"]
    return Artifact(model, ratings.countries, ratings.songs, {}, None, ratings.matrix), clusters


def _clusters(result: engine.Recommendation, clusters: dict[str, str]) -> list[str]:
    return [clusters[s.uri.rsplit(":", 1)[1]] for s in result.songs]


@pytest.mark.slow
def test_simulated_latin_markets_give_latin_songs(simulated) -> None:
    art, clusters = simulated
    found = _clusters(recommend(art, "Mexico + Argentina", n=10), clusters)
    assert found.count("latin") >= 9, found
    near = similar(art, "Colombia", n=3)
    assert len(near) == 3
    assert all(clusters[m.code] == "latin" for m in near), near


@pytest.mark.slow
def test_simulated_subtracting_a_cluster_lowers_its_songs(simulated) -> None:
    art, clusters = simulated
    both = _clusters(recommend(art, "Mexico + United States", n=20), clusters)
    less = _clusters(recommend(art, "Mexico + United States - Canada", n=20), clusters)
    assert both.count("anglo") >= 5, both
    assert less.count("anglo") < both.count("anglo") // 2, less
    assert less.count("latin") > both.count("latin")


@pytest.mark.parametrize("expression", [
    "Colombia - Colombia", "0 x Colombia", "2 Colombia - Colombia - Colombia",
    "(Colombia + Turkey) - (Turkey + Colombia)", "Colombia x Turkey - Turkey x Colombia",
    "-Colombia x Turkey",  # the product of what both play: -Colombia plays nothing
    "Colombia - 0.9999999 Colombia",  # 0 to the places that ties are judged to
])
def test_an_expression_that_is_0_for_every_song_is_an_error(art: Artifact,
                                                              expression: str) -> None:
    """Its every song would tie at 0: a list of them would be the tie-break by streams alone,
    the world's hits, whatever was asked."""
    assert cancels_out(parse(expression))
    for discover in (False, True):
        with pytest.raises(ExpressionError, match="cancels out"):
            recommend(art, expression, exclude_charting=discover)


@pytest.mark.parametrize("expression", [
    "-Germany", "Colombia - 0.5 Colombia", "Colombia x Turkey - Colombia", "Colombia / Turkey",
])
def test_an_expression_that_only_takes_away_still_ranks(art: Artifact, expression: str) -> None:
    """-Germany is not 0: it ranks what Germany plays least; and a product less one of its
    factors is 0 or below, not 0 everywhere."""
    assert not cancels_out(parse(expression))
    scores = [song.score for song in recommend(art, expression, n=9).songs]
    assert len(scores) == 9 and len({round(x, 6) for x in scores}) > 1
