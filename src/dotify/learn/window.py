"""``DataWindow``: which charts make the ratings matrix and how streams are scaled.

One frozen value, checked when built, carried unchanged from the CLI (``cli/options.py``) or
the nightly job to the ratings reader (local SQL or Spark), training, tuning and compare.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

SCALINGS: tuple[str, ...] = ("log", "written", "raw")
CHART_KINDS: tuple[str, ...] = ("daily", "weekly")
DEFAULT_EPS = 1000.0
FIELDS = ("eps", "scaling")  # the window's fields a params dict may carry (tune results)


@dataclass(frozen=True)
class DataWindow:
    """Charts dated ``start`` to ``end`` (inclusive, either open) of ``kind`` ("daily",
    "weekly"; None: both), with ``n_top_songs`` only the N most recent chart rows; streams
    summed per (market, song) and scaled by ``scaling`` with ``eps`` (see
    :func:`dotify.learn.ratings.scale`). With ``since``, only the (market, song) pairs
    charted on or after that day are kept, each with its streams since then (estimated: the
    ratings aggregate keeps a pair's total and its first and last chart day, and the total
    is taken as spread evenly over those days): the songs a country plays now, read from
    the aggregate, so that a model's size follows the recent charts and not the history
    (see :meth:`active`).

    Examples
    --------
    >>> DataWindow(n_top_songs=0)
    Traceback (most recent call last):
    ...
    ValueError: n_top_songs must be >= 1 or None, not 0
    """

    start: date | None = None
    end: date | None = None
    n_top_songs: int | None = None
    kind: str | None = None
    scaling: str = "log"
    eps: float = DEFAULT_EPS
    since: date | None = None

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, "
                             f"not {self.scaling!r}")
        if isinstance(self.eps, bool) or not isinstance(self.eps, (int, float)) \
                or not self.eps > 0:
            raise ValueError(f"eps must be > 0, not {self.eps!r}")
        if self.n_top_songs is not None and (isinstance(self.n_top_songs, bool)
                                             or not isinstance(self.n_top_songs, int)
                                             or self.n_top_songs < 1):
            raise ValueError(f"n_top_songs must be >= 1 or None, not {self.n_top_songs!r}")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        if self.since is not None and self.end is not None and self.since > self.end:
            raise ValueError(f"since {self.since} is after end {self.end}")
        if self.kind is not None and self.kind not in CHART_KINDS:
            raise ValueError(f"kind must be one of {', '.join(CHART_KINDS)} or None, "
                             f"not {self.kind!r}")
        object.__setattr__(self, "eps", float(self.eps))

    def replace(self, **changes: Any) -> DataWindow:
        """A copy with ``changes`` (checked again)."""
        return replace(self, **changes)

    def info(self) -> dict[str, Any]:
        """The chart selection as JSON-ready values (what ``Ratings.info["window"]`` holds)."""
        values = asdict(self)
        return {k: (str(values[k]) if isinstance(values[k], date) else values[k])
                for k in ("start", "end", "n_top_songs", "kind", "since")}

    @classmethod
    def from_info(cls, info: dict[str, Any] | None) -> DataWindow:
        """The chart selection that :meth:`info` wrote (as a saved model's meta holds it)."""
        info = info or {}
        start, end, since = (date.fromisoformat(info[k]) if info.get(k) else None
                             for k in ("start", "end", "since"))
        return cls(start, end, n_top_songs=info.get("n_top_songs"), kind=info.get("kind"),
                   since=since)

    def active(self, days: int | None, newest: date | None) -> DataWindow:
        """This window keeping only the pairs charted in its last ``days`` days: counted back
        from its newest chart, the earlier of its end and ``newest`` (the store's newest
        chart day); unchanged when ``days`` is None or there is no day to count from.

        Examples
        --------
        >>> DataWindow().active(365, date(2021, 12, 31)).since
        datetime.date(2021, 1, 1)
        >>> DataWindow(end=date(2022, 6, 30)).active(1, date(2021, 12, 31)).since
        datetime.date(2021, 12, 31)
        """
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                                 or days < 1):
            raise ValueError(f"active days must be a whole number >= 1, not {days!r}")
        known = [day for day in (self.end, newest) if day is not None]
        if days is None or not known:
            return self
        last = min(known)
        if days > (last - date.min).days:  # back before the calendar: every pair
            return self
        return self.replace(since=last - timedelta(days=days - 1))

    @classmethod
    def with_fields(cls, fields: dict[str, Any], **chart_selection: Any) -> DataWindow:
        """A window of ``chart_selection`` taking ``eps``/``scaling`` from ``fields`` (a
        record such as a tune result); other keys of ``fields`` are ignored."""
        return cls(**chart_selection, **{k: fields[k] for k in FIELDS if k in fields})
