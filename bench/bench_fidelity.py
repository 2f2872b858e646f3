"""Fidelity of the answers on the real weekly charts (``../shared/data``), when present.

Ingests ``charts-weekly-2019-2021`` into a scratch home (or reuses ``DOTIFY_BENCH_HOME``),
trains the default model kind and IMF at its defaults (seed split 0, refit on all; the
pairs charted in the last ``DOTIFY_ACTIVE_DAYS``, as ``dotify train``), and prints for
each: validation EPR and the fidelity table of ``dotify fidelity`` (precision@10 against
the chart truth, the local truth and either, single countries and combinations, at
popularity 0, 0.25, 0.5, 0.75 and 1; the combinations also by kind), then ``dotify top``
at the default popularity for Japan, Colombia, Turkey, Germany and Taiwan, and four
combinations. Skips with a message without the data.

Run: ``.venv/bin/python bench/bench_fidelity.py [--kinds bpr-net,imf]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dotify.config import Settings
    from dotify.learn.fidelity import FidelityRow
    from dotify.learn.ratings import Ratings
    from dotify.learn.window import DataWindow

say = print  # a benchmark prints its figures

ARCHIVE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "charts-weekly-2019-2021"
           / "chart_scrapes.tar.gz")
TOP = ("Japan", "Colombia", "Turkey", "Germany", "Taiwan")
ASKED = ("Mexico - Spain", "United States - Canada", "Japan x Taiwan",
         "Colombia x Turkey - Germany")


def by_kind(combos: list[str]) -> dict[str, list[str]]:
    """The combinations split by kind: sums of two and of three, differences, products."""
    kinds: dict[str, list[str]] = {"  sum of 2": [], "  sum of 3": [], "  difference": [],
                                   "  product": []}
    for expression in combos:
        kind = ("  product" if " x " in expression else "  difference" if " - " in expression
                else "  sum of 3" if expression.count("+") == 2 else "  sum of 2")
        kinds[kind].append(expression)
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kinds", default="bpr-net,imf")
    parser.add_argument("--active-days", default=None,
                        help="comma-separated N or all (default DOTIFY_ACTIVE_DAYS): one run "
                        "each, also scored against the streams of the last --recent days")
    parser.add_argument("--recent", type=int, default=365)
    args = parser.parse_args()
    if not ARCHIVE.exists():
        say(f"skipped: {ARCHIVE} is absent (the real charts live outside the repository)")
        return 0
    home = Path(os.environ.get("DOTIFY_BENCH_HOME") or tempfile.mkdtemp(prefix="dotify-fid-"))
    os.environ["DOTIFY_HOME"] = str(home)
    from dotify.api.data import resolve_active_days
    from dotify.charts.ingest import ingest_paths
    from dotify.config import Settings
    from dotify.learn.ratings import from_store
    from dotify.learn.window import DataWindow
    from dotify.store.engine import opened
    from dotify.store.totals import newest_day

    cfg = Settings()
    cfg.ensure_dirs()
    with opened(cfg) as engine:
        if not (home / "ingested").exists():
            started = time.perf_counter()
            ingest_paths(engine, [ARCHIVE])
            (home / "ingested").touch()
            say(f"ingest: {time.perf_counter() - started:.1f} s into {home}")
        newest = newest_day(engine)
        # what countries streamed in the last --recent days: those days' streams only
        recent = from_store(engine, DataWindow(start=DataWindow().active(args.recent,
                                                                         newest).since))
    settings = [cfg.active_days] if args.active_days is None else \
        [resolve_active_days(cfg, days.strip()) for days in args.active_days.split(",")]
    for days in settings:
        window = DataWindow().active(days, newest)  # what `dotify train` learns
        say(f"\n# models learn the pairs charted since {window.since} (active days "
            f"{days or 'all'}); the truths are the charts of that window")
        for kind in args.kinds.split(","):
            measure(cfg, kind, window, recent if len(settings) > 1 else None, args.recent)
    return 0


def measure(cfg: Settings, kind: str, window: DataWindow, recent: Ratings | None,
            recent_days: int) -> None:
    """Train ``kind`` on ``window``; print its fidelity table against the window's charts
    (and, given ``recent``, the summary rows against those), its tops and answers."""
    from dotify import artifact
    from dotify.learn import fidelity
    from dotify.learn.ratings import from_store
    from dotify.learn.training import train
    from dotify.learn.window import DataWindow
    from dotify.query.recommend import recommend, top
    from dotify.store.engine import opened

    started = time.perf_counter()
    result = train(cfg, kind, {}, window=window)
    model = artifact.load_current(cfg.models_dir)
    with opened(cfg) as engine:
        truth = from_store(engine, DataWindow.from_info(model.meta["window"]))
    say(f"\n== {kind}: validation EPR {result.metrics['val_epr']:.4f} "
          f"(filtered {result.metrics['val_epr_filtered']:.4f}), "
          f"{truth.shape[0]} countries x {truth.shape[1]} songs, "
          f"trained in {time.perf_counter() - started:.1f} s")
    say(f"{'expressions':<12} {'popularity':>10} {'n':>3} {'charts':>7} {'local':>6} "
          f"{'either':>7} {'repeated':>8}")
    codes = [str(c) for c in model.countries]
    singles, combos = fidelity.expressions(model, codes)
    groups = {"single": singles, "combination": combos, **by_kind(combos)}
    table(fidelity.fidelity(model, truth, groups))
    for country in TOP:
        songs = top(model, country, n=5).songs
        say(f"top {country}: " + "; ".join(f"{s.title} ({s.artists})" for s in songs))
    for expression in ASKED:
        songs = recommend(model, expression, n=5).songs
        say(f"{expression}: " + "; ".join(f"{s.title} ({s.artists})" for s in songs))
    if recent is not None:
        say(f"against the streams of the last {recent_days} days "
            f"({recent.shape[1]} songs):")
        table(fidelity.fidelity(model, recent, {"single": singles, "combination": combos}))


def table(rows: list[FidelityRow]) -> None:
    for row in rows:
        say(f"{row.group:<12} {row.popularity:>10g} {row.expressions:>3} "
            f"{row.charts:>7.2f} {row.local:>6.2f} {row.either:>7.2f} {row.repeated:>8}")


if __name__ == "__main__":
    sys.exit(main())
