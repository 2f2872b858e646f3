"""The shortlist gives the answer of scoring every song, song for song, ties included.

Every query is asked twice: as the engine answers it (from a shortlist whenever one is
shown to hold the top n) and with the shortlist turned off (every song scored, the engine
as it was before shortlists). The answers must be equal: the same songs in the same order
with the same scores, parts and matches, or the same error. The shortlist is tried with its
own settings and with looser ones (longer shortlists, shallower first depth), so that its
deepening and its give-up are both exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dotify.artifact import Artifact
from dotify.countries import MARKETS
from dotify.errors import DotifyError
from dotify.learn.ratings import Songs
from dotify.models import make_model
from dotify.query import ranking, tastes
from dotify.query import recommend as engine
from dotify.query.arithmetic import parse
from tests._planted import planted

# (KEPT_SHARE, FIRST_SHARE): the engine's own, then shortlists of up to half and all songs
# that start at n songs a country
SETTINGS = [(tastes.KEPT_SHARE, ranking.FIRST_SHARE), (2, 10**9), (1, 10**9)]

EXPRESSIONS = [
    "Colombia", "Germany", "Japan", "Colombia + Mexico", "Colombia x Mexico",
    "Colombia x Germany", "Colombia - Germany", "Germany - Colombia", "Colombia / Germany",
    "Colombia / Mexico", "2 Colombia - 0.5 Japan", "Colombia x Japan - Germany",
    "(Colombia + Mexico) / Japan", "-Colombia", "Colombia + Colombia", "Colombia x Colombia",
    "0.5 (Argentina x Brazil) + Japan / Germany", "Japan x South Korea x Taiwan",
    "Colombia - Mexico - Peru", "-(Germany - Austria)", "Colombia / 3", "Colombia x 0",
    "Colombia / (Mexico x Peru)", "3 Sweden + Norway - 2 Denmark x Finland",
    "1e300 Colombia + 1e300 Japan", "1e300 Colombia x 1e300 Japan",
]


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Count the queries a shortlist answered and those it gave up on."""
    counts = {"shortlist": 0, "every song": 0}
    real = engine.shortlisted

    def counted(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        counts["every song" if found is None else "shortlist"] += 1
        return found

    monkeypatch.setattr(engine, "shortlisted", counted)
    yield counts


def _loosen(monkeypatch: pytest.MonkeyPatch, share: int, first: int) -> None:
    monkeypatch.setattr(tastes, "KEPT_SHARE", share)
    monkeypatch.setattr(ranking, "KEPT_SHARE", share)
    monkeypatch.setattr(ranking, "FIRST_SHARE", first)


def _both(art: Artifact, expression: str, monkeypatch: pytest.MonkeyPatch,
          **options: Any) -> tuple[Any, Any]:
    """(the engine's answer, the answer from every song): each a Recommendation or the
    (type, message) of its error."""
    def ask() -> Any:
        try:
            return engine.recommend(art, expression, **options)
        except (DotifyError, ValueError) as error:
            return type(error), str(error)

    fast = ask()
    with monkeypatch.context() as patch:
        patch.setattr(engine, "shortlisted", lambda *_, **__: None)
        full = ask()
    return fast, full


def _planted_artifact(seed: int = 0, pool: int = 400, ties: bool = True) -> Artifact:
    """Four blocks of six countries, each charting 40 songs of its block's pool and ten
    global hits; vectors planted by block with noise. With ``ties``, a third of the songs
    share one vector, many songs share their stream counts, and pairs of songs chart alike."""
    codes, rows, cols, streams, block = planted(pool=pool, charted=40, seed=seed)
    rng = np.random.default_rng(seed)
    n_songs = 10 + 4 * pool
    if ties:
        streams = np.where(rng.random(len(streams)) < 0.3, 5000, streams)
    matrix = sp.csr_matrix((streams.astype(np.float64), (rows, cols)),
                           shape=(len(codes), n_songs))
    song_block = np.r_[np.full(10, -1), np.repeat(np.arange(4), pool)]
    songs = 0.3 * rng.normal(size=(n_songs, 6))
    songs[song_block >= 0, song_block[song_block >= 0]] += 1.0
    songs[:10, :4] += 0.7
    countries = 0.3 * rng.normal(size=(len(codes), 6))
    countries[np.arange(len(codes)), block] += 1.0
    if ties:
        songs[rng.random(n_songs) < 0.33] = songs[0] * 0.0  # a third tie in every estimate
    model = make_model("imf", factors=6)
    model.country_factors = countries.astype(np.float32)
    model.song_factors = songs.astype(np.float32)
    total = np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64)
    if ties:
        total = total // 20_000 * 20_000  # equal stream counts: ties go to the lower column
    meta = Songs(np.array([f"{j:022d}" for j in range(n_songs)]),
                 np.array([f"Song {j}" for j in range(n_songs)]),
                 np.array([f"Artist {j % 17}" for j in range(n_songs)]),
                 np.array([f"https://open.spotify.com/track/{j:022d}" for j in range(n_songs)]),
                 total)
    first = np.datetime64("2020-01-01") + rng.integers(0, 300, n_songs).astype("timedelta64[D]")
    art = Artifact(model, codes, meta, {"version": f"planted-{seed}"}, streams=matrix)
    art.song_first_date, art.song_last_date = first, first + 30
    return art


def test_the_shortlist_answers_as_every_song_does(monkeypatch: pytest.MonkeyPatch,
                                                  answers: dict[str, int]) -> None:
    _loosen(monkeypatch, 2, 10**9)
    art = _planted_artifact()
    for expression in EXPRESSIONS:
        for popularity, discover, n in ((0.0, False, 10), (1.0, True, 200), (0.5, True, 1),
                                        (0.5, False, 37)):
            fast, full = _both(art, expression, monkeypatch, n=n, popularity=popularity,
                               exclude_charting=discover)
            assert fast == full, (expression, popularity, discover, n)
    assert answers["shortlist"] > 2 * answers["every song"], answers


@pytest.mark.slow
@pytest.mark.parametrize(("share", "first"), SETTINGS)
def test_the_shortlist_answers_as_every_song_does_everywhere(
        share: int, first: int, monkeypatch: pytest.MonkeyPatch,
        answers: dict[str, int]) -> None:
    _loosen(monkeypatch, share, first)
    art = _planted_artifact()
    for expression in EXPRESSIONS:
        for popularity in (0.0, 0.5, 1.0):
            for discover in (False, True):
                for n in (1, 10, 37, 200):
                    fast, full = _both(art, expression, monkeypatch, n=n,
                                       popularity=popularity, exclude_charting=discover)
                    assert fast == full, (expression, popularity, discover, n)
    if share < tastes.KEPT_SHARE:  # looser shortlists answer most queries
        assert answers["shortlist"] > 2 * answers["every song"], answers
    else:  # the engine's own: shortlists of up to 1/5 of 1,610 songs answer some
        assert answers["shortlist"] > 0, answers


@pytest.mark.parametrize(("share", "first"), SETTINGS[1:])
def test_the_shortlist_keeps_the_date_window(share: int, first: int,
                                             monkeypatch: pytest.MonkeyPatch,
                                             answers: dict[str, int]) -> None:
    _loosen(monkeypatch, share, first)
    art = _planted_artifact(seed=1)
    for since, until in ((date(2020, 3, 1), None), (None, date(2020, 2, 1)),
                         (date(2020, 5, 1), date(2020, 5, 3)), (date(2030, 1, 1), None)):
        for expression in ("Colombia", "Colombia x Germany - Japan", "Japan / Colombia"):
            for discover in (False, True):
                fast, full = _both(art, expression, monkeypatch, n=25, since=since,
                                   until=until, exclude_charting=discover)
                assert fast == full, (expression, since, until, discover)
    assert answers["shortlist"] > 0


def test_without_ties_too(monkeypatch: pytest.MonkeyPatch) -> None:
    _loosen(monkeypatch, 2, 10**9)
    art = _planted_artifact(seed=2, ties=False)
    for expression in ("Colombia", "Colombia x Germany", "Colombia / Mexico - Japan"):
        for popularity in (0.0, 0.5, 1.0):
            for discover in (False, True):
                fast, full = _both(art, expression, monkeypatch, n=50,
                                   popularity=popularity, exclude_charting=discover)
                assert fast == full


_CODES = ["co", "mx", "de", "jp", "kr", "br"]
_terms = st.sampled_from(["Colombia", "Mexico", "Germany", "Japan", "South Korea", "Brazil",
                          "2", "0.5", "3"])
_ops = st.sampled_from(["+", "-", "x", "/"])


@st.composite
def _expressions(draw: st.DrawFn) -> str:
    words = [draw(st.sampled_from(["Colombia", "Mexico", "Germany", "Japan"]))]
    for _ in range(draw(st.integers(0, 3))):
        op = draw(_ops)
        term = draw(_terms)
        if op in "+-" and term[0].isdigit():
            term = f"{term} {draw(st.sampled_from(['Brazil', 'Japan']))}"
        words += [op, term]
    if draw(st.booleans()):
        words = ["-", "(", *words, ")"] if draw(st.booleans()) else ["(", *words, ")", "/", "2"]
    return " ".join(words)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), _expressions(), st.sampled_from([0.0, 0.5, 1.0]),
       st.booleans(), st.integers(1, 120), st.sampled_from(SETTINGS))
def test_random_models_and_expressions(seed: int, expression: str, popularity: float,
                                       discover: bool, n: int, setting: tuple[int, int]) -> None:
    """Random vectors and charts, many songs tied in the model, in the charts and in streams."""
    rng = np.random.default_rng(seed)
    n_songs = 400
    with pytest.MonkeyPatch.context() as patch:
        _loosen(patch, *setting)
        songs = rng.normal(size=(n_songs, 3))
        songs[rng.random(n_songs) < 0.3] = 0.0
        songs[200:260] = songs[:60]
        streams = rng.choice([0.0, 0.0, 0.0, 0.0, 1000.0, 3000.0, 50_000.0],
                             size=(len(_CODES), n_songs))
        streams[:, 0] = 1000.0  # every country has data
        model = make_model("imf", factors=3)
        model.country_factors = rng.normal(size=(len(_CODES), 3)).astype(np.float32)
        model.song_factors = songs.astype(np.float32)
        meta = Songs(np.array([f"{j:022d}" for j in range(n_songs)]),
                     np.array([f"Song {j}" for j in range(n_songs)]),
                     np.array(["A"] * n_songs), np.array([""] * n_songs),
                     rng.integers(0, 4, n_songs))
        art = Artifact(model, np.array(_CODES), meta, {}, streams=sp.csr_matrix(streams))
        fast, full = _both(art, expression, patch, n=n, popularity=popularity,
                           exclude_charting=discover)
        assert fast == full, (expression, popularity, discover, n)


def test_a_model_without_streams(monkeypatch: pytest.MonkeyPatch,
                                 answers: dict[str, int]) -> None:
    _loosen(monkeypatch, 2, 10**9)
    art = _planted_artifact(seed=3)
    art.streams, art.charted = None, None
    for expression in ("Colombia", "Colombia x Germany - Japan", "Colombia + 2 Japan"):
        for popularity in (0.0, 1.0):
            fast, full = _both(art, expression, monkeypatch, n=30, popularity=popularity)
            assert fast == full
    assert answers["shortlist"] > 0


def test_errors_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    _loosen(monkeypatch, 2, 10**9)
    art = _planted_artifact(seed=4)
    bare = _planted_artifact(seed=4)
    bare.charted, bare.song_first_date, bare.song_last_date = None, None, None
    bare.streams = None
    for model in (art, bare):
        for expression in ("2 * 3", "Colombia + 2", "2 / Colombia", "Colombia / 0", "Chile",
                           "1e300 Colombia x 1e300 Japan x 1e300 Germany", "Colombai",
                           "(1e308 Colombia - 1e308 Japan) x 10", "Colombia + 2 Japan"):
            for options in ({}, {"exclude_charting": True}, {"since": date(2020, 1, 1)},
                            {"exclude_charting": True, "until": date(2020, 1, 1)}):
                fast, full = _both(model, expression, monkeypatch, n=5, **options)
                assert fast == full, (expression, options)


def test_a_song_left_out_that_ties_once_rounded_still_wins() -> None:
    """Colombia charts a song at a profile 4e-7 above the 0.1 at which the model fills in
    its best uncharted song: the two tie at TIE_DECIMALS places, and the uncharted one, with
    more streams, must come first though it is outside the first shortlist (Colombia's
    charts), whose bound 0.1 is below the charted song's score."""
    n_songs, best_uncharted, close = 50, 7, 1
    streams = np.zeros((2, n_songs))
    peak = 1000.0 * np.expm1(1.0)  # a profile of 1 is log1p(peak / 1000) = 1
    streams[0, [0, close]] = peak, 1000.0 * np.expm1(0.1000004)
    streams[1, 2] = 5000.0
    songs = np.zeros((n_songs, 2))
    songs[:, 1] = np.linspace(0.0, 1.0, n_songs)
    songs[best_uncharted] = [2.0, 0.0]  # Colombia's model likes it most: estimate 1
    model = make_model("imf", factors=2)
    model.country_factors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    model.song_factors = songs.astype(np.float32)
    meta = Songs(np.array([f"{j:022d}" for j in range(n_songs)]),
                 np.array([f"Song {j}" for j in range(n_songs)]),
                 np.array(["A"] * n_songs), np.array([""] * n_songs),
                 np.where(np.arange(n_songs) == best_uncharted, 100, 1))
    art = Artifact(model, np.array(["co", "mx"]), meta, {}, streams=sp.csr_matrix(streams))
    got = engine.recommend(art, "Colombia", n=2, popularity=1.0)
    assert [s.title for s in got.songs] == ["Song 0", f"Song {best_uncharted}"]
    assert got.songs[1].score == pytest.approx(0.1)
    with pytest.MonkeyPatch.context() as patch:
        fast, full = _both(art, "Colombia", patch, n=2, popularity=1.0)
        assert fast == full == got


def test_a_near_tie_found_early_is_kept_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a made-up query (Colombia's estimates less a made-up world), the first shortlist
    finds a song 4e-7 below its second best; it is not shown to hold the top 2 and the next
    one adds only songs that score 0; the song below, with more streams, ties once rounded
    and must come second."""
    monkeypatch.setattr(ranking, "FIRST_SHARE", 333)  # a first shortlist of 3 songs
    n_songs, k_song, x_song = 1000, 998, 997
    model_tastes = tastes.Tastes.build(np.array(["co"]),
                                       lambda rows: np.tile(np.arange(n_songs, dtype=float),
                                                            (len(rows), 1)),
                                       n_songs, None, np.array([True]))
    estimate = model_tastes.ranked(0)[0].astype(np.float64)
    world = estimate.copy()  # every song scores 0...
    world[n_songs - 1] = 0.0  # ...but the best (1), and these two (one 4e-7 above the other)
    world[k_song], world[x_song] = estimate[k_song] - 0.5000004, estimate[x_song] - 0.5
    streams = np.ones(n_songs, dtype=np.int64)
    streams[x_song] = 9

    def scores(columns: np.ndarray) -> np.ndarray:
        return estimate[columns] - world[columns]

    found = ranking.shortlisted(model_tastes, parse("Colombia"), {"co": 0}, True, 2, scores,
                                streams)
    assert found is not None
    every = scores(np.arange(n_songs))
    expected = ranking.best(every, 2, streams, n_songs)
    np.testing.assert_array_equal(expected, [n_songs - 1, x_song])
    np.testing.assert_array_equal(found[0], expected)
    np.testing.assert_array_equal(found[1], every[expected])


@pytest.mark.slow
def test_a_big_catalogue_is_answered_from_shortlists(answers: dict[str, int]) -> None:
    """At the engine's own settings, 40 countries x 200,000 songs are answered from
    shortlists; the answers are those of every song."""
    rng = np.random.default_rng(5)
    codes = ["co", "tr", "de", "jp", "mx", *[c for c in MARKETS if c not in
                                             ("co", "tr", "de", "jp", "mx", "global")][:35]]
    n_songs = 200_000
    model = make_model("imf", factors=8)
    model.country_factors = rng.normal(size=(len(codes), 8)).astype(np.float32)
    model.song_factors = rng.normal(scale=0.1, size=(n_songs, 8)).astype(np.float32)
    rows = np.repeat(np.arange(len(codes)), 1000)
    streams = sp.csr_matrix((rng.lognormal(12, 1.5, len(rows)),
                             (rows, rng.integers(0, n_songs, len(rows)))),
                            shape=(len(codes), n_songs))
    ids = np.array([f"{j:022d}" for j in range(n_songs)])
    meta = Songs(ids, ids, ids, np.full(n_songs, ""),
                 np.asarray(streams.sum(axis=0)).ravel().astype(np.int64))
    art = Artifact(model, np.array(codes), meta, {}, streams=streams)
    with pytest.MonkeyPatch.context() as patch:
        for expression, options in (("Colombia", {}), ("Colombia", {"popularity": 0.0}),
                                    ("Colombia x Turkey - Germany", {}),
                                    ("Colombia + Turkey", {"exclude_charting": True}),
                                    ("Japan x Mexico", {"exclude_charting": True,
                                                        "popularity": 1.0})):
            fast, full = _both(art, expression, patch, n=20, **options)
            assert fast == full, expression
    assert answers == {"shortlist": 5, "every song": 0}
