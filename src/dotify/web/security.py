"""What the web app does against hostile clients: headers on every answer, the admin token,
and error texts without the server's paths.

- :class:`SecurityHeaders` puts ``Content-Security-Policy``, ``X-Content-Type-Options:
  nosniff`` and ``Referrer-Policy`` on every response (pages, JSON, static files, docs,
  errors) unless a route set its own policy;
- :func:`check_admin` reads ``Authorization: Bearer <token>`` as RFC 6750 says (the scheme
  is case-insensitive and required) and compares the token's bytes in constant time, so a
  non-ASCII token works too;
- :func:`redact` takes the home and models folders out of a message meant for a client.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dotify.config import Settings

# pages: only this server's own scripts ever run (defence in depth against injected markup)
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
# the query page may frame Spotify's embed player (only after a click on Play)
PLAYER_CSP = PAGE_CSP + "; frame-src https://open.spotify.com"
# Swagger UI and ReDoc start with inline scripts; still nothing from elsewhere
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' blob:; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
# JSON is data: nothing in it may load or run anything
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                json = headers.get("content-type", "").startswith("application/json")
                headers.setdefault("content-security-policy", API_CSP if json else PAGE_CSP)
                message["headers"] = headers.raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


def bearer_token(authorization: str | None) -> bytes | None:
    """The token of ``Authorization: Bearer <token>`` as the bytes sent, or None when the
    header is absent or not of the Bearer scheme (RFC 6750 section 2.1: ``"Bearer" 1*SP
    b64token``; the scheme name is case-insensitive, RFC 9110 section 11.1)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip(" ")
    if scheme.lower() != "bearer" or not token or any(c.isspace() or c == "," for c in token):
        return None
    return token.encode("latin-1")  # what the client sent: ASGI decodes headers as latin-1


def check_admin(expected: str | None, authorization: str | None) -> None:
    """HTTPException 403 when admin endpoints are off, 401 unless ``authorization`` carries
    the ``expected`` token (its UTF-8 bytes, compared in constant time)."""
    if not expected:
        raise HTTPException(403, "admin endpoints are disabled: set DOTIFY_ADMIN_TOKEN to enable")
    given = bearer_token(authorization)
    if given is None or not hmac.compare_digest(given, expected.encode("utf-8")):
        raise HTTPException(401, "missing or wrong admin token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": 'Bearer realm="dotify"'})


def redact(text: str, settings: Settings) -> str:
    """``text`` with the server's folders replaced by the settings that name them."""
    for folder, name in ((settings.models_dir, "$DOTIFY_HOME/models"),
                         (settings.home, "$DOTIFY_HOME")):
        for spelling in {str(folder), str(Path(folder).resolve())}:
            text = text.replace(spelling, name)
    return text
