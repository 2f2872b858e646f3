"""Simulator timings: a year of the 55 default markets written as legacy CSV (wall and CPU
seconds, rows/s), the same charts scored without writing (how much is CSV and disk), and one
market-day as the nightly job asks for it (a fresh simulator, then a warm one). Medians.

    .venv/bin/python bench/bench_simulate.py [--days 365] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from dotify.charts.sim.simulate import DEFAULT_START, Simulator


def _write(days: int, folder: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds of this process, rows, files."""
    shutil.rmtree(folder, ignore_errors=True)
    started, cpu = time.perf_counter(), time.process_time()
    summary = Simulator(seed=0).write(folder, DEFAULT_START,
                                      DEFAULT_START + timedelta(days=days - 1))
    return (time.perf_counter() - started, time.process_time() - cpu, summary.rows,
            summary.files)


def _score_only(days: int) -> float:
    simulator = Simulator(seed=0)
    end = DEFAULT_START + timedelta(days=days - 1)
    started = time.perf_counter()
    for market in simulator.markets:
        for _ in simulator._charts(market, DEFAULT_START, end):
            pass
    return time.perf_counter() - started


def _one_day(warm: Simulator | None) -> float:
    day = DEFAULT_START + timedelta(days=400)
    started = time.perf_counter()
    (warm or Simulator(seed=0)).chart_csv("se", day)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="30 days, one repeat")
    args = parser.parse_args()
    days, repeats = (30, 1) if args.quick else (args.days, args.repeats)
    with tempfile.TemporaryDirectory(prefix="dotify-bench-sim-") as tmp:
        runs = [_write(days, Path(tmp) / "out") for _ in range(repeats)]
    seconds = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    rows, files = runs[0][2], runs[0][3]
    scoring = statistics.median(_score_only(days) for _ in range(repeats))
    print(f"write {days} days x 55 markets: {files:,} files, {rows:,} rows, "  # noqa: T201
          f"median {seconds:.1f} s over {repeats} run(s) = {rows / seconds:,.0f} rows/s; "
          f"CPU {cpu:.1f} s = {rows / cpu:,.0f} rows per CPU second (the machine may be shared)")
    print(f"score only (no CSV, no disk): median {scoring:.1f} s "  # noqa: T201
          f"({scoring / seconds:.0%} of the write)")
    warm = Simulator(seed=0)
    _one_day(warm)
    cold = statistics.median(_one_day(None) for _ in range(5))
    hot = statistics.median(_one_day(warm) for _ in range(5))
    print(f"one market-day (nightly): fresh simulator median {cold * 1000:.0f} ms, "  # noqa: T201
          f"warm {hot * 1000:.0f} ms")


if __name__ == "__main__":
    main()
