"""Hot model reload: one holder owns the live artifact and swaps it atomically.

Requests call :meth:`ModelHolder.get` once at their start and keep the returned
:class:`Live` for the whole request, so a swap never changes a model under a request.
``get`` looks at the ``current`` symlink at most once per ``check_every`` seconds (one
``readlink``); when it points somewhere new, a background thread loads the new version
fully and only then replaces the reference (a single assignment, atomic under the GIL).
Until then requests keep using the old model. A version that fails to load is logged once,
marked failed (``failed_version``, ``last_error``: what ``/healthz`` and the about page
show) and not tried again until the pointer moves to another version. Only the very first
load (no model yet) happens in the calling request.

``prepare(live)`` builds a version's derived data (the map, the song index) ahead of the
requests that need it: a version loaded in the background is prepared before it is swapped
in; the first one is swapped in at once and prepared in a background thread (a request that
needs a value meanwhile waits for that one computation, see :meth:`Live.cached`), unless
the server's start waits for it (:meth:`ModelHolder.prepared`).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dotify import artifact as artifacts
from dotify.errors import ArtifactError

log = logging.getLogger("dotify")
T = TypeVar("T")


@dataclass
class Live:
    """A loaded artifact with a per-version cache of derived data (maps, similarity)."""

    artifact: artifacts.Artifact
    version: str
    loaded_at: float
    _cache: dict[str, Any] = field(default_factory=dict)
    # re-entrant: one cached value may be computed from another (examples from codes)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per version and key; later calls return the stored value."""
        if key in self._cache:
            return self._cache[key]
        with self._lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    @property
    def codes(self) -> frozenset[str]:
        """The codes of the countries this model has a vector for."""
        return self.cached("codes", lambda: frozenset(self.artifact.countries.tolist()))


def refreeze() -> None:
    """Under ``dotify serve`` start-up's objects, the first model among them, are frozen out
    of the cyclic collector (see :mod:`dotify.web.app`). A model a swap retires must stay
    collectable: thaw, collect once (a pause of some 100 ms, once per new model), freeze
    again. Nothing when nothing was frozen."""
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
        gc.freeze()


class ModelHolder:
    """Owns the live model of ``models_dir`` and follows its ``current`` pointer."""

    def __init__(self, models_dir: Path, check_every: float = 1.0,
                 warm: Callable[[artifacts.Artifact], None] | None = None,
                 prepare: Callable[[Live], None] | None = None) -> None:
        """``warm(artifact)`` runs on a newly loaded model before it is swapped in;
        ``prepare(live)`` as the module docstring says."""
        if check_every < 0:
            raise ValueError(f"check_every must be >= 0 seconds, got {check_every}")
        self.models_dir = Path(models_dir)
        self.check_every = check_every
        self.warm = warm
        self.prepare = prepare
        self._live: Live | None = None
        self._checked_at = float("-inf")
        self.failed_version: str | None = None  # failed to load; not retried
        self._loading = threading.Lock()
        self.last_error: str | None = None

    def get(self) -> Live | None:
        """The live model (None when nothing is published); cheap, never blocks on a swap."""
        live = self._live
        now = time.monotonic()
        if now - self._checked_at >= self.check_every:
            self._checked_at = now
            self._follow(live)
            live = self._live
        return live

    def prepared(self) -> Live | None:
        """The live model with its derived data built (waiting for that here): what a server
        calls before it takes requests, so that no first visitor waits for the map."""
        live = self.get()
        if live is not None:
            self._prepare(live)
        return live

    def reload(self) -> Live:
        """Load the published version now, in this thread (the admin endpoint); raise if none."""
        with self._loading:
            version = artifacts.current_version(self.models_dir)
            if version is None:
                raise ArtifactError(f"no published model in {self.models_dir}; "
                                    "run `dotify train` first")
            try:
                return self._load(version)
            except ArtifactError as exc:
                self._mark_failed(version, exc)
                raise

    @property
    def degraded(self) -> bool:
        """True when the published version cannot be read (an older one, or none, is served)."""
        return self.failed_version is not None and \
            self.failed_version == artifacts.current_version(self.models_dir)

    def _follow(self, live: Live | None) -> None:
        version = artifacts.current_version(self.models_dir)
        if version is None or version == self.failed_version:
            return
        if live is not None and version == live.version:
            return
        if live is None:  # nothing to serve meanwhile: load in this request
            with self._loading:
                if self._live is None or self._live.version != version:
                    self._try_load(version)
        elif self._loading.acquire(blocking=False):
            threading.Thread(target=self._load_in_background, args=(version,),
                             name="dotify-model-reload", daemon=True).start()

    def _load_in_background(self, version: str) -> None:
        try:
            self._try_load(version, background=True)
        finally:
            self._loading.release()

    def _try_load(self, version: str, background: bool = False) -> None:
        try:
            self._load(version, background)
        except Exception as exc:  # noqa: BLE001 (the last good model is kept, whatever it is)
            self._mark_failed(version, exc)

    def _prepare(self, live: Live) -> None:
        if self.prepare is None:
            return
        started = time.monotonic()
        try:
            self.prepare(live)
        except Exception:  # noqa: BLE001 (a request computing it later will say what failed)
            log.exception("preparing model %s failed", live.version)
            return
        log.info("model %s prepared in %.0f ms", live.version,
                 1000 * (time.monotonic() - started))

    def _mark_failed(self, version: str, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, ArtifactError) else f"{type(exc).__name__}: {exc}"
        self.failed_version, self.last_error = version, reason
        log.warning("model %s cannot be loaded, keeping %s: %s", version,
                    self._live.version if self._live else "none", reason)

    def _load(self, version: str, background: bool = False) -> Live:
        started = time.monotonic()
        loaded = artifacts.load(self.models_dir / version)
        if self.warm is not None:
            self.warm(loaded)
        live = Live(loaded, version, time.time())
        if background:
            self._prepare(live)
        elif self.prepare is not None:
            threading.Thread(target=self._prepare, args=(live,), name="dotify-model-prepare",
                             daemon=True).start()
        retired, self._live = self._live, live  # the swap: one reference assignment
        self.failed_version, self.last_error = None, None
        log.info("serving model %s (loaded in %.0f ms)", live.version,
                 1000 * (time.monotonic() - started))
        if retired is not None:
            del retired
            refreeze()
        return live
