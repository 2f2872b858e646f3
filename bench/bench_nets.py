"""Seconds per epoch of networks 1-5 on the seed's size: 55 countries x 8,663 songs, every
pair each epoch (476,465 pairs), batch 1,024; and one thread against two, side by side.

Synthetic ratings of that shape (200 charted songs per country, 2-6 word titles, 1,500
artists) stand in for charts; the timing does not depend on the values.
Run: ``.venv/bin/python bench/bench_nets.py`` (DOTIFY_BENCH_REPEATS, default 3).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

from dotify.learn.ratings import Ratings, Songs
from dotify.models import make_model

N_COUNTRIES, N_SONGS, PER_COUNTRY = 55, 8663, 200
REPEATS = int(os.environ.get("DOTIFY_BENCH_REPEATS", "3"))


def seed_shaped(seed: int = 0) -> Ratings:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(3000)])
    titles = np.array([" ".join(rng.choice(words, rng.integers(2, 7))) for _ in range(N_SONGS)])
    artists = np.array([f"artist{rng.integers(1500)}, guest" for _ in range(N_SONGS)])
    songs = Songs(np.array([f"s{i}" for i in range(N_SONGS)]), titles, artists,
                  np.full(N_SONGS, ""), rng.integers(1, 10**6, N_SONGS))
    rows = np.repeat(np.arange(N_COUNTRIES), PER_COUNTRY)
    cols = np.concatenate([rng.choice(N_SONGS, PER_COUNTRY, replace=False)
                           for _ in range(N_COUNTRIES)])
    return Ratings.from_triples(np.array([f"c{i}" for i in range(N_COUNTRIES)]), songs, rows,
                                cols, rng.uniform(0.5, 8.0, len(rows)))


def seconds(kind: str, ratings: Ratings, **params: object) -> tuple[float, float]:
    """Median seconds of one training epoch and of scoring every pair."""
    fits, scores = [], []
    for _ in range(REPEATS):
        model = make_model(kind, epochs=1, **params)
        started = time.perf_counter()
        model.fit(ratings)
        fits.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.score()
        scores.append(time.perf_counter() - started)
    return statistics.median(fits), statistics.median(scores)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    ratings = seed_shaped()
    say(f"{N_COUNTRIES} x {N_SONGS} = {N_COUNTRIES * N_SONGS:,} pairs per epoch, batch 1024, "
          f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}), median of {REPEATS}")
    say(f"{'model':8} {'s/epoch':>8} {'score s':>8}   (seed's Keras: ~2-8 s nets 1-3, "
          "~120 s nets 4-5)")
    for kind in ("net1", "net2", "net3", "net4", "net5"):
        fit, score = seconds(kind, ratings)
        say(f"{kind:8} {fit:8.2f} {score:8.3f}")
    one, _ = seconds("net4", ratings, threads=1)
    two, _ = seconds("net4", ratings, threads=2)
    say(f"net4 s/epoch with 1 thread {one:.2f}, with 2 threads {two:.2f} "
          f"(2 threads / 1 thread = {two / one:.2f})")


if __name__ == "__main__":
    main()
