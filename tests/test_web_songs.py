"""Song rows worth reading (issue 16): each song's home market, its peak and streams in the
query's countries from the store, the reason in words, and its chart history."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dotify import artifact as artifacts
from dotify.config import Settings
from dotify.query.arithmetic import parse
from dotify.web import create_app
from dotify.web.song_facts import Standing, reason, roles
from tests.web_support import build_artifact, home_of_song, planted_rows, position, write_charts


def test_reason_in_words() -> None:
    rows = [Standing("co", "Colombia", True, True, peak=3),
            Standing("tr", "Turkey", True, True, peak=5),
            Standing("de", "Germany", False, False)]
    assert reason(rows) == "top 5 in Colombia and Turkey, never charted in Germany"
    rows = [Standing("de", "Germany", False, True, peak=37),
            Standing("co", "Colombia", True, True, peak=1),
            Standing("tr", "Turkey", True, True, peak=120),
            Standing("mx", "Mexico", True, False)]
    assert reason(rows) == ("#1 in Colombia, top 200 in Turkey, never charted in Mexico, "
                            "peaked at #37 in Germany")
    rows = [Standing("co", "Colombia", True, True), Standing("tr", "Turkey", True, True),
            Standing("se", "Sweden", True, True)]  # no store: where it charted, no peak
    assert reason(rows) == "charted in Colombia, Turkey and Sweden"


@pytest.mark.parametrize(("expression", "wanted"), [
    ("Colombia x Turkey - Germany", {"co": True, "tr": True, "de": False}),
    ("Colombia / Germany", {"co": True, "de": False}),
    ("-Colombia + 2 Turkey", {"co": False, "tr": True}),
    ("Colombia - (Germany - Turkey)", {"co": True, "de": False, "tr": True}),
    ("Colombia + Colombia", {"co": True}),
])
def test_wanted_and_avoided_countries(expression: str, wanted: dict[str, bool]) -> None:
    assert {c.code: w for c, w in roles(parse(expression))} == wanted


# ---------------------------------------------------------------- through the API


@pytest.fixture
def published(settings: Settings) -> artifacts.Artifact:
    return build_artifact(settings.models_dir, with_streams=True)


@pytest.mark.slow
def test_songs_carry_home_standings_and_reason(settings: Settings,
                                               published: artifacts.Artifact) -> None:
    write_charts(settings, planted_rows(published))
    client = TestClient(create_app(settings))
    answer = client.post("/api/recommendations",
                         json={"expression": "Colombia x Turkey - Germany", "n": 20})
    assert answer.status_code == 200, answer.text
    codes = published.countries.tolist()
    for s in answer.json()["songs"]:
        song = int(s["key"])  # the planted keys are the song numbers
        assert s["home"]["code"] == home_of_song(codes, song)
        expected = [(m, position(song, m)) for m in ("co", "tr", "de")]
        assert [(r["code"], r["peak"]) for r in s["standings"]] == expected
        assert [r["wanted"] for r in s["standings"]] == [True, True, False]
        for row in s["standings"]:
            assert row["charted"] == (row["peak"] is not None)
            assert row["streams"] == (1990 if row["peak"] else None)
            assert row["charts"] == (2 if row["peak"] else None)
        de = "never charted in Germany" if song % 2 == 0 else f"peaked at #{song + 1} in Germany"
        assert s["reason"].endswith(de)
    first = answer.json()["songs"][0]
    assert first["reason"].split(", ")[0].endswith(("in Colombia and Turkey", "in Colombia"))


def test_without_a_store_the_model_says_where_songs_charted(
        settings: Settings, published: artifacts.Artifact) -> None:
    client = TestClient(create_app(settings))  # no dotify.db in this home
    songs = client.post("/api/recommendations", json={"expression": "Colombia + Japan",
                                                      "n": 40}).json()["songs"]
    rows = {c: i for i, c in enumerate(published.countries.tolist())}
    for s in songs:
        column = int(s["key"])
        for row in s["standings"]:
            assert row["peak"] is None and row["streams"] is None
            assert row["charted"] == bool(published.charted[rows[row["code"]], column])
        assert s["reason"]
    assert not (settings.home / "dotify.db").exists()


def test_song_history_per_country(settings: Settings, published: artifacts.Artifact) -> None:
    write_charts(settings, planted_rows(published))
    client = TestClient(create_app(settings))
    key = str(published.songs.keys[3])
    answer = client.get("/api/songs/history", params={"key": key, "countries": "co,Turkey,de"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["title"] == "Song 3"
    assert body["countries"] == [
        {"code": "co", "name": "Colombia", "points": [["2021-01-01", 104], ["2021-01-02", 4]]},
        {"code": "tr", "name": "Turkey", "points": [["2021-01-01", 122], ["2021-01-02", 22]]},
        {"code": "de", "name": "Germany", "points": [["2021-01-01", 104], ["2021-01-02", 4]]},
    ]
    even = client.get("/api/songs/history", params={"key": str(published.songs.keys[2]),
                                                    "countries": "de"}).json()
    assert even["countries"] == [{"code": "de", "name": "Germany", "points": []}]


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"key": "nope", "countries": "co"}, 404, "no song with key 'nope'"),
    ({"key": "0" * 22, "countries": "Narnia"}, 404, "Unknown country 'Narnia'"),
    ({"key": "0" * 22, "countries": ",".join(["co"] * 11)}, 400, "at most 10 countries"),
    ({"key": "0" * 22}, 422, "countries"),
])
def test_song_history_bad_requests(settings: Settings, published: artifacts.Artifact,
                                   params: dict, status: int, words: str) -> None:
    answer = TestClient(create_app(settings)).get("/api/songs/history", params=params)
    assert answer.status_code == status
    assert words in str(answer.json()["detail"])
