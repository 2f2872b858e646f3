"""Seed-protocol validation EPR on the real weekly archive (../shared/data), for the report.

    .venv/bin/python scripts/realdata_core.py --home /tmp/real [--seeds 0 1 2] [--explore]

Ingests ``charts-weekly-2019-2021/chart_scrapes.tar.gz`` into ``--home`` when its store is
empty, then prints the validation EPR (plain and filtered) of popularity, of the seed's own
settings (f = 30, alpha = 0.1, lambda = 10, eps = 1000), of dotify's defaults, and of the
best parameters ``dotify tune`` saved in ``--home`` (if any), each averaged over the split
seeds. ``--explore`` adds a small grid around the defaults.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from dotify.config import Settings
from dotify.learn.ratings import Ratings, from_store
from dotify.learn.splits import seed_split
from dotify.learn.training import fit_and_evaluate
from dotify.learn.tuning import load_best_params, rescaled
from dotify.models import make_model
from dotify.models.imf import IMF
from dotify.store.engine import opened

ARCHIVE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "charts-weekly-2019-2021"
           / "chart_scrapes.tar.gz")
SEED_SETTINGS = {"factors": 30, "alpha": 0.1, "regularization": 10.0, "eps": 1000.0}


def load(home: Path) -> Ratings:
    settings = Settings(home=home)
    with opened(settings) as engine:
        ratings = from_store(engine)
    if ratings.nnz == 0:
        if not ARCHIVE.exists():
            sys.exit(f"real data not found at {ARCHIVE}")
        from dotify.charts.ingest import ingest_paths

        started = time.perf_counter()
        with opened(settings) as engine:
            report = ingest_paths(engine, [ARCHIVE])
            ratings = from_store(engine)
        print(f"ingested {report.rows:,} rows from {report.files_ok} files "  # noqa: T201
              f"({report.files_failed} failed) in {time.perf_counter() - started:.0f} s")
    print(f"ratings: {ratings.shape[0]} countries x {ratings.shape[1]:,} songs, "  # noqa: T201
          f"{ratings.nnz:,} non-zeros, {ratings.info['first_date']}..{ratings.info['last_date']}")
    return ratings


def score(full: Ratings, kind: str, params: dict[str, Any], seeds: list[int]) -> dict[str, float]:
    model_params = {k: v for k, v in params.items() if k != "eps"}
    data = rescaled(full, params.get("eps", 1000.0))
    runs = []
    for seed in seeds:
        train, val = seed_split(data, random_state=seed)
        runs.append(fit_and_evaluate(make_model(kind, **model_params), train, val))
    return {key: statistics.mean(r[key] for r in runs)
            for key in ("train_epr", "val_epr", "val_epr_filtered", "ndcg@10", "fit_seconds")}


def show(name: str, result: dict[str, float]) -> None:
    print(f"{name:<58} val EPR {result['val_epr']:.4f}  filtered {result['val_epr_filtered']:.4f}"  # noqa: T201
          f"  train {result['train_epr']:.4f}  nDCG@10 {result['ndcg@10']:.3f}"
          f"  fit {result['fit_seconds']:.2f} s")


def _short(params: dict[str, Any]) -> str:
    return str({k: round(v, 3) if isinstance(v, float) else v for k, v in params.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--explore", action="store_true")
    parser.add_argument("--try", dest="tries", action="append", default=[], metavar="JSON",
                        help='more IMF params to score, e.g. \'{"factors": 10, "alpha": 0.5}\'')
    args = parser.parse_args()
    full = load(args.home)
    defaults = {k: v for k, v in IMF().params.items() if k in ("factors", "alpha",
                                                               "regularization", "iterations")}
    show("popularity", score(full, "popularity", {}, args.seeds))
    show("seed settings " + str(SEED_SETTINGS), score(full, "imf", SEED_SETTINGS, args.seeds))
    show("dotify defaults " + str(defaults), score(full, "imf", defaults, args.seeds))
    best = load_best_params(Settings(home=args.home))
    if best:
        tuned = {k: best[k] for k in ("factors", "alpha", "regularization", "eps", "iterations")}
        show("tuned best (best_params.json) " + _short(tuned), score(full, "imf", tuned,
                                                                     args.seeds))
    for text in args.tries:
        params = json.loads(text)
        show(_short(params), score(full, "imf", params, args.seeds))
    if args.explore:
        for f, alpha, lam, eps in itertools.product([4, 8, 12, 16], [0.3, 1.0, 3.0],
                                                    [0.1, 1.0], [100.0, 1000.0]):
            params = {"factors": f, "alpha": alpha, "regularization": lam, "eps": eps}
            show(str(params), score(full, "imf", params, args.seeds))


if __name__ == "__main__":
    main()
