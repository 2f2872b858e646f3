"""The JSON API under ``/api`` (documented at ``/docs``), and ``/healthz``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response

from dotify import countries as registry
from dotify.errors import UnknownCountryError
from dotify.web import queries
from dotify.web.model_holder import Live
from dotify.web.schemas import (
    Country,
    ErrorBody,
    Health,
    ModelInfo,
    Operator,
    RecommendationRequest,
    RecommendationResponse,
    SimilarCountry,
    Song,
    SongHistory,
    TasteMap,
)
from dotify.web.security import check_admin, redact

# Cheap routes are ``async``: a query takes about a millisecond of numpy, less than a
# thread-pool hop costs; recommendations too (their song reads from the store are kept per
# store version, see dotify.web.answers). Routes that read the store each time, the map
# (t-SNE, once per model, waited for when the first request comes before it is done) and
# the reload stay in threads.
router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad expression or unknown country"},
    404: {"model": ErrorBody, "description": "unknown country"},
    503: {"model": ErrorBody, "description": "no model is published yet"},
}
CountryCode = Annotated[str, Path(min_length=1, max_length=64,
                                  description="ISO code, name or alias, e.g. 'co' or 'Colombia'")]
TopN = Annotated[int, Query(ge=1, le=100)]


async def live_model(request: Request) -> Live:
    """The model for this request: taken once, kept even if a new one is swapped in."""
    holder = request.app.state.holder
    live = holder.get()
    if live is None:
        if holder.degraded:
            raise HTTPException(503, "the published model cannot be read: "
                                f"{redact(holder.last_error, request.app.state.settings)}")
        raise HTTPException(503, "no model is published yet; run `dotify train` (or "
                                 "`make demo`) first")
    return live


LiveModel = Annotated[Live, Depends(live_model)]


@router.get("/healthz", response_model=Health, response_model_exclude_unset=True,
            tags=["service"])
async def healthz(request: Request) -> Health:
    """``ok``, or ``degraded`` with the published version that cannot be read and why."""
    holder = request.app.state.holder
    live = holder.get()
    version = live.version if live else None
    if not holder.degraded:
        return Health(status="ok", model_version=version)
    return Health(status="degraded", model_version=version,
                  failed_version=holder.failed_version,
                  model_error=redact(holder.last_error or "", request.app.state.settings))


@router.get("/api/countries", response_model=list[Country], tags=["countries"])
async def list_countries(request: Request) -> list[Country]:
    """Every market of the registry; ``in_model``: the live model has a vector for it."""
    return queries.countries(request.app.state.holder.get())


@router.get("/api/operators", response_model=list[Operator], tags=["countries"])
async def list_operators() -> list[Operator]:
    """The binary operators an expression may use, with their spellings and meaning."""
    return queries.operators()


@router.post("/api/recommendations", response_model=RecommendationResponse,
             responses=ERRORS, tags=["recommendations"])
async def recommendations(body: RecommendationRequest, live: LiveModel,
                          request: Request) -> Response:
    """Songs for a country expression (``expression``, or ``tokens`` as the form builds),
    each with its home market, its peak and streams in the query's countries (from the
    chart store) and the reason in words."""
    answer = await request.app.state.answers.recommend(live, body)
    return Response(answer, media_type="application/json")


@router.get("/api/songs/history", response_model=SongHistory, responses=ERRORS,
            tags=["recommendations"])
def song_history(live: LiveModel, request: Request,
                 key: Annotated[str, Query(min_length=1, max_length=1100,
                                           description="the song's key, as a song has it")],
                 countries: Annotated[str, Query(min_length=1, max_length=700, description=(
                     "comma-separated codes or names, at most 10, e.g. 'co,tr,de'"))],
                 ) -> SongHistory:
    """A song's chart position per day in some countries (from the chart store)."""
    codes = [_known(c.strip()) for c in countries.split(",") if c.strip()]
    return queries.song_history(live, key, codes, request.app.state.history)


@router.get("/api/countries/{code}/similar", response_model=list[SimilarCountry],
            responses=ERRORS, tags=["countries"])
async def similar_countries(code: CountryCode, live: LiveModel,
                            n: TopN = 10) -> list[SimilarCountry]:
    """The countries whose taste is closest (cosine of their chart profiles less the world's)."""
    return queries.similar(live, _known(code), n)


@router.get("/api/countries/{code}/top", response_model=list[Song], responses=ERRORS,
            tags=["countries"])
async def top_songs(code: CountryCode, live: LiveModel, n: TopN = 10,
              popularity: Annotated[float | None, Query(ge=0.0, le=1.0)] = None) -> list[Song]:
    """A country's best songs by its own vector."""
    return queries.top(live, _known(code), n, popularity)


@router.get("/api/map", response_model=TasteMap, responses=ERRORS, tags=["countries"])
def taste_map(live: LiveModel) -> TasteMap:
    """Country similarity in cluster order and a 2-D t-SNE layout (cached per model)."""
    return TasteMap(**queries.taste_map(live))


@router.get("/api/model", response_model=ModelInfo, responses=ERRORS, tags=["model"])
async def model_info(live: LiveModel) -> ModelInfo:
    """The live model: version, kind, when trained, data window and validation metrics."""
    return ModelInfo(**queries.model_info(live))


@router.post("/api/model/reload", response_model=ModelInfo, tags=["model"], responses={
    **ERRORS, 401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
def reload_model(request: Request,
                 authorization: Annotated[str | None, Header(max_length=512)] = None) -> ModelInfo:
    """Load the published model now. Needs ``Authorization: Bearer <admin_token>``."""
    check_admin(request.app.state.settings.admin_token, authorization)
    return ModelInfo(**queries.model_info(request.app.state.holder.reload()))


def _known(code: str) -> str:
    try:
        return registry.lookup(code).code
    except UnknownCountryError as exc:
        raise HTTPException(404, str(exc)) from exc
