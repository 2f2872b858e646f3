"""The countries x songs ratings matrix and its id maps.

``Ratings`` owns the sparse matrix (countries are rows, songs are columns) together with the
row and column id maps and the song metadata; it checks itself when built. Build one from the
store with :func:`from_store` or from arrays with :meth:`Ratings.from_triples`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.countries import GLOBAL
from dotify.errors import UnknownCountryError
from dotify.store.schema import chart_entries, charts
from dotify.store.schema import songs as songs_table

log = logging.getLogger("dotify")

Scaling = Literal["log", "written", "raw"]
SCALINGS: tuple[str, ...] = ("log", "written", "raw")
SPOTIFY_TRACK_URL = "https://open.spotify.com/track/{}"


@dataclass(frozen=True)
class Songs:
    """Song metadata, one entry per matrix column. All arrays have the same length."""

    keys: np.ndarray  # str: the store's song key (Spotify id, or "n:title|artists")
    titles: np.ndarray  # str
    artists: np.ndarray  # str: display form, joined with ", "
    urls: np.ndarray  # str: https://open.spotify.com/track/<id>, or "" when unknown
    streams: np.ndarray  # int64: total streams in the window (a tie-break for rankings)

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
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Songs:
        return cls(**{name: np.asarray(arrays[name]) for name in
                      ("keys", "titles", "artists", "urls", "streams")})


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


def from_store(
    engine: Engine,
    start: date | None = None,
    end: date | None = None,
    n_top_songs: int | None = None,
    scaling: str = "log",
    eps: float = 1000.0,
    kind: str | None = None,
) -> Ratings:
    """The countries x songs ratings of the charts in the store.

    Streams are summed per (market, song) in SQL over the window: charts dated ``start`` to
    ``end`` (inclusive, either open), of ``kind`` ("daily"/"weekly", None: both), and, with
    ``n_top_songs``, only the N most recent chart rows (newest date first, then market and
    position). ``global`` and markets without rows are left out. Rows are sorted by market
    code and columns by song key, so the same data gives the same matrix on any database.
    """
    scale(np.zeros(1), scaling, eps)  # validate early
    if n_top_songs is not None and n_top_songs < 1:
        raise ValueError(f"n_top_songs must be >= 1 or None, not {n_top_songs!r}")
    if start is not None and end is not None and start > end:
        raise ValueError(f"start {start} is after end {end}")
    with engine.connect() as conn:
        triples = conn.execute(_aggregate_query(start, end, n_top_songs, kind)).all()
        song_ids = sorted({row[1] for row in triples})
        meta = _song_metadata(conn, song_ids)
    window = {"start": start, "end": end, "n_top_songs": n_top_songs, "kind": kind}
    return _build(triples, meta, scaling, eps, window)


def _aggregate_query(
    start: date | None, end: date | None, n_top_songs: int | None, kind: str | None
) -> sa.Select:
    rows = (
        sa.select(charts.c.market, chart_entries.c.song_id, chart_entries.c.streams,
                  charts.c.chart_date)
        .select_from(chart_entries.join(charts, chart_entries.c.chart_id == charts.c.id))
        .where(charts.c.market != GLOBAL)
    )
    if start is not None:
        rows = rows.where(charts.c.chart_date >= start)
    if end is not None:
        rows = rows.where(charts.c.chart_date <= end)
    if kind is not None:
        rows = rows.where(charts.c.kind == kind)
    if n_top_songs is not None:
        rows = rows.order_by(charts.c.chart_date.desc(), charts.c.market,
                             chart_entries.c.position).limit(n_top_songs)
    window = rows.subquery("window")
    return (
        sa.select(window.c.market, window.c.song_id, sa.func.sum(window.c.streams),
                  sa.func.min(window.c.chart_date), sa.func.max(window.c.chart_date))
        .group_by(window.c.market, window.c.song_id)
    )


def _song_metadata(conn: sa.Connection, song_ids: list[int]) -> dict[int, tuple]:
    meta: dict[int, tuple] = {}
    table = songs_table
    for i in range(0, len(song_ids), 500):  # keep IN lists short for every database
        chunk = song_ids[i:i + 500]
        query = sa.select(table.c.id, table.c.key, table.c.title, table.c.artists,
                          table.c.spotify_id).where(table.c.id.in_(chunk))
        meta.update({row[0]: tuple(row[1:]) for row in conn.execute(query)})
    return meta


def _build(triples: Sequence[Any], meta: dict[int, tuple], scaling: str, eps: float,
           window: dict[str, Any]) -> Ratings:
    markets = np.array(sorted({str(t[0]) for t in triples}), dtype=str)
    ids = np.array(sorted({int(t[1]) for t in triples}, key=lambda i: meta[i][0]), dtype=np.int64)
    keys = np.array([meta[i][0] for i in ids], dtype=str)
    row_of = {m: k for k, m in enumerate(markets)}
    col_of = {int(i): k for k, i in enumerate(ids)}
    rows = np.fromiter((row_of[str(t[0])] for t in triples), np.int64, len(triples))
    cols = np.fromiter((col_of[int(t[1])] for t in triples), np.int64, len(triples))
    streams = np.fromiter((int(t[2]) for t in triples), np.int64, len(triples))
    shape = (len(markets), len(ids))
    raw = sp.csr_matrix((streams.astype(np.float64), (rows, cols)), shape=shape)
    raw.sort_indices()
    songs = Songs(
        keys=keys,
        titles=np.array([meta[i][1] for i in ids], dtype=str),
        artists=np.array([meta[i][2] for i in ids], dtype=str),
        urls=np.array([SPOTIFY_TRACK_URL.format(meta[i][3]) if meta[i][3] else "" for i in ids],
                      dtype=str),
        streams=np.asarray(raw.sum(axis=0)).ravel().astype(np.int64),
    )
    matrix = raw.copy().astype(np.float32)
    matrix.data = scale(raw.data, scaling, eps)
    matrix.eliminate_zeros()
    dates = [d for t in triples for d in (t[3], t[4]) if d is not None]
    info = {
        "window": {k: (str(v) if isinstance(v, date) else v) for k, v in window.items()},
        "first_date": str(min(dates)) if dates else None,
        "last_date": str(max(dates)) if dates else None,
        "scaling": scaling,
        "eps": float(eps),
        "fingerprint": fingerprint(markets[rows], keys[cols], streams),
    }
    log.info("ratings: %d countries x %d songs, %d non-zeros", *shape, matrix.nnz)
    song_dates = _song_dates(triples, cols, len(ids))
    return Ratings(sp.csr_matrix(matrix), markets, songs, raw, info, song_dates)


def _song_dates(triples: Sequence[Any], cols: np.ndarray, n_songs: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per song, the earliest and latest chart day over its (market, song) pairs."""
    def days(index: int) -> np.ndarray:  # SQLite returns text, other databases dates
        text = np.array([str(t[index]) for t in triples], dtype="datetime64[D]")
        return text.astype(np.int64)

    first = np.full(n_songs, np.iinfo(np.int64).max)
    last = np.full(n_songs, np.iinfo(np.int64).min)
    np.minimum.at(first, cols, days(3))
    np.maximum.at(last, cols, days(4))
    return first.astype("datetime64[D]"), last.astype("datetime64[D]")


def fingerprint(markets: np.ndarray, keys: np.ndarray, streams: np.ndarray) -> str:
    """A sha256 of the (market, song key, streams) triples, independent of their order."""
    order = np.lexsort((keys, markets))
    digest = hashlib.sha256()
    for m, k, s in zip(markets[order], keys[order], streams[order], strict=True):
        digest.update(f"{m}\t{k}\t{int(s)}\n".encode())
    return digest.hexdigest()[:16]
