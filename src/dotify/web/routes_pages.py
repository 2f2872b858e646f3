"""The HTML pages: the query page, a page per country, the map and the about page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dotify import countries as registry
from dotify.errors import DotifyError
from dotify.query.arithmetic import OPERATORS, countries_in, parse
from dotify.web import queries
from dotify.web.model_holder import Live
from dotify.web.security import PAGE_CSP, PLAYER_CSP, redact

router = APIRouter(include_in_schema=False)
NO_MODEL = 503
EXAMPLES = ("Colombia x Turkey - Germany", "Sweden + Japan", "Brazil - United States",
            "Mexico x Spain", "South Korea + Chile", "France ÷ Germany")


def render_page(request: Request, template: str, live: Live | None, status: int = 200,
          csp: str = PAGE_CSP, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    holder, settings = request.app.state.holder, request.app.state.settings
    failed = None
    if holder.degraded:  # the published model cannot be read: every page says so
        failed = {"version": holder.failed_version,
                  "error": redact(holder.last_error or "", settings)}
    context |= {"live": live, "failed": failed}
    response: HTMLResponse = templates.TemplateResponse(request, template, context,
                                                        status_code=status)
    response.headers["Content-Security-Policy"] = csp
    return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request, q: str | None = None, n: str | None = None) -> HTMLResponse:
    live = request.app.state.holder.get()
    settings = request.app.state.settings
    return render_page(request, "index.html", live, csp=PLAYER_CSP,
                 popularity=queries.default_popularity(), examples=_examples(live),
                 operators=OPERATORS, shared=_shared(request, q, n),
                 spotify_enabled=bool(settings.spotify_client_id),
                 spotify_redirect=spotify_redirect(request))


def _shared(request: Request, q: str | None, n: str | None) -> dict[str, str] | None:
    """The title and preview tags of a shared query link, or None for no (or a bad) query."""
    if not q or len(q) > 500:
        return None
    pretty = pretty_query(q)
    if pretty is None:
        return None
    count = n if n and n.isdigit() and 1 <= int(n) <= 100 else "10"
    return {"pretty": pretty, "url": str(request.url),
            "description": f"{count} songs for {pretty}: country arithmetic over Spotify's "
                           "daily charts, with each song's peak and streams there."}


def pretty_query(q: str) -> str | None:
    """An expression as the page writes it ("Colombia × Turkey − Germany"), None if bad."""
    try:
        tree = parse(q)
    except (DotifyError, ValueError):
        return None
    label = {op.canonical: op.label for op in OPERATORS}
    return " ".join(label.get(word, word) for word in str(tree).split(" "))


def spotify_redirect(request: Request) -> str:
    """The redirect URI of Save to Spotify: the setting, else this server's callback."""
    configured = request.app.state.settings.spotify_redirect_uri
    return configured or str(request.url_for("spotify_callback"))


def _examples(live: Live | None) -> list[str]:
    """The example queries whose countries all have a vector in the live model."""
    if live is None:
        return []
    return live.cached("examples", lambda: [
        e for e in EXAMPLES if {c.code for c in countries_in(parse(e))} <= live.codes][:4])


@router.get("/country/{code}", response_class=HTMLResponse)
def country(request: Request, code: str) -> Response:
    market = registry.find(code[:64])
    if market is None:
        suggestions = [registry.lookup(s) for s in registry.suggest(code[:64])]
        return render_page(request, "error.html", request.app.state.holder.get(), 404,
                     title="Unknown country",
                     message=f"No market is called {code[:64]!r}.", suggestions=suggestions)
    if market.code != code:
        return RedirectResponse(f"/country/{market.code}", status_code=308)
    live = request.app.state.holder.get()
    history = request.app.state.history.for_market(market.code)
    if live is None:
        return render_page(request, "country.html", None, NO_MODEL, market=market, history=history)
    try:
        similar = queries.similar(live, market.code, 10)
        top = queries.top(live, market.code, 20, None)
        problem = None
    except (HTTPException, DotifyError) as exc:
        similar, top = [], []
        problem = exc.detail if isinstance(exc, HTTPException) else str(exc)
    return render_page(request, "country.html", live, market=market, history=history,
                 similar=similar, top=top, problem=problem)


@router.get("/map", response_class=HTMLResponse)
def taste_map(request: Request) -> HTMLResponse:
    live = request.app.state.holder.get()
    return render_page(request, "map.html", live, 200 if live else NO_MODEL,
                 regions=list(registry.REGIONS))


@router.get("/about", response_class=HTMLResponse)
def about(request: Request) -> HTMLResponse:
    live = request.app.state.holder.get()
    info = queries.model_info(live) if live else None
    return render_page(request, "about.html", live, info=info)
