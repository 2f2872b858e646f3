"""What a home's database holds (``stats``) and the check of its ratings aggregate."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import TYPE_CHECKING, Any

from dotify.config import Settings

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class StoreStats:
    """What a home's database holds: how many ``markets``, ``charts``, chart ``entries``,
    ``songs`` and ``artists``; the ``first_date`` and ``last_date`` charted; charts by kind
    (``kinds``), ingested files by status (``files``) and the ``top_markets`` by rows."""

    markets: int
    charts: int
    entries: int
    songs: int
    artists: int
    first_date: date | None
    last_date: date | None
    kinds: dict[str, int]
    files: dict[str, int]
    top_markets: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, the dates as ISO strings (what ``dotify stats --json`` prints)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}

    def to_pandas(self) -> pd.DataFrame:
        """The top markets, one row each, indexed by ``market``: ``name`` (str),
        ``charts`` and ``entries`` (int64)."""
        from dotify.frames import records_frame

        return records_frame(self.top_markets, index="market",
                             columns=["market", "name", "charts", "entries"])


@dataclass(frozen=True)
class AggregateCheck:
    """The ratings aggregate against a recomputation from the chart entries: how many rows
    differ (``differences``), the ``first`` of them (their market, kind and song id, the
    ``stored`` and the ``expected`` values) and whether it was ``rebuilt`` first."""

    differences: int
    first: list[dict[str, Any]]
    rebuilt: bool

    @property
    def ok(self) -> bool:
        """No row differs."""
        return self.differences == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what ``dotify stats --verify --json`` prints)."""
        return {"differences": self.differences, "first": self.first, "rebuilt": self.rebuilt}


def stats(home: Settings, top: int = 10) -> StoreStats:
    """What a home's database holds: markets, charts, entries, songs, artists, dates.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    top : int, default 10
        How many markets to list, those with the most chart rows first.

    Returns
    -------
    StoreStats
        The counts, the first and last day, charts by kind, files by status and the
        ``top_markets``; ``to_dict()`` and ``to_pandas()`` (the top markets).

    Examples
    --------
    >>> held = dotify.stats(home)
    >>> held.markets, held.charts
    (4, 28)
    >>> held.to_pandas().columns.tolist()
    ['name', 'charts', 'entries']
    """
    from dotify.store.charts import Store
    from dotify.store.engine import opened

    if top < 1:
        raise ValueError(f"top must be >= 1, not {top}")
    with opened(home) as engine:
        found = Store(engine).summary(top=top)
    dates = {k: date.fromisoformat(found[k]) if found[k] else None
             for k in ("first_date", "last_date")}
    return StoreStats(**{**found, **dates})


def verify_aggregate(home: Settings, rebuild: bool = False) -> AggregateCheck:
    """Check the ratings aggregate (the per market and song stream totals that ratings are
    read from) against the chart entries it sums, and rebuild it on request.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    rebuild : bool, default False
        Rebuild the aggregate from the chart entries first.

    Returns
    -------
    AggregateCheck
        ``differences`` (0: they agree), the ``first`` 20 of them, ``rebuilt``, ``ok``.

    Examples
    --------
    >>> dotify.verify_aggregate(home).ok
    True
    """
    from dotify.store import aggregate
    from dotify.store.engine import opened

    with opened(home) as engine:
        if rebuild:
            with engine.begin() as conn:
                aggregate.rebuild(conn)
        count, shown = aggregate.differences(engine)
    return AggregateCheck(count, shown, rebuild)
