"""How dotify's costs grow with history: years of simulated daily charts, measured per size.

The history is that of the real daily charts: from 2017-01-01, 73 markets, each from the day
its chart began (53 from the first day, the rest as Spotify launched there, see
``dotify.charts.sim.markets``), so year 1 is 2017 and a size of N years ends on 31 December
of year N, or at the end of the last whole month before today when that comes first (ten
years from 2017 reach the present: no chart may lie in the future); its market count is that
of the markets begun by then. For each size it ingests
the charts into a fresh SQLite home (and, when ``DOTIFY_BENCH_POSTGRES_URL`` is set and
``--sqlite-only`` is not, into a fresh PostgreSQL schema), then trains and publishes the
default model, runs two nightly jobs (the simulator's next two days: the first searches
the model's epochs again, as one night a week does; the second, an ordinary night, trains
the epochs that search chose), and measures recommend latency and the web API's p99 under
32 concurrent connections (the median of 3 runs). Prints per size: ingest rows/s and peak
memory, the database's size on disk, the two nightly runs' time and peak memory
(``nightly_s`` is the ordinary night's, ``nightly_search_s`` the other's), the train time,
the model's song count, recommend latency and web p99; then how each figure
grows from the first size to the last. ``--json`` prints one object per size with the keys
``years markets rows ingest_rows_per_s ingest_peak_mb db_mb nightly_s nightly_peak_mb train_s
recommend_ms web_p99_ms`` (and a few more).

The simulated charts are written into ``--workdir`` (default ``/tmp/dotify-scale``), one
``.tar.gz`` per market and month, a year at a time, and reused by every size and every later
run; a longer size adds the years it lacks. Each size's home is removed once measured, so
the disk holds the charts and one database at a time (``--keep`` keeps them). ``--markets
N`` takes the first N markets in the order of their start.

With no argument it measures one year (``make bench``); the full curve is

    .venv/bin/python bench/bench_scale.py --years 1,2,5,10 [--markets 73] [--sqlite-only]
                                          [--json] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
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
from bench_web import _free_port, load, serve  # noqa: E402  (dotify serve and its client)
from http_load import expressions  # noqa: E402

START = date(2017, 1, 1)  # the first day of the real daily charts
QUERIES = 200
WEB_RUNS = 3
# a child's own peak memory: Linux's ru_maxrss of a child counts the parent's peak before
# the child's exec, and this parent holds simulated years; VmHWM starts afresh at exec
PEAK = """
import resource
def peak_mb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status
                        if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
INGEST = PEAK + """
import json, sys, time
from pathlib import Path
from dotify.charts.ingest import ingest_paths
from dotify.store.engine import create_engine
engine = create_engine(sys.argv[1])
paths = [Path(p) for p in Path(sys.argv[2]).read_text().split()]
began = time.perf_counter()
report = ingest_paths(engine, paths)
seconds = time.perf_counter() - began
engine.dispose()
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the parse workers
print(json.dumps({"rows": report.rows, "seconds": seconds, "failed": report.files_failed,
                  "max_rss_mb": peak_mb(), "workers_peak_mb": workers}))
"""
NIGHTLY = PEAK + """
import json, sys, time
from dotify.config import Settings
from dotify.jobs.nightly import run_nightly
began = time.perf_counter()
result = run_nightly(Settings(home=sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - began, "status": result.status,
                  "max_rss_mb": peak_mb()}))
"""


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def last_day(years: int) -> date:
    """The last day of a size of ``years``: 31 December of its last year, or the end of the
    last whole month before today when that comes first (no chart lies in the future, and
    the nightly run's next day is at most today)."""
    return min(date(START.year + years - 1, 12, 31), date.today().replace(day=1) - timedelta(1))


def begun(markets: list[str], years: int) -> list[str]:
    """The markets whose daily chart has begun by the end of the first ``years`` years."""
    from dotify.charts.sim.markets import PROFILES

    return [m for m in markets if (PROFILES[m].start or START) <= last_day(years)]


def charts(workdir: Path, markets: list[str], years: int) -> Path:
    """The folder of the first ``years`` years of ``markets``, written a year at a time once
    and reused (its ``ground_truth.json`` says how far it goes)."""
    from dotify.charts.sim.simulate import Simulator

    folder = workdir / f"daily-{len(markets)}m"
    truth = folder / "ground_truth.json"
    simulator = Simulator(seed=0, markets=markets, start=START, real_starts=True)
    first = START
    if truth.exists():
        first = date.fromisoformat(json.loads(truth.read_text())["last"]) + timedelta(days=1)
    while first <= last_day(years):
        done = simulator.write(folder, first, date(first.year, 12, 31), monthly=True)
        mb = sum(p.stat().st_size
                 for p in folder.glob(f"*/regional-*-daily-{first.year}-*.tar.gz")) / 1e6
        say(f"simulated {first.year}: {done.files:,} charts of "
            f"{len(simulator.charting(done.end))} markets, {done.rows:,} rows in "
            f"{done.seconds:.0f} s ({done.rows / done.seconds:,.0f} rows/s), {mb:,.0f} MB")
        first = done.end + timedelta(days=1)
    return folder


def files_of(folder: Path, years: int) -> list[Path]:
    """The monthly archives of the first ``years`` years."""
    last = f"{last_day(years):%Y-%m}"
    return sorted(p for p in folder.glob("*/regional-*-daily-*.tar.gz")
                  if p.name[-14:-7] <= last)


def pg_ingest(url: str, paths: list[Path], scratch: Path, schema: str) -> dict:
    """Ingest into a new PostgreSQL schema (dropped after): rows/s, peak memory, its size."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        loaded = ingest(f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}",
                        paths, scratch)
        with engine.connect() as connection:
            size = connection.exec_driver_sql(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN "
                "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND "
                "c.relkind = 'r'", (schema,)).scalar_one()
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()
    return {"pg_ingest_rows_per_s": loaded["rows"] / loaded["seconds"],
            "pg_ingest_peak_mb": loaded["max_rss_mb"], "pg_db_mb": float(size) / 1e6}


def ingest(url: str, paths: list[Path], scratch: Path) -> dict:
    listing = scratch / "files.txt"
    listing.write_text("\n".join(map(str, paths)))
    done = subprocess.run([sys.executable, "-c", INGEST, url, str(listing)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def nightly(home: Path, markets: list[str], search: bool = False) -> dict:
    """One nightly run (the simulator's next day for ``markets``) in a child process; with
    ``search`` it searches the model's epochs again (as once every few days it does)."""
    forced = {"DOTIFY_EPOCHS_SEARCH_DAYS": "1"} if search else {}
    done = subprocess.run([sys.executable, "-c", NIGHTLY, str(home)], capture_output=True,
                          text=True, check=True,
                          env={**os.environ, "DOTIFY_MARKETS": json.dumps(markets), **forced})
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


def web_p99_ms(home: Path, names: list[str]) -> tuple[float, int]:
    """The API's p99 under 32 connections from the light client of ``http_load.py`` (a new
    query each request): the median of ``WEB_RUNS`` runs on one server (one run's p99 is
    noisy on a shared machine), and how many answers failed in all."""
    port = _free_port()
    proc = serve(home, port, 1)
    p99s, errors = [], 0
    try:
        for run in range(WEB_RUNS):
            result = load("light", port, expressions(names, 2032, seed=1 + run), 32, 2000, 30.0)
            p99s.append(float(np.percentile(np.array(result.latencies_ms), 99)))
            errors += result.errors
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return statistics.median(p99s), errors


def measure(years: int, markets: list[str], workdir: Path, sqlite_only: bool,
            keep: bool = False) -> dict:
    from dotify.countries import MARKETS

    folder = charts(workdir, markets, years)
    charting = begun(markets, years)
    home = workdir / f"home-{years}y-{len(markets)}m"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "simulator").symlink_to(folder)  # the nightly job's source: the next day
    paths = files_of(folder, years)
    loaded = ingest(f"sqlite:///{home / 'dotify.db'}", paths, home)
    db_mb = sum(p.stat().st_size for p in home.glob("dotify.db*")) / 1e6
    record = {"years": years, "markets": len(charting), "rows": loaded["rows"],
              "ingest_rows_per_s": loaded["rows"] / loaded["seconds"],
              "ingest_peak_mb": loaded["max_rss_mb"],
              "ingest_workers_peak_mb": loaded["workers_peak_mb"], "db_mb": db_mb,
              "charts_mb": sum(p.stat().st_size for p in paths) / 1e6}
    pg = os.environ.get("DOTIFY_BENCH_POSTGRES_URL")
    if pg and not sqlite_only:
        record |= pg_ingest(pg, paths, home, f"dotify_scale_{years}y")
    record["train_s"] = timed_cli(home, "train")
    searched = nightly(home, charting, search=True)
    run = nightly(home, charting)
    record |= {"nightly_s": run["seconds"], "nightly_peak_mb": run["max_rss_mb"],
               "nightly_status": run["status"], "nightly_search_s": searched["seconds"],
               "nightly_search_peak_mb": searched["max_rss_mb"]}
    names = [MARKETS[c].name for c in charting]
    record["recommend_ms"], record["songs"] = recommend_ms(
        home, f"{names[0]} x {names[1]} - {names[2]}")
    record["web_p99_ms"], record["web_errors"] = web_p99_ms(home, names)
    if not keep:  # one database on disk at a time: ten years of them are gigabytes
        shutil.rmtree(home)
    return record


def main() -> int:
    from dotify.charts.sim.markets import DAILY_MARKETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="1", help="sizes, e.g. 1,2,5,10 (the full curve)")
    parser.add_argument("--markets", type=int, default=len(DAILY_MARKETS),
                        help="the first N markets in the order of their start")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dotify-scale"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    parser.add_argument("--keep", action="store_true",
                        help="keep each size's home (its database and models) to look into")
    args = parser.parse_args()
    sizes = sorted({int(y) for y in args.years.split(",")})
    if sizes[0] < 1:
        parser.error(f"--years takes whole years from 1, not {args.years!r}")
    markets = list(DAILY_MARKETS[:max(3, min(args.markets, len(DAILY_MARKETS)))])
    args.workdir.mkdir(parents=True, exist_ok=True)
    charts(args.workdir, markets, sizes[-1])  # the largest span once, for every size
    records = []
    for years in sizes:
        record = measure(years, markets, args.workdir, args.sqlite_only, args.keep)
        records.append(record)
        if args.json:
            say(json.dumps(record))
        else:
            pg = (f", PostgreSQL {record['pg_ingest_rows_per_s']:,.0f} rows/s (peak "
                  f"{record['pg_ingest_peak_mb']:,.0f} MB, {record['pg_db_mb']:,.0f} MB on disk)"
                  if "pg_ingest_rows_per_s" in record else "")
            say(f"{years:>2} years x {record['markets']} markets: {record['rows']:,} rows; "
                f"ingest {record['ingest_rows_per_s']:,.0f} rows/s (peak "
                f"{record['ingest_peak_mb']:,.0f} MB, parse workers "
                f"{record['ingest_workers_peak_mb']:,.0f} MB){pg}; "
                f"charts {record['charts_mb']:,.0f} MB of .tar.gz; "
                f"database {record['db_mb']:,.0f} MB; "
                f"train {record['train_s']:.1f} s; nightly {record['nightly_s']:.1f} s "
                f"({record['nightly_status']}, peak {record['nightly_peak_mb']:,.0f} MB; "
                f"searching the epochs {record['nightly_search_s']:.1f} s, peak "
                f"{record['nightly_search_peak_mb']:,.0f} MB); "
                f"{record['songs']:,} songs; recommend {record['recommend_ms']:.2f} ms; "
                f"web p99 {record['web_p99_ms']:.1f} ms (median of {WEB_RUNS} runs; "
                f"{record['web_errors']} errors)")
    if len(records) > 1 and not args.json:
        first, last = records[0], records[-1]
        keys = ("markets", "rows", "ingest_rows_per_s", "ingest_peak_mb", "db_mb", "train_s",
                "nightly_s", "nightly_search_s", "nightly_peak_mb", "songs", "recommend_ms",
                "web_p99_ms")
        say(f"growth from {first['years']} to {last['years']} years: " + ", ".join(
            f"{k} x{last[k] / first[k]:.2f}" for k in keys if first[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
