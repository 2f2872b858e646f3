"""A light load generator for the web benches: HTTP/1.1 keep-alive over raw asyncio streams.

On a small machine the clients share the cores with the server, so what a client costs per
request is CPU the server does not get: httpx spends more per request than the server does.
This client writes each request as a few prepared bytes and reads the answer by its
``Content-Length``, in a process of its own (``python bench/http_load.py RESULT``, a JSON
job on stdin, a JSON result written to RESULT) whose CPU time is measured and reported
apart.

    from http_load import Job, run
    result = run(Job(port=8000, path="/api/recommendations", bodies=[...], clients=32))
    result.latencies_ms, result.errors, result.wall_s, result.cpu_s

Every connection first sends one request that is not measured (the warm-up); then the
connections take the bodies in turn until ``requests`` answers or ``seconds`` pass. An
answer is good when its status is 200 and, with ``expect``, its body holds ``expect[0]``
exactly ``expect[1]`` times (e.g. ``'"rank":'`` ten times for ten songs).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Job:
    """What to send: ``bodies`` (JSON text) POSTed to ``path`` from ``clients`` connections."""

    port: int
    path: str
    bodies: list[str]
    clients: int = 32
    requests: int = 4000
    seconds: float = 30.0
    host: str = "127.0.0.1"
    expect: tuple[str, int] | None = None


@dataclass
class Result:
    """Per good answer its latency; the failed ones counted; the client process's CPU."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # user + system CPU of the client process over the measured part


def expressions(names: list[str], count: int, seed: int = 1) -> list[str]:
    """``count`` request bodies ``{"expression": "A x B - C", "n": 10}`` of random markets."""
    rng = random.Random(seed)
    return [json.dumps({"expression": "{} x {} - {}".format(*rng.sample(names, 3)), "n": 10})
            for _ in range(count)]


def run(job: Job) -> Result:
    """Drive the server from a child process (this script) and return what it measured."""
    with tempfile.TemporaryDirectory(prefix="dotify-http-load-") as tmp:
        out = Path(tmp) / "result.json"  # a file: a pipe's 64 KB may not take it whole
        subprocess.run([sys.executable, str(Path(__file__).resolve()), str(out)],
                       input=json.dumps(asdict(job)), text=True, check=True)
        return Result(**json.loads(out.read_text()))


def _request(job: Job, body: str) -> bytes:
    data = body.encode()
    return (f"POST {job.path} HTTP/1.1\r\nHost: {job.host}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> tuple[int, bytes]:
    """Send one request and read its answer: (status, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ValueError("an answer without Content-Length")
    return status, await reader.readexactly(length)


async def _drive(job: Job) -> Result:
    requests = [_request(job, body) for body in job.bodies]
    result, turn = Result(), 0
    streams = [await asyncio.open_connection(job.host, job.port) for _ in range(job.clients)]
    await asyncio.gather(*(_exchange(r, w, requests[i % len(requests)])
                           for i, (r, w) in enumerate(streams)))

    def good(status: int, body: bytes) -> bool:
        return status == 200 and (job.expect is None
                                  or body.count(job.expect[0].encode()) == job.expect[1])

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal turn
        while len(result.latencies_ms) + result.errors < job.requests \
                and time.perf_counter() < deadline:
            request = requests[turn % len(requests)]
            turn += 1
            began = time.perf_counter()
            try:
                status, body = await _exchange(reader, writer, request)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                result.errors += 1  # a dropped connection: count it, open another
                writer.close()
                reader, writer = await asyncio.open_connection(job.host, job.port)
                continue
            if good(status, body):
                result.latencies_ms.append(1e3 * (time.perf_counter() - began))
            else:
                result.errors += 1
        writer.close()

    cpu = _cpu()
    began = time.perf_counter()
    deadline = began + job.seconds
    await asyncio.gather(*(client(r, w) for r, w in streams))
    result.wall_s, result.cpu_s = time.perf_counter() - began, _cpu() - cpu
    return result


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    spec = json.loads(sys.stdin.read())
    job = Job(**{**spec, "expect": tuple(spec["expect"]) if spec.get("expect") else None})
    try:
        import uvloop

        result = uvloop.run(_drive(job))
    except ImportError:
        result = asyncio.run(_drive(job))
    Path(sys.argv[1]).write_text(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
