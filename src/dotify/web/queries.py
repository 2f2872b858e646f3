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
from dotify.learn.ratings import IDS_SEPARATOR
from dotify.query import arithmetic, maps
from dotify.web import song_facts
from dotify.web.chart_history import Catalogue, ChartHistory
from dotify.web.model_holder import Live
from dotify.web.schemas import (
    Country,
    CountryPositions,
    Market,
    Operator,
    RecommendationRequest,
    RecommendationResponse,
    SimilarCountry,
    Song,
    SongHistory,
)
from dotify.web.schemas import Standing as StandingOut

MAX_HISTORY_COUNTRIES = 10


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
    """Build the engine's per-model caches (every country's ranking, then what a first query
    builds) before the model goes live."""
    from dotify.query import recommend as engine

    engine.warm(artifact)
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


def recommend(live: Live, body: RecommendationRequest,
              history: ChartHistory | None = None) -> RecommendationResponse:
    """The engine's answer, each song with its home market, standings and reason."""
    from dotify.query import recommend as engine

    query: str | list[str] = body.expression if body.expression is not None else body.tokens or []
    options: dict[str, Any] = {"n": body.n, "exclude_charting": body.discover}
    if body.popularity is not None:
        options["popularity"] = body.popularity
    found = engine.recommend(live.artifact, query, **options)
    songs = _with_facts(live, found.songs, song_facts.roles(arithmetic.parse(query)), history)
    return RecommendationResponse(expression=found.expression, parsed=found.parsed,
                                  songs=songs, model_version=live.version,
                                  popularity=found.popularity, world_weight=found.world_weight)


def song_history(live: Live, key: str, codes: list[str], history: ChartHistory) -> SongHistory:
    """A song's positions over time in the countries ``codes`` (at most 10)."""
    if len(codes) > MAX_HISTORY_COUNTRIES:
        raise ValueError(f"at most {MAX_HISTORY_COUNTRIES} countries, got {len(codes)}")
    column = _columns(live).get(key)
    if column is None:
        raise HTTPException(404, f"no song with key {key[:40]!r} in model {live.version}")
    songs = live.artifact.songs
    markets = [registry.lookup(c) for c in codes]
    found = history.song_positions(_store_keys(live, column), [m.code for m in markets]) or {}
    return SongHistory(key=key, title=str(songs.titles[column]),
                       artists=str(songs.artists[column]),
                       countries=[CountryPositions(code=m.code, name=m.name,
                                                   points=found.get(m.code, []))
                                  for m in markets])


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
    return _with_facts(live, found.songs, song_facts.roles(arithmetic.parse(code)), None)


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


def prepare(live: Live, history: ChartHistory | None = None) -> None:
    """Build a new model's derived data ahead of requests: what song rows read (the song
    index, home markets, and with ``history`` its songs' peaks in the store), then the map
    (t-SNE, the slow part)."""
    _columns(live)
    _homes(live)
    if history is not None:
        history.preload(catalogue(live))
    taste_map(live)


def _with_facts(live: Live, found: list[Any], roles: list[tuple[arithmetic.Country, bool]],
                history: ChartHistory | None) -> list[Song]:
    """The API's songs from the engine's ``RecommendedSong`` list, each with its key, home
    market, standings in the query's countries (the store's when ``history`` can read it,
    else the model's) and the reason in words."""
    art, index = live.artifact, _columns(live)
    columns = [index.get(s.uri) if s.uri else index.get(f"{s.title}\n{s.artists}")
               for s in found]
    codes = [country.code for country, _ in roles]
    peaks = None
    if history is not None and codes:
        peaks = history.song_peaks([_store_keys(live, c) if c is not None else []
                                    for c in columns], codes, catalogue(live))
    rows = live.cached("country_rows", lambda: {
        c: i for i, c in enumerate(art.countries.tolist())})
    songs = []
    for j, (song, column) in enumerate(zip(found, columns, strict=True)):
        charted = set()  # what the model says, read only when the store cannot say more
        if peaks is None and column is not None and art.charted is not None:
            charted = {c for c in codes if c in rows and art.charted[rows[c], column]}
        standing = song_facts.standings(roles, peaks[j] if peaks is not None else None, charted)
        home = song_facts.home_of(str(_homes(live)[column])) if column is not None else None
        market = Market(**home) if home else None
        songs.append(Song(
            rank=song.rank, title=song.title, artists=song.artists, url=song.url,
            uri=song.uri or None, score=song.score, match=song.match,
            contributions=song.contributions,
            key=str(art.songs.keys[column]) if column is not None else None, home=market,
            standings=[StandingOut(**vars(s)) for s in standing],
            reason=song_facts.reason(standing) or None))
    return songs


def _columns(live: Live) -> dict[str, int]:
    """Song column by store key, by Spotify URI, and by "title\nartists" (for songs
    without an id), built once per model."""
    def build() -> dict[str, int]:
        from dotify.query.recommend import track_uri

        songs = live.artifact.songs
        index: dict[str, int] = {}
        for i, (key, url, title, artists) in enumerate(zip(
                songs.keys.tolist(), songs.urls.tolist(), songs.titles.tolist(),
                songs.artists.tolist(), strict=True)):
            index.setdefault(f"{title}\n{artists}", i)
            uri = track_uri(url, key)
            if uri:
                index.setdefault(uri, i)
            index[key] = i
        return index

    return live.cached("song_columns", build)


def _homes(live: Live) -> np.ndarray:
    return live.cached("home_markets", lambda: song_facts.home_markets(live.artifact))


def catalogue(live: Live) -> Catalogue:
    """The model's songs (each its store keys) and countries, for a peak table."""
    return live.cached("catalogue", lambda: Catalogue(
        live.version, [tuple(_store_keys(live, c)) for c in range(len(live.artifact.songs))],
        live.codes))


def _store_keys(live: Live, column: int) -> list[str]:
    """Every store key of the song at ``column`` (merged recordings have several)."""
    songs = live.artifact.songs
    if songs.ids is None:
        return [str(songs.keys[column])]
    return str(songs.ids[column]).split(IDS_SEPARATOR)


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
