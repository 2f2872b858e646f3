"""IMF and evaluation timings: EPR speed, dotify's fit against a bare implicit fit, ALS per
iteration at scale. Prints medians of repeats; ratios are measured side by side in one run.

    .venv/bin/python bench/bench_imf.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from implicit.cpu import _als
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from dotify.learn.evaluation import epr_from_scores
from dotify.learn.ratings import Ratings, Songs
from dotify.models.imf import IMF, confidence


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _ratings(m: int, n: int, nnz: int, seed: int) -> Ratings:
    rng = np.random.default_rng(seed)
    # popular songs charted more often, as in the charts: a Zipf-like column choice
    weights = 1.0 / np.arange(1, n + 1) ** 0.8
    cols = rng.choice(n, size=nnz, p=weights / weights.sum())
    rows = rng.integers(0, m, size=nnz)
    values = np.log1p(rng.lognormal(9, 1.5, size=nnz) / 1000.0)
    keys = np.arange(n).astype(str)
    songs = Songs(keys, keys, keys, keys, np.zeros(n, np.int64))
    return Ratings.from_triples(np.arange(m).astype(str), songs, rows, cols, values)


def bench_epr(repeats: int) -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((56, 15_000)).astype(np.float32)
    train = sp.random(56, 15_000, density=0.06, random_state=1, format="csr", dtype=np.float32)
    test = sp.random(56, 15_000, density=0.015, random_state=2, format="csr", dtype=np.float32)
    plain = _median(lambda: epr_from_scores(scores, test), repeats)
    filtered = _median(lambda: epr_from_scores(scores, test, train, filtered=True), repeats)
    print(f"EPR 56 x 15,000 ({test.nnz} held-out): {plain * 1e3:.1f} ms median of {repeats}; "  # noqa: T201
          f"filtered: {filtered * 1e3:.1f} ms (aim <= 50 ms)")


def _bare_fit(conf: sp.csr_matrix, params: dict, iterations: int) -> AlternatingLeastSquares:
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(factors=params["factors"],
                                      regularization=params["regularization"], alpha=1.0,
                                      dtype=np.float32, use_cg=params["solver"] == "cg",
                                      iterations=iterations, random_state=0)
        als.fit(conf, show_progress=False)
    return als


def bench_fit_ratio(repeats: int) -> None:
    ratings = _ratings(55, 36_478, 145_000, seed=3)  # ~ the real weekly archive's shape and nnz
    model = IMF()  # dotify's defaults (final loss only), as `dotify train` fits
    params = model.params
    conf = confidence(ratings.matrix, params["alpha"])
    dotify_times, bare_times = [], []
    for _ in range(repeats):  # alternate so both see the same machine load
        dotify_times.append(_median(lambda: IMF(**params).fit(ratings), 1))
        bare_times.append(_median(lambda: _bare_fit(conf, params, params["iterations"]), 1))
    d, b = statistics.median(dotify_times), statistics.median(bare_times)
    tracked = _median(lambda: IMF(**{**params, "track_loss": True}).fit(ratings), repeats)
    print(f"fit 55 x 36,478 ({ratings.nnz} nnz, f={params['factors']}, "  # noqa: T201
          f"{params['iterations']} iterations, {params['solver']}): dotify {d:.3f} s, "
          f"bare implicit {b:.3f} s, ratio {d / b:.3f} (aim <= 1.05; of the minima "
          f"{min(dotify_times) / min(bare_times):.3f}); "
          f"with the loss after every iteration {tracked:.3f} s (ratio {tracked / b:.3f})")


def bench_scale(iterations: int, repeats: int) -> None:
    ratings = _ratings(100_000, 50_000, 2_700_000, seed=4)
    params = {"factors": 64, "alpha": 1.0, "regularization": 1.0, "solver": "cg"}
    conf = confidence(ratings.matrix, params["alpha"])
    model = IMF(**params, iterations=iterations)
    bares, ourss = [], []
    for _ in range(repeats):  # alternate so both see the same machine load
        bares.append(_median(lambda: _bare_fit(conf, params, iterations), 1) / iterations)
        ourss.append(_median(lambda: model.fit(ratings), 1) / iterations)
    bare, ours = statistics.median(bares), statistics.median(ourss)
    with threadpool_limits(1, "blas"):
        loss = _median(lambda: _als.calculate_loss(conf, model.country_factors,
                                                   model.song_factors, 1.0), 3)
    print(f"ALS 100,000 x 50,000 ({ratings.nnz:,} nnz, f=64, cg, {iterations} iterations): "  # noqa: T201
          f"median of {repeats}: dotify IMF {ours:.2f} s/iteration (min {min(ourss):.2f}), "
          f"bare implicit {bare:.2f} (min {min(bares):.2f}), ratio {ours / bare:.3f}; "
          f"dotify's fit includes one final loss of {loss:.2f} s "
          f"({loss / iterations:.2f} s per iteration here, less over a full fit)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, skip the big one")
    args = parser.parse_args()
    bench_epr(5 if args.quick else 30)
    bench_fit_ratio(3 if args.quick else 15)
    if not args.quick:
        bench_scale(iterations=3, repeats=5)


if __name__ == "__main__":
    main()
