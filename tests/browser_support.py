"""Real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a real
uvicorn server, at the two sizes every page is checked at: a 1280x800 desktop and a 390x844
phone. Test modules import the fixtures they use from here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dotify.config import Settings
from dotify.web import create_app
from tests.web_support import build_artifact, planted_rows, running_server, write_charts

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LOCAL = ("http://127.0.0.1", "blob:", "data:", "about:")

expect.set_options(timeout=20_000)  # a busy CI machine is slow, not wrong
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,  # a real browser starts
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed "
                       "(apt-get install chromium; .ci/run does it)"),
]


def browser_test(test):  # type: ignore[no-untyped-def]
    """Mark one test of a module that is not all browser tests as :data:`BROWSER_MARKS`."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


def planted_site(home: Path, **settings: object) -> Settings:
    """A home with a published model (streams kept: home markets) and two days of charts in
    Colombia, Turkey and Germany for every song (``web_support.planted_rows``)."""
    config = Settings(home=home, **settings)  # type: ignore[arg-type]
    art = build_artifact(config.models_dir, with_streams=True)
    write_charts(config, planted_rows(art))
    return config


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(create_app(planted_site(tmp_path_factory.mktemp("home")))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser, base_url: str, size: str = "desktop", **options):  # type: ignore[no-untyped-def]
    """A new page at ``size`` that records console errors, dialogs and every request that
    leaves this server (``page.outside``); close it with ``page.context.close()``."""
    phone = size == "phone"
    options = {"viewport": SIZES[size], "is_mobile": phone, "has_touch": phone,
               "device_scale_factor": 2 if phone else 1, **options}
    context = browser.new_context(base_url=base_url, **options)
    page = context.new_page()
    page.dialogs, page.console_errors, page.outside = [], [], []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.on("request", lambda r: r.url.startswith(LOCAL) or page.outside.append(r.url))
    return page


@pytest.fixture(params=list(SIZES))
def sized(request: pytest.FixtureRequest, browser, base_url: str):  # type: ignore[no-untyped-def]
    """A page at each of the two sizes."""
    page = open_page(browser, base_url, request.param)
    page.size = request.param
    yield page
    page.context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page screenshot in artifacts/screenshots/, for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def in_view(page, locator) -> bool:  # type: ignore[no-untyped-def]
    """The element is wholly inside the viewport, as scrolled now."""
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["x"] >= 0 \
        and box["y"] + box["height"] <= size["height"] and box["x"] + box["width"] <= size["width"]


def type_country(page, text: str):  # type: ignore[no-untyped-def]
    """On a fresh home page, ``text`` typed key by key into the first country box; the box."""
    page.goto("/")
    box = page.locator(".term input.country").first
    box.click()
    box.press_sequentially(text)
    return box
