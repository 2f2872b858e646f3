"""The options CLI commands share, defined once: ``--json``, the date format, the data
window, the split and the engine; and the values they build (a ``DataWindow``, a
``SplitSpec``, the settings with the engine flags applied)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

import typer

from dotify.config import Settings
from dotify.errors import ConfigError
from dotify.learn.splits import SplitSpec
from dotify.learn.training import check_engine
from dotify.learn.window import DataWindow

DATE_FORMATS = ["%Y-%m-%d"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]
StartOpt = Annotated[datetime | None, typer.Option(formats=DATE_FORMATS,
                                                   help="First chart day.")]
EndOpt = Annotated[datetime | None, typer.Option(formats=DATE_FORMATS, help="Last chart day.")]
TopOpt = Annotated[int | None, typer.Option("--n-top-songs", min=1,
                                            help="Only the N most recent chart rows.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the split and of the model.")]
EngineOpt = Annotated[str | None, typer.Option(
    "--engine", help="local, or spark: Spark builds the ratings and trains imf as spark-als "
    "(default DOTIFY_ENGINE or local).")]
SparkMasterOpt = Annotated[str | None, typer.Option(
    "--spark-master", help="Spark master URL (default DOTIFY_SPARK_MASTER or local[*]).")]
JdbcUrlOpt = Annotated[str | None, typer.Option(
    "--jdbc-url", help="Spark reads the charts over JDBC (driver jar in DOTIFY_SPARK_JARS).")]


def day(value: datetime | None) -> date | None:
    """The day of a parsed date option (None stays None)."""
    return value.date() if value else None


@contextmanager
def bad_values() -> Iterator[None]:
    """A ValueError from the library (a bad parameter value) is the user's error: exit 2."""
    try:
        yield
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def window(start: datetime | None, end: datetime | None, n_top_songs: int | None,
           fields: dict[str, Any] | None = None) -> DataWindow:
    """The data window of the window options; ``fields``: ``eps``/``scaling`` when given."""
    with bad_values():
        return DataWindow.with_fields(fields or {}, start=day(start), end=day(end),
                                      n_top_songs=n_top_songs)


def split(seed: int, fraction: float = 0.2, before: datetime | None = None,
          protocol: str = "seed") -> SplitSpec:
    """The split of the split options: by date with ``before``, else ``protocol``."""
    with bad_values():
        if before is not None:
            return SplitSpec("date", before=day(before), seed=seed)
        return SplitSpec(protocol, fraction=fraction, seed=seed)


def with_spark(cfg: Settings, master: str | None, jdbc_url: str | None,
               engine: str | None = None) -> Settings:
    """``cfg`` with the engine and Spark flags applied (unchanged when none is given)."""
    flags = (("spark_master", master), ("spark_jdbc_url", jdbc_url), ("engine", engine))
    update = {k: v for k, v in flags if v}
    if engine is not None:
        check_engine(engine)
    return cfg.model_copy(update=update) if update else cfg
