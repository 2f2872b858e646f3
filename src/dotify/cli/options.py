"""The options CLI commands share, defined once: ``--json``, the date format, the data
window, the seed and the engine; the day of a date option, and the settings with the engine
flags applied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated

import typer

from dotify.config import Settings
from dotify.errors import ConfigError
from dotify.learn.training import check_engine

DATE_FORMATS = ["%Y-%m-%d"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]
StartOpt = Annotated[datetime | None, typer.Option(formats=DATE_FORMATS,
                                                   help="First chart day.")]
EndOpt = Annotated[datetime | None, typer.Option(formats=DATE_FORMATS, help="Last chart day.")]
TopOpt = Annotated[int | None, typer.Option("--n-top-songs", min=1,
                                            help="Only the N most recent chart rows.")]
ActiveOpt = Annotated[str | None, typer.Option(
    "--active-days", help="Learn the (country, song) pairs charted in the last N days of the "
    "window, or all (default DOTIFY_ACTIVE_DAYS or 365).")]
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


def with_spark(cfg: Settings, master: str | None, jdbc_url: str | None,
               engine: str | None = None) -> Settings:
    """``cfg`` with the engine and Spark flags applied (unchanged when none is given)."""
    flags = (("spark_master", master), ("spark_jdbc_url", jdbc_url), ("engine", engine))
    update = {k: v for k, v in flags if v}
    if engine is not None:
        check_engine(engine)
    return cfg.model_copy(update=update) if update else cfg
