"""dotify CLI commands (data): ``ingest`` chart files and show the store's ``stats``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dotify import api
from dotify.api.database import AggregateCheck
from dotify.charts.formats import KINDS
from dotify.charts.ingest import IngestReport
from dotify.cli._app import app, console, settings
from dotify.cli.options import DATE_FORMATS, JsonOpt


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(
        help="Chart files, folders, globs or .tar.gz archives.")],
    market: Annotated[str | None, typer.Option(
        "--market", help="Market code for files whose name does not say it.")] = None,
    date: Annotated[datetime | None, typer.Option(
        "--date", formats=DATE_FORMATS, help="Chart date for files whose name does not say it.",
    )] = None,
    kind: Annotated[str | None, typer.Option(
        "--kind", help="daily or weekly, for files whose name does not say it.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest chart CSV files into the database; exit status 1 if any file failed."""
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(KINDS)}", param_hint="--kind")
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("ingest", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=Path(name).name[-40:])

        report = api.ingest(settings(ctx), *paths, market=market,
                            chart_date=date.date() if date else None, kind=kind,
                            progress=progress)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: IngestReport) -> None:
    for error in report.errors:
        console.print(f"[red]failed[/red] {escape(str(error))}", highlight=False,
                      soft_wrap=True)  # one line per error, whatever the terminal width
    for path, why in report.skipped:
        console.print(f"[dim]skipped[/dim] {escape(path)}: {escape(why)}", highlight=False,
                      soft_wrap=True)
    table = Table(title="ingest summary", show_header=False)
    dates = f"{report.first_date} .. {report.last_date}" if report.first_date else "-"
    for label, value in [
        ("files ok", report.files_ok), ("files unchanged", report.files_unchanged),
        ("files failed", report.files_failed), ("files skipped", report.files_skipped),
        ("charts written", report.charts_written),
        ("charts replaced", report.charts_replaced),
        ("charts unchanged", report.charts_unchanged), ("rows", report.rows),
        ("rows skipped", report.rows_skipped), ("new songs", report.new_songs),
        ("markets", len(report.markets)), ("date range", dates),
        ("seconds", f"{report.seconds:.1f}"),
    ]:
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)


@app.command()
def stats(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", min=1, help="How many markets to list.")] = 10,
    verify: Annotated[bool, typer.Option(
        help="Recompute the ratings aggregate from the chart entries and list any difference "
        "(exit 1 when there is one).")] = False,
    rebuild: Annotated[bool, typer.Option(
        help="Rebuild the ratings aggregate from the chart entries.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show what the database holds: markets, charts, entries, songs, dates."""
    if verify or rebuild:
        _check_aggregate(api.verify_aggregate(settings(ctx), rebuild), verify, as_json)
        return
    summary = api.stats(settings(ctx), top=top)
    if as_json:
        sys.stdout.write(json.dumps(summary.to_dict(), indent=2) + "\n")
        return
    table = Table(title="dotify database", show_header=False)
    dates = f"{summary.first_date} .. {summary.last_date}" if summary.first_date else "-"
    for key in ("markets", "charts", "entries", "songs", "artists"):
        table.add_row(key, f"{getattr(summary, key):,}")
    table.add_row("date range", dates)
    table.add_row("kinds", ", ".join(f"{k} {v:,}" for k, v in summary.kinds.items()) or "-")
    table.add_row("files", ", ".join(f"{k} {v:,}" for k, v in summary.files.items()) or "-")
    console.print(table)
    markets = Table("market", "name", "charts", "entries", title=f"top {top} markets by rows")
    for row in summary.top_markets:
        markets.add_row(row["market"], row["name"], f"{row['charts']:,}", f"{row['entries']:,}")
    console.print(markets)


def _check_aggregate(check: AggregateCheck, verify: bool, as_json: bool) -> None:
    """``stats --verify`` and ``--rebuild``: the ratings aggregate against its entries."""
    if as_json:
        sys.stdout.write(json.dumps(check.to_dict(), indent=2) + "\n")
    elif check.ok:
        console.print("the ratings aggregate matches the chart entries"
                      + (" (rebuilt)" if check.rebuilt else ""))
    else:
        for row in check.first:
            console.print(f"[red]differs[/red] {row['market']} {row['kind']} song "
                          f"{row['song_id']}: stored {row['stored']}, expected "
                          f"{row['expected']}", highlight=False, soft_wrap=True)
        console.print(f"{check.differences:,} rows of the ratings aggregate differ from the "
                      "chart entries; `dotify stats --rebuild` rebuilds it")
    if not check.ok and verify:
        raise typer.Exit(1)
