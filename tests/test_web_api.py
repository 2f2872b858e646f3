"""The JSON API and the pages through FastAPI's TestClient, on real artifacts and a real store."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dotify import artifact as artifacts
from dotify.config import Settings
from dotify.query.arithmetic import OPERATORS
from dotify.query.recommend import DEFAULT_POPULARITY, WORLD
from dotify.web import create_app
from dotify.web.model_holder import ModelHolder
from tests.waiting import wait_until
from tests.web_support import XSS_TITLE, add_charts, build_artifact


@pytest.fixture
def published(settings: Settings) -> artifacts.Artifact:
    return build_artifact(settings.models_dir)


@pytest.fixture
def client(settings: Settings, published: artifacts.Artifact) -> TestClient:
    return TestClient(create_app(settings))


def ask(client: TestClient, **body: object):  # -> httpx.Response
    return client.post("/api/recommendations", json=body)


# ---------------------------------------------------------------- no model yet


def test_without_a_model_the_api_says_503_and_pages_say_train(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    for path in ("/api/model", "/api/map", "/api/countries/co/similar"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "dotify train" in response.json()["detail"]
    assert ask(client, expression="Colombia").status_code == 503
    assert client.get("/healthz").json() == {"status": "ok", "model_version": None}
    page = client.get("/")
    assert page.status_code == 200 and "No model is published yet" in page.text
    assert "dotify train" in page.text
    assert client.get("/map").status_code == 503
    assert client.get("/country/co").status_code == 503
    countries = client.get("/api/countries").json()
    assert {c["code"] for c in countries} >= {"co", "tr", "de"}
    assert not any(c["in_model"] for c in countries)


# ---------------------------------------------------------------- recommendations


def test_expression_and_tokens_give_the_same_ten_songs(client: TestClient) -> None:
    by_text = ask(client, expression="Colombia x Turkey - Germany")
    by_tokens = ask(client, tokens=["Colombia", "x", "Turkey", "-", "Germany", "="])
    assert by_text.status_code == 200 and by_tokens.status_code == 200
    a, b = by_text.json(), by_tokens.json()
    assert a["parsed"] == b["parsed"] == "Colombia * Turkey - Germany"
    assert a["expression"] == "Colombia x Turkey - Germany"
    assert len(a["songs"]) == 10 and a["songs"] == b["songs"]
    first = a["songs"][0]
    assert set(first) >= {"rank", "title", "artists", "url", "uri", "score", "contributions"}
    assert first["url"].startswith("https://open.spotify.com/track/")
    # 1 x 1 - 1: the world's taste cancels out and is no part of the score
    assert set(first["contributions"]) == {"Colombia", "Turkey", "Germany"}
    plus = ask(client, expression="Colombia + Turkey").json()["songs"][0]
    assert set(plus["contributions"]) == {"Colombia", "Turkey", WORLD}
    assert sum(first["contributions"].values()) == pytest.approx(first["score"], abs=1e-9)
    assert all(0.0 <= s["match"] <= 100.0 for s in a["songs"])
    scores = [s["score"] for s in a["songs"]]
    assert scores == sorted(scores, reverse=True)
    assert [s["rank"] for s in a["songs"]] == list(range(1, 11))


def test_knobs_n_popularity_and_discover(client: TestClient,
                                         published: artifacts.Artifact) -> None:
    assert len(ask(client, expression="Colombia", n=3).json()["songs"]) == 3
    local = ask(client, expression="Colombia", n=40, popularity=0.0).json()["songs"]
    hits = ask(client, expression="Colombia", n=40, popularity=1.0).json()["songs"]
    assert [s["title"] for s in local] != [s["title"] for s in hits]
    answer = ask(client, expression="Colombia + Germany", popularity=0.25).json()
    assert (answer["popularity"], answer["world_weight"]) == (0.25, 2.0)
    difference = ask(client, expression="Colombia - Germany", n=40)
    assert difference.json()["world_weight"] == 0.0  # the knob cannot change it
    assert difference.json()["songs"] == ask(client, expression="Colombia - Germany", n=40,
                                             popularity=0.0).json()["songs"]
    found = ask(client, expression="Colombia + Germany", n=40, discover=True).json()["songs"]
    rows = [list(published.countries).index(c) for c in ("co", "de")]
    charting = set(np.flatnonzero(np.asarray(published.charted[rows].sum(axis=0)).ravel()))
    keys = list(published.songs.keys)
    assert found and not {keys.index(s["uri"].rsplit(":", 1)[1]) for s in found} & charting


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"expression": "Atlantis + Germany"}, 400, "Unknown country 'Atlantis'"),
    ({"expression": "Colmbia"}, 400, "Did you mean Colombia"),
    ({"expression": "Colombia ) Germany"}, 400, "at position 9"),
    ({"expression": "Japan + Italy"}, 400, "Italy"),  # Italy is a market, not in this model
    ({"tokens": ["Colombia", "x"]}, 400, "expected a country"),
    ({"expression": "Colombia - Colombia"}, 400, "Colombia - Colombia cancels out"),
    ({}, 422, "exactly one of 'expression' or 'tokens'"),
    ({"expression": "Colombia", "tokens": ["Colombia"]}, 422, "exactly one"),
    ({"expression": "Colombia", "n": 0}, 422, "n"),
    ({"expression": "Colombia", "n": 101}, 422, "less than or equal to 100"),
    ({"expression": "Colombia", "popularity": 1.5}, 422, "popularity"),
    ({"expression": "Colombia " * 60}, 422, "at most 500 characters"),
    ({"tokens": ["Colombia", "+"] * 60}, 422, "tokens"),
    ({"tokens": ["C" * 65]}, 422, "longer than 64"),
    ({"expression": ""}, 422, "expression"),
    ({"expression": "Colombia", "color": "red"}, 422, "color"),
])
def test_bad_requests_get_a_4xx_that_says_what_is_wrong(client: TestClient, body: dict,
                                                        status: int, words: str) -> None:
    response = ask(client, **body)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail
    text = detail if isinstance(detail, str) else " ".join(d["msg"] for d in detail)
    assert words in text


def test_unknown_country_error_carries_suggestions(client: TestClient) -> None:
    body = ask(client, expression="Colombja x Turkey").json()
    assert "Colombia" in body["suggestions"]


def test_bodies_over_16_kb_are_refused_with_413(client: TestClient) -> None:
    big = b'{"expression": "' + b"a" * 17000 + b'"}'
    response = client.post("/api/recommendations", content=big,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "16384" in response.json()["detail"]


def test_malformed_json_is_a_422(client: TestClient) -> None:
    response = client.post("/api/recommendations", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "json" in response.text.lower()


# ---------------------------------------------------------------- countries and the map


def test_similar_and_top(client: TestClient) -> None:
    near = client.get("/api/countries/co/similar", params={"n": 3}).json()
    assert len(near) == 3 and "co" not in {c["code"] for c in near}
    assert {c["code"] for c in near} <= {"mx", "ar", "cl", "pe", "br"}  # the Latin cluster
    assert near[0]["similarity"] >= near[-1]["similarity"]
    assert client.get("/api/countries/Colombia/similar").json()[0] == \
        client.get("/api/countries/co/similar").json()[0]
    top = client.get("/api/countries/co/top", params={"n": 5}).json()
    assert len(top) == 5 and top[0]["title"] == XSS_TITLE
    unknown = client.get("/api/countries/atlantis/similar")
    assert unknown.status_code == 404 and "Unknown country" in unknown.json()["detail"]
    absent = client.get("/api/countries/it/top")
    assert absent.status_code == 404 and "Italy has no vector" in absent.json()["detail"]
    assert client.get("/api/countries/co/top", params={"n": 0}).status_code == 422


def test_countries_and_operators(client: TestClient) -> None:
    countries = {c["code"]: c for c in client.get("/api/countries").json()}
    assert countries["co"]["in_model"] and not countries["it"]["in_model"]
    assert "UK" in countries["gb"]["aliases"]
    symbols = [op["symbol"] for op in client.get("/api/operators").json()]
    assert symbols == ["+", "-", "x", "÷"]


def test_the_api_lists_exactly_the_operator_table(client: TestClient) -> None:
    assert client.get("/api/operators").json() == [
        {"symbol": op.symbol, "name": op.name, "aliases": list(op.aliases), "meaning": op.meaning,
         "label": op.label, "canonical": op.canonical, "precedence": op.precedence}
        for op in OPERATORS]


class _Buttons(HTMLParser):
    """``(data-op, title, text)`` of every button with a ``data-op``."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "button" and "data-op" in found:
            self.found.append((found["data-op"] or "", found.get("title") or "", ""))

    def handle_data(self, data: str) -> None:
        if self.found and not self.found[-1][2]:
            self.found[-1] = (*self.found[-1][:2], data.strip())


def test_the_pages_operator_buttons_are_the_table(client: TestClient) -> None:
    buttons = _Buttons()
    buttons.feed(client.get("/").text)
    assert buttons.found == [(op.symbol, f"{op.name} — {op.meaning}", op.label)
                             for op in OPERATORS] + [("=", "show the songs", "=")]
    assert '"/api/operators"' in client.get("/static/ask.js").text  # its pickers and keys


def test_map_is_clustered_and_cached(client: TestClient, published: artifacts.Artifact) -> None:
    body = client.get("/api/map").json()
    codes = [c["code"] for c in body["countries"]]
    assert sorted(codes) == sorted(published.countries.tolist())
    sim = np.array(body["similarity"])
    assert sim.shape == (len(codes), len(codes))
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-3)
    np.testing.assert_allclose(sim, sim.T, atol=1e-6)
    xy = np.array(body["xy"])
    assert xy.shape == (len(codes), 2) and xy.min() >= 0 and xy.max() <= 1
    # leaf order keeps each cluster together: the Latin markets form one run
    latin = [i for i, c in enumerate(codes) if c in {"co", "mx", "ar", "cl", "pe", "br"}]
    assert latin == list(range(latin[0], latin[0] + 6))
    assert {c["region"] for c in body["countries"]} <= set(body["regions"])
    live = client.app.state.holder.get()
    assert live.cached("taste_map", lambda: pytest.fail("computed twice")) is not None


# ---------------------------------------------------------------- the model and admin


def test_model_info(client: TestClient, published: artifacts.Artifact) -> None:
    info = client.get("/api/model").json()
    assert info["version"] == published.version
    assert info["kind"] == "imf" and info["factors"] == 8
    assert info["n_countries"] == 14 and info["n_songs"] == 40
    assert info["metrics"]["val_epr"] == pytest.approx(0.123)
    assert info["window"] == {"start": "2021-01-01", "end": "2021-03-31", "n_top_songs": None}
    assert (info["first_date"], info["last_date"]) == ("2021-01-01", "2021-03-30")
    assert client.get("/healthz").json()["model_version"] == published.version


def test_reload_is_disabled_without_a_token(client: TestClient) -> None:
    response = client.post("/api/model/reload", headers={"Authorization": "Bearer x"})
    assert response.status_code == 403
    assert "DOTIFY_ADMIN_TOKEN" in response.json()["detail"]


def test_reload_needs_the_right_token(home, published: artifacts.Artifact) -> None:
    settings = Settings(home=home, admin_token="s3cret")
    client = TestClient(create_app(settings, check_every=3600))
    assert client.get("/api/model").json()["version"] == published.version
    newer = build_artifact(settings.models_dir, seed=1)
    assert client.get("/api/model").json()["version"] == published.version  # not checked yet
    for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cre"}):
        assert client.post("/api/model/reload", headers=header).status_code == 401
    ok = client.post("/api/model/reload", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["version"] == newer.version
    assert client.get("/api/model").json()["version"] == newer.version


# ---------------------------------------------------------------- the holder


def test_holder_follows_publish_and_keeps_the_old_model_on_a_broken_one(settings: Settings) -> None:
    first = build_artifact(settings.models_dir)
    holder = ModelHolder(settings.models_dir, check_every=0)
    live = holder.get()
    assert live is not None and live.version == first.version
    second = build_artifact(settings.models_dir, seed=2)
    wait_until(lambda: holder.get().version == second.version)
    assert live.artifact.version == first.version  # a request's reference never changes
    broken = settings.models_dir / "20990101T000000Z-dead"
    broken.mkdir()
    (broken / "meta.json").write_text("{")
    artifacts.publish(settings.models_dir, broken.name)
    wait_until(lambda: holder.get() is not None and holder.last_error is not None)
    assert holder.get().version == second.version
    assert "cannot be read" in holder.last_error


def test_holder_checks_the_pointer_at_most_once_per_interval(settings: Settings) -> None:
    first = build_artifact(settings.models_dir)
    holder = ModelHolder(settings.models_dir, check_every=3600)
    assert holder.get().version == first.version
    build_artifact(settings.models_dir, seed=3)
    for _ in range(50):
        assert holder.get().version == first.version
    with pytest.raises(ValueError, match="check_every"):
        ModelHolder(settings.models_dir, check_every=-1)


# ---------------------------------------------------------------- pages


def test_pages_render_and_escape_song_titles(client: TestClient,
                                             published: artifacts.Artifact) -> None:
    index = client.get("/")
    assert index.status_code == 200 and "I want music like:" in index.text
    assert f'data-default="{DEFAULT_POPULARITY}"' in index.text
    country = client.get("/country/co")
    assert country.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in country.text
    assert XSS_TITLE not in country.text and "<img src=x" not in country.text
    assert 'target="_blank" rel="noopener"' in country.text
    assert "Chile" in country.text and 'href="/country/cl"' in country.text
    assert "no chart database yet" in country.text
    about = client.get("/about").text
    assert published.version in about and "val_epr" in about and "0.1230" in about
    assert "charts of 2021-01-01 to 2021-03-30 (window: start 2021-01-01, end 2021-03-31)" in about
    assert client.get("/map").status_code == 200
    assert "script-src 'self';" in index.headers["content-security-policy"]


def test_country_pages_resolve_names_and_refuse_unknown(client: TestClient) -> None:
    moved = client.get("/country/Colombia", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/country/co"
    missing = client.get("/country/Colmbia")
    assert missing.status_code == 404 and "Colombia" in missing.text
    italy = client.get("/country/it")
    assert italy.status_code == 200 and "Italy has no vector" in italy.text


def test_country_page_counts_charts_from_the_store(settings: Settings, client: TestClient) -> None:
    add_charts(settings, "co", days=4, entries=3)
    page = client.get("/country/co").text
    assert "4 charts with 12 entries on" in page and "2021-01-04" in page
    other = client.get("/country/mx").text
    assert "holds no charts for this market" in other


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assert "/docs-assets/" in html and "cdn." not in html, path
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/redoc.standalone.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/countries", "/api/operators", "/api/recommendations", "/api/model",
            "/api/countries/{code}/similar", "/api/countries/{code}/top", "/healthz",
            "/api/model/reload", "/api/map"} <= set(paths)


def test_lifespan_starts_and_stops_an_attached_scheduler(settings: Settings) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    ran: list[str] = []
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(lambda: ran.append("job"), id="probe")
    app = create_app(settings, scheduler=scheduler)
    assert app.state.scheduler is scheduler and not scheduler.running
    with TestClient(app) as client:
        assert scheduler.running
        assert client.get("/healthz").status_code == 200
        wait_until(lambda: ran == ["job"])
    assert not scheduler.running
