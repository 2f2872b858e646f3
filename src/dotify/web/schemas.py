"""Request and response bodies of the JSON API, with bounds (pydantic v2)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_EXPRESSION = 500
MAX_TOKENS = 101  # 50 countries, 50 operators and a trailing "="
MAX_TOKEN_LENGTH = 64
MAX_BODY_BYTES = 16 * 1024


class RecommendationRequest(BaseModel):
    """Either a whole ``expression`` or the ``tokens`` the form builds, not both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"expression": "Colombia x Turkey - Germany", "n": 10}]})

    expression: str | None = Field(None, min_length=1, max_length=MAX_EXPRESSION,
                                   description="e.g. 'Colombia x Turkey - Germany'")
    tokens: list[str] | None = Field(
        None, min_length=1, max_length=MAX_TOKENS,
        description="alternating countries and operators: ['Colombia', 'x', 'Turkey', '=']")
    n: int = Field(10, ge=1, le=100, description="how many songs")
    popularity: float | None = Field(
        None, ge=0.0, le=1.0,
        description="0: what sets the countries apart from the world, 1: what they play most")
    discover: bool = Field(False, description="leave out songs already charting in the countries")

    @model_validator(mode="after")
    def _one_query(self) -> RecommendationRequest:
        if (self.expression is None) == (self.tokens is None):
            raise ValueError("give exactly one of 'expression' or 'tokens'")
        if self.tokens is not None:
            long = [t for t in self.tokens if len(t) > MAX_TOKEN_LENGTH]
            if long:
                raise ValueError(f"token {long[0][:20]!r}... is longer than "
                                 f"{MAX_TOKEN_LENGTH} characters")
        return self


class Market(BaseModel):
    code: str
    name: str


class Standing(BaseModel):
    """How a song did in one country of the query."""

    code: str
    name: str
    wanted: bool = Field(description="true when more of this country raises the score "
                         "(+, x, a numerator), false when it lowers it (-, a denominator)")
    charted: bool = Field(description="the song was on this country's chart")
    peak: int | None = Field(None, description="its best position there (from the store)")
    streams: int | None = Field(None, description="its streams there, summed (from the store)")
    charts: int | None = Field(None, description="how many charts (days) it was on there")


class Song(BaseModel):
    rank: int
    title: str
    artists: str
    url: str
    uri: str | None = None
    score: float
    match: float = Field(0.0, ge=0, le=100, description="0-100: the score over the best "
                         "score the expression could reach")
    contributions: dict[str, float] = Field(default_factory=dict)
    key: str | None = Field(None, description="the song's key in the store (for its history)")
    home: Market | None = Field(None, description="the market where the song stands highest "
                                "against that market's biggest hit")
    standings: list[Standing] = Field(default_factory=list,
                                      description="per country of the query, in its order")
    reason: str | None = Field(None, description="the standings in words, e.g. 'top 5 in "
                               "Colombia and Turkey, never charted in Germany'")


class CountryPositions(BaseModel):
    code: str
    name: str
    points: list[tuple[str, int]] = Field(description="(ISO day, position) per chart")


class SongHistory(BaseModel):
    """A song's chart positions over time in some countries (oldest first)."""

    key: str
    title: str
    artists: str
    countries: list[CountryPositions]


class RecommendationResponse(BaseModel):
    expression: str
    parsed: str
    songs: list[Song]
    model_version: str
    popularity: float = Field(description="the popularity knob the answer used")
    world_weight: float = Field(
        ge=0, description="how many times the world's taste the knob takes away at popularity "
        "0; 0 when it cancels out (as in 'Colombia - Germany'), so the knob changes nothing")


class Country(BaseModel):
    code: str
    name: str
    region: str
    aliases: list[str]
    in_model: bool


class Operator(BaseModel):
    symbol: str = Field(description="what the form sends, e.g. 'x'")
    name: str
    aliases: list[str] = Field(description="every other spelling an expression may use")
    meaning: str
    label: str = Field(description="the face of its button, e.g. '×'")
    canonical: str = Field(description="how 'parsed' in a recommendation writes it, e.g. '*'")
    precedence: int = Field(description="a higher one binds tighter")


class SimilarCountry(BaseModel):
    code: str
    name: str
    region: str
    similarity: float


class ModelInfo(BaseModel):
    version: str
    kind: str
    created_at: str | None
    n_countries: int
    n_songs: int
    factors: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    window: Any = None
    first_date: str | None = None  # the first and last chart day of the training data
    last_date: str | None = None


class MapCountry(BaseModel):
    code: str
    name: str
    region: str


class TasteMap(BaseModel):
    """Countries in cluster order, their cosine similarity matrix and a 2-D t-SNE layout."""

    version: str
    countries: list[MapCountry]  # in cluster (leaf) order; rows of similarity and xy follow it
    similarity: list[list[float]]
    xy: list[list[float]]
    regions: list[str]


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when the published model cannot be read")
    model_version: str | None = Field(description="the version served")
    failed_version: str | None = Field(
        default=None, description="the published version that cannot be read (not served, "
        "not retried until the pointer moves); left out when none")
    model_error: str | None = Field(default=None, description="why it cannot be read")


class ErrorBody(BaseModel):
    detail: Any
