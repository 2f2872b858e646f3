"""How many rows each market's latest charts have: what a new chart of it is expected to hold."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.store.schema import as_date, chart_entries, charts

Sizes = dict[tuple[str, str], list[tuple[date, int]]]  # (market, kind) -> (day, rows), by day


def recent_chart_sizes(engine: Engine, last: int = 7) -> Sizes:
    """Per (market, kind), the day and row count of its ``last`` latest stored charts,
    oldest first."""
    ranked = sa.select(
        charts.c.id, charts.c.market, charts.c.kind, charts.c.chart_date,
        sa.func.row_number().over(partition_by=(charts.c.market, charts.c.kind),
                                  order_by=charts.c.chart_date.desc()).label("r"),
    ).subquery()
    query = (sa.select(ranked.c.market, ranked.c.kind, ranked.c.chart_date,
                       sa.func.count(chart_entries.c.position))
             .join(chart_entries, chart_entries.c.chart_id == ranked.c.id)
             .where(ranked.c.r <= last)
             .group_by(ranked.c.id, ranked.c.market, ranked.c.kind, ranked.c.chart_date)
             .order_by(ranked.c.market, ranked.c.kind, ranked.c.chart_date))
    sizes: Sizes = {}
    with engine.connect() as conn:
        for market, kind, day, rows in conn.execute(query):
            day = as_date(day)
            sizes.setdefault((market, kind), []).append((day, int(rows)))
    return sizes
