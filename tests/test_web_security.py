"""Hostile web clients: security headers on every answer, the admin token read as
RFC 6750 says, no server paths in error bodies, and a uvicorn server that bounds request heads
and connections."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dotify.config import Settings
from dotify.web import create_app
from dotify.web.protocol import GuardedHttpToolsProtocol
from dotify.web.security import bearer_token
from tests.waiting import wait_until
from tests.web_support import build_artifact, free_port

pytestmark = pytest.mark.slow  # every route, and a real server

SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy")


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/", None, 200), ("GET", "/about", None, 200),
    ("GET", "/api/countries", None, 200), ("GET", "/api/model", None, 200),
    ("GET", "/static/style.css", None, 200), ("GET", "/openapi.json", None, 200),
    ("GET", "/docs", None, 200), ("GET", "/redoc", None, 200), ("GET", "/healthz", None, 200),
    ("GET", "/nowhere", None, 404), ("GET", "/api/countries/xx/top", None, 404),
    ("POST", "/api/recommendations", b"{" + b" " * 20_000 + b"}", 413),
    ("POST", "/api/recommendations", b"[]", 422),
    ("POST", "/api/recommendations", b'{"expression": "Narnia"}', 400),
])
def test_every_answer_has_the_security_headers(settings: Settings, method: str, path: str,
                                               body: bytes | None, status: int) -> None:
    build_artifact(settings.models_dir)
    client = TestClient(create_app(settings))
    response = client.request(method, path, content=body,
                              headers={"content-type": "application/json"})
    assert response.status_code == status
    assert all(name in response.headers for name in SECURITY), dict(response.headers)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    if response.headers.get("content-type", "").startswith("application/json"):
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_no_server_path_in_error_bodies(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    home = str(settings.home)
    for path in ("/api/model", "/map", "/country/co", "/"):
        response = client.get(path)
        assert home not in response.text, path
    assert client.get("/api/model").status_code == 503
    broken = settings.models_dir / "20200101T000000.000000Z-dead"
    broken.mkdir(parents=True)
    (broken / "meta.json").write_text("[]")
    (settings.models_dir / "current").symlink_to(broken.name)
    fresh = TestClient(create_app(settings))
    answer = fresh.get("/api/model")
    assert answer.status_code == 503 and home not in answer.text
    assert "the published model cannot be read" in answer.json()["detail"]
    assert "$DOTIFY_HOME/models/20200101T000000.000000Z-dead" in answer.json()["detail"]


# --- the admin token ----------------------------------------------------------------------

@pytest.mark.parametrize(("header", "token"), [
    ("Bearer s3cret", b"s3cret"), ("bearer s3cret", b"s3cret"), ("BEARER  s3cret", b"s3cret"),
    ("s3cret", None), ("Basic s3cret", None), ("Bearer", None), ("Bearer ", None),
    ("Bearer s3 cret", None), ("Bearers3cret", None), (None, None), ("", None),
])
def test_bearer_token_parsing(header: str | None, token: bytes | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(("admin", "header", "status"), [
    ("s3cret", b"Bearer s3cret", 200), ("s3cret", b"bearer s3cret", 200),
    ("s3cret", b"s3cret", 401), ("s3cret", b"Token s3cret", 401),
    ("s3cret", b"Bearer s3cret2", 401),
    ("t\u00f6k\u00e9n-\u2603", "Bearer t\u00f6k\u00e9n-\u2603".encode(), 200),
    ("t\u00f6k\u00e9n-\u2603", "Bearer t\u00f6k\u00e9n-\u2603".encode()[:-1], 401),
    ("t\u00f6k\u00e9n", "Bearer tok\u00e9n".encode(), 401),
    ("s3cret", "Bearer s\u00f6cret".encode(), 401),
])
def test_admin_reload_token(home: Path, admin: str, header: bytes, status: int) -> None:
    settings = Settings(home=home, admin_token=admin)
    build_artifact(settings.models_dir)
    client = TestClient(create_app(settings))
    response = client.post("/api/model/reload", headers={"Authorization": header})
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "detail" in response.json()


# --- uvicorn: bounded request heads and connections ---------------------------------------

class _Tight(GuardedHttpToolsProtocol):
    header_timeout_s = 0.5
    max_header_bytes = 4096
    max_connections = 20


@contextmanager
def _server(settings: Settings) -> Iterator[int]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", http=_Tight, limit_concurrency=20)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), what="uvicorn's start")
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _ask(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            return _read_all(sock)
        except ConnectionResetError:
            return b""


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_uvicorn_bounds_heads_and_connections(settings: Settings) -> None:
    build_artifact(settings.models_dir)
    with _server(settings) as port:
        ok = _ask(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200") and b"x-content-type-options: nosniff" in ok
        big = _ask(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
        assert big.startswith(b"HTTP/1.1 431")
        huge = _ask(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        assert not huge.startswith(b"HTTP/1.1 200")
        slow = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(30)]
        try:
            for sock in slow:  # half a header line, never finished
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            answers = []
            for sock in slow:
                try:
                    answers.append(_read_all(sock))
                except ConnectionResetError:
                    answers.append(b"")
        finally:
            for sock in slow:
                sock.close()
        timed_out = sum(a.startswith(b"HTTP/1.1 408") for a in answers)
        refused = sum(a == b"" or a.startswith(b"HTTP/1.1 503") for a in answers)
        assert timed_out + refused == 30 and timed_out >= 10 and refused >= 1
        after = _ask(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert after.startswith(b"HTTP/1.1 200")  # the server is fine after all that
