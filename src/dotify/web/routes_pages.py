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
from dotify.web.security import PAGE_CSP, redact

router = APIRouter(include_in_schema=False)
NO_MODEL = 503
EXAMPLES = ("Colombia x Turkey - Germany", "Sweden + Japan", "Brazil - United States",
            "Mexico x Spain", "South Korea + Chile", "France ÷ Germany")


def _page(request: Request, template: str, live: Live | None, status: int = 200,
          **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    holder, settings = request.app.state.holder, request.app.state.settings
    failed = None
    if holder.degraded:  # the published model cannot be read: every page says so
        failed = {"version": holder.failed_version,
                  "error": redact(holder.last_error or "", settings)}
    context |= {"live": live, "failed": failed}
    response: HTMLResponse = templates.TemplateResponse(request, template, context,
                                                        status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    live = request.app.state.holder.get()
    return _page(request, "index.html", live, popularity=queries.default_popularity(),
                 examples=_examples(live), operators=OPERATORS)


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
        suggestions = registry.suggest(code[:64])
        return _page(request, "error.html", request.app.state.holder.get(), 404,
                     title="Unknown country",
                     message=f"No market is called {code[:64]!r}.", suggestions=suggestions)
    if market.code != code:
        return RedirectResponse(f"/country/{market.code}", status_code=308)
    live = request.app.state.holder.get()
    history = request.app.state.history.for_market(market.code)
    if live is None:
        return _page(request, "country.html", None, NO_MODEL, market=market, history=history)
    try:
        similar = queries.similar(live, market.code, 10)
        top = queries.top(live, market.code, 20, None)
        problem = None
    except (HTTPException, DotifyError) as exc:
        similar, top = [], []
        problem = exc.detail if isinstance(exc, HTTPException) else str(exc)
    return _page(request, "country.html", live, market=market, history=history,
                 similar=similar, top=top, problem=problem)


@router.get("/map", response_class=HTMLResponse)
def taste_map(request: Request) -> HTMLResponse:
    live = request.app.state.holder.get()
    return _page(request, "map.html", live, 200 if live else NO_MODEL,
                 regions=list(registry.REGIONS))


@router.get("/about", response_class=HTMLResponse)
def about(request: Request) -> HTMLResponse:
    live = request.app.state.holder.get()
    info = queries.model_info(live) if live else None
    return _page(request, "about.html", live, info=info)
