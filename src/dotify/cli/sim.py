"""dotify CLI commands (sim): ``simulate``, the embedded default chart source."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from dotify import api
from dotify.charts.sim.simulate import DEFAULT_START
from dotify.cli._app import app, console, settings
from dotify.cli.options import DATE_FORMATS, JsonOpt


@app.command("simulate")
def simulate_command(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, help="How many days of charts.")] = 365,
    markets: Annotated[str | None, typer.Option(
        "--markets", help="Comma-separated market codes or names (default: the 55 of the "
        "real weekly charts).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Same seed, same charts.")] = 0,
    start: Annotated[datetime | None, typer.Option(
        "--start", formats=DATE_FORMATS, help=f"First day (default {DEFAULT_START}).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write into (default: the home's simulator folder).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write realistic synthetic daily charts (legacy CSV) and their planted ground truth."""
    folder = out or settings(ctx).simulator_dir
    codes = [m.strip() for m in markets.split(",") if m.strip()] if markets else None
    try:
        summary = api.simulate(folder, days=days, markets=codes, seed=seed,
                               start=start.date() if start else None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if as_json:
        sys.stdout.write(json.dumps({
            "out": str(summary.out), "files": summary.files, "rows": summary.rows,
            "songs": summary.songs, "markets": list(summary.markets),
            "start": summary.start.isoformat(), "end": summary.end.isoformat(),
            "ground_truth": str(summary.ground_truth), "seconds": round(summary.seconds, 2),
        }) + "\n")
        return
    console.print(
        f"Wrote {summary.files:,} charts ({summary.rows:,} rows, {summary.songs:,} songs) for "
        f"{len(summary.markets)} markets, {summary.start} to {summary.end}, into {summary.out} "
        f"in {summary.seconds:.1f} s.", highlight=False, soft_wrap=True)
    console.print(f"Ground truth: {summary.ground_truth}", highlight=False, soft_wrap=True)
