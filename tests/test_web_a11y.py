"""Accessibility and themes (issue 16): axe-core (vendored, 4.14.1) finds no violation on
any page, /docs included, at a 1280x800 desktop and a 390x844 phone, in the dark and the
light theme; the theme follows prefers-color-scheme and the header's toggle overrides it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import BROWSER_MARKS, base_url, browser, open_page, shot

pytestmark = BROWSER_MARKS
__all__ = ["base_url", "browser"]  # fixtures
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
PAGES = {  # name -> (path, what shows that it is drawn)
    "index": ("/", ".term input.country"),
    "results": ("/?q=Colombia+x+Turkey+-+Germany", "#songs > li"),
    "map": ("/map", "#heatmap rect.cell"),
    "country": ("/country/co", "ol.near li"),
    "country-no-data": ("/country/it", "#no-data"),
    "about": ("/about", "#model-version"),
    "not-found": ("/nope", "h1"),
    "docs": ("/docs", ".opblock"),
}


def violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's violations on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text("utf-8"))  # DevTools evaluation: the page's CSP allows it
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ` +
            v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '))""")
    return list(found)


def test_the_vendored_axe_is_the_pinned_one() -> None:
    source = AXE.read_bytes()
    assert source.startswith(b"/*! axe v4.14.1")
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256


@pytest.mark.parametrize("scheme", ["dark", "light"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_no_axe_violation_on_any_page(browser, base_url: str, size: str, scheme: str) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, base_url, size, color_scheme=scheme)
    found = {}
    for name, (path, drawn) in PAGES.items():
        page.goto(path)
        page.locator(drawn).first.wait_for()
        if name == "results":  # the song rows with a sparkline open, and the Spotify help
            page.locator("#songs .chip.chart").first.click()
            page.locator("#songs svg.sparkline").first.wait_for()
            page.click("#save-spotify")
        if name == "docs":  # an operation and a schema opened
            page.locator(".opblock-post .opblock-summary-control").first.click()
            page.locator(".opblock-body").first.wait_for()
            page.locator(".json-schema-2020-12-accordion").first.click()
        problems = violations(page)
        if problems:
            found[name] = problems
        if scheme == "dark":
            shot(page, f"{name}-{size}")
    page.context.close()
    assert found == {}, "\n".join(f"{k}: {v}" for k, vs in found.items() for v in vs)


def test_the_theme_follows_the_system_and_the_toggle_overrides_it(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, base_url, "desktop", color_scheme="light")
    background = "getComputedStyle(document.body).backgroundColor"
    page.goto("/about")
    light = page.evaluate(background)
    toggle = page.locator("#theme")
    expect(toggle).to_have_text("Dark theme")
    toggle.click()
    expect(toggle).to_have_text("Light theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark = page.evaluate(background)
    assert dark != light
    page.goto("/docs")  # the choice holds on every page, /docs included
    page.locator(".opblock").first.wait_for()
    assert page.evaluate(background) == dark
    expect(page.locator("header nav a[aria-current=page]")).to_have_text("API")
    page.context.close()
    system_dark = open_page(browser, base_url, "desktop", color_scheme="dark")
    system_dark.goto("/about")
    assert system_dark.evaluate(background) == dark
    expect(system_dark.locator("#theme")).to_have_text("Light theme")
    system_dark.context.close()
