"""End to end in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
building a query, the URL and history, hostile titles, the map, the docs, the examples.
Results, errors and song rows at both sizes are in ``test_web_results.py``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import BROWSER_MARKS, base_url, browser, open_page, type_country
from tests.web_support import XSS_TITLE

pytestmark = BROWSER_MARKS
__all__ = ["base_url", "browser"]  # fixtures


@pytest.fixture
def page(browser, base_url: str):  # type: ignore[no-untyped-def]
    page = open_page(browser, base_url, viewport={"width": 1200, "height": 900})
    yield page
    page.context.close()


def pick(page, typed: str, name: str, keyboard: bool = False) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(".term input.country").last
    box.click()
    box.press_sequentially(typed)
    option = page.locator(".term .suggest li", has_text=name).first
    option.wait_for()
    if keyboard:
        box.press("Enter")  # the first match is highlighted
    else:
        option.click()
    assert box.input_value() == name


def test_build_an_expression_and_get_ten_songs(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    expect(page.locator(".term")).to_have_count(1)
    pick(page, "Colo", "Colombia")
    page.click("button[data-op='x']")
    pick(page, "Tur", "Turkey", keyboard=True)
    page.click("button[data-op='-']")
    pick(page, "Germ", "Germany")
    page.click("button[data-op='=']")
    songs = page.locator("#songs > li")
    songs.nth(9).wait_for()
    assert songs.count() == 10
    links = page.get_by_role("link", name=re.compile("^Open in Spotify: "))
    assert links.count() == 10
    for i in range(10):
        assert links.nth(i).get_attribute("target") == "_blank"
        assert links.nth(i).get_attribute("rel") == "noopener"
        assert links.nth(i).get_attribute("href").startswith("https://open.spotify.com/track/")
    assert page.inner_text("#results-title") == "Music like Colombia × Turkey − Germany"
    expect(page.locator("#results-note")).to_be_visible()  # the world cancels out: 1 x 1 - 1
    assert "q=Colombia+x+Turkey+-+Germany" in page.url
    assert page.input_value("#expression") == "Colombia x Turkey - Germany"
    assert not page.console_errors and not page.dialogs

    # an earlier term can be edited: the first operator becomes "+", the query runs again
    page.click("#edit")
    page.select_option("select.op-pick >> nth=0", "+")
    expect(page.locator("#results-title")).to_contain_text("Colombia + Turkey − Germany")
    expect(page.locator("#results-note")).to_be_hidden()  # 1 + 1 - 1: the knob takes 1


def test_the_url_holds_the_query_and_back_works(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/?q=Colombia+x+Turkey+-+Germany&n=5")
    page.locator("#songs > li").nth(4).wait_for()
    assert page.locator("#songs > li").count() == 5
    assert page.locator(".term input.country").count() == 3  # the builder is rebuilt
    page.click("#edit")
    page.fill("#expression", "Japan + South Korea")
    page.press("#expression", "Enter")
    expect(page).to_have_url(re.compile(r"q=Japan"))
    expect(page.locator("#results-title")).to_contain_text("Japan + South Korea")
    page.go_back()
    expect(page.locator("#results-title")).to_contain_text("Colombia × Turkey − Germany")
    assert page.input_value("#expression") == "Colombia x Turkey - Germany"
    page.click("#edit")
    page.check("#discover")  # a knob asks again, and the URL keeps it
    expect(page).to_have_url(re.compile(r"discover=1"))
    page.click("#clear")
    assert page.locator("#results").is_hidden()
    assert page.evaluate("location.search") == ""


def test_unknown_country_shows_an_error_on_the_page(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.fill("#expression", "Atlantis + Germany")
    page.press("#expression", "Enter")
    error = page.locator("#error")
    error.wait_for()
    assert "Unknown country 'Atlantis'" in error.inner_text()
    assert page.locator("#results").is_hidden()
    # typed into the builder: Enter with no match asks, and the error names the country
    box = type_country(page, "Narnia")
    box.press("Enter")
    expect(page.locator("#error")).to_contain_text("Narnia")
    assert page.locator("#error").is_visible()


def test_a_hostile_title_renders_as_text(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/?q=Colombia")
    first = page.locator("#songs .title").first
    first.wait_for()
    assert first.inner_text() == XSS_TITLE
    assert page.locator("#songs img").count() == 0
    assert page.locator("#songs script").count() == 0
    page.goto("/country/co")
    assert page.locator("ol.songs a").first.inner_text() == XSS_TITLE
    assert page.locator("main img").count() == 0
    assert page.dialogs == [] and not page.console_errors


def test_docs_render_offline(page) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []  # scripts, styles, fonts or data from anywhere but this server
    page.on("request", lambda r: r.url.startswith(("http://127.0.0.1", "blob:", "data:"))
            or r.resource_type == "image" or outside.append(r.url))
    page.goto("/docs")
    page.locator(".opblock").nth(9).wait_for()
    assert page.locator(".opblock").count() == 10
    page.goto("/redoc")
    page.get_by_text("Music like Colombia x Turkey").first.wait_for()
    page.get_by_text("/api/recommendations").first.wait_for()
    assert outside == []


def test_examples_link_to_queries(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    example = page.locator(".examples a").first
    assert example.inner_text() == "Colombia x Turkey - Germany"
    example.click()
    page.locator("#songs > li").nth(9).wait_for()
    assert "Colombia × Turkey − Germany" in page.inner_text("#results-title")
