"""dotify CLI command (answer quality): ``fidelity``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dotify import api
from dotify.cli._app import app, console, settings
from dotify.cli.options import JsonOpt, bad_values
from dotify.errors import ConfigError
from dotify.learn.fidelity import POPULARITIES
from dotify.learn.window import DataWindow


@app.command("fidelity")
def fidelity_command(
    ctx: typer.Context,
    popularity: Annotated[list[float] | None, typer.Option(
        "--popularity", min=0.0, max=1.0,
        help="Knob settings to measure (repeat the option); default 0, 0.25, 0.5, 0.75, 1.")
    ] = None,
    expressions: Annotated[Path | None, typer.Option(
        "--expressions", exists=True, dir_okay=False,
        help="A file of expressions, one a line ('#' starts a comment), instead of the "
             "single countries and combinations.")] = None,
    n: Annotated[int, typer.Option("-n", "--count", min=1, max=100,
                                   help="Songs per answer (precision@n).")] = 10,
    discover: Annotated[bool, typer.Option(
        "--discover", help="Measure discover answers (songs not charting where asked).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """How well the live model's answers agree with the charts (precision@n against the
    chart truth, the local truth and either), per knob setting."""
    cfg = settings(ctx)
    model = api.load_model(cfg)
    window = DataWindow.from_info(model.meta.get("window"))  # the model's own charts
    truth = api.read_ratings(cfg, window.start, window.end, n_top_songs=window.n_top_songs,
                             chart_kind=window.kind, since=window.since)
    with bad_values():
        rows = api.fidelity(model, truth, None if expressions is None else _read(expressions),
                            popularity or POPULARITIES, n, discover)
    if as_json:
        typer.echo(json.dumps({"version": model.version, "kind": model.kind,
                               "rows": [r.to_dict() for r in rows]}))
        return
    table = Table("expressions", "popularity", "n", "charts", "local", "either", "repeated",
                  title=f"fidelity of {model.kind} {model.version} (precision@{n})")
    for r in rows:
        table.add_row(r.group, f"{r.popularity:g}", str(r.expressions), f"{r.charts:.2f}",
                      f"{r.local:.2f}", f"{r.either:.2f}", str(r.repeated))
    console.print(table)


def _read(path: Path) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    found = [line for line in lines if line]
    if not found:
        raise ConfigError(f"{path}: no expressions (one a line, '#' starts a comment)")
    return found
