"""The HTTP/1.1 protocol ``dotify serve`` runs under uvicorn, with limits for hostile clients.

uvicorn's httptools protocol has no bound on a request's head and no deadline for it: 300
connections that send half a header line stay open for ever, and a 100 KB header is read
whole. :class:`GuardedHttpToolsProtocol` adds, per connection:

- a deadline for the request line and headers (``HEADER_TIMEOUT_S`` from the connection's
  start or the request's first byte): a slow client gets 408 and is closed;
- a size limit for them (``MAX_HEADER_BYTES``): 431, closed;
- a cap on open connections (``MAX_CONNECTIONS``): a connection over it is closed at once
  (uvicorn's ``limit_concurrency``, set to the same number, answers 503 before that).

Behind a reverse proxy the same limits belong in the proxy too; see the README.
"""

from __future__ import annotations

import asyncio

from dotify.web.server import NoDelayHttpToolsProtocol

HEADER_TIMEOUT_S = 10.0
MAX_HEADER_BYTES = 16 * 1024
MAX_CONNECTIONS = 1000


class _HeadTooLarge(Exception):
    pass


class GuardedHttpToolsProtocol(NoDelayHttpToolsProtocol):
    """uvicorn's httptools protocol (with TCP_NODELAY) and a bounded request head."""

    header_timeout_s = HEADER_TIMEOUT_S
    max_header_bytes = MAX_HEADER_BYTES
    max_connections = MAX_CONNECTIONS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes, self._raw_bytes, self._in_head, self._too_large = 0, 0, True, False
        self._head_timer: asyncio.TimerHandle | None = None
        if len(self.connections) > self.max_connections:
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:  # an unfinished head is counted as it arrives
            self._raw_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._raw_bytes > self.max_header_bytes \
                and not self.transport.is_closing():
            self._reject(431, "Request Header Fields Too Large")

    # parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head, self._head_bytes, self._raw_bytes = True, 0, 0
            self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:  # raised from a callback: uvicorn took it for a parse error
            self._reject(431, "Request Header Fields Too Large")
        else:
            super().send_400_response(msg)

    # helpers
    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_header_bytes:
            self._too_large = True
            raise _HeadTooLarge

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        if self._in_head and not self.transport.is_closing():
            self._reject(408, "Request Timeout")

    def _reject(self, status: int, reason: str) -> None:
        body = f"{reason}\n".encode()
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
        self.transport.close()
