"""Answers of ``POST /api/recommendations``: computed on the event loop, kept as the JSON
bytes sent, per version of the data they come from.

An answer depends on the request, the live model and, through its songs' standings, the
chart store; it is kept (a bounded LRU, :class:`~dotify.web.cache.VersionedCache`) under
the model's version and the store's :meth:`~dotify.web.chart_history.ChartHistory.version`,
so the same request on the same data gets the same bytes without the work again, and a
newly published model or a new ingest is never answered from what was kept before. With a
store whose version cannot be known (PostgreSQL) nothing is kept. An answer whose store
read failed (standings from the model alone) is not kept either.

A query is about a millisecond of numpy: less than the thread-pool hops a sync route
costs (one for the route, one more to check its return value), and 32 requests in threads
fight over the GIL. So an answer is computed on the event loop where the store is local
(an SQLite file, whose song reads are mostly kept, or none), and in a thread where reading
it means a trip over the network.
"""

from __future__ import annotations

from collections.abc import Hashable

from starlette.concurrency import run_in_threadpool

from dotify.web import queries
from dotify.web.cache import VersionedCache
from dotify.web.chart_history import ChartHistory
from dotify.web.model_holder import Live
from dotify.web.schemas import RecommendationRequest

ANSWERS_CACHED = 1024  # a few KB each


class Answers:
    """The recommendation answers of one app, from its chart ``history``."""

    def __init__(self, history: ChartHistory, size: int = ANSWERS_CACHED) -> None:
        self.history = history
        self._kept: VersionedCache[bytes] = VersionedCache(size)

    async def recommend(self, live: Live, body: RecommendationRequest) -> bytes:
        """The JSON of :func:`dotify.web.queries.recommend` for ``body`` on ``live``."""
        store = self.history.version()
        version = None if store is None else (live.version, store)
        key = request_key(body)
        kept = self._kept.get(version, key)
        if kept is not None:
            return kept
        failures = self.history.failures
        if self.history.local:
            answer = _answer(live, body, self.history)
        else:
            answer = await run_in_threadpool(_answer, live, body, self.history)
        if self.history.failures == failures:
            self._kept.put(version, key, answer)
        return answer


def request_key(body: RecommendationRequest) -> Hashable:
    """What of a request its answer depends on (every field, as validated)."""
    tokens = tuple(body.tokens) if body.tokens is not None else None
    return body.expression, tokens, body.n, body.popularity, body.discover


def _answer(live: Live, body: RecommendationRequest, history: ChartHistory) -> bytes:
    return queries.recommend(live, body, history).model_dump_json().encode()
