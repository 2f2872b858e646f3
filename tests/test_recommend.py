"""The recommendation engine on hand-made vectors whose answers are known."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

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
from dotify.query.recommend import recommend, similar, top

COUNTRIES = np.array(["co", "mx", "de", "at", "tr", "jp", "kr", "tw", "hk", "id"])
# axis 0: Latin, 1: German-speaking, 2: Turkish, 3: a little of everything; the five Asian
# markets mirror the first five, so the world's mean taste is zero and centring changes nothing
_FIVE = np.array([
    [1.0, 0.0, 0.0, 0.0],
    [0.9, 0.0, 0.0, 0.3],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.9, 0.0, 0.3],
    [0.0, 0.0, 1.0, 0.0],
], dtype=np.float32)
COUNTRY_VECTORS = np.vstack([_FIVE, -_FIVE])
s3 = 1 / np.sqrt(3)
SONG_VECTORS = np.array([
    [1.0, 0.0, 0.0, 0.0],  # 0 latin
    [0.5, 0.0, 0.0, 0.0],  # 1 latin, shorter: ties with 0 at popularity 0
    [0.0, 1.0, 0.0, 0.0],  # 2 german
    [0.0, 0.0, 1.0, 0.0],  # 3 turkish
    [0.7, 0.0, 0.7, 0.0],  # 4 latin + turkish
    [3 * s3, 3 * s3, 3 * s3, 0.0],  # 5 the global hit: long, between all three
    [0.0, 0.0, 0.0, 0.0],  # 6 a song with no vector
], dtype=np.float32)
TITLES = ["Latin", "Latin short", "German", "Turkish", "Latin Turkish", "Global hit", "Silent"]


def _songs(n: int, streams: np.ndarray | None = None) -> Songs:
    ids = [f"{i:022d}" for i in range(n)]
    return Songs(
        keys=np.array(ids),
        titles=np.array(TITLES if n == len(TITLES) else [f"Song {i}" for i in range(n)]),
        artists=np.array([f"Artist {i}" for i in range(n)]),
        urls=np.array([f"https://open.spotify.com/track/{i}" for i in ids]),
        streams=np.arange(n, 0, -1, dtype=np.int64) * 10 if streams is None else streams,
    )


def _artifact(kind: str = "imf", countries: np.ndarray = COUNTRIES,
              country_vectors: np.ndarray = COUNTRY_VECTORS,
              song_vectors: np.ndarray = SONG_VECTORS, songs: Songs | None = None,
              charted: sp.csr_matrix | None = None) -> Artifact:
    model = make_model(kind)
    model.country_factors = np.asarray(country_vectors, dtype=np.float32)
    model.song_factors = np.asarray(song_vectors, dtype=np.float32)
    songs = songs or _songs(len(song_vectors))
    return Artifact(model, countries, songs, {"version": "test"}, None, charted)


@pytest.fixture
def art() -> Artifact:
    return _artifact()


def _titles(result: engine.Recommendation) -> list[str]:
    return [s.title for s in result.songs]


def test_a_country_gets_its_own_songs_first(art: Artifact) -> None:
    result = recommend(art, "Colombia", n=3, popularity=0.0)
    assert _titles(result)[:2] == ["Latin", "Latin short"]  # equal cosine: more streams first
    assert result.songs[0].score == pytest.approx(1.0, abs=1e-6)
    assert [s.rank for s in result.songs] == [1, 2, 3]


def test_sum_of_two_countries_favours_the_songs_they_share(art: Artifact) -> None:
    result = recommend(art, "Colombia + Turkey", n=3, popularity=0.0)
    assert result.parsed == "Colombia + Turkey"
    assert result.songs[0].title == "Latin Turkish"
    assert result.songs[0].score == pytest.approx(1.0, abs=1e-6)


def test_every_term_counts(art: Artifact) -> None:
    two = recommend(art, "Colombia + Turkey", n=7, popularity=0.0)
    three = recommend(art, "Colombia + Turkey + Germany", n=7, popularity=0.0)
    assert three.songs[0].title == "Global hit"  # only all three together point at it
    assert three.songs[0].contributions["Germany"] > 0
    assert _titles(two).index("German") > _titles(three).index("German")


def test_subtracting_a_country_lowers_its_songs(art: Artifact) -> None:
    plain = {s.title: s.score for s in recommend(art, "Colombia + Germany", n=7).songs}
    minus = {s.title: s.score for s in recommend(art, "Colombia - Germany", n=7).songs}
    assert minus["German"] < 0 < plain["German"]
    assert minus["Latin"] > minus["Global hit"]


def test_popularity_moves_from_direction_to_length(art: Artifact) -> None:
    local = recommend(art, "Colombia", n=7, popularity=0.0)
    hits = recommend(art, "Colombia", n=7, popularity=1.0)
    assert local.songs[0].title == "Latin"
    assert hits.songs[0].title == "Global hit"
    by_title = {s.title: s.score for s in hits.songs}
    assert by_title["Global hit"] == pytest.approx(3 * s3, rel=1e-5)  # projection on the query


def test_the_worlds_shared_taste_is_taken_out_at_low_popularity() -> None:
    """Country vectors that all share one strong direction (what IMF with little
    regularization learns): popularity 0 finds each country's own songs, 1 the shared hits."""
    common = np.array([0.0, 0.0, 0.0, 3.0])
    own = np.array([[1, 0, 0, 0], [1, 0.2, 0, 0], [0, 1, 0, 0], [0, 1, 0.2, 0], [0, 0, 1, 0]])
    art = _artifact(countries=COUNTRIES[:5], country_vectors=common + own)
    songs = [s.title for s in top(art, "Colombia", n=7, popularity=0.0).songs]
    assert songs[0] == "Latin" and songs.index("Global hit") > 2
    assert top(art, "Colombia", n=1, popularity=1.0).songs[0].title == "Global hit"
    assert similar(art, "Colombia", n=1)[0].code == "mx"
    assert similar(art, "Germany", n=1)[0].code == "at"


def test_contributions_sum_to_the_score(art: Artifact) -> None:
    for expression in ("Colombia + 2 Turkey - 0.5 Germany", "Colombia x Mexico - Austria",
                       "(Colombia + Turkey) / Germany", "Colombia + Colombia"):
        for song in recommend(art, expression, n=7, popularity=0.3).songs:
            assert sum(song.contributions.values()) == pytest.approx(song.score, abs=1e-5)
    song = recommend(art, "Colombia + Turkey", n=1, popularity=0.0).songs[0]
    assert song.contributions == pytest.approx({"Colombia": 0.5, "Turkey": 0.5}, abs=1e-5)


def test_division_by_zero_components_gives_finite_scores(art: Artifact) -> None:
    result = recommend(art, "Colombia / Turkey", n=7)  # Turkey is zero on three axes
    assert len(result.songs) == 7
    assert all(np.isfinite(s.score) for s in result.songs)
    assert all(np.isfinite(v) for s in result.songs for v in s.contributions.values())
    assert result.songs[0].title in {"Latin", "Latin short"}


def test_ties_are_broken_by_streams_then_vector_length() -> None:
    n = 200
    rng = np.random.default_rng(7)
    streams = rng.permutation(n).astype(np.int64) // 2  # every stream count twice
    lengths = rng.uniform(0.5, 2.0, n)
    vectors = np.zeros((n, 4), np.float32)
    vectors[:, 0] = lengths  # all parallel: equal cosine for every song
    art = _artifact(song_vectors=vectors, songs=_songs(n, streams))
    result = recommend(art, "Colombia", n=10, popularity=0.0)
    order = np.lexsort((-lengths, -streams))[:10]
    assert [s.title for s in result.songs] == [f"Song {i}" for i in order]
    again = recommend(art, "Colombia", n=1, popularity=0.0)
    assert again.songs[0].title == f"Song {order[0]}"


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.5, 1.0]), st.integers(1, 30))
def test_the_ranking_matches_a_brute_force_oracle(seed: int, popularity: float, n: int) -> None:
    """Scores and order agree with float64 arithmetic and a full sort, ties included."""
    rng = np.random.default_rng(seed)
    countries = rng.normal(size=(len(COUNTRIES), 3))
    songs = rng.normal(size=(40, 3))
    songs[20:30] = songs[:10] * rng.choice([0.5, 2.0, 4.0], (10, 1))  # exactly parallel:
    songs[30:35] = songs[:5]  # tied at popularity 0; duplicates tie at any popularity
    streams = rng.integers(0, 5, 40)
    art = _artifact(country_vectors=countries, song_vectors=songs, songs=_songs(40, streams))
    result = recommend(art, "Colombia + 2 Mexico - Germany", n=n, popularity=popularity)

    countries = countries.astype(np.float32).astype(np.float64)  # as the model stores them
    unit = countries / np.linalg.norm(countries, axis=1, keepdims=True)
    taste = unit - (1 - popularity) * unit.mean(axis=0)  # less the world's mean taste
    q = taste[0] + 2 * taste[1] - taste[2]
    y = songs.astype(np.float32).astype(np.float64)
    norms = np.linalg.norm(y, axis=1)
    expected = (y @ q) / (np.linalg.norm(q) * norms ** (1 - popularity))
    got = np.array([s.score for s in result.songs])
    index = np.array([int(s.title.split()[1]) for s in result.songs])
    np.testing.assert_allclose(got, expected[index], atol=1e-9)
    # the best n up to the 6-decimal ties, whose order streams and lengths decide
    np.testing.assert_allclose(got, np.sort(expected)[::-1][:n], atol=1.01e-6)
    rounded = np.round(got, engine.TIE_DECIMALS)
    for j in range(len(index) - 1):  # equal to 6 places: more streams, then longer, first
        a, b = index[j], index[j + 1]
        assert rounded[j] >= rounded[j + 1]
        if rounded[j] == rounded[j + 1]:
            assert (streams[a], norms[a], -a) > (streams[b], norms[b], -b)
    ties = np.round(expected, engine.TIE_DECIMALS)
    cutoff = ties[index[-1]]
    if len(index) < 40:  # nothing left out beats or ties-and-wins against the last one
        out = np.setdiff1d(np.arange(40), index)
        assert (ties[out] <= cutoff).all()
        last = (streams[index[-1]], norms[index[-1]], -index[-1])
        assert all((streams[o], norms[o], -o) < last for o in out if ties[o] == cutoff)


_words = st.sampled_from(["Colombia", "mx", "Germany", "AT", "Türkiye", "Chile", "x", "*", "/",
                         "÷", "+", "-", "(", ")", "2", "0.5", "0", "1e300", "="])


@settings(max_examples=200, deadline=None)
@given(st.lists(_words, min_size=1, max_size=12), st.sampled_from([0.0, 0.5, 1.0]))
def test_any_expression_gives_finite_songs_or_a_dotify_error(words: list[str],
                                                              popularity: float) -> None:
    art = _artifact()
    try:
        result = recommend(art, words, n=7, popularity=popularity)
    except DotifyError as error:
        assert str(error)
        return
    assert result.songs and all(np.isfinite(s.score) for s in result.songs)
    for song in result.songs:
        assert all(np.isfinite(v) for v in song.contributions.values())


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
    song = data["songs"][0]
    assert set(song) == {"rank", "title", "artists", "url", "uri", "score", "contributions"}
    assert song["uri"] == f"spotify:track:{4:022d}"
    assert song["url"] == f"https://open.spotify.com/track/{4:022d}"


def test_track_uris_come_from_urls_or_keys() -> None:
    sid = "4uLU6hMCjMI75M1A2tKUQC"
    assert engine.track_uri(f"https://open.spotify.com/track/{sid}", "x") == f"spotify:track:{sid}"
    assert engine.track_uri("", sid) == f"spotify:track:{sid}"
    assert engine.track_uri("", f"spotify:track:{sid}") == f"spotify:track:{sid}"
    assert engine.track_uri("", "n:title|artist") == ""


def test_discover_leaves_out_what_already_charts_there(art: Artifact) -> None:
    charted = sp.csr_matrix(np.array([
        [1, 1, 0, 0, 1, 0, 0],  # co
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 0],  # de
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],  # tr
        *[[0] * 7] * 5,
    ], dtype=bool))
    art.charted = charted
    found = _titles(recommend(art, "Colombia + Turkey", n=7, exclude_charting=True))
    assert found == [t for t in _titles(recommend(art, "Colombia + Turkey", n=7))
                     if t not in {"Latin", "Latin short", "Latin Turkish", "Turkish"}]
    assert "German" in found


def test_discover_without_a_charted_record_says_so(art: Artifact) -> None:
    with pytest.raises(DotifyError, match="no record of where songs charted"):
        recommend(art, "Colombia", exclude_charting=True)


def test_date_window_without_dates_says_so(art: Artifact) -> None:
    with pytest.raises(DotifyError, match="no per-song chart dates"):
        recommend(art, "Colombia", since=date(2020, 1, 1))


def test_date_window_keeps_songs_charting_inside_it(tmp_path: Path) -> None:
    first = np.array(["2020-01-01", "2020-03-01", "2020-01-15", "2020-06-01", "2019-12-01",
                      "2020-02-01", "NaT"], dtype="datetime64[D]")
    last = np.array(["2020-01-31", "2020-03-31", "2020-05-01", "2020-06-30", "2019-12-31",
                     "2020-12-31", "NaT"], dtype="datetime64[D]")
    model = make_model("imf")
    model.country_factors, model.song_factors = COUNTRY_VECTORS, SONG_VECTORS
    art = store.load(store.save(model, COUNTRIES, _songs(7), tmp_path,
                                song_dates=(first, last)).path)
    np.testing.assert_array_equal(art.song_first_date, first)

    def window(since: date | None, until: date | None) -> set[str]:
        return set(_titles(recommend(art, "Colombia", n=7, since=since, until=until)))

    assert window(date(2020, 3, 10), date(2020, 3, 20)) == {"Latin short", "German",
                                                           "Global hit"}
    assert window(date(2020, 6, 1), None) == {"Turkish", "Global hit"}
    assert window(None, date(2019, 12, 31)) == {"Latin Turkish"}
    assert "Silent" in window(None, None)  # no window: no filter
    assert "Silent" not in window(date(2000, 1, 1), None)  # unknown dates are outside any
    with pytest.raises(ValueError, match="one first and one last date per song"):
        store.save(model, COUNTRIES, _songs(7), tmp_path, song_dates=(first[:3], last))


def test_a_known_market_missing_from_the_model(art: Artifact) -> None:
    with pytest.raises(CountryNotInModelError) as caught:
        recommend(art, "Colombia + Chile")
    assert isinstance(caught.value, UnknownCountryError)
    assert "Chile is a known market but the current model has no vector" in str(caught.value)
    assert caught.value.suggestions == ["Colombia", "Mexico"]  # same region, in the model


def test_bad_expressions_and_options(art: Artifact) -> None:
    with pytest.raises(UnknownCountryError, match="Did you mean Colombia"):
        recommend(art, "Colombai")
    with pytest.raises(ExpressionError, match="cancels out"):
        recommend(art, "Colombia - Colombia")
    with pytest.raises(ExpressionError, match="no country"):
        recommend(art, "2 * 3")
    with pytest.raises(ValueError, match="n must be between 1 and 1000, not 0"):
        recommend(art, "Colombia", n=0)
    with pytest.raises(ValueError, match="popularity must be between 0 and 1, not 1.5"):
        recommend(art, "Colombia", popularity=1.5)


def test_huge_weights_do_not_overflow_the_ranking(art: Artifact) -> None:
    huge = recommend(art, "1e300 Colombia + 1e300 Turkey", n=7)
    plain = recommend(art, "Colombia + Turkey", n=7)
    assert _titles(huge) == _titles(plain)
    assert [s.score for s in huge.songs] == pytest.approx([s.score for s in plain.songs])


def test_n_larger_than_the_catalogue(art: Artifact) -> None:
    assert len(recommend(art, "Colombia", n=100).songs) == len(SONG_VECTORS)


def test_similar_countries_by_cosine(art: Artifact) -> None:
    found = similar(art, "Colombia", n=4)
    assert [c.code for c in found] == ["mx", "de", "at", "tr"]  # equal cosines: model order
    assert found[0].name == "Mexico"
    assert found[0].similarity == pytest.approx(0.9 / np.hypot(0.9, 0.3), abs=1e-6)
    assert "co" not in {c.code for c in found}
    assert [c.rank for c in found] == [1, 2, 3, 4]
    assert similar(art, "Germany", n=1)[0].code == "at"


def test_similar_leaves_out_the_global_chart() -> None:
    art = _artifact(countries=np.array(["co", "mx", "de", "at", "global"]),
                    country_vectors=_FIVE)
    assert "global" not in {c.code for c in similar(art, "Germany", n=10)}
    assert similar(art, "World", n=1)[0].code in {"co", "mx", "de", "at"}


def test_top_is_the_country_on_its_own(art: Artifact) -> None:
    assert top(art, "Turkey", n=3, popularity=0.0).songs == \
        recommend(art, "Turkey", n=3, popularity=0.0).songs
    assert top(art, "TR", n=1, popularity=0.0).songs[0].title == "Turkish"


def test_prepared_vectors_are_cached_per_artifact(art: Artifact) -> None:
    first = engine._prepare(art)
    assert engine._prepare(art) is first
    other = _artifact()
    assert engine._prepare(other) is not first
    art.model.song_factors = SONG_VECTORS[::-1].copy()  # a new model in the same object
    assert engine._prepare(art) is not first
    # rows 5 and 6 now hold the two Latin vectors; row 5 has more streams
    assert recommend(art, "Colombia", n=1, popularity=0.0).songs[0].title == "Global hit"


@pytest.mark.parametrize("kind", ["imf", "net1", "spark-als", "random", "popularity"])
def test_every_model_kind_answers_after_save_and_load(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    f = 1 if kind == "popularity" else 4
    model = make_model(kind, **({} if kind == "popularity" else {"factors": f}))
    model.country_factors = rng.normal(size=(len(COUNTRIES), f)).astype(np.float32)
    model.song_factors = rng.normal(size=(50, f)).astype(np.float32)
    model.load_state({})  # a network builds its layers around the factors set here
    saved = store.save(model, COUNTRIES, _songs(50), tmp_path)
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
    from dotify.charts.ingest import ingest_paths
    from dotify.charts.sim.simulate import simulate
    from dotify.config import Settings
    from dotify.learn.ratings import from_store
    from dotify.store.engine import engine_for

    folder = tmp_path_factory.mktemp("simulated")
    summary = simulate(folder / "charts", days=7, seed=0)
    settings = Settings(home=folder / "home")
    ingest_paths(settings, [folder / "charts"])
    ratings = from_store(engine_for(settings))
    model = make_model("imf").fit(ratings)
    truth = json.loads(summary.ground_truth.read_text())
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
