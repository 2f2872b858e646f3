"""Throughput and latency of ``POST /api/recommendations`` on a real server.

Publishes a 55 countries x 10,000 songs IMF artifact (32 factors) in a throw-away home (or
serves the home given with ``--home``, e.g. one of ``bench_scale.py`` with its chart store),
starts ``dotify serve`` in a child process on 127.0.0.1, and drives it with country
expressions ("Colombia x Turkey - Germany" style) from 1 connection, then from 32, until
``--requests`` answers or ``--seconds`` pass. Prints per run the medians over ``--repeat``
runs of requests/s, p50/p99/max latency, the server's and the client's CPU time per
request (with ``--home`` and a chart store, first how long the server's peak table takes
to read, see ``dotify.web.chart_history``), and the error count (any non-200 is an error;
the script exits 1 when there is one). Aim: p99 <= 20 ms at 32 connections.

The client is ``http_load.py`` by default: raw asyncio streams with keep-alive, in a process
of its own, about a tenth of httpx's CPU per request; on a 2-core machine the clients share
the cores with the server, so a heavy client makes the server look slow. ``--client httpx``
drives it from httpx AsyncClients in this process instead (what this bench did before).
Where ``wrk`` is installed it then drives the same server from wrk (C) too.

``--compare REV`` also serves the same model with the code of git revision REV (its ``src``
exported to a temporary folder, as in ``bench_ingest.py``), a fresh server per run, the two
alternating run by run, and prints the ratio of their medians: before and after, measured
side by side under the same load.

    .venv/bin/python bench/bench_web.py [--clients 32] [--requests 4000] [--seconds 30]
        [--workers 1] [--repeat 3] [--client light|httpx] [--compare REV] [--home DIR]

With one worker the 32 connections queue behind one Python process, so p99 is roughly
32 x the server's CPU time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import export_src  # noqa: E402  (a revision's src, for --compare)
from http_load import Job, Result, expressions, run  # noqa: E402  (the light client)

from dotify import artifact as artifacts
from dotify import countries
from dotify.learn.ratings import Songs
from dotify.models import make_model


def publish_model(models_dir: Path, n_countries: int = 55, n_songs: int = 10_000,
                  factors: int = 32) -> list[str]:
    rng = np.random.default_rng(0)
    names = [m.name for m in countries.countries()][:n_countries]
    codes = [countries.lookup(n).code for n in names]
    model = make_model("imf", factors=factors)
    model.country_factors = rng.normal(size=(n_countries, factors)).astype(np.float32)
    model.song_factors = rng.normal(size=(n_songs, factors)).astype(np.float32)
    ids = np.array([f"{i:022d}" for i in range(n_songs)])
    songs = Songs(ids, np.array([f"Song {i}" for i in range(n_songs)]),
                  np.array([f"Artist {i % 997}" for i in range(n_songs)]),
                  np.array([f"https://open.spotify.com/track/{i}" for i in ids]),
                  rng.integers(1, 10**7, n_songs))
    saved = artifacts.save(model, np.array(codes), songs, models_dir)
    artifacts.publish(models_dir, saved.version)
    return names


async def drive(base: str, bodies: list[str], clients: int, total: int,
                seconds: float) -> Result:
    """The httpx client (``--client httpx``): ``clients`` AsyncClient workers in this process."""
    result, turn = Result(), 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    payloads = [json.loads(body) for body in bodies]

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal turn
        while len(result.latencies_ms) + result.errors < total \
                and time.perf_counter() < deadline:
            payload = payloads[turn % len(payloads)]
            turn += 1
            began = time.perf_counter()
            try:
                response = await client.post("/api/recommendations", json=payload)
            except httpx.TransportError:  # a dropped connection counts as an error
                result.errors += 1
                continue
            elapsed = time.perf_counter() - began
            if response.status_code == 200 and len(response.json()["songs"]) == 10:
                result.latencies_ms.append(1e3 * elapsed)
            else:
                result.errors += 1

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await asyncio.gather(*(client.post("/api/recommendations", json=payloads[i])
                               for i in range(clients)))  # warm up connections and caches
        cpu, began = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        result.wall_s, result.cpu_s = time.perf_counter() - began, time.process_time() - cpu
    return result


def load(client: str, port: int, bodies: list[str], clients: int, total: int,
         seconds: float) -> Result:
    """One measured run from ``clients`` connections of the named client."""
    if client == "httpx":
        return asyncio.run(drive(f"http://127.0.0.1:{port}", bodies, clients, total, seconds))
    return run(Job(port=port, path="/api/recommendations", bodies=bodies, clients=clients,
                   requests=total, seconds=seconds, expect=('"rank":', 10)))


def serve(home: Path, port: int, workers: int, src: Path | None = None) -> subprocess.Popen:
    """``dotify serve`` on ``home`` in a child process, once it answers; with ``src``, the
    code of that source folder."""
    env = {**os.environ, "DOTIFY_HOME": str(home)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.Popen([sys.executable, "-m", "dotify", "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()["model_version"]:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("dotify serve did not come up")


Trees = list[tuple[str, Path | None]]  # (label, source folder; None: this checkout)


def measure(home: Path, trees: Trees, names: list[str], args: argparse.Namespace,
            ) -> dict[tuple[str, int], list[dict]]:
    """``args.repeat`` runs per tree, the trees alternating, each on a fresh server: one
    connection alone (no queueing), then ``args.clients``; the figures of every run. Each
    run asks its own queries (``args.distinct`` of them, cycled, when given), so kept
    answers help only where a query comes again."""
    runs: dict[tuple[str, int], list[dict]] = {}
    plan = ((1, max(50, args.requests // 10)), (args.clients, args.requests))
    for _ in range(args.repeat):
        for name, src in trees:
            port = _free_port()
            proc = serve(home, port, args.workers, src)
            try:
                for seed, (clients, total) in enumerate(plan, start=1):
                    bodies = expressions(names, args.distinct or total + clients, seed)
                    before = cpu_seconds(proc.pid)
                    result = load(args.client, port, bodies, clients, total, args.seconds)
                    server = cpu_seconds(proc.pid) - before
                    runs.setdefault((name, clients), []).append(figures(result, server, clients))
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    return runs


def same_answers(home: Path, trees: Trees, bodies: list[str]) -> bool:
    """Whether every tree answers ``bodies`` with the same bytes (each on a fresh server)."""
    answers = []
    for _, src in trees:
        port = _free_port()
        proc = serve(home, port, 1, src)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                answers.append([client.post("/api/recommendations", content=body,
                                            headers={"content-type": "application/json"})
                                .content for body in bodies])
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return all(a == answers[0] for a in answers)


def figures(result: Result, server_cpu: float, clients: int) -> dict:
    """One run's figures; CPU per request counts the connections' warm-up requests too."""
    ms = np.array(result.latencies_ms or [float("nan")])
    answered = len(result.latencies_ms) + result.errors
    return {"rate": len(result.latencies_ms) / result.wall_s, "p50": float(np.median(ms)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max()),
            "server_ms": 1e3 * server_cpu / max(1, answered + clients),
            "client_ms": 1e3 * result.cpu_s / max(1, answered), "errors": result.errors,
            "ok": len(result.latencies_ms)}


def report(runs: dict[tuple[str, int], list[dict]], trees: Trees, clients: int) -> int:
    """Print the medians of each tree and connection count; return the errors."""
    medians = {key: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for key, rs in runs.items()}
    for (name, n), m in medians.items():
        aim = "   (aim: p99 <= 20 ms)" if n > 1 else ""
        say(f"  [{name}] {n:>2} connection(s), median of {len(runs[name, n])}: "
            f"{m['rate']:.0f} req/s   p50 {m['p50']:.1f} ms   p99 {m['p99']:.1f} ms   "
            f"max {m['max']:.1f} ms{aim}")
        say(f"  [{name}]    CPU per request: server {m['server_ms']:.2f} ms, client "
            f"{m['client_ms']:.2f} ms; {m['ok']:.0f} ok, "
            f"{sum(r['errors'] for r in runs[name, n])} errors in all")
    if len(trees) == 2:
        (new, _), (old, _) = trees
        a, b = medians[new, clients], medians[old, clients]
        say(f"  {new} / {old} at {clients} connections: p50 x{a['p50'] / b['p50']:.2f}, "
            f"p99 x{a['p99'] / b['p99']:.2f}, req/s x{a['rate'] / b['rate']:.2f}, "
            f"server CPU per request x{a['server_ms'] / b['server_ms']:.2f}")
    return sum(r["errors"] for rs in runs.values() for r in rs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tree (medians)")
    parser.add_argument("--client", choices=("light", "httpx"), default="light")
    parser.add_argument("--compare", metavar="REV", help="also serve the code of this git "
                        "revision, side by side")
    parser.add_argument("--home", type=Path, help="serve this home's published model")
    parser.add_argument("--distinct", type=int, default=0, help="this many different "
                        "queries, cycled (default: a new one each request)")
    args = parser.parse_args()
    errors = 0
    with tempfile.TemporaryDirectory(prefix="dotify-bench-web-") as tmp:
        trees: Trees = [("now", None)]
        if args.compare:
            trees.append((args.compare, export_src(args.compare, Path(tmp) / "compare")))
        home = args.home or Path(tmp)
        names = market_names(home) if args.home else publish_model(home / "models")
        say(f"web: POST /api/recommendations, {describe(home)}, {args.workers} server "
            f"worker(s), {args.client} client; load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        if args.home and (home / "dotify.db").exists():
            say(f"  {peak_table(home)}")
        if len(trees) > 1:
            same = same_answers(home, trees, expressions(names, 100, seed=3))
            say(f"  the trees' answers to 100 queries: {'the same bytes' if same else 'DIFFER'}")
            errors += not same
        runs = measure(home, trees, names, args)
        errors += report(runs, trees, args.clients)
        if shutil.which("wrk") is not None:
            port = _free_port()
            proc = serve(home, port, args.workers)
            try:
                errors += drive_with_wrk(f"http://127.0.0.1:{port}", expressions(names, 500),
                                         args.clients, min(args.seconds, 15.0))
            finally:
                proc.terminate()
                proc.wait(timeout=20)
        say(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 1 if errors else 0


def market_names(home: Path) -> list[str]:
    """The names of the markets the published model of ``home`` has vectors for."""
    live = artifacts.load_current(home / "models")
    return [countries.lookup(str(code)).name for code in live.countries
            if str(code) != countries.GLOBAL]


def peak_table(home: Path) -> str:
    """How long the server takes to read the published model's peak table from the chart
    store of ``home`` (what it does before taking requests), and its size."""
    from dotify.config import Settings
    from dotify.web.chart_history import ChartHistory
    from dotify.web.model_holder import Live
    from dotify.web.queries import catalogue

    models = home / "models"
    version = artifacts.current_version(models)
    live = Live(artifacts.load_current(models), str(version), time.time())
    history = ChartHistory(Settings(home=home))
    wanted = catalogue(live)
    began = time.perf_counter()
    table = history.preload(wanted)
    seconds = time.perf_counter() - began
    history.close()
    if table is None:
        return "peak table: not read (the store changed or cannot be read)"
    return (f"peak table: {len(table.peaks):,} peaks of {len(wanted.songs):,} songs in "
            f"{len(wanted.markets)} markets read in {seconds:.2f} s")


def describe(home: Path) -> str:
    live = artifacts.load_current(home / "models")
    store = "with" if (home / "dotify.db").exists() else "without"
    return f"{len(live.countries)} x {len(live.songs):,} model {store} a chart store"


def drive_with_wrk(base: str, bodies: list[str], clients: int, seconds: float) -> int:
    """The same load from wrk, a C load generator, so the clients' own Python does not
    take the CPU the server needs (both share this machine). Returns the error count."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("local bodies = {" + ",".join(f"[[{b}]]" for b in bodies) + "}\n"
                     "local i = 0\nrequest = function()\n  i = i % #bodies + 1\n"
                     '  return wrk.format("POST", "/api/recommendations", '
                     '{["Content-Type"] = "application/json"}, bodies[i])\nend\n')
    done = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds:.0f}s", "--latency",
                           "-s", script.name, base], capture_output=True, text=True, check=True)
    os.unlink(script.name)
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50, p99 = (re.search(rf"\s{q}%\s+([\d.]+\w+)", out) for q in (50, 99))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    errors = int(bad.group(1)) if bad else 0
    say(f"  {clients:>2} client(s), wrk: {rate.group(1) if rate else '?'} req/s   "
        f"p50 {p50.group(1) if p50 else '?'}   p99 {p99.group(1) if p99 else '?'}   "
        f"errors {errors}{'   socket errors ' + sock.group(1) if sock else ''}   "
        "(aim: p99 <= 20 ms)")
    return errors


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return total + sum(cpu_seconds(int(kid)) for kid in kids)


if __name__ == "__main__":
    sys.exit(main())
