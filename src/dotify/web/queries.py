"""What the routes ask of the library, turned into plain JSON-ready values.

Pages and API share these, so the HTML and the JSON always say the same thing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import HTTPException

from dotify import countries as registry
from dotify.artifact import Artifact
from dotify.errors import DotifyError
from dotify.query import arithmetic, maps
from dotify.web.model_holder import Live
from dotify.web.schemas import (
    Country,
    Operator,
    RecommendationRequest,
    RecommendationResponse,
    SimilarCountry,
    Song,
)


def operators() -> list[Operator]:
    """The operator table of :mod:`dotify.query.arithmetic`, in its order."""
    return [Operator(symbol=op.symbol, name=op.name, aliases=list(op.aliases), meaning=op.meaning,
                     label=op.label, canonical=op.canonical, precedence=op.precedence)
            for op in arithmetic.OPERATORS]


def default_popularity() -> float:
    """The engine's default popularity knob, for the form's initial slider position."""
    from dotify.query.recommend import DEFAULT_POPULARITY

    return float(DEFAULT_POPULARITY)


def warm(artifact: Artifact) -> None:
    """Build the engine's per-model caches (normalised vectors) before the model goes live."""
    from dotify.query import recommend as engine

    if len(artifact.countries):
        try:
            engine.recommend(artifact, str(artifact.countries[0]), n=1)
        except DotifyError:  # e.g. a zero vector: the first real query will say so
            pass


def countries(live: Live | None) -> list[Country]:
    in_model = live.codes if live else frozenset()
    return [Country(code=m.code, name=m.name, region=m.region, aliases=list(m.aliases),
                    in_model=m.code in in_model)
            for m in sorted(registry.MARKETS.values(), key=lambda m: m.name)]


def recommend(live: Live, body: RecommendationRequest) -> RecommendationResponse:
    from dotify.query import recommend as engine

    query: str | list[str] = body.expression if body.expression is not None else body.tokens or []
    options: dict[str, Any] = {"n": body.n, "exclude_charting": body.discover}
    if body.popularity is not None:
        options["popularity"] = body.popularity
    found = engine.recommend(live.artifact, query, **options)
    return RecommendationResponse(expression=found.expression, parsed=found.parsed,
                                  songs=[_song(s) for s in found.songs],
                                  model_version=live.version, popularity=found.popularity,
                                  world_weight=found.world_weight)


def similar(live: Live, code: str, n: int) -> list[SimilarCountry]:
    from dotify.query import recommend as engine

    _require_in_model(live, code)
    return [SimilarCountry(similarity=round(near.similarity, 4), **maps.describe(near.code))
            for near in engine.similar(live.artifact, code, n)]


def top(live: Live, code: str, n: int, popularity: float | None) -> list[Song]:
    from dotify.query import recommend as engine

    _require_in_model(live, code)
    options = {} if popularity is None else {"popularity": popularity}
    found = engine.top(live.artifact, code, n, **options)
    return [_song(s) for s in found.songs]


def taste_map(live: Live) -> dict[str, Any]:
    art = live.artifact
    from dotify.query import recommend as engine

    body = live.cached("taste_map", lambda: maps.taste_map(*engine.taste_vectors(art)))
    return {"version": live.version, **body}


def model_info(live: Live) -> dict[str, Any]:
    art, meta = live.artifact, live.artifact.meta
    return {
        "version": live.version, "kind": str(meta.get("kind", art.kind)),
        "created_at": meta.get("created_at"), "n_countries": int(len(art.countries)),
        "n_songs": int(len(art.songs)), "factors": int(art.country_vectors.shape[1]),
        "params": _jsonable(meta.get("params", {})), "metrics": _jsonable(meta.get("metrics", {})),
        "window": _jsonable(meta.get("window")),
        "first_date": meta.get("first_date"), "last_date": meta.get("last_date"),
    }


def _require_in_model(live: Live, code: str) -> None:
    if code not in live.codes:
        name = registry.MARKETS[code].name if code in registry.MARKETS else code
        raise HTTPException(404, f"{name} has no vector in model {live.version} "
                                 "(no charts for it in the training data)")


def _song(song: Any) -> Song:
    """The API's song from the engine's ``RecommendedSong`` (attributes, no deep copy)."""
    return Song(rank=song.rank, title=song.title, artists=song.artists, url=song.url,
                uri=song.uri or None, score=song.score, match=song.match,
                contributions=song.contributions)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
