"""How dotify's costs grow with history: years of simulated daily charts, measured per size.

For each size (years x markets) it ingests the charts into a fresh SQLite home (and, when
``DOTIFY_BENCH_POSTGRES_URL`` is set and ``--sqlite-only`` is not, into a fresh PostgreSQL
schema), then trains and publishes the default model, runs one nightly job (the
simulator's next day), and measures recommend latency and the web API's p99 under 32
concurrent connections. Prints per size: ingest rows/s and peak memory, the database's size
on disk, the nightly run's time and peak memory, the train time, the model's song count,
recommend latency and web p99; then how each figure grows from the first size to the last.

The simulated charts are written once per market count into ``--workdir`` (default
``/tmp/dotify-scale``) for the largest size and reused by every size and every later run
(a size ingests the days of its span). The simulator knows the 55 markets of the real
2019-2021 weekly charts; ``--markets N`` takes the first N of them.

    .venv/bin/python bench/bench_scale.py [--years 1] [--markets 55] [--sqlite-only]
                                          [--json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_nightly import one_run  # noqa: E402  (a nightly run in a child process)
from bench_web import _free_port, drive, serve  # noqa: E402  (dotify serve and its clients)

START = date(2020, 1, 1)
QUERIES = 200
INGEST = """
import json, resource, sys, time
from pathlib import Path
from dotify.charts.ingest import ingest_paths
from dotify.store.engine import create_engine
engine = create_engine(sys.argv[1])
paths = [Path(p) for p in Path(sys.argv[2]).read_text().split()]
began = time.perf_counter()
report = ingest_paths(engine, paths)
seconds = time.perf_counter() - began
engine.dispose()
print(json.dumps({"rows": report.rows, "seconds": seconds, "failed": report.files_failed,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def charts(workdir: Path, markets: list[str], days: int) -> Path:
    """The folder of ``days`` simulated days of ``markets``, written once and reused."""
    from dotify.charts.sim.simulate import simulate

    folder = workdir / f"charts-{len(markets)}m"
    done = folder / "simulated-days"
    have = int(done.read_text()) if done.exists() else 0
    if have < days:
        began = time.perf_counter()
        simulate(folder, days=days - have, markets=markets,
                 start=START + timedelta(days=have))
        done.write_text(str(days))
        say(f"simulated {days - have:,} days x {len(markets)} markets into {folder} in "
            f"{time.perf_counter() - began:.0f} s")
    return folder


def files_of(folder: Path, days: int) -> list[Path]:
    """The chart files of the first ``days`` days."""
    last = (START + timedelta(days=days - 1)).isoformat()
    return sorted(p for p in folder.glob("*/regional-*-daily-*.csv") if p.stem[-10:] <= last)


def ingest(url: str, paths: list[Path], scratch: Path) -> dict:
    listing = scratch / "files.txt"
    listing.write_text("\n".join(map(str, paths)))
    done = subprocess.run([sys.executable, "-c", INGEST, url, str(listing)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def timed_cli(home: Path, *args: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dotify", *args], check=True, capture_output=True,
                   env={**os.environ, "DOTIFY_HOME": str(home)})
    return time.perf_counter() - began


def recommend_ms(home: Path, expression: str) -> tuple[float, int]:
    from dotify import artifact
    from dotify.query.recommend import recommend

    live = artifact.load_current(home / "models")
    recommend(live, expression)  # the per-model cache is built once
    times = []
    for _ in range(QUERIES):
        began = time.perf_counter()
        recommend(live, expression)
        times.append(time.perf_counter() - began)
    return 1e3 * statistics.median(times), len(live.songs)


def web_p99_ms(home: Path, names: list[str]) -> float:
    port = _free_port()
    proc = serve(home, port, 1)
    try:
        latencies, _failed, _wall = asyncio.run(
            drive(f"http://127.0.0.1:{port}", names, 32, 2000, 30.0))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return float(np.percentile(np.array(latencies) * 1e3, 99))


def measure(years: int, markets: list[str], workdir: Path, sqlite_only: bool) -> dict:
    from dotify.countries import MARKETS

    days = 365 * years
    folder = charts(workdir, markets, days)
    home = workdir / f"home-{years}y-{len(markets)}m"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "simulator").symlink_to(folder)  # the nightly job's source: the next day
    paths = files_of(folder, days)
    loaded = ingest(f"sqlite:///{home / 'dotify.db'}", paths, home)
    db_mb = sum(p.stat().st_size for p in home.glob("dotify.db*")) / 1e6
    record = {"years": years, "markets": len(markets), "rows": loaded["rows"],
              "ingest_rows_per_s": loaded["rows"] / loaded["seconds"],
              "ingest_peak_mb": loaded["max_rss_mb"], "db_mb": db_mb}
    pg = os.environ.get("DOTIFY_BENCH_POSTGRES_URL")
    if pg and not sqlite_only:
        pg_loaded = ingest(pg, paths, home)
        record["pg_ingest_rows_per_s"] = pg_loaded["rows"] / pg_loaded["seconds"]
    record["train_s"] = timed_cli(home, "train")
    nightly = one_run(home)
    record |= {"nightly_s": nightly["seconds"], "nightly_peak_mb": nightly["max_rss_mb"],
               "nightly_status": nightly["status"]}
    names = [MARKETS[c].name for c in markets]
    record["recommend_ms"], record["songs"] = recommend_ms(
        home, f"{names[0]} x {names[1]} - {names[2]}")
    record["web_p99_ms"] = web_p99_ms(home, names)
    return record


def main() -> int:
    from dotify.charts.sim.markets import DEFAULT_MARKETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="1", help="sizes, e.g. 1,2,5,10 (the full curve)")
    parser.add_argument("--markets", type=int, default=len(DEFAULT_MARKETS))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dotify-scale"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    args = parser.parse_args()
    sizes = sorted(int(y) for y in args.years.split(","))
    markets = list(DEFAULT_MARKETS[:max(3, min(args.markets, len(DEFAULT_MARKETS)))])
    args.workdir.mkdir(parents=True, exist_ok=True)
    charts(args.workdir, markets, 365 * sizes[-1])  # the largest span once, for every size
    records = []
    for years in sizes:
        record = measure(years, markets, args.workdir, args.sqlite_only)
        records.append(record)
        if args.json:
            say(json.dumps(record))
        else:
            pg = (f", PostgreSQL {record['pg_ingest_rows_per_s']:,.0f} rows/s"
                  if "pg_ingest_rows_per_s" in record else "")
            say(f"{years:>2} years x {record['markets']} markets: {record['rows']:,} rows; "
                f"ingest {record['ingest_rows_per_s']:,.0f} rows/s (peak "
                f"{record['ingest_peak_mb']:,.0f} MB){pg}; database {record['db_mb']:,.0f} MB; "
                f"train {record['train_s']:.1f} s; nightly {record['nightly_s']:.1f} s "
                f"({record['nightly_status']}, peak {record['nightly_peak_mb']:,.0f} MB); "
                f"{record['songs']:,} songs; recommend {record['recommend_ms']:.2f} ms; "
                f"web p99 {record['web_p99_ms']:.1f} ms")
    if len(records) > 1 and not args.json:
        first, last = records[0], records[-1]
        keys = ("rows", "ingest_rows_per_s", "db_mb", "train_s", "nightly_s",
                "nightly_peak_mb", "songs", "recommend_ms", "web_p99_ms")
        say(f"growth from {first['years']} to {last['years']} years: " + ", ".join(
            f"{k} x{last[k] / first[k]:.2f}" for k in keys if first[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
