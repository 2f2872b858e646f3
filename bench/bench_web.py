"""Throughput and latency of ``POST /api/recommendations`` on a real server.

Publishes a 55 countries x 10,000 songs IMF artifact (32 factors) in a throw-away home,
starts ``dotify serve`` in a child process on 127.0.0.1, and drives it from 32 concurrent
httpx AsyncClient workers with country pairs ("Colombia x Turkey - Germany" style) until
``--requests`` answers or ``--seconds`` pass. Prints requests/s, p50/p99 latency and the
error count (any non-200 is an error; the script exits 1 when there is one). Aim: p99 <= 20 ms.
Where ``wrk`` is installed it then drives the same server from wrk (C) with the same mix,
since on a small machine the Python clients take much of the CPU the server needs.

    .venv/bin/python bench/bench_web.py [--clients 32] [--requests 4000] [--seconds 30]
                                        [--workers 1]

With one worker the 32 clients queue behind one Python process, so p99 is roughly
32 x the server's CPU time per request; the script prints that CPU time too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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


async def drive(base: str, names: list[str], clients: int, total: int,
                seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    rng = random.Random(1)
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while len(latencies) + errors < total and time.perf_counter() < deadline:
            a, b, c = rng.sample(names, 3)
            began = time.perf_counter()
            try:
                response = await client.post("/api/recommendations",
                                             json={"expression": f"{a} x {b} - {c}", "n": 10})
            except httpx.TransportError:  # a dropped connection counts as an error
                errors += 1
                continue
            elapsed = time.perf_counter() - began
            if response.status_code == 200 and len(response.json()["songs"]) == 10:
                latencies.append(elapsed)
            else:
                errors += 1

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await asyncio.gather(*(client.post("/api/recommendations", json={"expression": n})
                               for n in names[:clients]))  # warm up connections and caches
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - began
    return latencies, errors, wall


def serve(home: Path, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DOTIFY_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "dotify", "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()["model_version"]:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("dotify serve did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args()
    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        names = publish_model(Path(tmp) / "models")
        proc = serve(Path(tmp), port, args.workers)
        base = f"http://127.0.0.1:{port}"
        say(f"web: POST /api/recommendations, 55 x 10,000 artifact, {args.workers} server "
            f"worker(s); machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        try:  # one client alone (no queueing), then the concurrent clients, same server
            runs = ((1, max(50, args.requests // 10)), (args.clients, args.requests))
            for clients, total in runs:
                cpu_before = cpu_seconds(proc.pid)
                latencies, failed, wall = asyncio.run(
                    drive(base, names, clients, total, args.seconds))
                server_cpu = cpu_seconds(proc.pid) - cpu_before
                errors += failed
                report(clients, np.array(latencies) * 1000, failed, wall, server_cpu)
            errors += drive_with_wrk(base, names, args.clients, min(args.seconds, 15.0))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return 1 if errors else 0


def drive_with_wrk(base: str, names: list[str], clients: int, seconds: float) -> int:
    """The same load from wrk, a C load generator, so the clients' own Python does not
    take the CPU the server needs (both share this machine). Returns the error count."""
    if shutil.which("wrk") is None:
        say("  wrk: not installed (apt-get install wrk) - skipped")
        return 0
    rng = random.Random(2)
    bodies = [json.dumps({"expression": "{} x {} - {}".format(*rng.sample(names, 3)), "n": 10})
              for _ in range(500)]
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


def report(clients: int, ms: np.ndarray, errors: int, wall: float, server_cpu: float) -> None:
    aim = "   (aim: p99 <= 20 ms)" if clients > 1 else ""
    say(f"  {clients:>2} client(s): {len(ms)} ok + {errors} errors in {wall:.1f} s   "
        f"{len(ms) / wall:.0f} req/s   p50 {statistics.median(ms):.1f} ms   "
        f"p99 {np.percentile(ms, 99):.1f} ms   max {ms.max():.1f} ms{aim}")
    say(f"             server CPU {1000 * server_cpu / max(1, len(ms) + errors):.2f} ms "
        "per request (warm-up included)")


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
