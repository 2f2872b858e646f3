"""dotify CLI commands (nets): ``compare``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from dotify import api
from dotify.api.comparison import MODELS
from dotify.cli._app import app, console, settings
from dotify.cli.options import ActiveOpt, EndOpt, JsonOpt, StartOpt, TopOpt, bad_values, day


@app.command("compare")
def compare_command(
    ctx: typer.Context,
    models: Annotated[str, typer.Option(help="Comma-separated models to train.")] = ",".join(
        MODELS),
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs of networks 1-5.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and of every model.")] = 0,
    split: Annotated[str, typer.Option(help="seed (hold out songs per country) or cold "
                                       "(hold out whole songs).")] = "seed",
    fraction: Annotated[float, typer.Option(help="Share held out.")] = 0.2,
    tune: Annotated[int, typer.Option(
        min=0, help="Tune every model first with this many trials of its own search, on a "
        "split of the training part (0: every model at its defaults).")] = 0,
    start: StartOpt = None, end: EndOpt = None, n_top_songs: TopOpt = None,
    active_days: ActiveOpt = None, as_json: JsonOpt = False,
) -> None:
    """Train IMF, the networks and the baselines on one split, each with the same tuning
    budget; print one table."""
    kinds = [k.strip() for k in models.split(",") if k.strip()]
    with bad_values():
        cfg = settings(ctx)
        since = api.active_since(cfg, active_days, end=day(end))
        ratings = api.read_ratings(cfg, day(start), day(end), n_top_songs=n_top_songs,
                                   since=since)
        table = api.compare(
            ratings, kinds, split, fraction, seed, epochs=epochs, tune=tune,
            progress=lambda message: console.print(f"[dim]{message}[/dim]", highlight=False))
    if as_json:
        sys.stdout.write(json.dumps(table) + "\n")
        return
    console.print(render(table))


_HEADERS = {"val_epr_filtered": "val filtered", "fit_seconds": "fit s",
            "tune_trials": "tuned"}


def render(table: dict[str, dict[str, Any]]) -> Table:
    """The comparison as a rich table, one row per model (the metrics; not the params)."""
    columns = [c for c in next(iter(table.values())) if c != "params"]
    out = Table(title="models on one split (EPR: lower is better, 0.5 is random)")
    out.add_column("model", no_wrap=True)
    for column in columns:
        out.add_column(_HEADERS.get(column, column), justify="right")
    for kind, row in table.items():
        out.add_row(kind, *(f"{row[c]:.1f}" if c == "fit_seconds" else
                            str(row[c]) if c == "tune_trials" else f"{row[c]:.4f}"
                            for c in columns))
    return out
