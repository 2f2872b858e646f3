"""The countries x songs ratings matrix and its id maps.

``Ratings`` owns the sparse matrix (countries are rows, songs are columns) together with the
row and column id maps and the song metadata; it checks itself when built. Build one from the
store with :func:`from_store` (a :class:`~dotify.learn.window.DataWindow` of charts), from
per (market, song) totals with :func:`from_totals` (what the Spark engine does), or from
arrays with :meth:`Ratings.from_triples`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp
from sqlalchemy.engine import Engine

from dotify.errors import UnknownCountryError
from dotify.learn.window import SCALINGS, DataWindow
from dotify.store.totals import chart_totals

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("dotify")

Scaling = Literal["log", "written", "raw"]
SPOTIFY_TRACK_URL = "https://open.spotify.com/track/{}"
IDS_SEPARATOR = "\n"  # between the store keys of one song in Songs.ids (keys hold no newline)


@dataclass(frozen=True)
class Songs:
    """Song metadata, one entry per matrix column. All arrays have the same length."""

    keys: np.ndarray  # str: the store's song key (Spotify id, or "n:title|artists")
    titles: np.ndarray  # str
    artists: np.ndarray  # str: display form, joined with ", "
    urls: np.ndarray  # str: https://open.spotify.com/track/<id>, or "" when unknown
    streams: np.ndarray  # int64: total streams in the window (a tie-break for rankings)
    # str: all store keys of a song merged from several track ids (learn.recordings), joined
    # by IDS_SEPARATOR, the key first; None when no song was merged (and in older models)
    ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, index: np.ndarray) -> Songs:
        return Songs(*(a[index] for a in self.arrays().values()))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "keys": self.keys,
            "titles": self.titles,
            "artists": self.artists,
            "urls": self.urls,
            "streams": self.streams,
            **({"ids": self.ids} if self.ids is not None else {}),
        }

    def id_lists(self) -> list[list[str]]:
        """Per song, all its store keys (its own key first)."""
        if self.ids is None:
            return [[str(k)] for k in self.keys]
        return [str(i).split(IDS_SEPARATOR) for i in self.ids]

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Songs:
        """Songs from :meth:`arrays`' output; ``ids`` may be missing (older saved models)."""
        ids = arrays.get("ids")
        return cls(**{name: np.asarray(arrays[name]) for name in
                      ("keys", "titles", "artists", "urls", "streams")},
                   ids=None if ids is None else np.asarray(ids))


@dataclass(frozen=True)
class Ratings:
    """A scaled countries x songs matrix with its id maps.

    ``matrix``: CSR float32 of shape (len(countries), len(songs)), scaled ratings r >= 0.
    ``countries``: lower-case ISO codes, one per row. ``songs``: metadata, one per column.
    ``raw``: the summed streams before scaling, same shape, when known.
    """

    matrix: sp.csr_matrix
    countries: np.ndarray
    songs: Songs
    raw: sp.csr_matrix | None = None
    info: dict = field(default_factory=dict)  # window, scaling, eps, fingerprint, ...
    # each song's first and last chart day in the window (datetime64[D] arrays), when known
    song_dates: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        n_rows, n_cols = self.matrix.shape
        if n_rows != len(self.countries) or n_cols != len(self.songs):
            raise ValueError(
                f"matrix shape {self.matrix.shape} does not match "
                f"{len(self.countries)} countries x {len(self.songs)} songs"
            )
        if self.matrix.nnz and (self.matrix.data < 0).any():
            raise ValueError("ratings must be >= 0; scale streams before building Ratings")

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def country_index(self, code: str) -> int:
        hits = np.flatnonzero(self.countries == code)
        if not len(hits):
            raise UnknownCountryError(code, [])
        return int(hits[0])

    def song_index(self, key: str) -> int:
        """The column of the song with store key ``key`` (a Spotify id or "n:title|artists")."""
        hits = np.flatnonzero(self.songs.keys == key)
        if not len(hits):
            raise ValueError(f"song {key!r} is not in these ratings ({len(self.songs)} songs); "
                             "ingest its charts or widen the window")
        return int(hits[0])

    def to_pandas(self, wide: bool = False) -> pd.DataFrame:
        """One row per rated (country, song), or with ``wide`` the dense countries x songs
        matrix: a pandas DataFrame (:func:`dotify.frames.ratings_frame`; needs
        ``dotify[notebook]``)."""
        from dotify.frames import ratings_frame

        return ratings_frame(self, wide)

    def with_matrix(self, matrix: sp.spmatrix, raw: sp.spmatrix | None = None) -> Ratings:
        """The same id maps over another matrix of the same shape (a split's part)."""
        return replace(self, matrix=sp.csr_matrix(matrix, dtype=np.float32), raw=raw)

    @classmethod
    def from_triples(
        cls,
        countries: np.ndarray,
        songs: Songs,
        rows: np.ndarray,
        cols: np.ndarray,
        values: np.ndarray,
        info: dict | None = None,
    ) -> Ratings:
        """Build from (row, col, scaled value) triples; duplicates are summed."""
        shape = (len(countries), len(songs))
        matrix = sp.csr_matrix((values.astype(np.float32), (rows, cols)), shape=shape)
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return cls(matrix, np.asarray(countries), songs, None, info or {})


def scale(raw: np.ndarray, scaling: str = "log", eps: float = 1000.0) -> np.ndarray:
    """Scale summed stream counts ``raw`` (any shape, >= 0) into ratings, float32.

    ``"log"``: log(1 + r/eps), the default; ``"written"``: log((1 + r)/eps) clipped at 0, as the
    original write-up printed it; ``"raw"``: r unchanged.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, not {scaling!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, not {eps!r}")
    r = np.asarray(raw, dtype=np.float64)
    if scaling == "log":
        out = np.log1p(r / eps)
    elif scaling == "written":
        out = np.clip(np.log((1.0 + r) / eps), 0.0, None)
    else:
        out = r
    return out.astype(np.float32)


def from_store(engine: Engine, window: DataWindow | None = None) -> Ratings:
    """The countries x songs ratings of the charts of ``window`` (default: all) in the store.

    Streams are summed per (market, song) in SQL (:func:`dotify.store.totals.chart_totals`);
    ``global`` and markets without rows are left out. Rows are sorted by market code and
    columns by song key, so the same data gives the same matrix on any database.
    """
    window = window or DataWindow()
    return from_totals(chart_totals(engine, window), window)


def from_totals(totals: Mapping[str, Any], window: DataWindow) -> Ratings:
    """``Ratings`` from per (market, song) totals, the columns of
    :data:`dotify.store.totals.COLUMNS` (sequences or arrays of one length): the one builder
    of the local SQL read and the Spark engine. Streams are scaled by ``window``."""
    markets, rows = np.unique(np.asarray(totals["market"], dtype=str), return_inverse=True)
    keys, first, cols = np.unique(np.asarray(totals["key"], dtype=str), return_index=True,
                                  return_inverse=True)
    rows, cols = rows.ravel().astype(np.int64), cols.ravel().astype(np.int64)
    first_days, last_days = _days(totals["first_date"]), _days(totals["last_date"])
    streams = np.asarray(totals["streams"], dtype=np.int64)
    if window.since is not None:
        streams = _since(streams, first_days, last_days, np.datetime64(window.since, "D"))
    shape = (len(markets), len(keys))
    raw = sp.csr_matrix((streams.astype(np.float64), (rows, cols)), shape=shape)
    raw.sort_indices()
    spotify_ids = _column(totals, "spotify_id", first)
    songs = Songs(
        keys=keys,
        titles=_column(totals, "title", first).astype(str),
        artists=_column(totals, "artists", first).astype(str),
        urls=np.array([SPOTIFY_TRACK_URL.format(i) if i else "" for i in spotify_ids],
                      dtype=str),
        streams=np.asarray(raw.sum(axis=0)).ravel().astype(np.int64),
    )
    matrix = raw.copy().astype(np.float32)
    matrix.data = scale(raw.data, window.scaling, window.eps)
    matrix.eliminate_zeros()
    info = {
        "window": window.info(),
        "first_date": str(first_days.min()) if len(streams) else None,
        "last_date": str(last_days.max()) if len(streams) else None,
        "scaling": window.scaling,
        "eps": window.eps,
        "fingerprint": fingerprint(markets[rows], keys[cols], streams),
    }
    log.info("ratings: %d countries x %d songs, %d non-zeros", *shape, matrix.nnz)
    song_dates = _song_dates(first_days, last_days, cols, len(keys))
    from dotify.learn.recordings import merge_recordings  # it builds on this module

    return merge_recordings(Ratings(sp.csr_matrix(matrix), markets, songs, raw, info,
                                    song_dates))


def _column(totals: Mapping[str, Any], name: str, index: np.ndarray) -> np.ndarray:
    values = np.asarray(totals[name], dtype=object)
    return values[index] if len(values) else np.array([], dtype=str)


def _since(streams: np.ndarray, first: np.ndarray, last: np.ndarray,
           since: np.datetime64) -> np.ndarray:
    """Each pair's streams from ``since`` on, estimated from its total over its first to
    last chart day as if spread evenly over those days (the ratings aggregate keeps no
    streams per day): the whole total for a pair that began charting since, its share of
    the days since for an older one, so a hit of years ago does not outweigh this year's."""
    span = (last - first).astype(np.int64) + 1
    recent = (last - np.maximum(first, since)).astype(np.int64) + 1
    return np.rint(streams * np.clip(recent / span, 0.0, 1.0)).astype(np.int64)


def _days(values: Any) -> np.ndarray:
    """Chart days as datetime64[D] (SQLite returns text, other databases and Spark dates)."""
    return np.array([str(v) for v in values], dtype="datetime64[D]")


def _song_dates(first_days: np.ndarray, last_days: np.ndarray, cols: np.ndarray,
                n_songs: int) -> tuple[np.ndarray, np.ndarray]:
    """Per song, the earliest and latest chart day over its (market, song) pairs."""
    first = np.full(n_songs, np.iinfo(np.int64).max)
    last = np.full(n_songs, np.iinfo(np.int64).min)
    np.minimum.at(first, cols, first_days.astype(np.int64))
    np.maximum.at(last, cols, last_days.astype(np.int64))
    return first.astype("datetime64[D]"), last.astype("datetime64[D]")


def fingerprint(markets: np.ndarray, keys: np.ndarray, streams: np.ndarray) -> str:
    """A sha256 of the (market, song key, streams) triples, independent of their order."""
    order = np.lexsort((keys, markets))
    digest = hashlib.sha256()
    for m, k, s in zip(markets[order], keys[order], streams[order], strict=True):
        digest.update(f"{m}\t{k}\t{int(s)}\n".encode())
    return digest.hexdigest()[:16]
