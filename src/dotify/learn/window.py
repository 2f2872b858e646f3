"""``DataWindow``: which charts make the ratings matrix and how streams are scaled.

One frozen value, checked when built, carried unchanged from the CLI (``cli/options.py``) or
the nightly job to the ratings reader (local SQL or Spark), training, tuning and compare.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
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
    :func:`dotify.learn.ratings.scale`).

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
                for k in ("start", "end", "n_top_songs", "kind")}

    @classmethod
    def from_info(cls, info: dict[str, Any] | None) -> DataWindow:
        """The chart selection that :meth:`info` wrote (as a saved model's meta holds it)."""
        info = info or {}
        start, end = (date.fromisoformat(info[k]) if info.get(k) else None
                      for k in ("start", "end"))
        return cls(start, end, n_top_songs=info.get("n_top_songs"), kind=info.get("kind"))

    @classmethod
    def with_fields(cls, fields: dict[str, Any], **chart_selection: Any) -> DataWindow:
        """A window of ``chart_selection`` taking ``eps``/``scaling`` from ``fields`` (a
        record such as a tune result); other keys of ``fields`` are ignored."""
        return cls(**chart_selection, **{k: fields[k] for k in FIELDS if k in fields})
