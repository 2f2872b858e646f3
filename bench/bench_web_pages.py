"""What a visitor waits for, in real Chromium against a real ``dotify serve``: the map page
on the first visit after a start, the first painted song after Ask, and the country pages.

Publishes the 55 countries x 10,000 songs artifact of ``bench_web.py`` (``--songs`` for
another size) in a throw-away home,
starts ``dotify serve`` on 127.0.0.1, waits for ``/healthz`` to name the model, then at once
opens ``/about`` (the browser's cold start) and ``/map`` in headless Chromium
(/usr/bin/chromium), timing the map from the navigation's start to the animation frame after
its first point is in the page (the server computes the map when it loads the model, before
it takes requests; the heatmap below the points may come later). Then it asks
``--queries`` three-country expressions on the query page and times each from the form's
submit to the first song row painted (the next animation frame after it is inserted).
Last, the server's time for ``/country/<code>`` (similar countries and the top 20) of five
countries: their first visits, then the median of ten more each.
With ``--home``, then the server's time for ``/api/songs/history`` (a song's chart
positions, day by day, in the three countries of a query: what "Chart history" draws) of
the songs of five answers.
Prints them all, with the aims: map 300 ms, first song 150 ms.

``--home DIR`` serves a home of your own instead (its published model and its chart store,
so the songs' standings and histories are read from the store: on the ten-year home that
``python bench/bench_scale.py --years 10 --keep`` leaves, 49 million chart entries).

    .venv/bin/python bench/bench_web_pages.py [--queries 20] [--songs 10000] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import _free_port, describe, market_names, publish_model, say  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FIRST_SONG = """async (q) => {
    const songs = document.getElementById("songs");
    songs.replaceChildren();
    const began = performance.now();
    const painted = new Promise((done) => new MutationObserver((_, watch) => {
        if (!songs.querySelector(":scope > li")) return;
        watch.disconnect();
        requestAnimationFrame(() => done(performance.now() - began));
    }).observe(songs, { childList: true }));
    document.getElementById("form-body").hidden = false;
    document.getElementById("expression").value = q;
    document.getElementById("free").requestSubmit();
    return await painted;
}"""


# the next animation frame after the scatter's first point is in the page, in ms from the
# navigation's start (what a visitor waits for: the heatmap below it may come later)
MAP_PAINTED = """new MutationObserver((_, watch) => {
    if (!document.querySelector("#scatter circle.pt")) return;
    watch.disconnect();
    requestAnimationFrame(() => { window.mapPainted = performance.now(); });
}).observe(document, { childList: true, subtree: true });"""


def start(home: Path, port: int) -> tuple[subprocess.Popen, float]:
    """``dotify serve`` and the seconds until /healthz names a model."""
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dotify", "serve", "--port", str(port)],
                            env={**os.environ, "DOTIFY_HOME": str(home)},
                            stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()["model_version"]:
                return proc, time.perf_counter() - began
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("dotify serve did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--songs", type=int, default=10_000)
    parser.add_argument("--home", type=Path, help="serve this home (its model and store)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        say(f"web pages: {CHROMIUM} is not installed - skipped")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        if args.home is None:
            names = publish_model(home / "models", n_songs=args.songs)
            served = f"55 x {args.songs:,} artifact"
        else:
            names = market_names(home)
            served = describe(home)
        port = _free_port()
        proc, up = start(home, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM,
                                            args=["--headless", "--no-sandbox", "--disable-gpu"])
                page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 800})
                page.goto("/about")  # the browser's own cold start is not the map's
                page.add_init_script(MAP_PAINTED)
                page.goto("/map")
                map_ms = page.wait_for_function("window.mapPainted", timeout=60_000).json_value()
                page.close()
                page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 800})
                page.goto("/")
                page.locator(".term input.country").first.wait_for()
                rng = random.Random(3)
                asks = [page.evaluate(FIRST_SONG, "{} x {} - {}".format(*rng.sample(names, 3)))
                        for _ in range(args.queries)]
                browser.close()
            first, again = country_pages(base, rng.sample(names, 5))
            histories = [] if args.home is None else chart_histories(  # needs a store
                base, [rng.sample(names, 3) for _ in range(5)])
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    say(f"web pages: {served}, server up in {up:.1f} s")
    say(f"  first visit to /map after the start: {map_ms:.0f} ms to the drawn map "
        "(aim: 300 ms)")
    say(f"  Ask to the first painted song, {len(asks)} queries: median "
        f"{statistics.median(asks):.0f} ms, max {max(asks):.0f} ms (aim: 150 ms)")
    say(f"  /country/<code>, 5 countries: first visits median {statistics.median(first):.0f} "
        f"ms (max {max(first):.0f}), then median {statistics.median(again):.0f} ms "
        f"(max {max(again):.0f})")
    if not histories:
        return 0
    days = [n for _, n in histories]
    say(f"  /api/songs/history, the songs of 5 answers in their 3 countries: median "
        f"{statistics.median(ms for ms, _ in histories):.0f} ms (max "
        f"{max(ms for ms, _ in histories):.0f}), {statistics.median(days):.0f} chart days "
        f"each (max {max(days):,})")
    return 0


def chart_histories(base: str, triples: list[list[str]]) -> list[tuple[float, int]]:
    """(milliseconds of the server's answer, chart days in it) of the chart history of each
    song of the answer to each "A x B - C" of three countries, in those three."""
    from dotify.countries import lookup

    found = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for names in triples:
            answer = client.post("/api/recommendations",
                                 json={"expression": "{} x {} - {}".format(*names)})
            answer.raise_for_status()
            codes = ",".join(lookup(name).code for name in names)
            for song in answer.json()["songs"]:
                began = time.perf_counter()
                response = client.get("/api/songs/history",
                                      params={"key": song["key"], "countries": codes})
                response.raise_for_status()
                ms = 1000 * (time.perf_counter() - began)
                found.append((ms, sum(len(c["points"]) for c in response.json()["countries"])))
    return found


def country_pages(base: str, names: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds of the server's answer to each country's page: first visits, then ten
    more visits each."""
    from dotify.countries import lookup

    first, again = [], []
    with httpx.Client(base_url=base, timeout=60) as client:
        for name in names:
            path = f"/country/{lookup(name).code}"
            for visit in range(11):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                (again if visit else first).append(1000 * (time.perf_counter() - began))
    return first, again


if __name__ == "__main__":
    sys.exit(main())
