"""What the pages read from the chart store, through one engine opened on first use: how
much chart data a market has (``History``, the SQL is :func:`dotify.store.charts.chart_counts`)
and how songs charted (:mod:`dotify.store.song_history`). Without a database, or when it
cannot be read, the song reads answer None and the pages say less."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.config import Settings
from dotify.errors import StoreError
from dotify.store.charts import chart_counts
from dotify.store.engine import engine_for
from dotify.store.song_history import Peak, song_peaks, song_positions

MAX_DAYS = 400


@dataclass(frozen=True)
class History:
    """Per-day counts for one market, newest day first; ``note`` says why it is empty."""

    days: list[tuple[str, int, int]]  # (ISO date, charts, entries)
    total_charts: int
    total_entries: int
    note: str | None = None


class ChartHistory:
    """Reads chart counts from the settings' store; opens the engine on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def for_market(self, code: str) -> History:
        engine = self._engine_or_none()
        if engine is None:
            return History([], 0, 0, "There is no chart database yet: run `dotify ingest` "
                                      "(or `make demo`) to load charts.")
        try:
            days = chart_counts(engine, code, MAX_DAYS)
        except (sa.exc.SQLAlchemyError, StoreError) as exc:
            return History([], 0, 0, f"The chart database cannot be read: {type(exc).__name__}.")
        note = None if days else "The database holds no charts for this market."
        return History(days, sum(d[1] for d in days), sum(d[2] for d in days), note)

    def song_peaks(self, songs_keys: list[list[str]],
                   markets: list[str]) -> list[dict[str, Peak]] | None:
        """Per song (its store keys), its :class:`Peak` per market; None without a store."""
        engine = self._engine_or_none()
        if engine is None:
            return None
        try:
            return song_peaks(engine, songs_keys, markets)
        except (sa.exc.SQLAlchemyError, StoreError):
            return None

    def song_positions(self, keys: list[str],
                       markets: list[str]) -> dict[str, list[tuple[str, int]]] | None:
        """One song's positions per market, oldest first; None without a store."""
        engine = self._engine_or_none()
        if engine is None:
            return None
        try:
            return song_positions(engine, keys, markets, MAX_DAYS)
        except (sa.exc.SQLAlchemyError, StoreError):
            return None

    def _engine_or_none(self) -> Engine | None:
        url = self.settings.db_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            return None  # never create an empty database just to show a page
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = engine_for(self.settings)
                except StoreError:
                    return None
            return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
