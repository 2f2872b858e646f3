"""How many rows each market's latest charts have, and the streams of their last row: what a
new chart of it is expected to hold."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.charts.formats import KINDS
from dotify.store.schema import as_date, chart_entries, charts, markets

# (market, kind) -> (day, rows, the least streams of a row) of its latest charts, by day
Sizes = dict[tuple[str, str], list[tuple[date, int, int]]]


def recent_chart_sizes(engine: Engine, last: int = 7) -> Sizes:
    """Per (market, kind), the day, row count and least streams of a row of its ``last``
    latest stored charts, oldest first. Each market's latest charts are found through the
    charts' key (market, day, kind), read backwards from the newest, so the read follows the
    markets, not the history."""
    sizes: Sizes = {}
    with engine.connect() as conn:
        latest: dict[int, tuple[str, str, date]] = {}
        for market in conn.execute(sa.select(markets.c.code)).scalars():
            for kind in KINDS:
                query = (sa.select(charts.c.id, charts.c.chart_date)
                         .where(charts.c.market == market, charts.c.kind == kind)
                         .order_by(charts.c.chart_date.desc()).limit(last))
                for chart_id, day in conn.execute(query):
                    latest[chart_id] = (market, kind, as_date(day))
        counted = (sa.select(chart_entries.c.chart_id, sa.func.count(chart_entries.c.position),
                             sa.func.min(chart_entries.c.streams))
                   .where(chart_entries.c.chart_id.in_(list(latest)))
                   .group_by(chart_entries.c.chart_id))
        rows: dict[int, tuple[int, int]] = {}
        for chart_id, count, least in conn.execute(counted) if latest else ():
            rows[chart_id] = (int(count), int(least))
    for chart_id, (market, kind, day) in sorted(latest.items(), key=lambda item: item[1]):
        if chart_id in rows:  # a chart without entries says nothing of the size
            sizes.setdefault((market, kind), []).append((day, *rows[chart_id]))
    return sizes
