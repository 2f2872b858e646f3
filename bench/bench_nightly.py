"""Time and peak memory of whole nightly runs over a simulated year of 55 markets.

Sets up a throw-away home (simulate 365 days x 55 markets, ingest, publish a first model),
then runs the nightly job (the simulator's next day: pull, ingest, retrain on the pairs
charted in the last ``DOTIFY_ACTIVE_DAYS``, gate, publish) in a child process per run, so
each run's peak RSS is its own.
Aims: <= 60 s and <= 2 GB per run.

    .venv/bin/python bench/bench_nightly.py [--days 365] [--runs 3] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from dotify.config import Settings
from dotify.jobs.nightly import run_nightly
began = time.perf_counter()
result = run_nightly(Settings(home=sys.argv[1]))
usage = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status") as status:  # VmHWM: this process's own peak (ru_maxrss of a
    peak = next((int(line.split()[1]) / 1024 for line in status  # child counts the parent's)
                 if line.startswith("VmHWM:")), usage.ru_maxrss / 1024)
print(json.dumps({"seconds": time.perf_counter() - began, "status": result.status,
                  "rows": result.rows, "val_epr": result.val_epr, "error": result.error,
                  "pulls": len(result.pulls), "newest": result.details.get("newest"),
                  "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "max_rss_mb": peak}))
"""


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def setup(home: Path, days: int) -> None:
    from dotify.charts.ingest import ingest_paths
    from dotify.charts.sim.simulate import simulate
    from dotify.config import Settings
    from dotify.learn.training import train
    from dotify.store.engine import opened

    settings = Settings(home=home)
    settings.ensure_dirs()
    if (settings.simulator_dir / "ground_truth.json").exists():
        say(f"setup: reusing {home}")
        return
    began = time.perf_counter()
    summary = simulate(settings.simulator_dir, days=days)
    with opened(settings) as engine:
        report = ingest_paths(engine, [settings.simulator_dir])
    first = train(settings, "imf")
    say(f"setup: {summary.files:,} charts, {report.rows:,} rows, first model "
          f"{first.artifact.version} (val EPR {first.metrics['val_epr']:.4f}) in "
          f"{time.perf_counter() - began:.1f} s")


def one_run(home: Path) -> dict:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(home)], capture_output=True,
                          text=True, check=True)
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["wall_seconds"] = time.perf_counter() - began  # with interpreter start-up
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None, help="reuse a prepared home")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dotify-bench-nightly-") as scratch:
        home = args.home or Path(scratch) / "home"
        setup(home, args.days)
        records = [one_run(home) for _ in range(args.runs)]
    for n, r in enumerate(records, 1):
        epr = "n/a" if r["val_epr"] is None else f"{r['val_epr']:.4f}"
        say(f"run {n}: {r['status']} {r['newest']}, {r['pulls']} charts, {r['rows']:,} rows, "
            f"val EPR {epr}, {r['seconds']:.1f} s wall in the job ({r['wall_seconds']:.1f} s "
            f"with start-up), {r['cpu_seconds']:.1f} s CPU, peak {r['max_rss_mb']:.0f} MB"
            + (f", error: {r['error']}" if r["error"] else ""))
    seconds = statistics.median(r["seconds"] for r in records)
    cpu = statistics.median(r["cpu_seconds"] for r in records)
    peak = max(r["max_rss_mb"] for r in records)
    say(f"nightly run over {args.days} days x 55 markets: median {seconds:.1f} s wall "
        f"(aim <= 60 s), {cpu:.1f} s CPU, peak memory {peak:.0f} MB (aim <= 2048 MB), "
        f"{len(records)} runs")

if __name__ == "__main__":
    main()
