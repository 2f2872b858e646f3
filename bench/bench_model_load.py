"""How long the live model takes to load as the catalogue grows: a saved artifact of 73
countries x N songs (56 factors, titles, artists, URLs, the summed streams of 2% of the
pairs), loaded with :func:`dotify.artifact.load` as the web server and the CLI do. Prints
the median of 3 loads and the folder's size per size (aim: under 1 s).

    .venv/bin/python bench/bench_model_load.py [--sizes 10000,300000,1000000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dotify import artifact
from dotify.learn.ratings import Songs
from dotify.models import make_model

say = print  # a benchmark prints its figures


def saved(folder: Path, n_songs: int, n_countries: int = 73, factors: int = 56) -> Path:
    rng = np.random.default_rng(0)
    model = make_model("imf")  # factor matrices alone (a network adds its small biases)
    model.country_factors = rng.normal(size=(n_countries, factors)).astype(np.float32)
    model.song_factors = rng.normal(size=(n_songs, factors)).astype(np.float32)
    keys = np.array([f"{i:022d}" for i in range(n_songs)])
    songs = Songs(keys=keys, titles=np.array([f"Title number {i} (feat. Someone)"
                                              for i in range(n_songs)]),
                  artists=np.array([f"Artist {i % 5000}" for i in range(n_songs)]),
                  urls=np.array([f"https://open.spotify.com/track/{k}" for k in keys]),
                  streams=rng.integers(0, 10**6, n_songs))
    streams = sp.random(n_countries, n_songs, density=0.02, random_state=0, format="csr") * 1e6
    codes = np.array([f"c{i}" for i in range(n_countries)])
    path = artifact.save(model, codes, songs, folder, streams=streams).path
    assert path is not None
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,300000,1000000")
    args = parser.parse_args()
    say("model load: 73 countries x N songs, 56 factors, streams of 2% of the pairs; "
        "median of 3 loads")
    for n_songs in (int(s) for s in args.sizes.split(",")):
        folder = Path(tempfile.mkdtemp(prefix="dotify-load-"))
        try:
            path = saved(folder, n_songs)
            size_mb = sum(f.stat().st_size for f in path.iterdir()) / 1e6
            times = []
            for _ in range(3):
                started = time.perf_counter()
                artifact.load(path)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            say(f"{n_songs:>10,} songs: {median:.2f} s ({size_mb:,.0f} MB on disk)  aim 1 s "
                f"{'ok' if median <= 1.0 else 'MISSED'}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
