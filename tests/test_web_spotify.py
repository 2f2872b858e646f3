"""Save to Spotify (issue 16): Authorization Code with PKCE and the Web API calls, in real
Chromium against a real server, with a local stand-in for Spotify (tests/spotify_fake.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from dotify.web import create_app
from dotify.web.spotify import Pending, challenge
from tests.browser_support import browser, browser_test, open_page, planted_site, shot
from tests.spotify_fake import FakeSpotify
from tests.web_support import running_server

__all__ = ["browser"]  # fixtures
CLIENT = "test-client-id"


def test_the_pkce_challenge_of_rfc_7636() -> None:
    # RFC 7636, appendix B
    assert challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    pending = Pending("s", "v", {"q": "Colombia"})
    assert Pending.from_cookie(pending.to_cookie()) == pending
    assert Pending.from_cookie("not base64 json") is None and Pending.from_cookie(None) is None


@pytest.fixture
def fake() -> Iterator[tuple[FakeSpotify, str]]:
    spotify = FakeSpotify(CLIENT)
    with running_server(spotify.app()) as url:
        yield spotify, url


@pytest.fixture
def site(tmp_path: Path, fake: tuple[FakeSpotify, str]) -> Iterator[str]:
    _, url = fake
    settings = planted_site(tmp_path / "home", spotify_client_id=CLIENT,
                            spotify_accounts_url=url, spotify_api_url=f"{url}/v1")
    with running_server(create_app(settings)) as base:
        yield base


@pytest.mark.parametrize("size", ["desktop", "phone"])
@browser_test
def test_save_to_spotify_makes_a_playlist(browser, site: str, fake: tuple[FakeSpotify, str],  # type: ignore[no-untyped-def]
                                          size: str) -> None:
    spotify, _ = fake
    page = open_page(browser, site, size)
    page.goto("/?q=Colombia+x+Turkey+-+Germany&n=12")
    page.locator("#songs > li").nth(11).wait_for()
    uris = page.evaluate("""[...document.querySelectorAll('#songs > li a.chip')]
        .map((a) => 'spotify:track:' + a.href.split('/').pop())""")
    save = page.locator("#save-spotify")
    expect(save).to_have_attribute("href", re.compile(r"^/spotify/login\?q=Colombia"))
    save.click()
    expect(page.locator("h1")).to_have_text("Saved to Spotify")
    expect(page.locator("#spotify-saved")).to_contain_text(
        "12 songs of Music like Colombia × Turkey − Germany")
    expect(page.locator("#playlist-link")).to_have_attribute(
        "href", "https://open.spotify.com/playlist/pl1")
    expect(page.get_by_role("link", name="Back to the songs")).to_have_attribute(
        "href", "/?q=Colombia+x+Turkey+-+Germany&n=12")
    assert spotify.tokens_given == 1 and len(spotify.playlists) == 1
    made = spotify.playlists[0]
    assert made["name"] == "Music like Colombia × Turkey − Germany (dotify)"
    assert made["public"] is False and made["uris"] == uris
    assert page.context.cookies() == [] or all(c["name"] != "dotify_spotify"
                                               for c in page.context.cookies())
    shot(page, f"spotify-saved-{size}")
    page.context.close()


@pytest.mark.slow  # two servers start
def test_a_refusal_or_a_foreign_state_makes_no_playlist(site: str,
                                                       fake: tuple[FakeSpotify, str]) -> None:
    import httpx

    spotify, _ = fake
    with httpx.Client(base_url=site, follow_redirects=True) as client:
        forged = client.get("/spotify/callback", params={"code": "fake-code", "state": "x"})
        assert forged.status_code == 400 and "cannot be finished" in forged.text
        spotify.approve = False
        refused = client.get("/spotify/login", params={"q": "Colombia"})
        assert refused.status_code == 400 and "Spotify said: access_denied" in refused.text
        spotify.approve = True
        wrong = client.get("/spotify/login", params={"q": "Colombia"}, follow_redirects=False)
        assert wrong.status_code == 303
        location = wrong.headers["location"]
        assert location.startswith(fake[1] + "/authorize?")
        assert "code_challenge_method=S256" in location and f"client_id={CLIENT}" in location
        cookie = client.cookies.get("dotify_spotify")
        assert cookie is not None
        replay = client.get("/spotify/callback", params={"code": "other", "state": "forged"})
        assert replay.status_code == 400
    assert spotify.playlists == [] and spotify.tokens_given == 0


def test_without_a_client_id_login_says_how_to_turn_it_on(tmp_path: Path) -> None:
    client = TestClient(create_app(planted_site(tmp_path / "home")))
    answer = client.get("/spotify/login", params={"q": "Colombia"})
    assert answer.status_code == 404 and "DOTIFY_SPOTIFY_CLIENT_ID" in answer.text
