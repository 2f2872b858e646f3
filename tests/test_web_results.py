"""The query page at a 1280x800 desktop and a 390x844 phone (issue 16): results come first,
errors help, song rows say what they are, the player loads only on a click, the exports."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from tests.browser_support import (
    BROWSER_MARKS,
    base_url,
    browser,
    in_view,
    open_page,
    shot,
    sized,
    type_country,
)
from tests.web_support import XSS_ARTISTS, XSS_TITLE

pytestmark = BROWSER_MARKS
__all__ = ["base_url", "browser", "sized"]  # fixtures
QUERY = "Colombia x Turkey - Germany"
PRETTY = "Colombia × Turkey − Germany"
SHARED = "/?q=Colombia+x+Turkey+-+Germany"


def three_songs_in_view(page) -> None:  # type: ignore[no-untyped-def]
    rows = page.locator("#songs > li")
    rows.nth(9).wait_for()
    expect(page.locator("#results-title")).to_be_focused()
    for i in range(3):
        assert in_view(page, rows.nth(i)), f"song {i + 1} is not on the first screen"


def test_after_ask_the_songs_come_into_view_and_the_form_folds(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.goto("/")
    page.fill("#expression", QUERY)
    page.press("#expression", "Enter")
    three_songs_in_view(page)
    expect(page).to_have_title(f"Music like {PRETTY} · dotify")
    expect(page.locator("#form-body")).to_be_hidden()
    expect(page.locator("#summary")).to_have_text(re.compile(f"Music like {PRETTY}\\s*Edit"))
    summary = page.locator("#summary").bounding_box()
    assert summary is not None and summary["height"] < 60  # one line
    shot(page, f"asked-{page.size}")
    page.click("#edit")
    expect(page.locator("#form-body")).to_be_visible()
    expect(page.locator(".term input.country").last).to_be_focused()
    assert not page.console_errors and page.outside == []


def test_a_shared_link_shows_three_songs_first_and_has_preview_tags(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    response = page.goto(SHARED)
    three_songs_in_view(page)
    expect(page).to_have_title(f"Music like {PRETTY} · dotify")
    html = response.text()  # the server's page, before any script ran
    assert f"<title>Music like {PRETTY} · dotify</title>" in html
    assert page.get_attribute('meta[property="og:title"]', "content") == f"Music like {PRETTY}"
    description = page.get_attribute('meta[property="og:description"]', "content")
    assert description.startswith(f"10 songs for {PRETTY}")
    assert page.get_attribute('meta[property="og:url"]', "content").endswith(SHARED)
    shot(page, f"shared-{page.size}")


def test_song_rows_say_where_a_song_is_from_and_how_it_charted(sized) -> None:  # type: ignore[no-untyped-def]
    from tests.web_support import CLUSTERS, position

    page = sized
    page.goto(SHARED)
    first = page.locator("#songs > li").first
    first.wait_for()
    song = int(first.locator(".title").inner_text().split()[-1]) if \
        first.locator(".title").inner_text().startswith("Song ") else 0
    codes = [c for members in CLUSTERS.values() for c in members]
    assert first.locator(".home").inner_text().strip().endswith(codes[song % 14].upper())
    expect(first.locator(".match")).to_have_text(re.compile(r"^\d+%\s*match$"))
    reason = first.locator(".reason").inner_text()
    germany = position(song, "de")
    assert reason.endswith("never charted in Germany" if germany is None
                           else f"peaked at #{germany} in Germany")
    standings = first.locator(".standing")
    expect(standings).to_have_count(3)
    assert f"#{position(song, 'co')}" in standings.nth(0).inner_text()
    assert standings.nth(0).locator(".sr").inner_text().startswith("Colombia")


def test_the_player_loads_only_after_a_click(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.route("https://open.spotify.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>player</title>"))
    response = page.goto(SHARED)
    assert "frame-src https://open.spotify.com" in response.headers["content-security-policy"]
    first = page.locator("#songs > li").first
    first.wait_for()
    assert page.locator("iframe").count() == 0 and page.outside == []
    play = first.get_by_role("button", name=re.compile("^Play "))
    play.click()
    frame = first.locator(".player iframe")
    expect(frame).to_have_attribute("src", re.compile(
        r"^https://open\.spotify\.com/embed/track/[A-Za-z0-9]{22}$"))
    uri = page.evaluate("document.querySelector('#songs .player iframe').src")
    expect(play).to_have_attribute("aria-expanded", "true")
    page.wait_for_function("n => performance.getEntriesByType('resource').length >= n", arg=1)
    assert page.outside == [uri]  # the one request that leaves this server
    play.click()
    expect(frame).to_have_count(0)
    assert not page.console_errors


def test_chart_history_sparkline(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.goto(SHARED)
    first = page.locator("#songs > li").first
    first.wait_for()
    first.get_by_role("button", name=re.compile("^Chart history of ")).click()
    spark = first.locator("svg.sparkline")
    expect(spark).to_be_visible()
    lines = spark.locator("polyline")
    assert {lines.nth(i).get_attribute("data-code") for i in range(lines.count())} <= {
        "co", "tr", "de"}
    assert lines.count() >= 2  # Colombia and Turkey at least: every song charted there
    assert "best #" in spark.get_attribute("aria-label")
    expect(first.locator(".spark-legend")).to_contain_text("Colombia: best #")
    if page.size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not page.console_errors


def test_copy_uris_and_download_csv(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, base_url, "desktop")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/?q=Colombia")
    page.locator("#songs > li").nth(9).wait_for()
    page.click("#copy-uris")
    expect(page.locator("#export-status")).to_have_text(re.compile("^Copied 10 Spotify URIs"))
    copied = page.evaluate("navigator.clipboard.readText()").split("\n")
    assert len(copied) == 10 and all(re.fullmatch(r"spotify:track:\w{22}", u) for u in copied)
    with page.expect_download() as waiting:
        page.click("#download-csv")
    rows = list(csv.DictReader(io.StringIO(waiting.value.path().read_text("utf-8"))))
    assert waiting.value.suggested_filename == "dotify-Colombia.csv"
    assert [r["spotify_uri"] for r in rows] == copied
    assert rows[0]["title"] == XSS_TITLE and rows[0]["artists"] == XSS_ARTISTS
    assert rows[0]["rank"] == "1" and rows[0]["home_market"] == "co"
    assert rows[0]["peak_co"] == "1" and rows[0]["streams_co"] == "1990"
    assert set(rows[0]) >= {"match", "reason", "url"}
    page.context.close()


def test_save_to_spotify_explains_how_to_turn_it_on(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.goto(SHARED)
    page.locator("#songs > li").first.wait_for()
    help_text = page.locator("#spotify-help")
    expect(help_text).to_be_hidden()
    page.click("#save-spotify")
    expect(help_text).to_be_visible()
    expect(help_text).to_contain_text("DOTIFY_SPOTIFY_CLIENT_ID")
    expect(help_text).to_contain_text(re.compile(r"http://127\.0\.0\.1:\d+/spotify/callback"))
    expect(page.locator("#save-spotify")).to_have_attribute("aria-expanded", "true")


# ---------------------------------------------------------------- errors that help


def test_a_typo_gets_a_clickable_suggestion_and_nothing_is_lost(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.goto("/")
    before = page.evaluate("history.length")
    page.fill("#expression", "Colmbia x Turkey")
    page.press("#expression", "Enter")
    error = page.locator("#error")
    expect(error).to_contain_text("Unknown country 'Colmbia'")
    terms = page.locator(".term input.country")
    expect(terms).to_have_count(2)  # the pills are kept, the unknown one marked
    assert [terms.nth(i).input_value() for i in range(2)] == ["Colmbia", "Turkey"]
    expect(page.locator(".term.unknown input")).to_have_value("Colmbia")
    assert page.input_value("#expression") == "Colmbia x Turkey"
    assert page.evaluate("history.length") == before and page.url.endswith("/")
    page.get_by_role("button", name="Colombia", exact=True).click()
    page.locator("#songs > li").nth(9).wait_for()
    expect(page).to_have_url(re.compile(r"q=Colombia\+x\+Turkey"))
    expect(error).to_be_hidden()


def test_suggestions_name_only_countries_in_the_model(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    box = type_country(page, "Narnia")
    box.press("Enter")
    expect(page.locator("#error")).to_contain_text("Unknown country 'Narnia'")
    named = page.locator("#error .suggestion").all_inner_texts()
    in_model = {c["name"] for c in page.request.get("/api/countries").json() if c["in_model"]}
    assert "Romania" not in named and set(named) <= in_model  # Romania has no data here
    assert "Romania" not in page.inner_text("#error")
    box.fill("Germny")
    box.press("Enter")
    suggestion = page.locator("#error .suggestion")
    expect(suggestion).to_have_text(["Germany"])
    suggestion.click()
    page.locator("#songs > li").nth(9).wait_for()
    expect(page.locator(".term input.country").first).to_have_value("Germany")


def test_the_songs_box_says_what_it_takes(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.goto("/")
    asked: list[str] = []
    page.on("request", lambda r: "/api/recommendations" in r.url and asked.append(r.url))
    page.fill("#expression", "Colombia")
    for bad in ("0", "-5", "500", "2.5"):
        page.fill("#n", bad)
        page.press("#expression", "Enter")
        expect(page.locator("#n-error")).to_have_text("Songs: a whole number from 1 to 100.")
        expect(page.locator("#n")).to_have_attribute("aria-invalid", "true")
    assert asked == [] and page.locator("#results").is_hidden()
    page.fill("#n", "5")
    page.press("#expression", "Enter")
    page.locator("#songs > li").nth(4).wait_for()
    assert page.locator("#songs > li").count() == 5
    expect(page.locator("#n-error")).to_be_hidden()


def test_x_after_a_country_in_a_pill_is_the_operator(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    box = type_country(page, "Colombia")
    box.press("Escape")
    box.press_sequentially("x")
    expect(box).to_have_value("Colombia")
    expect(page.locator("select.op-pick")).to_have_value("x")
    expect(page.locator(".term input.country").last).to_be_focused()
    second = page.locator(".term input.country").last
    second.press_sequentially("Mex")  # a letter in a name stays a letter
    expect(second).to_have_value("Mex")


def test_unknown_pages_get_a_page_and_the_api_json(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    response = page.goto("/nope")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.locator("header nav")).to_be_visible()
    api = page.request.get("/api/nope")
    assert api.status == 404 and api.json() == {"detail": "Not Found"}
    if page.size == "phone":
        shot(page, "not-found-phone")
