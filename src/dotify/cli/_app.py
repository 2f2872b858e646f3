"""The Typer application and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypedDict

import typer
from pydantic import ValidationError
from rich.console import Console

from dotify.config import Settings
from dotify.errors import ConfigError

app = typer.Typer(
    name="dotify",
    help="Music recommendations from Spotify Charts: ingest, train, ask, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)  # progress and tables for people; --json goes to stdout


class _Overrides(TypedDict, total=False):
    """The Settings fields the root options may set (the rest come from DOTIFY_* or defaults)."""

    home: Path
    database_url: str


@app.callback()
def _root(
    ctx: typer.Context,
    home: Annotated[Path | None, typer.Option(
        "--home", envvar="DOTIFY_HOME", help="Folder of all state.")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="SQLAlchemy database URL (default: SQLite in home).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug output.")] = False,
) -> None:
    """dotify: music like Colombia x Turkey - Germany."""
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    overrides: _Overrides = {}
    if home is not None:
        overrides["home"] = home
    if db is not None:
        overrides["database_url"] = db
    try:
        ctx.obj = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"DOTIFY_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None


def settings(ctx: typer.Context) -> Settings:
    """The settings built by the root callback (commands take ``ctx`` and call this)."""
    found = ctx.find_root().obj
    return found if isinstance(found, Settings) else Settings()
