"""The saved model: one versioned folder of ``.npz`` + JSON, and an atomic ``current`` pointer.

Layout under ``models_dir``::

    <version>/arrays.npz   country and song vectors, id maps, song metadata, model state
    <version>/meta.json    kind, params, metrics, data window and fingerprint, creation time
    current -> <version>   a symlink, replaced atomically by :func:`publish`

A version folder is written under a temporary name and renamed into place, so a reader
never sees half a model; loading uses ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from dotify.errors import ArtifactError, DotifyError
from dotify.learn.ratings import Songs
from dotify.models import Recommender, make_model

FORMAT_VERSION = 1
CURRENT = "current"
PUBLISHED = "published_at"  # a file in a version folder: the version was live once
_STATE_PREFIX = "state__"
_SONG_PREFIX = "song__"


@dataclass
class Artifact:
    """A trained model with everything needed to answer queries without the database."""

    model: Recommender
    countries: np.ndarray  # str ISO codes, one per row of country_vectors
    songs: Songs
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    charted: sp.csr_matrix | None = None  # bool pattern: which song charted in which country
    # datetime64[D] per song: its first and last chart day (for since/until queries), or None
    song_first_date: np.ndarray | None = None
    song_last_date: np.ndarray | None = None
    # float64 countries x songs: streams summed over the training window, for answers that
    # follow the charts (see dotify.query.tastes); None for models saved without them
    streams: sp.csr_matrix | None = None

    def __post_init__(self) -> None:
        if self.charted is None and self.streams is not None:  # where it charted: its streams
            self.charted = sp.csr_matrix(self.streams, dtype=bool)

    @property
    def country_vectors(self) -> np.ndarray:
        return self.model.country_factors

    @property
    def song_vectors(self) -> np.ndarray:
        return self.model.song_factors

    @property
    def version(self) -> str:
        return str(self.meta.get("version", ""))

    @property
    def kind(self) -> str:
        return self.model.kind


def new_version(now: datetime | None = None) -> str:
    """A version name that sorts in creation order, such as ``20261126T224501.123456Z-3fa2``
    (microseconds, since the nightly job and tests can save several models in one second)."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S.%fZ}-{os.urandom(2).hex()}"


def save(
    model: Recommender,
    countries: np.ndarray,
    songs: Songs,
    models_dir: Path,
    meta: dict[str, Any] | None = None,
    version: str | None = None,
    charted: sp.spmatrix | None = None,
    song_dates: tuple[np.ndarray, np.ndarray] | None = None,
    streams: sp.spmatrix | None = None,
) -> Artifact:
    """Write a new version folder (not yet published) and return its artifact.

    ``charted`` (countries x songs, any sparse matrix) records where each song charted, so
    recommendations can leave out what a country already plays ("discover").
    ``song_dates`` (first, last): each song's first and last chart day, one per song, so
    recommendations can keep songs that charted within a date window. ``streams``
    (countries x songs, summed streams) lets answers follow the charts; it implies
    ``charted`` when that is not given.
    """
    model.check_finite()
    version = version or new_version()
    meta = {
        "format": FORMAT_VERSION,
        "kind": model.kind,
        "params": model.params,
        "history": model.history,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **(meta or {}),
        "version": version,
    }
    arrays = {
        "country_factors": model.country_factors,
        "song_factors": model.song_factors,
        "countries": np.asarray(countries, dtype=str),
        **{_SONG_PREFIX + k: v for k, v in songs.arrays().items()},
        **{_STATE_PREFIX + k: v for k, v in model.state().items()},
    }
    if streams is not None:
        streams = sp.csr_matrix(streams, dtype=np.float64)
        streams.eliminate_zeros()
        if streams.shape != (len(countries), len(songs)) or (streams.data < 0).any():
            raise ValueError(f"streams must be a countries x songs matrix >= 0 of shape "
                             f"{(len(countries), len(songs))}, not {streams.shape}")
        arrays |= {"streams_data": streams.data, "streams_indices": streams.indices,
                   "streams_indptr": streams.indptr}
        charted = streams if charted is None else charted
    if charted is not None:
        charted = sp.csr_matrix(charted, dtype=bool)
        arrays |= {"charted_indptr": charted.indptr, "charted_indices": charted.indices,
                   "charted_shape": np.asarray(charted.shape)}
    first, last = _song_dates(song_dates, len(songs))
    if first is not None and last is not None:
        arrays |= {"song_first_date": first, "song_last_date": last}
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models_dir))
    try:
        with open(tmp / "arrays.npz", "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)  # load() refuses pickles too
            fh.flush()
            os.fsync(fh.fileno())
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=_json_default))
        os.replace(tmp, models_dir / version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Artifact(model, np.asarray(countries), songs, meta, models_dir / version,
                    charted, first, last, streams)


# what a damaged folder raises while it is read (a truncated npz is a BadZipFile, a missing
# array a KeyError, bad params a TypeError or ValueError, a torch state a RuntimeError)
_UNREADABLE = (ValueError, OSError, EOFError, KeyError, IndexError, TypeError, AttributeError,
               RuntimeError, MemoryError, zipfile.BadZipFile, DotifyError)


def load(path: Path) -> Artifact:
    """Load a version folder (or the ``current`` pointer) saved by :func:`save`.

    Whatever is wrong with the folder (missing or truncated files, a missing array, bad
    params, shapes that do not fit, NaN vectors) is one :class:`ArtifactError` naming it.
    """
    path = Path(path)
    try:
        return _load(path)
    except ArtifactError:
        raise
    except FileNotFoundError as exc:
        missing = Path(exc.filename).name if exc.filename else "a file"
        raise ArtifactError(f"no model at {path}: {missing} is missing") from exc
    except _UNREADABLE as exc:
        raise ArtifactError(f"the model at {path} cannot be read: "
                            f"{type(exc).__name__}: {exc}"[:500]) from exc


def _load(path: Path) -> Artifact:
    meta = json.loads((path / "meta.json").read_text())
    if not isinstance(meta, dict):
        raise ArtifactError(f"the model at {path} cannot be read: meta.json is not an object")
    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if meta.get("format") != FORMAT_VERSION:
        raise ArtifactError(f"the model at {path} has format {meta.get('format')!r}, "
                            f"this dotify reads format {FORMAT_VERSION}")
    lacking = [k for k in _REQUIRED if k not in arrays]
    if lacking:
        raise ArtifactError(f"the model at {path} cannot be read: arrays.npz lacks "
                            f"{', '.join(lacking)}")
    model = make_model(meta["kind"], **meta.get("params", {}))
    model.country_factors = arrays["country_factors"]
    model.song_factors = arrays["song_factors"]
    model.history = meta.get("history", [])
    model.load_state({k[len(_STATE_PREFIX):]: v for k, v in arrays.items()
                      if k.startswith(_STATE_PREFIX)})
    songs = Songs.from_arrays({k[len(_SONG_PREFIX):]: v for k, v in arrays.items()
                               if k.startswith(_SONG_PREFIX)})
    _check_shapes(path, model, arrays["countries"], len(songs))
    charted = None
    if "charted_indptr" in arrays:
        indices = arrays["charted_indices"]
        charted = sp.csr_matrix((np.ones(len(indices), bool), indices, arrays["charted_indptr"]),
                                shape=tuple(arrays["charted_shape"]))
    streams = None
    if "streams_indptr" in arrays:
        streams = sp.csr_matrix((arrays["streams_data"], arrays["streams_indices"],
                                 arrays["streams_indptr"]),
                                shape=(len(arrays["countries"]), len(songs)))
    return Artifact(model, arrays["countries"], songs, meta, path.resolve(), charted,
                    arrays.get("song_first_date"), arrays.get("song_last_date"), streams)


_REQUIRED = ("country_factors", "song_factors", "countries", *(
    _SONG_PREFIX + k for k in ("keys", "titles", "artists", "urls", "streams")))


def _check_shapes(path: Path, model: Recommender, countries: np.ndarray, n_songs: int) -> None:
    """ArtifactError unless the vectors are finite float matrices, one row per country and
    per song, of one width."""
    c, s = np.asarray(model.country_factors), np.asarray(model.song_factors)
    if (c.ndim != 2 or s.ndim != 2 or c.shape[1] != s.shape[1] or len(c) != len(countries)
            or len(s) != n_songs or not np.issubdtype(c.dtype, np.floating)
            or not np.issubdtype(s.dtype, np.floating)):
        raise ArtifactError(
            f"the model at {path} cannot be read: vectors of shapes {c.shape} and {s.shape} "
            f"do not fit {len(countries)} countries and {n_songs} songs")
    if not (np.isfinite(c).all() and np.isfinite(s).all()):
        raise ArtifactError(f"the model at {path} cannot be read: its vectors hold NaN or inf")


def _song_dates(song_dates: tuple[np.ndarray, np.ndarray] | None, n_songs: int
                ) -> tuple[np.ndarray | None, np.ndarray | None]:
    if song_dates is None:
        return None, None
    first, last = (np.asarray(d, dtype="datetime64[D]") for d in song_dates)
    if first.shape != (n_songs,) or last.shape != (n_songs,):
        raise ValueError(f"song_dates must hold one first and one last date per song "
                         f"({n_songs}), not shapes {first.shape} and {last.shape}")
    return first, last


def publish(models_dir: Path, version: str) -> None:
    """Point ``current`` at ``version`` atomically (a new symlink renamed over the old), and
    mark the version as one that was live (:func:`prune` keeps those first)."""
    if not (models_dir / version / "meta.json").exists():
        raise ArtifactError(f"cannot publish {version}: no such model in {models_dir}")
    tmp = models_dir / f".{CURRENT}.{os.getpid()}.{os.urandom(2).hex()}"
    os.symlink(version, tmp)
    os.replace(tmp, models_dir / CURRENT)
    (models_dir / version / PUBLISHED).write_text(datetime.now(UTC).isoformat() + "\n")


def current_version(models_dir: Path) -> str | None:
    """The published version's name, or None when nothing is published."""
    link = models_dir / CURRENT
    return os.readlink(link) if link.is_symlink() else None


def load_current(models_dir: Path) -> Artifact:
    version = current_version(models_dir)
    if version is None:
        raise ArtifactError(
            f"no published model in {models_dir}; run `dotify train` (or `make demo`) first"
        )
    return load(models_dir / version)


def versions(models_dir: Path) -> list[str]:
    """Saved versions, oldest first."""
    if not models_dir.exists():
        return []
    return sorted(p.name for p in models_dir.iterdir()
                  if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))


def was_live(models_dir: Path, version: str) -> bool:
    """True when ``version`` was published at some time (or is now)."""
    return (models_dir / version / PUBLISHED).exists() or version == current_version(models_dir)


def prune(models_dir: Path, keep: int) -> list[str]:
    """Delete all but ``keep`` versions: the published one, then the newest of those that
    were live (rollback targets), then the newest never published (a run that died before
    publishing leaves one: it never pushes out a model that served)."""
    if keep <= 0:
        return []
    live = current_version(models_dir)
    every = versions(models_dir)
    ranked = sorted(every, key=lambda v: (v == live, was_live(models_dir, v), v), reverse=True)
    kept = set(ranked[:keep])
    old = [v for v in every if v not in kept and v != live]
    for version in old:
        shutil.rmtree(models_dir / version, ignore_errors=True)
    return old


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (datetime, Path)):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to meta.json")
