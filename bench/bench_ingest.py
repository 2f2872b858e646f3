"""Ingest throughput and peak memory: a simulated year of 55 markets, and the real archives.

    python bench/bench_ingest.py [--days 365] [--repeat 3] [--no-real] [--compare REV]

Each run ingests into a fresh SQLite database in a child process, so its peak resident
memory (VmHWM) is the ingest's own. Printed per workload: rows, the median wall time and
rows/s over the runs, the median CPU time (user + system) and rows/s per CPU second (the
figure to compare on a shared machine), peak memory, and the same for a second ingest of the
same files (all unchanged). A synthetic one-file Kaggle ranking of about a million
rows shows that a big many-chart file is streamed (peak memory far below its size). With
DOTIFY_TEST_POSTGRES_URL set, the real weekly archive is also ingested once into
PostgreSQL. Aim: >= 150,000 rows/s and <= 1.5 GB.

``--compare REV`` also runs every workload with the code of git revision REV (its ``src``
exported to a temporary folder), alternating the two run by run, and prints the ratio of
their medians: a before/after measured side by side under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL = {
    "real weekly 2019-21": SHARED / "charts-weekly-2019-2021" / "chart_scrapes.tar.gz",
    "real US daily 2017-22": SHARED / "charts-us-daily-2017-2022" / "us_daily_data.tar.gz",
}


def child(url: str, paths: list[str]) -> None:
    """Ingest ``paths`` twice into ``url``; print the figures as JSON."""
    from dotify.charts.ingest import ingest_paths
    from dotify.store.engine import create_engine

    engine = create_engine(url)
    figures = []
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        report = ingest_paths(engine, paths)
        figures.append({"rows": report.rows, "files": report.files,
                        "failed": report.files_failed, "unchanged": report.files_unchanged,
                        "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
    sys.stdout.write(json.dumps({"first": figures[0], "again": figures[1], "peak_mb": peak_mb()}))


def peak_mb() -> float:
    """This process's peak resident memory in MiB: VmHWM where Linux gives it (ru_maxrss
    there also counts the parent's memory at fork), else ru_maxrss."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(url: str, paths: list[str], src: Path | None = None) -> dict:
    """Ingest in a child process; with ``src``, the code of that source folder."""
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    out = subprocess.run([sys.executable, __file__, "--child", url, *paths], check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def export_src(rev: str, folder: Path) -> Path:
    """The ``src`` folder of git revision ``rev``, exported under ``folder``."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], check=True,
                             capture_output=True).stdout
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"


def postgres_url(base: str) -> tuple[str, str]:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with sa.create_engine(base).begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import sqlalchemy as sa

    with sa.create_engine(base).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


Trees = list[tuple[str, Path | None]]  # (label, source folder; None: this checkout)


def measure(label: str, paths: list[str], repeat: int, url_for, trees: Trees,  # type: ignore[no-untyped-def]
            ) -> None:
    """Run each tree ``repeat`` times, the trees alternating; print the figures of each."""
    runs: dict[str, list[dict]] = {name: [] for name, _ in trees}
    for _ in range(repeat):
        for name, src in trees:
            url = url_for()
            runs[name].append(run_child(url, paths, src))
            if url.startswith("sqlite:///"):  # the next run gets a fresh database
                for suffix in ("", "-wal", "-shm"):
                    Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    first = runs[trees[0][0]][0]["first"]
    say(f"{label}: {first['files']:,} files ({first['failed']} failed), {first['rows']:,} "
        f"rows, {repeat} run(s) each")
    walls = {name: report(name, tree_runs) for name, tree_runs in runs.items()}
    if len(trees) == 2:
        (new, _), (old, _) = trees
        say(f"  {new} / {old}: {walls[old] / walls[new]:.2f}x the rows/s (median wall)")


def report(name: str, runs: list[dict]) -> float:
    """Print one tree's medians; return its median wall time of the first ingest."""
    first, again = [r["first"] for r in runs], [r["again"] for r in runs]
    rows = first[0]["rows"]
    wall = statistics.median(f["wall"] for f in first)
    cpu = statistics.median(f["cpu"] for f in first)
    wall2 = statistics.median(f["wall"] for f in again)
    cpu2 = statistics.median(f["cpu"] for f in again)
    peak = max(r["peak_mb"] for r in runs)
    say(f"  [{name}] ingest median wall {wall:7.1f} s = {rows / wall:9,.0f} rows/s | "
        f"median cpu {cpu:6.1f} s = {rows / cpu:9,.0f} rows/cpu-s")
    say(f"  [{name}] again  median wall {wall2:7.1f} s = {rows / wall2:9,.0f} rows/s | "
        f"median cpu {cpu2:6.1f} s = {rows / cpu2:9,.0f} rows/cpu-s "
        f"({again[0]['unchanged']:,} files unchanged)")
    say(f"  [{name}] peak memory {peak:,.0f} MiB (VmHWM of the ingesting process)")
    return wall


def write_kaggle_ranking(path: Path, rows: int, markets: int = 55) -> int:
    """A synthetic Kaggle "worldwide daily song ranking" file (one file, every market, sorted
    by region and date like the original); returns the rows written."""
    import random

    from dotify.countries import countries

    rng = random.Random(0)
    codes = [m.code for m in countries()][:markets]
    tracks = ["".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                                  k=22)) for _ in range(20_000)]
    days = max(1, rows // (200 * len(codes)))
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("Position,Track Name,Artist,Streams,URL,Date,Region\n")
        for code in codes:
            for day in range(days):
                when = f"2017-{1 + day // 28:02d}-{1 + day % 28:02d}"
                for position, track in enumerate(rng.sample(tracks, 200), 1):
                    out.write(f"{position},Song {track[:6]},Artist {track[6:9]},"
                              f"{900_000 // position},https://open.spotify.com/track/{track},"
                              f"{when},{code}\n")
                    written += 1
    return written


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kaggle-rows", type=int, default=1_100_000,
                        help="rows of the synthetic one-file Kaggle ranking")
    parser.add_argument("--no-real", action="store_true", help="skip the real archives")
    parser.add_argument("--compare", metavar="REV",
                        help="also run the code of this git revision, side by side")
    args = parser.parse_args()
    from dotify.charts.sim.simulate import simulate

    say(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall figures suffer on a busy machine; cpu figures less)")
    with tempfile.TemporaryDirectory(prefix="dotify-bench-ingest-") as tmp:
        folder = Path(tmp)
        trees: Trees = [("now", None)]
        if args.compare:
            trees.append((args.compare, export_src(args.compare, folder / "compare")))
        began = time.perf_counter()
        sim = simulate(folder / "sim", days=args.days)
        say(f"simulated {len(sim.markets)} markets x {args.days} days in "
              f"{time.perf_counter() - began:.0f} s")
        measure(f"simulated {args.days} days x {len(sim.markets)} markets (legacy CSV files)",
                [str(folder / "sim")], args.repeat, lambda: sqlite_url(folder), trees)
        big = folder / "data.csv"
        n_rows = write_kaggle_ranking(big, args.kaggle_rows)
        measure(f"one Kaggle-ranking file ({big.stat().st_size / 2**20:,.0f} MiB, "
                f"{n_rows:,} rows, streamed)", [str(big)], args.repeat,
                lambda: sqlite_url(folder), trees)
        big.unlink()
        for label, path in REAL.items():
            if args.no_real:
                break
            if not path.exists():
                say(f"{label}: skipped, {path} is absent")
                continue
            measure(label, [str(path)], args.repeat, lambda: sqlite_url(folder), trees)
        pg = os.environ.get("DOTIFY_TEST_POSTGRES_URL")
        weekly = next(iter(REAL.values()))
        if pg and weekly.exists() and not args.no_real:
            schemas: list[str] = []

            def pg_url() -> str:  # a fresh schema for each run
                url, schema = postgres_url(pg)
                schemas.append(schema)
                return url

            try:
                measure("real weekly 2019-21 on PostgreSQL", [str(weekly)], 1, pg_url, trees)
            finally:
                for schema in schemas:
                    drop_schema(pg, schema)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
