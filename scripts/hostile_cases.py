"""Run a catalogue of hostile inputs against dotify and print how each group was handled.

    PYTHONPATH=src .venv/bin/python scripts/hostile_cases.py

Every case runs on a throw-away home: chart files (beside a week of good history and three
good new charts), CLI expressions, API requests and raw HTTP against a real uvicorn server,
bad HTTP sources, and damaged published models swapped in under load. Per group it counts
the cases tried and handled cleanly (no traceback; the bad input named with a reason; a
non-zero exit, a 4xx or a degraded health), rows lost (stored before, gone after), good rows
not written, partial charts stored (any stored chart that is not a whole good one) and
failed requests (5xx or dropped connections to good requests).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from dotify import artifact
from dotify.charts.ingest import ingest_paths
from dotify.config import Settings
from dotify.learn.ratings import Songs
from dotify.models import make_model
from dotify.store.charts import Store
from dotify.store.engine import engine_for
from dotify.store.schema import chart_entries, charts, ingested_files

URL = "https://open.spotify.com/track/"
HEADER = "Position,Track Name,Artist,Streams,URL\n"
HISTORY = [f"2021-03-{d:02d}" for d in range(1, 8)]
NEW = "2021-03-08"


@dataclass
class Tally:
    tried: int = 0
    clean: int = 0
    rows_lost: int = 0
    good_not_written: int = 0
    partial: int = 0
    failed_requests: int = 0


def rows(n: int = 200, streams: list[str] | None = None, salt: str = "") -> bytes:
    counts = streams or [str(2_000_000 - 5_000 * p) for p in range(n)]
    body = "".join(f"{p},Song {salt}{p},Artist,{c},{URL}{(salt + f'{p:03d}').rjust(22, 'x')}\n"
                   for p, c in enumerate(counts, start=1))
    return (HEADER + body).encode()


def tar(members: dict[str, tuple[bytes, bytes] | bytes]) -> bytes:
    """A .tar.gz of members: bytes, or (type, linkname) for a link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type, info.linkname = content[0], content[1].decode()
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def bomb(size: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(packer.compress(b",,,,\n" * (1 << 18)) for _ in range(size // (5 << 18))) \
        + packer.flush()


def with_streams(value: str) -> bytes:
    counts = [str(2_000_000 - p) for p in range(200)]
    counts[2] = value
    return rows(streams=counts)


def name(day: str = NEW, market: str = "fi") -> str:
    return f"regional-{market}-daily-{day}.csv"


# each chart case: a file name and its bytes, or a callable that makes the path itself
FILE_CASES: dict[str, Callable[[Path], Path]] = {}


def file_case(label: str, file_name: str, data: bytes) -> None:
    def make(folder: Path) -> Path:
        path = folder / file_name
        path.write_bytes(data)
        return path
    FILE_CASES[label] = make


def build_file_cases() -> None:
    url22 = f"{URL}{'a' * 22}"
    for label, value in [("streams 2^63", str(2**63)), ("streams 9e18", str(9 * 10**18)),
                         ("streams 1e10", str(10**10)), ("streams negative", "-40"),
                         ("streams text", "lots"), ("streams 5000 digits", "9" * 5000),
                         ("streams empty", "")]:
        file_case(label, name(), with_streams(value))
    lines = rows().decode().splitlines(keepends=True)
    file_case("position 0", name(), (lines[0] + "0" + lines[1][1:] + "".join(lines[2:])).encode())
    file_case("position 201", name(), rows().replace(b"\n200,", b"\n201,"))
    file_case("position twice", name(), rows().replace(b"\n3,", b"\n2,"))
    file_case("date 2099 in the name", name("2099-01-01"), rows())
    file_case("date 1999 in the name", name("1999-12-31"), rows())
    file_case("HTML page", name(), b"<!doctype html><html><body>oops</body></html>")
    file_case("empty file", name(), b"")
    file_case("unknown header", name(), b"a,b,c\n1,2,3\n")
    file_case("missing column", name(), b"Position,Track Name,Artist,URL\n1,x,y,z\n")
    file_case("not UTF-8", name(), rows().replace(b"Song 5", b"Song \xff\xfe"))
    file_case("UTF-16", name(), rows().decode().encode("utf-16"))
    file_case("NUL bytes", name(), rows().replace(b"Song 7", b"So\x00ng"))
    file_case("a 200 KB line", name(), rows(3) + b"4,x," + b"y" * 200_000 + b",5,\n")
    file_case("track id of 100 chars", name(), rows().replace(b"x" * 19, b"z" * 97, 1))
    file_case("gzip bomb", name() + ".gz", bomb(40 << 20))
    file_case("gzip cut", name() + ".gz", gzip.compress(rows())[:300])
    file_case("tar cut", "cut.tar.gz", tar({f"c/{name()}": rows(salt="q")})[:300])
    file_case("tar of symlinks", "links.tar.gz", tar({f"c/{name()}": (tarfile.SYMTYPE,
                                                                    b"/etc/passwd")}))
    file_case("tar of hardlinks", "hard.tar.gz", tar({f"c/{name()}": (tarfile.LNKTYPE,
                                                                     b"/etc/passwd")}))
    file_case("tar in tar", "nested.tar.gz", tar({"inner.tar.gz": tar({name(): rows()})}))
    file_case("tar of a README only", "readme.tar.gz", tar({"README.txt": b"hello"}))
    file_case("chart cut to 84 rows", name(market="se"), rows(84))
    file_case("chart cut mid-line", name(market="se"), rows()[:9000])
    file_case("ranking, one bad chart", "ranking.csv",
              ("Position,Track Name,Artist,Streams,URL,Date,Region\n"
               f"1,A,X,{2**63},{url22},{NEW},fi\n").encode())

    def fifo(folder: Path) -> Path:
        path = folder / name()
        os.mkfifo(path)
        return path
    FILE_CASES["FIFO"] = fifo
    FILE_CASES["/dev/zero"] = lambda folder: Path("/dev/zero")

    def fifo_in_folder(folder: Path) -> Path:
        inner = folder / "drop"
        inner.mkdir()
        os.mkfifo(inner / name())
        return inner
    FILE_CASES["FIFO in a folder"] = fifo_in_folder


def counts_by_chart(store: Store) -> dict[tuple[str, str], int]:
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(charts.c.market, charts.c.chart_date,
                                       sa.func.count(chart_entries.c.position))
                             .join(chart_entries, chart_entries.c.chart_id == charts.c.id)
                             .group_by(charts.c.id, charts.c.market, charts.c.chart_date)).all()
    return {(m, str(d)): int(n) for m, d, n in found}


def run_file_cases(tally: Tally, work: Path) -> list[str]:
    notes = []
    for label, make in FILE_CASES.items():
        folder = Path(tempfile.mkdtemp(dir=work))
        store = Store(engine_for(Settings(home=folder / "home")))
        history = folder / "history"
        history.mkdir()
        for day in HISTORY:
            (history / name(day, "se")).write_bytes(rows())
        ingest_paths(store, [history])
        good = folder / "good"
        good.mkdir()
        for market in ("no", "dk", "is"):
            (good / name(NEW, market)).write_bytes(rows(salt=market))
        hostile = make(folder)
        tally.tried += 1
        try:
            report = ingest_paths(store, [good, hostile])
        except Exception as exc:  # noqa: BLE001 (a case that is not handled is what we count)
            notes.append(f"{label}: raised {type(exc).__name__}: {exc}")
            store.engine.dispose()
            continue
        stored = counts_by_chart(store)
        with store.engine.connect() as conn:
            running = conn.execute(sa.select(sa.func.count()).select_from(ingested_files)
                                   .where(ingested_files.c.status == "running")).scalar_one()
        named = any(str(hostile) in e.path and e.reason for e in report.errors)
        if not report.ok and named and running == 0:
            tally.clean += 1
        else:
            notes.append(f"{label}: ok={report.ok} named={named} running={running}")
        tally.rows_lost += sum(200 - stored.get(("se", day), 0) for day in HISTORY)
        tally.good_not_written += sum(200 - stored.get((m, NEW), 0) for m in ("no", "dk", "is"))
        expected = {("se", d) for d in HISTORY} | {(m, NEW) for m in ("no", "dk", "is")}
        tally.partial += sum(1 for key, n in stored.items() if key not in expected or n != 200)
        store.engine.dispose()
    return notes


# --- the CLI -----------------------------------------------------------------------------

def publish_model(models_dir: Path, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    codes = ["co", "mx", "de", "tr", "se", "jp"]
    model = make_model("imf", factors=4)
    model.country_factors = rng.normal(size=(len(codes), 4)).astype(np.float32)
    model.song_factors = rng.normal(size=(30, 4)).astype(np.float32)
    ids = [f"{i:022d}" for i in range(30)]
    songs = Songs(keys=np.array(ids), titles=np.array([f"S{i}" for i in ids]),
                  artists=np.array(["A"] * 30), urls=np.array([URL + i for i in ids]),
                  streams=np.arange(30, dtype=np.int64))
    saved = artifact.save(model, np.array(codes), songs, models_dir)
    artifact.publish(models_dir, saved.version)
    return saved.version


EXPRESSIONS = ["-Germany + Colombia", "", "((((", "Narnia", "Colombia x", "x" * 10_000,
               "Colombia / (Turkey - Turkey)", "日本 + 🎵", "-n", "--", "Colombia\x00",
               "Colombia ÷ Germany", "- - - Germany", "Colombia x Turkey - Germany" * 50,
               "Côte d'Ivoire", "Colombia,Turkey", "1e9", "Colombia -", "+", "\u200bColombia"]


def run_cli_cases(tally: Tally, work: Path) -> list[str]:
    from dotify.cli import main

    home = work / "cli"
    publish_model(home / "models")
    os.environ["DOTIFY_HOME"] = str(home)
    notes = []
    for text in EXPRESSIONS:
        for command in ("recommend", "similar"):
            tally.tried += 1
            out, err = io.StringIO(), io.StringIO()
            sys.argv = ["dotify", command, text, "--json"]
            code: object = None
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    main()
            except SystemExit as done:
                code = done.code
            except Exception as exc:  # noqa: BLE001
                notes.append(f"{command} {text[:30]!r}: raised {type(exc).__name__}")
                continue
            code = 0 if code is None else code
            said = err.getvalue()
            if (code == 0 and json.loads(out.getvalue()) is not None) or \
                    (code == 2 and "Traceback" not in said and said.strip()):
                tally.clean += 1
            else:
                notes.append(f"{command} {text[:30]!r}: exit {code} {said[:80]!r}")
    return notes


# --- the API, raw HTTP and models swapped under load ----------------------------------------

@contextlib.contextmanager
def served(settings: Settings) -> Iterator[int]:
    import uvicorn

    from dotify.web import create_app
    from dotify.web.protocol import GuardedHttpToolsProtocol

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Quick(GuardedHttpToolsProtocol):
        header_timeout_s = 2.0

    server = uvicorn.Server(uvicorn.Config(create_app(settings, check_every=0.05),
                                           host="127.0.0.1", port=port, log_level="error",
                                           http=Quick, limit_concurrency=1000))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


BODIES: list[bytes] = [b"[]", b"{}", b'{"expression": ""}', b'{"expression": "Narnia"}',
                       json.dumps({"expression": "x" * 10_000}).encode(),
                       b'{"tokens": ["Colombia", "x"]}', b'{"expression": "Colombia", "n": 1e20}',
                       b'{"expression": "Colombia", "popularity": NaN}', b"\xff\xfe\x00",
                       b"{" + b" " * 20_000 + b"}", b'{"expression": null, "tokens": null}',
                       b'{"expression": ["Colombia"]}', b'{"expression": "Colombia", "n": -1}',
                       b'{"tokens": [' + b'"x",' * 500 + b'"x"]}',
                       b'{"expression": "Colombia" , "discover": "yes please"}',
                       b'{"expression": "-Germany + Colombia"}', b"null", b"1" * 1000,
                       b'{"expression": "Colombia\\u0000"}', b'{"__proto__": {}}']
SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy")


def run_api_cases(tally: Tally, work: Path) -> list[str]:
    import httpx

    settings = Settings(home=work / "api", admin_token="t\u00f6k\u00e9n")
    publish_model(settings.models_dir)
    notes = []
    with served(settings) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                                timeout=30) as client:
        requests: list[tuple[str, str, bytes | None, dict]] = [
            ("POST", "/api/recommendations", body, {"content-type": "application/json"})
            for body in BODIES]
        requests += [("GET", path, None, {}) for path in (
            "/api/countries/%00/top", "/api/countries/" + "x" * 100 + "/similar",
            "/api/countries/co/top?n=100000", "/api/countries/co/top?popularity=nan",
            "/country/..%2F..%2Fetc%2Fpasswd", "/static/../../pyproject.toml",
            "/?q=%3Cscript%3E", "/openapi.json", "/docs", "/static/style.css", "/nowhere")]
        for header in ("Bearer t\u00f6k\u00e9n".encode(), b"bearer t\xc3\xb6k\xc3\xa9n",
                       b"t\xc3\xb6k\xc3\xa9n", b"Bearer wrong", b"Basic x"):
            requests.append(("POST", "/api/model/reload", None, {"Authorization": header}))
        for method, path, body, headers in requests:
            tally.tried += 1
            try:
                answer = client.request(method, path, content=body, headers=headers)
            except httpx.HTTPError as exc:
                tally.failed_requests += 1
                notes.append(f"{method} {path}: {exc!r}")
                continue
            secure = all(h in answer.headers for h in SECURITY)
            if path.startswith("/api/"):  # the API's errors are JSON with a detail
                try:
                    json_ok = answer.status_code < 400 or "detail" in answer.json()
                except ValueError:
                    json_ok = False
            else:  # a page's error is the not-found page, in HTML
                json_ok = answer.status_code < 400 or "text/html" in answer.headers.get(
                    "content-type", "")
            if answer.status_code < 500 and secure and json_ok and str(work) not in answer.text:
                tally.clean += 1
            else:
                tally.failed_requests += answer.status_code >= 500
                notes.append(f"{method} {path}: {answer.status_code} secure={secure}")
        notes += raw_cases(tally, port)
    return notes


def raw_cases(tally: Tally, port: int) -> list[str]:
    notes = []

    def ask(data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            try:
                sock.sendall(data)
                return b"".join(iter(lambda: sock.recv(65536), b""))
            except ConnectionResetError:
                return b"reset"

    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    for label, data, wanted in [
        ("100 KB header", head + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n", (b"HTTP/1.1 431",
                                                                            b"reset")),
        ("20 KB header", head + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n", (b"HTTP/1.1 431",
                                                                          b"reset")),
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 10, (b"HTTP/1.1 400",)),
        ("bad request line", b"GET\r\n\r\n", (b"HTTP/1.1 400",)),
        ("huge content-length", b"POST /api/recommendations HTTP/1.1\r\nHost: x\r\n"
         b"Content-Length: 99999999999\r\nContent-Type: application/json\r\n\r\n{}",
         (b"HTTP/1.1 413",)),
    ]:
        tally.tried += 1
        answer = ask(data)
        if answer.startswith(wanted):
            tally.clean += 1
        else:
            notes.append(f"{label}: {answer[:40]!r}")
    tally.tried += 1
    slow = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(300)]
    for sock in slow:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    closed = 0
    for sock in slow:
        with contextlib.suppress(ConnectionResetError):
            closed += sock.recv(100).startswith(b"HTTP/1.1 408") or True
        sock.close()
    if closed == 300 and ask(head + b"Connection: close\r\n\r\n").startswith(b"HTTP/1.1 200"):
        tally.clean += 1
    else:
        notes.append(f"300 partial heads: {closed} closed")
    return notes


def run_source_cases(tally: Tally, work: Path) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dotify.charts.sources import HttpSource
    from dotify.errors import ConfigError
    from tests.chart_server import ChartServer

    notes = []
    with ChartServer(lambda market, day: rows(salt=market), slow_s=3.0) as server:
        server.faults = {"se": "drip", "no": "bomb", "dk": "404", "fi": "500", "is": "html",
                         "ee": "timeout"}
        settings = Settings(home=work / "src", source="http",
                            http_url_template=server.url_template, http_timeout_s=1.0,
                            http_retries=0, http_requests_per_s=100.0)
        pulls = HttpSource(settings, backoff_s=0.01).pull(
            {m: [date(2021, 3, 8)] for m in ("se", "no", "dk", "fi", "is", "ee", "us")},
            settings.charts_dir, "daily")
    for pull in pulls:
        tally.tried += 1
        good = pull.market == "us"
        if (pull.status == "ok") == good and (good or pull.error):
            tally.clean += 1
        else:
            notes.append(f"pull {pull.market}: {pull.status} {pull.error}")
            tally.good_not_written += 200 * good
    for template in ("http://x/{region}/{date}", "http://x/{market}", "http://x/{market/{date}"):
        tally.tried += 1
        try:
            HttpSource(Settings(home=work / "src", source="http", http_url_template=template))
            notes.append(f"template {template}: accepted")
        except ConfigError as exc:
            tally.clean += "\n" not in str(exc)
    return notes


def run_model_cases(tally: Tally, work: Path) -> list[str]:
    import httpx

    notes = []
    settings = Settings(home=work / "models")
    good = publish_model(settings.models_dir)
    damages: dict[str, Callable[[Path], None]] = {
        "truncated npz": lambda f: (f / "arrays.npz").write_bytes(
            (f / "arrays.npz").read_bytes()[:500]),
        "bad params": lambda f: (f / "meta.json").write_text(json.dumps(
            {**json.loads((f / "meta.json").read_text()), "params": {"factors": "x"}})),
        "meta not JSON": lambda f: (f / "meta.json").write_text("{"),
    }
    failures: list[str] = []
    stop = threading.Event()
    with served(settings) as port:
        def load() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                while not stop.is_set():
                    try:
                        answer = client.post("/api/recommendations",
                                             json={"expression": "Colombia"})
                        if answer.status_code != 200:
                            failures.append(str(answer.status_code))
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))

        clients = [threading.Thread(target=load) for _ in range(8)]
        for thread in clients:
            thread.start()
        for label, damage in damages.items():
            tally.tried += 1
            version = artifact.new_version()
            source = settings.models_dir / good
            target = settings.models_dir / version
            shutil.copytree(source, target)
            (target / "published_at").unlink(missing_ok=True)
            meta = json.loads((target / "meta.json").read_text())
            (target / "meta.json").write_text(json.dumps({**meta, "version": version}))
            damage(target)
            artifact.publish(settings.models_dir, version)
            health: dict = {}
            for _ in range(200):
                health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
                if health.get("status") == "degraded":
                    break
                threading.Event().wait(0.02)
            if health.get("failed_version") == version and health["model_version"] == good:
                tally.clean += 1
            else:
                notes.append(f"{label}: {health}")
            artifact.publish(settings.models_dir, good)
        stop.set()
        for thread in clients:
            thread.join()
    tally.failed_requests += len(failures)
    notes += failures[:5]
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    build_file_cases()
    groups = {"chart files": run_file_cases, "CLI expressions": run_cli_cases,
              "API and raw HTTP": run_api_cases, "HTTP sources": run_source_cases,
              "damaged models under load": run_model_cases}
    lines = ["| group | cases tried | handled cleanly | rows lost | good rows not written | "
             "partial charts stored | failed requests |", "|---|---|---|---|---|---|---|"]
    total = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        for label, run in groups.items():
            tally = Tally()
            for note in run(tally, Path(tmp)):
                print(f"note: {label}: {note}", file=sys.stderr)  # noqa: T201
            lines.append(f"| {label} | " + " | ".join(str(v) for v in tally.__dict__.values())
                         + " |")
            for key, value in tally.__dict__.items():
                setattr(total, key, getattr(total, key) + value)
    lines.append("| all | " + " | ".join(str(v) for v in total.__dict__.values()) + " |")
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    main()
