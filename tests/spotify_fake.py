"""A local stand-in for Spotify's accounts service and Web API, as far as Save to Spotify
uses them (the real ones cannot be reached from tests): it checks what Spotify checks (the
PKCE verifier against the challenge, the redirect URI, the bearer token) and records the
playlists made."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse

CODE, TOKEN, USER = "fake-code", "fake-token", "listener"


@dataclass
class FakeSpotify:
    client_id: str
    approve: bool = True  # False: the visitor refuses (error=access_denied)
    challenges: dict[str, str] = field(default_factory=dict)  # code -> challenge
    redirects: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri
    playlists: list[dict[str, Any]] = field(default_factory=list)
    tokens_given: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/authorize")
        def authorize(client_id: str, response_type: str, redirect_uri: str, state: str,
                      code_challenge: str, code_challenge_method: str,
                      scope: str = "") -> RedirectResponse:
            ok = (client_id == self.client_id and response_type == "code"
                  and code_challenge_method == "S256" and "playlist-modify-private" in scope)
            if not (ok and self.approve):
                answer = {"error": "access_denied" if ok else "invalid_request", "state": state}
                return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)
            self.challenges[CODE], self.redirects[CODE] = code_challenge, redirect_uri
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': CODE, 'state': state})}",
                                    status_code=302)

        @app.post("/api/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            code = form.get("code", "")
            if (form.get("grant_type") != "authorization_code"
                    or form.get("client_id") != self.client_id
                    or self.challenges.get(code) != challenge
                    or self.redirects.get(code) != form.get("redirect_uri")):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.tokens_given += 1
            return JSONResponse({"access_token": TOKEN, "token_type": "Bearer",
                                 "expires_in": 3600, "scope": "playlist-modify-private"})

        def authorised(header: str | None) -> bool:
            return header == f"Bearer {TOKEN}"

        @app.get("/v1/me")
        def me(authorization: str | None = Header(None)) -> JSONResponse:
            if not authorised(authorization):
                return JSONResponse({"error": {"status": 401, "message": "bad token"}}, 401)
            return JSONResponse({"id": USER, "display_name": "A listener"})

        @app.post("/v1/users/{user}/playlists")
        async def make(user: str, request: Request,
                       authorization: str | None = Header(None)) -> JSONResponse:
            if not authorised(authorization) or user != USER:
                return JSONResponse({"error": {"status": 403, "message": "not yours"}}, 403)
            body = await request.json()
            pid = f"pl{len(self.playlists) + 1}"
            self.playlists.append({"id": pid, **body, "uris": []})
            return JSONResponse({"id": pid, "external_urls": {
                "spotify": f"https://open.spotify.com/playlist/{pid}"}}, 201)

        @app.post("/v1/playlists/{pid}/tracks")
        async def add(pid: str, request: Request,
                      authorization: str | None = Header(None)) -> JSONResponse:
            found = [p for p in self.playlists if p["id"] == pid]
            if not authorised(authorization) or not found:
                return JSONResponse({"error": {"status": 404, "message": "no playlist"}}, 404)
            uris = (await request.json())["uris"]
            if len(uris) > 100:
                return JSONResponse({"error": {"status": 400, "message": "too many"}}, 400)
            found[0]["uris"] += uris
            return JSONResponse({"snapshot_id": "s1"}, 201)

        return app
