"""The pages through FastAPI's TestClient (issue 16): no link leads to an error, suggestions
name only countries in the model, unknown paths get an HTML page, shared links a title."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from dotify.config import Settings
from dotify.web import create_app
from tests.web_support import build_artifact, planted_rows, write_charts


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    art = build_artifact(settings.models_dir, with_streams=True)
    write_charts(settings, planted_rows(art))
    return TestClient(create_app(settings))


@pytest.mark.slow  # follows every link of every page
def test_no_link_leads_to_an_error(client: TestClient) -> None:
    """Follow every link of this server's pages from the start, the country pages of every
    market included (Italy and Romania have no data in this model)."""
    seen: set[str] = set()
    todo = ["/", "/country/co", "/country/it", "/country/ro", "/country/zz", "/nope"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(path)
        if path not in ("/country/zz", "/nope"):  # the two pages of what does not exist
            assert answer.status_code == 200, f"{path}: {answer.status_code}"
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        parser = Links()
        parser.feed(answer.text)
        for href in parser.hrefs:
            url = urlsplit(urljoin(f"http://testserver{path}", href))
            if url.netloc == "testserver" and not url.path.startswith("/docs-assets"):
                todo.append(url.path + (f"?{url.query}" if url.query else ""))
    assert {"/map", "/about", "/docs", "/country/co", "/country/de"} <= seen
    assert not any(p.startswith("/?q=Italy") or p.startswith("/?q=Romania") for p in seen)


def test_a_market_without_data_offers_no_query(client: TestClient) -> None:
    italy = client.get("/country/it").text
    assert "Italy has no vector" in italy and "Music like Italy" not in italy
    assert "Music like Colombia" in client.get("/country/co").text


@pytest.mark.parametrize(("expression", "unknown", "suggestions"), [
    ("Colmbia", "Colmbia", ["Colombia"]),
    ("Germny + Japan", "Germny", ["Germany"]),
    ("Narnia", "Narnia", ["Argentina"]),  # not Romania: no data for it in this model
    ("Italy", "Italy", []),  # a market without data, and none of its region has any
])
def test_suggestions_name_only_countries_in_the_model(client: TestClient, expression: str,
                                                      unknown: str,
                                                      suggestions: list[str]) -> None:
    answer = client.post("/api/recommendations", json={"expression": expression})
    assert answer.status_code == 400
    body = answer.json()
    assert body["unknown"] == unknown
    in_model = {c["name"] for c in client.get("/api/countries").json() if c["in_model"]}
    assert set(body["suggestions"]) <= in_model
    assert body["suggestions"][:len(suggestions)] == suggestions
    assert "Romania" not in body["detail"]


def test_unknown_paths_get_an_html_page_and_api_paths_json(client: TestClient) -> None:
    page = client.get("/nope/deeper")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/map"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for path in ("/api/nope", "/static/nope.js", "/api"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.json() == {"detail": "Not Found"}, path
    wrong_method = client.put("/api/recommendations")
    assert wrong_method.status_code == 405 and wrong_method.json()["detail"]


def test_a_shared_link_has_a_title_and_preview_tags(client: TestClient) -> None:
    page = client.get("/", params={"q": "Colombia x Turkey - Germany", "n": "5"}).text
    assert "<title>Music like Colombia × Turkey − Germany · dotify</title>" in page
    assert '<meta property="og:title" content="Music like Colombia × Turkey − Germany">' in page
    assert '<meta property="og:description" content="5 songs for Colombia' in page
    plain = client.get("/").text
    assert "<title>Music like… · dotify</title>" in plain and "og:title" not in plain
    bad = client.get("/", params={"q": "<b>Narnia"}).text
    assert "og:title" not in bad and "<b>Narnia" not in bad


def test_docs_carry_the_apps_header(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert 'href="/map"' in docs.text and 'id="theme"' in docs.text
    assert "/docs-assets/swagger-ui-bundle.js" in docs.text and "/static/docs.js" in docs.text


def test_the_about_page_says_which_songs_the_model_learnt(settings: Settings) -> None:
    window = {"start": None, "end": "2021-03-31", "n_top_songs": None, "kind": None,
              "since": "2020-04-01"}
    build_artifact(settings.models_dir, meta={"window": window})
    about = " ".join(TestClient(create_app(settings)).get("/about").text.split())
    assert "(window: end 2021-03-31); the songs each country charted since 2020-04-01" in about
