"""Save an answer as a playlist in the visitor's Spotify account.

OAuth 2.0 Authorization Code with PKCE (RFC 7636), as Spotify documents it for apps that
cannot keep a client secret: the server makes a random ``verifier``, sends the visitor to
``{accounts}/authorize`` with its SHA-256 ``challenge`` and a random ``state``, and keeps
both, with the query to save, in a short-lived HttpOnly cookie (:class:`Pending`), so any
worker process can finish the flow. Spotify sends the visitor back to the redirect URI
with a ``code``; the server checks ``state``, trades the code and the verifier for an
access token (``{accounts}/api/token``) and calls the Web API: ``GET /me``, ``POST
/users/{id}/playlists`` and ``POST /playlists/{id}/tracks`` (100 URIs a call). The token is
used for this one playlist and never stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from dotify.config import Settings
from dotify.errors import DotifyError

SCOPE = "playlist-modify-private"
COOKIE = "dotify_spotify"
COOKIE_MAX_AGE_S = 600
TIMEOUT_S = 15.0
BATCH = 100  # URIs per add-items call, Spotify's limit


class SpotifyError(DotifyError):
    """Spotify refused a step of the flow; the message says which and why."""


@dataclass(frozen=True)
class Pending:
    """What the server keeps between sending the visitor to Spotify and their return."""

    state: str
    verifier: str
    query: dict[str, str]  # the query string of the answer to save (q, n, popularity, discover)

    def to_cookie(self) -> str:
        return base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()

    @classmethod
    def from_cookie(cls, value: str | None) -> Pending | None:
        """The pending flow of a cookie, or None when it is missing or not one of ours."""
        if not value or len(value) > 4096:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(value.encode()))
            pending = cls(str(data["state"]), str(data["verifier"]),
                          {str(k): str(v) for k, v in dict(data["query"]).items()})
        except (ValueError, KeyError, TypeError):
            return None
        return pending


def start(query: dict[str, str]) -> Pending:
    """A new flow for ``query``: a fresh state and a 64-character verifier (RFC 7636 4.1)."""
    return Pending(secrets.token_urlsafe(24), secrets.token_urlsafe(48), query)


def challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier: base64url(SHA-256(verifier)) without '='."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(settings: Settings, pending: Pending, redirect_uri: str) -> str:
    """Where to send the visitor to approve the playlist scope."""
    params = {"client_id": settings.spotify_client_id or "", "response_type": "code",
              "redirect_uri": redirect_uri, "code_challenge_method": "S256",
              "code_challenge": challenge(pending.verifier), "state": pending.state,
              "scope": SCOPE}
    return f"{settings.spotify_accounts_url.rstrip('/')}/authorize?{urlencode(params)}"


def access_token(settings: Settings, code: str, verifier: str, redirect_uri: str) -> str:
    """Trade the authorization ``code`` and the ``verifier`` for an access token."""
    with httpx.Client(timeout=TIMEOUT_S) as client:
        answer = client.post(f"{settings.spotify_accounts_url.rstrip('/')}/api/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": settings.spotify_client_id or "", "code_verifier": verifier})
    body = _json(answer, "the token exchange")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise SpotifyError("Spotify's token answer has no access token")
    return token


def save_playlist(settings: Settings, token: str, name: str, description: str,
                  uris: list[str]) -> dict[str, Any]:
    """Make a private playlist of ``uris`` in the token's account; its ``id`` and ``url``."""
    if not uris:
        raise SpotifyError("no song of this answer has a Spotify URI")
    api = settings.spotify_api_url.rstrip("/")
    with httpx.Client(timeout=TIMEOUT_S, headers={"Authorization": f"Bearer {token}"}) as client:
        me = _json(client.get(f"{api}/me"), "reading your profile")
        made = _json(client.post(f"{api}/users/{me['id']}/playlists", json={
            "name": name, "description": description, "public": False}), "making the playlist")
        for at in range(0, len(uris), BATCH):
            _json(client.post(f"{api}/playlists/{made['id']}/tracks",
                              json={"uris": uris[at:at + BATCH]}), "adding the songs")
    url = (made.get("external_urls") or {}).get("spotify") or ""
    return {"id": str(made["id"]), "url": str(url), "songs": len(uris)}


def _json(answer: httpx.Response, step: str) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code >= 400 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        why = error.get("message") if isinstance(error, dict) else error
        raise SpotifyError(f"Spotify refused {step} (HTTP {answer.status_code}"
                           f"{': ' + str(why)[:200] if why else ''})")
    return body
