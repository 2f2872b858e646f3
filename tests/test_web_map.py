"""The map page at a 1280x800 desktop and a 390x844 phone (issue 16): labels that never
overlap, zoom and pan, search, the heatmap's scale and names, keyboard and touch, the
loading sign, and a map computed when the model is loaded rather than on the first visit."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from dotify.config import Settings
from dotify.web import create_app
from tests.browser_support import base_url, browser, browser_test, open_page, shot, sized
from tests.waiting import wait_until
from tests.web_support import build_artifact

__all__ = ["base_url", "browser", "sized"]  # fixtures
N = 14  # countries in the planted model


def boxes(page, selector: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.evaluate(f"""[...document.querySelectorAll({selector!r})]
        .filter((e) => getComputedStyle(e).display !== 'none')
        .map((e) => {{ const r = e.getBoundingClientRect();
                       return {{x: r.left, y: r.top, w: r.width, h: r.height,
                               code: e.dataset.code
                                     || e.closest('[data-code]')?.dataset.code}}; }})""")


def overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] \
        and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def assert_no_overlaps(page) -> int:  # type: ignore[no-untyped-def]
    """No shown label overlaps another label or any point; returns how many are shown."""
    labels, dots = boxes(page, "#scatter text"), boxes(page, "#scatter circle.pt")
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not overlap(a, b), f"labels {a['code']} and {b['code']} overlap"
        for d in dots:
            assert d["code"] == a["code"] or not overlap(a, d), \
                f"label {a['code']} covers the point of {d['code']}"
    return len(labels)


@browser_test
def test_the_map_reads_at_both_sizes(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.goto("/map")
    dots = page.locator("#scatter circle.pt")
    expect(dots).to_have_count(N)
    expect(page.locator("#map-loading")).to_be_hidden()
    expect(page.locator("#heatmap rect.cell")).to_have_count(N * N)  # drawn after the points
    assert page.locator("#heatmap .row-name").count() == N
    assert page.locator("#heatmap .col-name").count() == N
    expect(page.locator("#heat-scale")).to_contain_text(re.compile(r"-?\d\.\d\d.*1\.00"))
    assert page.locator("#legend li").count() >= 3
    assert assert_no_overlaps(page) >= 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"
    scatter = page.locator("#scatter svg").bounding_box()
    assert scatter["x"] + scatter["width"] <= page.viewport_size["width"]
    shot(page, f"map-{page.size}")
    assert not page.console_errors and page.outside == []


@browser_test
def test_zoom_keeps_labels_apart_and_search_finds_a_country(sized) -> None:  # type: ignore[no-untyped-def]
    page = sized
    page.goto("/map")
    expect(page.locator("#scatter circle.pt")).to_have_count(N)
    first = page.locator("#scatter circle.pt").first
    before = first.bounding_box()
    page.click("#zoom-in")
    page.click("#zoom-in")
    after = first.bounding_box()
    assert (after["x"], after["y"]) != (before["x"], before["y"])
    assert_no_overlaps(page)
    page.click("#zoom-reset")
    page.fill("#find", "colombia")
    page.press("#find", "Enter")
    label = page.locator("#scatter text.found")
    expect(label).to_have_text("Colombia")
    assert page.locator("#scatter circle.pt.found").count() == 1
    expect(page.locator("#heatmap rect.cell.found")).to_have_count(2 * N - 1)  # row, column
    found = page.locator("#map-found")
    expect(found).to_contain_text("Colombia is most like")
    assert_no_overlaps(page)
    # the numbers are the country page's
    named = re.findall(r"([A-Z][\w ]+?) (-?\d\.\d\d)", found.inner_text().split("most like")[1])
    page.goto("/country/co")
    nearest = page.locator("ol.near li")
    for (name, value), i in zip(named, range(5), strict=False):
        assert name.strip() in nearest.nth(i).inner_text() and value in nearest.nth(i).inner_text()
    page.goto("/map")
    page.fill("#find", "Narnia")
    page.press("#find", "Enter")
    expect(page.locator("#map-found")).to_have_text("No country called “Narnia” on this map.")


@browser_test
def test_drag_pans_the_map(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, base_url, "desktop")
    page.goto("/map")
    expect(page.locator("#scatter circle.pt")).to_have_count(N)
    page.click("#zoom-in")
    dot = page.locator("#scatter circle.pt").first
    before = dot.bounding_box()
    box = page.locator("#scatter svg").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 80, box["y"] + 60, steps=5)
    page.mouse.up()
    after = dot.bounding_box()
    assert after["x"] - before["x"] == pytest.approx(60, abs=2)
    assert after["y"] - before["y"] == pytest.approx(40, abs=2)
    assert page.url.endswith("/map")  # a drag that ends on a point opens nothing
    page.context.close()


@browser_test
def test_every_country_by_keyboard(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, base_url, "desktop")
    page.goto("/map")
    expect(page.locator("#scatter circle.pt")).to_have_count(N)
    page.locator("#scatter svg").focus()
    reached = set()
    for _ in range(N):
        page.keyboard.press("Tab")
        code = page.evaluate("document.activeElement.dataset.code")
        if code:
            reached.add(code)
            expect(page.locator("#tip")).to_be_visible()
    assert len(reached) == N
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/country/[a-z]{2}$"))
    page.context.close()


@browser_test
def test_a_tap_names_a_country_and_a_second_opens_it(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, base_url, "phone")
    page.goto("/map")
    expect(page.locator("#scatter circle.pt")).to_have_count(N)
    link = page.locator("#scatter a.country").first
    code = link.get_attribute("data-code")
    link.locator("circle").tap()
    expect(page.locator("#tip")).to_be_visible()
    assert page.url.endswith("/map")
    link.locator("circle").tap()
    page.wait_for_url(re.compile(f"/country/{code}$"))
    page.context.close()


@pytest.mark.slow
def test_the_map_is_computed_when_the_model_loads(settings: Settings) -> None:
    build_artifact(settings.models_dir)
    app = create_app(settings)
    with TestClient(app) as client:  # the lifespan loads the model
        live = app.state.holder.get()
        # no request has asked for the map: the model's loading made it
        wait_until(lambda: "taste_map" in live._cache, what="the map of the loaded model")
        made = live._cache["taste_map"]
        answer = client.get("/api/map")
        assert answer.status_code == 200 and len(answer.json()["countries"]) == N
        assert live._cache["taste_map"] is made  # served from what the loading made

