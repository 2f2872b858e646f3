"""The FastAPI application: state, lifespan, error translation, body limit, offline docs."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dotify import countries as registry
from dotify.config import Settings
from dotify.errors import (
    ArtifactError,
    CountryNotInModelError,
    DotifyError,
    ExpressionError,
    UnknownCountryError,
)
from dotify.web.chart_history import ChartHistory
from dotify.web.model_holder import ModelHolder
from dotify.web.schemas import MAX_BODY_BYTES
from dotify.web.security import DOCS_CSP, PAGE_CSP, SecurityHeaders, redact

log = logging.getLogger("dotify")
HERE = Path(__file__).resolve().parent
DOCS_ASSETS = "/docs-assets"


def build_app(settings: Settings, scheduler: Any = None, check_every: float = 1.0) -> FastAPI:
    """See :func:`dotify.web.create_app`."""
    from dotify.web import queries, routes_api, routes_pages, routes_spotify
    from dotify.web.answers import Answers

    app = FastAPI(title="dotify", version="0.1.0", lifespan=_lifespan, docs_url=None,
                  redoc_url=None, description="Music like Colombia x Turkey - Germany: "
                  "country arithmetic over a matrix factorization of Spotify Charts.")
    app.state.settings = settings
    app.state.history = history = ChartHistory(settings)
    app.state.holder = ModelHolder(settings.models_dir, check_every=check_every,
                                   warm=queries.warm,
                                   prepare=lambda live: queries.prepare(live, history))
    app.state.answers = Answers(app.state.history)
    app.state.scheduler = scheduler
    app.state.freeze_gc = False  # dotify serve sets it: see _lifespan
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _mount_docs(app)
    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    app.include_router(routes_spotify.router)
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, a 413 too
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start what runs beside the server (a scheduler), load the model, stop on shutdown."""
    scheduler = app.state.scheduler
    if scheduler is not None and not getattr(scheduler, "running", True):
        scheduler.start()
    app.state.holder.prepared()  # load the published model and its map before any request
    if app.state.freeze_gc:
        # what start-up made (some 300,000 objects: modules, the model) leaves the cyclic
        # collector's lists: a full pass over them took 110-150 ms, every request waiting
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        if scheduler is not None and getattr(scheduler, "running", False):
            scheduler.shutdown(wait=False)
        app.state.history.close()


def _error(status: int, detail: Any, headers: dict[str, str] | None = None,
           **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


def _in_model(name: str, codes: frozenset[str] | None, n: int = 3) -> list[str]:
    """The closest market names to ``name`` among those the live model can answer for (all
    markets when no model is live), so that a suggestion never leads to another error."""
    close = registry.suggest(name, n=40)
    if codes is None:
        return close[:n]
    return [c for c in close if registry.lookup(c).code in codes][:n]


API_PREFIXES = ("/api/", "/healthz", "/openapi.json", "/static/", DOCS_ASSETS + "/")


def _is_page(path: str) -> bool:
    """A path a person browses to (answered in HTML), not one of the API or the assets."""
    return not path.startswith(API_PREFIXES) and path != "/api"


def _not_found_page(request: Request) -> HTMLResponse:
    templates = request.app.state.templates
    page: HTMLResponse = templates.TemplateResponse(
        request, "error.html", {"live": request.app.state.holder.get(), "failed": None,
                                "title": "Page not found",
                                "message": f"There is no page at {request.url.path[:80]}."},
        status_code=404)
    page.headers["Content-Security-Policy"] = PAGE_CSP
    return page


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ExpressionError)
    async def _expression(_: Request, exc: ExpressionError) -> JSONResponse:
        return _error(400, str(exc), position=exc.position)

    @app.exception_handler(UnknownCountryError)
    async def _unknown(request: Request, exc: UnknownCountryError) -> JSONResponse:
        if isinstance(exc, CountryNotInModelError):  # its suggestions are in the model
            return _error(400, str(exc), suggestions=exc.suggestions, unknown=exc.name)
        live = request.app.state.holder.get()
        known = UnknownCountryError(exc.name, _in_model(exc.name, live.codes if live else None))
        return _error(400, str(known), suggestions=known.suggestions, unknown=exc.name)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _is_page(request.url.path):
            return _not_found_page(request)
        return _error(exc.status_code, exc.detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(ArtifactError)
    async def _no_model(request: Request, exc: ArtifactError) -> JSONResponse:
        return _error(503, redact(str(exc), request.app.state.settings))

    @app.exception_handler(DotifyError)
    async def _dotify(_: Request, exc: DotifyError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(ValueError)
    async def _bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, [_describe(e) for e in exc.errors()])


def _describe(error: dict[str, Any]) -> dict[str, Any]:
    """A validation error without the echoed input (which may be huge or unencodable)."""
    where = ".".join(str(p) for p in error.get("loc", ()))
    return {"loc": list(error.get("loc", ())), "msg": f"{where}: {error.get('msg', 'invalid')}",
            "type": error.get("type", "value_error")}


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, from files shipped in a Python package."""
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).resolve().parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def _swagger(request: Request) -> HTMLResponse:
        templates = request.app.state.templates
        page: HTMLResponse = templates.TemplateResponse(
            request, "docs.html", {"live": request.app.state.holder.get(), "failed": None,
                                   "assets": DOCS_ASSETS})
        page.headers["Content-Security-Policy"] = DOCS_CSP  # Swagger UI builds inline styles
        return page

    @app.get("/redoc", include_in_schema=False)
    async def _redoc() -> HTMLResponse:
        page = get_redoc_html(openapi_url="/openapi.json", title="dotify API",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url="/static/favicon.svg", with_google_fonts=False)
        # ReDoc's footer logo points at its vendor's site: keep the page fully local
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page


class BodyLimit:
    """Answer 413 to a request body larger than ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        seen, too_large = 0, False

        async def limited() -> Message:
            nonlocal seen, too_large
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                too_large = True
                raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:  # the app's own answer to a cut-off body is replaced by 413
                await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        response = _error(413, f"request body larger than {self.max_bytes} bytes")
        await send({"type": "http.response.start", "status": 413,
                    "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class _TooLarge(Exception):
    pass
