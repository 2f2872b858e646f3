"""Query latency of the recommendation engine, in process.

For 55 countries x 10,000 songs and x 1,000,000 songs (30 factors, float32; each country
charted 5,000 songs), prints the median and p90 of ``recommend(artifact, ...)`` for each
shape of query in :data:`SHAPES` (one country at the default popularity and at both ends of
the knob, combined expressions, a top 200, discover mode), the per-artifact cache warm,
and the first (cold) query of each shape, which builds it. The shapes take turns, so a
machine busy with other work slows them alike. Aims: a median under 1 ms at 10,000 songs
and under 5 ms at 1,000,000.

``--compare SRC`` runs the same in fresh processes alternately on the package under
``SRC`` (another checkout's ``src``, say the main branch's: ``git worktree add /tmp/main
main`` then ``--compare /tmp/main/src``) and on this one, ``--rounds`` times each, and
prints both side by side.

Then the popularity knob on simulated charts (``--days`` of them, default 7; an IMF model
with default parameters): for every market's own top 10 at each knob value, the share of
songs of the market's planted cluster, of the market's own songs, and of global hits; how
many markets a recommended song charted in; and how much two markets' top 10s overlap.
(The default popularity is chosen on real charts: ``bench/bench_fidelity.py``.)

Run: ``.venv/bin/python bench/bench_recommend.py [--quick] [--sizes 10000,1000000]
[--compare SRC [--rounds 3]] [--days N] [--no-sweep]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from dotify.artifact import Artifact
from dotify.countries import MARKETS
from dotify.learn.ratings import Songs
from dotify.models import make_model
from dotify.query.recommend import recommend

FACTORS = 30
CHARTED = 5_000
AIMS = {10_000: 1.0, 1_000_000: 5.0}  # median ms
# (label, expression, options)
SHAPES: list[tuple[str, str, dict[str, Any]]] = [
    ("one country", "Colombia", {}),
    ("one country, popularity 0", "Colombia", {"popularity": 0.0}),
    ("one country, popularity 1", "Colombia", {"popularity": 1.0}),
    ("one country, top 200", "Colombia", {"n": 200}),
    ("A x B - C", "Colombia x Turkey - Germany", {}),
    ("A x B - C, popularity 0", "Colombia x Turkey - Germany", {"popularity": 0.0}),
    ("A + 2 B - 0.5 C", "Colombia + 2 Turkey - 0.5 Germany", {}),
    ("A / B, popularity 1", "Colombia / Turkey", {"popularity": 1.0}),
    ("discover: one country", "Colombia", {"exclude_charting": True}),
    ("discover: A + B", "Colombia + Turkey", {"exclude_charting": True}),
    ("discover: A x B - C", "Colombia x Turkey - Germany", {"exclude_charting": True}),
]


def make_artifact(n_songs: int, n_countries: int = 55, seed: int = 0) -> Artifact:
    rng = np.random.default_rng(seed)
    codes = [c for c in MARKETS if c not in ("global",)]
    codes = ["co", "tr", "de"] + [c for c in codes if c not in ("co", "tr", "de")]
    model = make_model("imf", factors=FACTORS)
    model.country_factors = rng.normal(size=(n_countries, FACTORS)).astype(np.float32)
    model.song_factors = rng.normal(scale=0.1, size=(n_songs, FACTORS)).astype(np.float32)
    ids = np.char.add("k", np.arange(n_songs).astype(str))
    # each country charted CHARTED songs (a year of daily top 200s), with streams
    rows = np.repeat(np.arange(n_countries), CHARTED)
    cols = rng.integers(0, n_songs, n_countries * CHARTED)
    streams = sp.csr_matrix((rng.lognormal(12, 1.5, len(rows)), (rows, cols)),
                            shape=(n_countries, n_songs))
    songs = Songs(keys=ids, titles=ids, artists=ids, urls=np.full(n_songs, ""),
                  streams=np.asarray(streams.sum(axis=0)).ravel().astype(np.int64))
    return Artifact(model, np.array(codes[:n_countries]), songs, {}, streams=streams)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def measure(sizes: list[int], repeats: dict[int, int]) -> dict[str, Any]:
    """{size: {label: {"cold": ms, "ms": [ms, ...]}}} for every shape, the shapes in turn."""
    out: dict[str, Any] = {}
    for n_songs in sizes:
        art = make_artifact(n_songs)
        found: dict[str, Any] = {}
        for label, expression, options in SHAPES:
            started = time.perf_counter()
            recommend(art, expression, **options)
            found[label] = {"cold": 1e3 * (time.perf_counter() - started), "ms": []}
        for _ in range(repeats[n_songs]):
            for label, expression, options in SHAPES:
                started = time.perf_counter()
                recommend(art, expression, **options)
                found[label]["ms"].append(1e3 * (time.perf_counter() - started))
        out[str(n_songs)] = found
        del art
    return out


def table(results: dict[str, dict[str, Any]]) -> None:
    """One line per size and shape: cold, median and p90 ms of each source, side by side."""
    names = list(results)
    head = "".join(f" | {name[-24:]:>24}" for name in names)
    say(f"{'songs':>10} {'query':<27}{head}")
    say(f"{'':>10} {'':<27}" + " | {:>7} {:>7} {:>8}".format("cold", "median", "p90")
        * len(names) + "   aim")
    for size in next(iter(results.values())):
        aim = AIMS.get(int(size), float("nan"))
        for label, _, _ in SHAPES:
            cells, last = "", 0.0
            for name in names:
                got = results[name][size][label]
                last = float(np.median(got["ms"]))
                cells += (f" | {got['cold']:>7.1f} {last:>7.2f} "
                          f"{np.percentile(got['ms'], 90):>8.2f}")
            ok = "ok" if last <= aim else "OVER"
            say(f"{int(size):>10,} {label:<27}{cells}   {aim:g} {ok}")


def compare(other: Path, sizes: list[int], repeats: dict[int, int], rounds: int) -> None:
    """This package and the one under ``other``, in fresh processes, ``rounds`` times each
    in turn; every sample of a side pooled."""
    ours = Path(__file__).resolve().parents[1] / "src"
    pooled: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        for name, src in ((f"old {other}", other), (f"new {ours}", ours)):
            argv = [sys.executable, __file__, "--json", "--sizes", ",".join(map(str, sizes)),
                    "--repeats", ",".join(str(repeats[s]) for s in sizes)]
            text = subprocess.run(argv, env={**os.environ, "PYTHONPATH": str(src)},
                                  capture_output=True, text=True, check=True).stdout
            got = json.loads(text)
            side = pooled.setdefault(name, {})
            for size, shapes in got.items():
                for label, cell in shapes.items():
                    into = side.setdefault(size, {}).setdefault(label, {"cold": [], "ms": []})
                    into["cold"].append(cell["cold"])
                    into["ms"].extend(cell["ms"])
    for side in pooled.values():
        for shapes in side.values():
            for cell in shapes.values():
                cell["cold"] = float(np.median(cell["cold"]))
    table(pooled)


def simulated_artifact(folder: Path, days: int) -> tuple[Artifact, dict]:
    """Simulate, ingest and train as the nightly job would; (artifact, ground truth)."""
    from dotify.charts.ingest import ingest_paths
    from dotify.charts.sim.simulate import simulate
    from dotify.config import Settings
    from dotify.learn.ratings import from_store
    from dotify.store.engine import opened

    summary = simulate(folder / "charts", days=days, seed=0)
    settings = Settings(home=folder / "home")
    with opened(settings) as engine:
        ingest_paths(engine, [folder / "charts"])
        ratings = from_store(engine)
    model = make_model("imf").fit(ratings)
    truth = json.loads(summary.ground_truth.read_text())
    return Artifact(model, ratings.countries, ratings.songs, {}, streams=ratings.raw), truth


def sweep(days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        art, truth = simulated_artifact(Path(tmp), days)
    songs = [truth["songs"][k] for k in art.songs.keys]
    cluster = np.array([s["cluster"] for s in songs])
    origin = np.array([s["origin"] for s in songs])
    is_global = np.array([s["scope"] == "global" for s in songs])
    breadth = np.asarray((art.charted > 0).sum(axis=0)).ravel()
    column = {k: i for i, k in enumerate(art.songs.keys)}
    say(f"\npopularity knob, every market's top 10, {days} simulated days, "
        f"{len(art.countries)} markets x {len(art.songs):,} songs")
    say(f"{'popularity':>10} {'own cluster':>11} {'own market':>10} {'global hits':>11} "
        f"{'markets charted':>15} {'overlap':>8}")
    for p in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0):
        tops = [np.array([column[s.uri.rsplit(":", 1)[1]]
                          for s in recommend(art, str(c), n=10, popularity=p).songs])
                for c in art.countries]
        codes = [str(c) for c in art.countries]
        sets = [set(t.tolist()) for t in tops]
        overlap = np.mean([len(a & b) / 10 for i, a in enumerate(sets) for b in sets[i + 1:]])
        pairs = list(zip(tops, codes, strict=True))
        own_cluster = np.mean([np.mean(cluster[t] == truth["markets"][c]) for t, c in pairs])
        own_market = np.mean([np.mean(origin[t] == c) for t, c in pairs])
        say(f"{p:>10.2f} {own_cluster:>11.2f} {own_market:>10.2f} "
            f"{np.mean([np.mean(is_global[t]) for t in tops]):>11.2f} "
            f"{np.mean([np.mean(breadth[t]) for t in tops]):>15.1f} {overlap:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeats", default="", help="per size, comma-separated")
    parser.add_argument("--compare", type=Path, default=None, metavar="SRC")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the samples as JSON")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.repeats:
        repeats = dict(zip(sizes, map(int, args.repeats.split(",")), strict=True))
    else:
        repeats = {s: (20 if args.quick else 100) if s > 100_000 else
                   (100 if args.quick else 500) for s in sizes}
    if args.json:
        say(json.dumps(measure(sizes, repeats)))
        return
    say(f"recommend, n=10 unless said, {FACTORS} factors, 55 countries, {CHARTED:,} songs "
        "charted each; ms")
    if args.compare is not None:
        compare(args.compare.resolve(), sizes,
                {s: max(1, r // args.rounds) for s, r in repeats.items()}, args.rounds)
    else:
        table({"this checkout": measure(sizes, repeats)})
    if not args.no_sweep:
        sweep(args.days)


if __name__ == "__main__":
    main()
