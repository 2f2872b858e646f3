"""The countries x songs ratings matrix and its id maps.

``Ratings`` owns the sparse matrix (countries are rows, songs are columns) together with the
row and column id maps and the song metadata; it checks itself when built. Build one from the
store with :func:`from_store` or from arrays with :meth:`Ratings.from_triples`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from dotify.errors import UnknownCountryError


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
