"""A bounded least-recently-used cache whose entries all belong to one version of their data.

The web app keeps what it derives from the live model and the chart store (answers, song
standings) in these: :meth:`VersionedCache.get` and :meth:`VersionedCache.put` take the
version the caller read its data at (the model's version, the store's
:meth:`~dotify.web.chart_history.ChartHistory.version`), and a version other than the one
held empties the cache first, so nothing derived from older data is ever returned, and
its memory goes at once. A ``None`` version means "unknown": nothing is kept or found.

Safe to share between threads (one lock around each call).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class VersionedCache(Generic[V]):
    """At most ``size`` values of one version, the least recently used dropped first.

    >>> cache = VersionedCache[str](size=2)
    >>> cache.put("v1", "a", "answer")
    >>> cache.get("v1", "a"), cache.get("v2", "a"), cache.get("v1", "a")
    ('answer', None, None)
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = size
        self.version: Hashable | None = None
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: Hashable | None, key: Hashable) -> V | None:
        """The value of ``key`` at ``version``, or None (a miss)."""
        with self._lock:
            self._follow(version)
            value = self._values.get(key) if version is not None else None
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, version: Hashable | None, key: Hashable, value: V) -> None:
        """Keep ``value`` for ``key`` at ``version`` (nothing for an unknown version)."""
        with self._lock:
            self._follow(version)
            if version is None:
                return
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)

    def _follow(self, version: Hashable | None) -> None:
        if version != self.version:
            self._values.clear()
            self.version = version
