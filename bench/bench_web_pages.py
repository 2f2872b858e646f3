"""What a visitor waits for, in real Chromium against a real ``dotify serve``: the map page
on the first visit after a start, the first painted song after Ask, and the country pages.

Publishes the 55 countries x 10,000 songs artifact of ``bench_web.py`` (``--songs`` for
another size) in a throw-away home,
starts ``dotify serve`` on 127.0.0.1, waits for ``/healthz`` to name the model, then at once
opens ``/about`` (the browser's cold start) and ``/map`` in headless Chromium
(/usr/bin/chromium), timing the map from navigation to the drawn points (the server computes
the map when it loads the model, before it takes requests). Then it asks
``--queries`` three-country expressions on the query page and times each from the form's
submit to the first song row painted (the next animation frame after it is inserted).
Last, the server's time for ``/country/<code>`` (similar countries and the top 20) of five
countries: their first visits, then the median of ten more each.
Prints them all, with the aims: map 300 ms, first song 150 ms.

    .venv/bin/python bench/bench_web_pages.py [--queries 20] [--songs 10000]
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
from bench_web import _free_port, publish_model, say  # noqa: E402

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
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        say(f"web pages: {CHROMIUM} is not installed - skipped")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        names = publish_model(Path(tmp) / "models", n_songs=args.songs)
        port = _free_port()
        proc, up = start(Path(tmp), port)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM,
                                            args=["--headless", "--no-sandbox", "--disable-gpu"])
                page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 800})
                page.goto("/about")  # the browser's own cold start is not the map's
                began = time.perf_counter()
                page.goto("/map")
                page.locator("#scatter circle.pt").first.wait_for(timeout=60_000)
                map_ms = 1000 * (time.perf_counter() - began)
                page.goto("/")
                page.locator(".term input.country").first.wait_for()
                rng = random.Random(3)
                asks = [page.evaluate(FIRST_SONG, "{} x {} - {}".format(*rng.sample(names, 3)))
                        for _ in range(args.queries)]
                browser.close()
            first, again = country_pages(base, rng.sample(names, 5))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    say(f"web pages: 55 x {args.songs:,} artifact, server up in {up:.1f} s")
    say(f"  first visit to /map after the start: {map_ms:.0f} ms to the drawn map "
        "(aim: 300 ms)")
    say(f"  Ask to the first painted song, {len(asks)} queries: median "
        f"{statistics.median(asks):.0f} ms, max {max(asks):.0f} ms (aim: 150 ms)")
    say(f"  /country/<code>, 5 countries: first visits median {statistics.median(first):.0f} "
        f"ms (max {max(first):.0f}), then median {statistics.median(again):.0f} ms "
        f"(max {max(again):.0f})")
    return 0


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
