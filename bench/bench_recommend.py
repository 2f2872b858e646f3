"""Query latency of the recommendation engine, in process.

For 55 countries x 10,000 songs and x 1,000,000 songs (30 factors, float32), prints the
median and p99 of ``recommend(artifact, "Colombia x Turkey - Germany", n=10)`` (the
per-artifact cache warm; each country charted 5,000 songs), the first (cold) query that
builds the cache, and, side by side, the same answer computed naively (the three countries'
profiles and model percentiles from scratch, a full sort) to show what the cache buys.
Aims: <= 1 ms at 10,000 songs, <= 50 ms at 1,000,000.

Then the popularity knob on simulated charts (``--days`` of them, default 7; an IMF model
with default parameters): for every market's own top 10 at each knob value, the share of
songs of the market's planted cluster, of the market's own songs, and of global hits; how
many markets a recommended song charted in; and how much two markets' top 10s overlap.
(The default popularity is chosen on real charts: ``bench/bench_fidelity.py``.)

Run: ``.venv/bin/python bench/bench_recommend.py [--quick] [--days N] [--no-sweep]``
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dotify.artifact import Artifact
from dotify.countries import MARKETS
from dotify.learn.ratings import Songs
from dotify.models import make_model
from dotify.query.recommend import recommend

EXPRESSION = "Colombia x Turkey - Germany"
FACTORS = 30
CHARTED = 5_000


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


def naive(art: Artifact, n: int = 10) -> np.ndarray:
    """The same answer without the per-model cache: profiles and percentiles of the three
    countries from scratch, a full sort instead of a partial one."""
    from dotify.query.tastes import FILL_IN, percentile_power, profiles

    rows = {c: i for i, c in enumerate(art.countries)}
    chart = profiles(art.streams).toarray()
    world = chart.mean(axis=0)
    p = 0.5

    def taste(code: str) -> np.ndarray:
        row = rows[code]
        estimate = percentile_power(art.model.score(np.array([row])))[0]
        return np.where(chart[row] > 0, chart[row], FILL_IN * estimate) - (1 - p) * world

    scores = np.maximum(taste("co"), 0) * np.maximum(taste("tr"), 0) - taste("de")
    return np.argsort(-scores, kind="stable")[:n]


def timings(fn, repeats: int) -> np.ndarray:
    out = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - start
    return out * 1e3


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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


def main(quick: bool = False) -> None:
    say(f"query: {EXPRESSION!r}, n=10, {FACTORS} factors, 55 countries")
    say(f"{'songs':>10} {'cold ms':>9} {'median ms':>10} {'p99 ms':>8} "
        f"{'naive median ms':>16} {'speed-up':>9} {'aim ms':>7}")
    for n_songs, repeats, aim in ((10_000, 300 if quick else 2000, 1.0),
                                  (1_000_000, 10 if quick else 60, 50.0)):
        art = make_artifact(n_songs)
        cold = timings(lambda art=art: recommend(art, EXPRESSION, n=10), 1)[0]
        warm = timings(lambda art=art: recommend(art, EXPRESSION, n=10), repeats)
        slow = timings(lambda art=art: naive(art), max(5, repeats // 10))
        ok = "ok" if np.median(warm) <= aim else "OVER"
        say(f"{n_songs:>10,} {cold:>9.2f} {np.median(warm):>10.3f} "
            f"{np.percentile(warm, 99):>8.3f} {np.median(slow):>16.3f} "
            f"{np.median(slow) / np.median(warm):>8.1f}x {aim:>6g} {ok}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
    if "--no-sweep" not in sys.argv:
        days = int(sys.argv[sys.argv.index("--days") + 1]) if "--days" in sys.argv else 7
        sweep(days)
