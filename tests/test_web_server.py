"""The web app on a real uvicorn server on 127.0.0.1: hot reload under load, `dotify serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from dotify import artifact as artifacts
from dotify.config import Settings
from dotify.web import create_app
from tests.waiting import wait_until
from tests.web_support import build_artifact, free_port, running_server

pytestmark = pytest.mark.slow


def test_publishing_new_models_while_clients_query_fails_no_request(settings: Settings) -> None:
    first = build_artifact(settings.models_dir)
    app = create_app(settings, check_every=0.05)
    failures: list[str] = []
    seen: set[str] = set()
    stop = threading.Event()
    counts = [0]

    def client_loop(base: str) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                try:
                    asked = client.post("/api/recommendations",
                                        json={"expression": "Colombia x Turkey - Germany"})
                    model = client.get("/api/model")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                for response in (asked, model):
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                if model.status_code == 200:
                    seen.add(model.json()["version"])
                if asked.status_code == 200 and len(asked.json()["songs"]) != 10:
                    failures.append("not 10 songs")
                counts[0] += 1

    with running_server(app) as base:
        threads = [threading.Thread(target=client_loop, args=(base,)) for _ in range(4)]
        for t in threads:
            t.start()
        published = [first.version]
        wait_until(lambda: first.version in seen, what="an answer of the first model")
        for seed in range(1, 4):
            time.sleep(0.3)
            published.append(build_artifact(settings.models_dir, seed=seed).version)
            artifacts.prune(settings.models_dir, keep=2)  # old folders vanish under readers
        wait_until(lambda: published[-1] in seen, what="an answer of the last model")
        stop.set()
        for t in threads:
            t.join(timeout=20)
        final = httpx.get(f"{base}/api/model").json()["version"]
    assert failures == []  # every request answered, none failed, across every publish
    assert counts[0] > 0
    assert final == published[-1]
    assert first.version in seen and published[-1] in seen


def test_server_answers_json_errors_not_500(settings: Settings) -> None:
    build_artifact(settings.models_dir)
    with running_server(create_app(settings)) as base, httpx.Client(base_url=base) as client:
        assert client.post("/api/recommendations", json={"expression": "Narnia"}).status_code == 400
        big = client.post("/api/recommendations", content=b"{" + b" " * 20000 + b"}",
                          headers={"content-type": "application/json"})
        assert big.status_code == 413
        chunked = client.post("/api/recommendations", content=iter([b"{" + b" " * 9000] * 3),
                              headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert client.get("/static/ask.js").status_code == 200


@pytest.mark.parametrize("workers", [1, 2])
def test_dotify_serve_starts_and_follows_new_models(home: Path, workers: int) -> None:
    settings = Settings(home=home)
    version = build_artifact(settings.models_dir).version
    port = free_port()
    env = {**os.environ, "DOTIFY_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "dotify", "serve", "--port", str(port),
                             "--workers", str(workers), "--check-every", "0.1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = _wait_for_json(f"http://127.0.0.1:{port}/healthz", proc)
        assert body == {"status": "ok", "model_version": version}
        newer = build_artifact(settings.models_dir, seed=5).version
        def answers() -> set[str]:  # new connections spread over the workers
            return {httpx.get(f"http://127.0.0.1:{port}/api/model").json()["version"]
                    for _ in range(6)}

        wait_until(lambda: answers() == {newer}, timeout=15, every=0,
                   what="every worker serving the new model")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in err.decode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; SO_REUSEPORT "
                    "spreads connections on Linux only")
def test_keep_alive_connections_opened_together_spread_over_the_workers(home: Path) -> None:
    """On one shared listening socket the worker that woke first took all 32 of them."""
    build_artifact(Settings(home=home).models_dir)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dotify", "serve", "--port", str(port),
                             "--workers", "2"], env={**os.environ, "DOTIFY_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    clients: list[socket.socket] = []
    try:
        _wait_for_json(f"http://127.0.0.1:{port}/healthz", proc)
        wait_until(lambda: len(_workers(proc.pid)) == 2, timeout=30, every=0.2,
                   what="two worker processes")
        time.sleep(1.0)  # the second worker's app started too
        # 32 connections opened at once, as a load generator or a proxy's pool opens them
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for client in clients:
            assert client.recv(64).startswith(b"HTTP/1.1 200")
        held = {pid: len(_established(pid, port)) for pid in _workers(proc.pid)}
        assert sum(held.values()) == 32 and all(held.values()), held
        # another server on the same address is refused, not let in to share it
        second = subprocess.Popen([sys.executable, "-m", "dotify", "serve", "--port", str(port),
                                   "--workers", "2"], env={**os.environ, "DOTIFY_HOME": str(home)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = second.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            second.terminate()  # its supervisor stops its workers too
            second.communicate(timeout=20)
            pytest.fail("a second server started on the address in use")
        assert second.returncode == 2
        assert f"cannot serve on 127.0.0.1:{port}" in err.decode()
    finally:
        for client in clients:
            client.close()
        proc.terminate()
        proc.communicate(timeout=20)


def _workers(parent: int) -> list[int]:
    """The processes under ``parent`` that hold a listening socket (the server's workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(parent, []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if _sockets(pid, "0A"):  # TCP_LISTEN
            found.append(pid)
    return found


def _established(pid: int, port: int) -> set[int]:
    return _sockets(pid, "01", port)


def _sockets(pid: int, state: str, port: int | None = None) -> set[int]:
    """The inodes of the TCP sockets of ``pid`` in ``state`` (on local ``port``)."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return set()
    inodes = {link[8:-1] for link in links if link.startswith("socket:[")}
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == state and fields[9] in inodes and port in (None, local_port):
                found.add(int(fields[9]))
    return found


def test_dotify_serve_refuses_a_bad_nightly_time(home: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dotify", "serve", "--nightly-at", "25:99"],
                          env={**os.environ, "DOTIFY_HOME": str(home)}, capture_output=True,
                          timeout=60)
    assert done.returncode != 0
    assert "HH:MM" in done.stderr.decode()


def _wait_for_json(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> dict:
    answer: list[dict] = []

    def answered() -> bool:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"dotify serve exited: {err}")
        try:
            answer.append(httpx.get(url, timeout=1).json())
        except httpx.HTTPError:
            return False
        return True

    wait_until(answered, timeout=timeout, every=0.1, what=f"an answer from {url}")
    return answer[0]


@pytest.mark.parametrize(("protocol_name", "expected"), [("plain", 0), ("nodelay", 1)])
def test_connections_on_a_shared_listening_socket_get_tcp_nodelay(
        settings: Settings, protocol_name: str, expected: int) -> None:
    """uvicorn's worker socket has proto 0, so asyncio skips TCP_NODELAY; ours sets it."""
    import asyncio
    import socket

    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from dotify.web.server import NoDelayHttpToolsProtocol

    config = Config(app=create_app(settings), log_level="warning")
    config.load()
    base = NoDelayHttpToolsProtocol if protocol_name == "nodelay" else HttpToolsProtocol
    seen: list[int] = []

    class Probe(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    async def connect_once() -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn's
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: Probe(config=config, server_state=ServerState(), app_state={}), sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(connect_once())
    assert seen and bool(seen[0]) == bool(expected)
