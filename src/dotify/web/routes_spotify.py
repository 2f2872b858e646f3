"""Save to Spotify: ``/spotify/login`` starts the PKCE flow for an answer, and
``/spotify/callback`` (the redirect URI to register with Spotify) finishes it; see
:mod:`dotify.web.spotify`."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dotify.errors import DotifyError
from dotify.web import queries, spotify
from dotify.web.routes_pages import pretty_query, render_page, spotify_redirect
from dotify.web.schemas import RecommendationRequest

router = APIRouter(include_in_schema=False)
QUERY_KEYS = ("q", "n", "popularity", "discover")


@router.get("/spotify/login", response_model=None)
def spotify_login(request: Request) -> Response:
    """Send the visitor to Spotify to approve a playlist of the query in the parameters."""
    settings = request.app.state.settings
    if not settings.spotify_client_id:
        return _done(request, 404, "Saving to Spotify is off on this server",
                     "Set DOTIFY_SPOTIFY_CLIENT_ID to a Spotify app's client ID to turn it on.")
    query = {k: request.query_params[k][:500] for k in QUERY_KEYS if k in request.query_params}
    if not query.get("q"):
        return _done(request, 400, "Nothing to save", "Ask for some music first.")
    pending = spotify.start(query)
    response = RedirectResponse(spotify.authorize_url(settings, pending, spotify_redirect(request)),
                                status_code=303)
    response.set_cookie(spotify.COOKIE, pending.to_cookie(), max_age=spotify.COOKIE_MAX_AGE_S,
                        path="/spotify", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


@router.get("/spotify/callback", response_class=HTMLResponse)
def spotify_callback(request: Request, code: str | None = None, state: str | None = None,
                     error: str | None = None) -> HTMLResponse:
    """Where Spotify sends the visitor back: make the playlist, say where it is."""
    pending = spotify.Pending.from_cookie(request.cookies.get(spotify.COOKIE))
    if error:
        page = _done(request, 400, "Spotify did not give access", f"Spotify said: {error[:100]}.")
    elif pending is None or not state or state != pending.state or not code:
        page = _done(request, 400, "This sign-in cannot be finished",
                     "It expired or did not start here. Ask again and press Save to Spotify.")
    else:
        page = _save(request, pending, code)
    page.delete_cookie(spotify.COOKIE, path="/spotify")
    return page


def _save(request: Request, pending: spotify.Pending, code: str) -> HTMLResponse:
    settings, live = request.app.state.settings, request.app.state.holder.get()
    if live is None:
        return _done(request, 503, "No model is published", "There are no songs to save yet.")
    query = pending.query
    try:
        body = RecommendationRequest(
            expression=query["q"], tokens=None, n=int(query.get("n", "10")),
            popularity=float(query["popularity"]) if "popularity" in query else None,
            discover=query.get("discover") == "1")
        songs = queries.recommend(live, body).songs
        title = f"Music like {pretty_query(query['q'])}"
        token = spotify.access_token(settings, code, pending.verifier, spotify_redirect(request))
        made = spotify.save_playlist(settings, token, f"{title} (dotify)",
                                     f"{title}: country arithmetic over Spotify's daily charts.",
                                     [s.uri for s in songs if s.uri])
    except httpx.HTTPError as exc:
        return _done(request, 502, "Spotify cannot be reached", f"{type(exc).__name__}.")
    except (DotifyError, ValueError) as exc:
        return _done(request, 502 if isinstance(exc, spotify.SpotifyError) else 400,
                     "The playlist was not made", str(exc))
    return render_page(request, "spotify.html", live, title="Saved to Spotify", ok=True,
                 message=f"{made['songs']} songs of {title} are in a new private playlist.",
                 playlist=made["url"], back=f"/?{urlencode(query)}")


def _done(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render_page(request, "spotify.html", request.app.state.holder.get(), status,
                 title=title, ok=False, message=message, playlist=None, back="/")
