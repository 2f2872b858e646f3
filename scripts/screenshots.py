"""Screenshots of every page of the web app at a 1280x800 desktop and a 390x844 phone, in
the dark and the light theme, from a real server on a dotify home (the demo's, say).

    .venv/bin/python scripts/screenshots.py [--home .dotify] [--out artifacts/screenshots]
                                            [--readme docs/screenshot.png]

Writes ``<page>-<size>-<theme>.png`` (whole pages; the query page also as ``results-first-
screen-<size>-<theme>.png``, the screen as it is right after Ask) and, with ``--readme``,
the README's picture: the answer to "Colombia x Mexico - Spain" on a desktop, dark theme.
Needs Chromium at /usr/bin/chromium and Playwright's Python package.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

from dotify import countries
from dotify.config import Settings
from dotify.web import create_app

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
QUERY = "/?q=Colombia+x+Mexico+-+Spain"  # on simulated charts: what both play, Spain not


def pages(settings: Settings) -> dict[str, tuple[str, str]]:
    """name -> (path, a selector that shows the page is drawn)."""
    from dotify import artifact

    version = artifact.current_version(settings.models_dir)
    codes: set[str] = set()
    if version:
        codes = set(artifact.load(settings.models_dir / version).countries.tolist())
    missing = next((m.code for m in countries.countries() if m.code not in codes), "it")
    return {
        "index": ("/", ".term input.country"),
        "results": (QUERY, "#songs > li"),
        "map": ("/map", "#heatmap rect.cell"),
        "country": ("/country/co", "h1"),
        "country-no-data": (f"/country/{missing}", "h1"),
        "about": ("/about", "h1"),
        "not-found": ("/nope", "h1"),
        "docs": ("/docs", ".opblock"),
    }


def serve(settings: Settings) -> tuple[str, object]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("DOTIFY_HOME", ".dotify")))
    parser.add_argument("--out", type=Path, default=Path("artifacts/screenshots"))
    parser.add_argument("--readme", type=Path, default=None, help="also write the README picture")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    settings = Settings(home=args.home)
    args.out.mkdir(parents=True, exist_ok=True)
    base, server = serve(settings)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        for theme in ("dark", "light"):
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height}, base_url=base,
                    color_scheme=theme, is_mobile=size == "phone", has_touch=size == "phone",
                    device_scale_factor=2 if size == "phone" else 1)
                page = context.new_page()
                for name, (path, drawn) in pages(settings).items():
                    page.goto(path)
                    page.locator(drawn).first.wait_for()
                    page.wait_for_timeout(300)  # fonts and the last layout
                    if name == "results":
                        first = args.out / f"results-first-screen-{size}-{theme}.png"
                        page.screenshot(path=str(first))
                        written.append(first)
                        if size == "desktop" and theme == "dark" and args.readme:
                            page.screenshot(path=str(args.readme))
                            written.append(args.readme)
                    shot = args.out / f"{name}-{size}-{theme}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    written.append(shot)
                context.close()
        browser.close()
    server.should_exit = True  # type: ignore[attr-defined]
    for path in written:
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
