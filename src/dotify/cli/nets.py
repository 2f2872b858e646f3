"""dotify CLI commands (nets): ``compare``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from dotify.cli._app import app, console, settings
from dotify.errors import ConfigError
from dotify.learn import compare as compare_mod

_DAY = ["%Y-%m-%d"]


@app.command("compare")
def compare_command(
    ctx: typer.Context,
    models: Annotated[str, typer.Option(help="Comma-separated models to train.")] = ",".join(
        compare_mod.MODELS),
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs of networks 1-5.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and of every model.")] = 0,
    split: Annotated[str, typer.Option(help="seed (hold out songs per country) or cold "
                                       "(hold out whole songs).")] = "seed",
    fraction: Annotated[float, typer.Option(help="Share held out.")] = 0.2,
    start: Annotated[datetime | None, typer.Option(formats=_DAY, help="First chart day.")] = None,
    end: Annotated[datetime | None, typer.Option(formats=_DAY, help="Last chart day.")] = None,
    n_top_songs: Annotated[int | None, typer.Option(
        "--n-top-songs", min=1, help="Only the N most recent chart rows.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """Train IMF, the networks and the baselines on one split; print one table."""
    kinds = [k.strip() for k in models.split(",") if k.strip()]
    try:
        table = compare_mod.compare_store(
            settings(ctx), kinds, epochs=epochs, seed=seed, split=split, fraction=fraction,
            start=start.date() if start else None, end=end.date() if end else None,
            n_top_songs=n_top_songs,
            progress=lambda message: console.print(f"[dim]{message}[/dim]", highlight=False))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if as_json:
        sys.stdout.write(json.dumps(table) + "\n")
        return
    console.print(render(table))


def render(table: dict[str, dict[str, float]]) -> Table:
    """The comparison as a rich table, one row per model."""
    columns = list(next(iter(table.values())))
    out = Table(title="models on one split (EPR: lower is better, 0.5 is random)")
    out.add_column("model")
    for column in columns:
        out.add_column(column, justify="right")
    for kind, row in table.items():
        out.add_row(kind, *(f"{row[c]:.1f}" if c == "seconds" else f"{row[c]:.4f}"
                            for c in columns))
    return out
