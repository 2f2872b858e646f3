"""Running the web app under uvicorn: one process, or several workers on one address.

With ``workers > 1`` uvicorn starts fresh worker processes that each build the app from the
environment (:func:`app_from_env`) and each follow the ``current`` model pointer on their
own; a nightly scheduler then runs once, in the supervising process. On Linux each worker
listens on a socket of its own (:class:`WorkersAddress`), so that connections spread over
them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from contextlib import suppress
from typing import Any, SupportsIndex

from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from dotify.config import Settings
from dotify.errors import ConfigError

log = logging.getLogger("dotify")
CHECK_EVERY_ENV = "DOTIFY_WEB_CHECK_EVERY"
HTTP_PROTOCOL = "dotify.web.protocol:GuardedHttpToolsProtocol"  # TCP_NODELAY, bounded heads
# asyncio's own loop, not uvloop: under 32 closed-loop connections uvloop let some
# requests wait two rounds of the queue instead of one (p99 about twice p50, against 1.3-1.7
# times on asyncio's), for much the same requests/s; see bench/bench_web.py
LOOP = "asyncio"
WORKER_APP = "dotify.web.server:app_from_env"  # what each of --workers N builds


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools HTTP/1.1 protocol with TCP_NODELAY on every connection.

    asyncio sets it only on sockets whose ``proto`` is TCP; the listening socket uvicorn
    shares with worker processes has ``proto`` 0, so without this each response (headers,
    then body) waited ~40 ms for the client's delayed ACK (Nagle's algorithm).
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def limit_blas() -> None:
    """Many small concurrent queries: threaded BLAS would only contend for the cores."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, "blas")


def app_from_env() -> FastAPI:
    """The app of a worker process: settings from ``DOTIFY_*`` variables (uvicorn factory)."""
    from dotify.web import create_app

    limit_blas()
    app = create_app(Settings(), check_every=float(os.environ.get(CHECK_EVERY_ENV, "1")))
    app.state.freeze_gc = True
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          nightly_at: str | None = None, check_every: float = 1.0) -> None:
    """Serve until interrupted; ``nightly_at`` (HH:MM UTC) also runs the nightly job."""
    import uvicorn

    from dotify.web import create_app
    from dotify.web.protocol import MAX_CONNECTIONS

    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    options: dict[str, Any] = {
        "host": host, "port": port, "log_level": "warning", "http": HTTP_PROTOCOL, "loop": LOOP,
        "limit_concurrency": MAX_CONNECTIONS, "timeout_keep_alive": 5}
    scheduler: Any = None
    if nightly_at:
        from dotify.jobs.scheduler import start_nightly

        scheduler = start_nightly(settings, nightly_at)
    if workers == 1:
        limit_blas()
        app = create_app(settings, scheduler=scheduler, check_every=check_every)
        app.state.freeze_gc = True  # a long-lived process: see dotify.web.app._lifespan
        uvicorn.run(app, **options)
        return
    os.environ["DOTIFY_HOME"] = str(settings.home)
    if settings.database_url:
        os.environ["DOTIFY_DATABASE_URL"] = settings.database_url
    os.environ[CHECK_EVERY_ENV] = str(check_every)
    options |= {"factory": True, "workers": workers}
    try:
        if SPREAD:
            from uvicorn.supervisors import Multiprocess

            with WorkersAddress.reserve(host, port) as address:
                Multiprocess(uvicorn.Config(WORKER_APP, **options), sockets=[address]).run()
        else:
            uvicorn.run(WORKER_APP, **options)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


# Linux spreads the connections of an address over the listening sockets bound to it with
# SO_REUSEPORT; elsewhere that option does not balance, and the workers share one socket
SPREAD = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class WorkersAddress(socket.socket):
    """The address of ``--workers N``, a socket of the supervising process bound to it (so
    that no other program takes it) that never listens; each worker process that unpickles
    it gets a socket of its own bound to the same address (:func:`_own_socket`).

    Sharing one listening socket, the worker whose event loop woke first took every
    connection waiting: 32 keep-alive connections opened together all went to one worker,
    the others idle. With a socket each, the kernel spreads connections over the workers
    by their addresses' hash.
    """

    @classmethod
    def reserve(cls, host: str, port: int) -> WorkersAddress:
        """The address, or ConfigError when something listens there already. Without
        SO_REUSEPORT a first bind fails where anything listens (another dotify's workers
        too, which would otherwise share the address with these in silence)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = cls(family, socket.SOCK_STREAM)
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
                port = probe.getsockname()[1]  # port 0: the one the system chose
            _reuse(sock)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
        return sock

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return _own_socket, (self.family, self.getsockname()[:2])


def _own_socket(family: int, address: tuple[str, int]) -> socket.socket:
    """A worker's socket on the workers' address (uvicorn makes it listen)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    _reuse(sock)
    sock.bind(address)
    return sock


def _reuse(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
