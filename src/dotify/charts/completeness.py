"""A chart is stored complete or not at all: the size a market's new chart is expected to have.

None of the chart formats says how many rows its chart has, so a chart cut short at a line
boundary (a truncated download, a file cut while it was read) looks like a short chart. The
expected size is the market's own: when its latest charts of a kind (at least ``AT_LEAST``
of the last ``LAST``) all had the same number of rows, a newer chart with fewer is rejected,
unless it ends where they end: a small market lists only the songs above a number of streams
("up to 200"), so a chart of its that is short for want of streams has a last row no bigger
than theirs, where a chart cut short ends on a row that streams more than any of their last
rows. Markets whose recent charts vary in size expect nothing, and charts older than that
recent run are not judged by it.
"""

from __future__ import annotations

from bisect import insort

from dotify.charts.formats import Chart
from dotify.store.sizes import Sizes

LAST = 7
AT_LEAST = 3


class ChartSizes:
    """The recent chart sizes of each (market, kind), as stored and as ingested in this run."""

    def __init__(self, recent: Sizes) -> None:
        self.recent = recent

    def problem(self, chart: Chart) -> str | None:
        """Why ``chart`` is not complete, or None."""
        seen = self.recent.get((chart.market, chart.kind), [])
        if len(seen) < AT_LEAST or chart.chart_date <= seen[0][0]:
            return None
        sizes = {rows for _, rows, _ in seen}
        if len(sizes) != 1 or len(chart) >= (expected := sizes.pop()):
            return None
        least, floor = min(chart.columns.streams), max(low for _, _, low in seen)
        if least <= floor:  # it ends where they end: short for want of streams
            return None
        return (f"chart {chart.market} {chart.chart_date} {chart.kind} has {len(chart)} rows "
                f"where the market's last {len(seen)} charts all had {expected}, and its last "
                f"row streams {least:,}, more than the last row of any of them ({floor:,} at "
                "most): cut short? (a chart is stored whole or not at all)")

    def see(self, chart: Chart) -> None:
        """Count ``chart`` (accepted) among its market's recent charts."""
        seen = self.recent.setdefault((chart.market, chart.kind), [])
        if any(size[0] == chart.chart_date for size in seen):
            seen[:] = [size for size in seen if size[0] != chart.chart_date]
        insort(seen, (chart.chart_date, len(chart), min(chart.columns.streams)))
        del seen[:-LAST]
