"""A real HTTP chart server on 127.0.0.1 for the nightly tests, with faults per market.

``ChartServer(body)`` serves ``GET /<kind>/<market>/<date>`` with ``body(market, date)``;
``faults[market]`` injects ``timeout`` (answers after ``slow_s``), ``404``, ``500``, ``html``
(an error page with status 200), ``flaky`` (HTTP 503 on the first try, then the chart),
``drip`` (the chart one byte every ``slow_s / 10`` seconds) or ``bomb`` (a gzip-encoded
answer of some 40 KB that expands to 40 MB of commas).
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nightly"

Body = Callable[[str, date], bytes]


class ChartServer:
    def __init__(self, body: Body, content_type: str = "text/csv", slow_s: float = 1.5,
                 delay_s: float = 0.0) -> None:
        self.body = body
        self.delay_s = delay_s  # every answer waits this long (concurrency tests)
        self.content_type = content_type
        self.slow_s = slow_s
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str, date, dict[str, str]]] = []
        self._tries: dict[tuple[str, date], int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.started: list[float] = []  # time.monotonic() of each request's arrival
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url_template(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{{kind}}/{{market}}/{{date}}"

    def fetched(self) -> list[tuple[str, date]]:
        with self._lock:
            return [(market, day) for _, market, day, _ in self.requests]

    def __enter__(self) -> ChartServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, kind: str, market: str, day: date) -> tuple[int, str, bytes]:
        fault = self.faults.get(market)
        with self._lock:
            tries = self._tries[market, day] = self._tries.get((market, day), 0) + 1
        time.sleep(self.delay_s)
        if fault == "timeout":
            time.sleep(self.slow_s)
        if fault == "404":
            return 404, "text/plain", b"not found"
        if fault == "500":
            return 500, "text/plain", b"internal error"
        if fault == "html":
            return 200, "text/html; charset=utf-8", (FIXTURES / "error_page.html").read_bytes()
        if fault == "flaky" and tries == 1:
            return 503, "text/plain", b"try later"
        if fault == "bomb":
            return 200, "gzip", _bomb()
        return 200, self.content_type, self.body(market, day)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                try:
                    _, kind, market, day = self.path.split("/")
                    parsed = date.fromisoformat(day)
                except ValueError:
                    self.send_error(400, "bad path")
                    return
                with server._lock:
                    server.requests.append((kind, market, parsed, dict(self.headers)))
                    server.started.append(time.monotonic())
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    status, ctype, data = server._answer(kind, market, parsed)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/csv" if ctype == "gzip" else ctype)
                    if ctype == "gzip":
                        self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if server.faults.get(market) == "drip":
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            time.sleep(server.slow_s / 10)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"," * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(40)) + packer.flush()


def fixture_csv(market: str, day: date) -> bytes:
    return (FIXTURES / "legacy.csv").read_bytes()


def fixture_json(market: str, day: date) -> bytes:
    return (FIXTURES / "api.json").read_bytes()
