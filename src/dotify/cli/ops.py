"""dotify CLI commands (ops): ``nightly``, ``report`` and ``demo``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dotify.cli._app import app, console, settings
from dotify.cli.options import (
    DATE_FORMATS,
    EngineOpt,
    JdbcUrlOpt,
    JsonOpt,
    SparkMasterOpt,
    day,
    with_spark,
)

_TODAY = Annotated[datetime | None, typer.Option(
    "--today", formats=DATE_FORMATS, help="Newest chart day to fetch (default: the source's).")]
_MODEL = Annotated[str | None, typer.Option(
    "--model", "-m", help="Model kind to retrain (default bpr-net; imf with --engine spark).")]


@app.command()
def nightly(ctx: typer.Context, today: _TODAY = None, model: _MODEL = None,
            engine: EngineOpt = None, spark_master: SparkMasterOpt = None,
            jdbc_url: JdbcUrlOpt = None, as_json: JsonOpt = False) -> None:
    """Pull new charts, ingest, retrain, gate and publish. Exit 0: published or nothing new;
    1: some pulls or files failed, or the gate kept the new model out; 2: the run failed."""
    from dotify.jobs.nightly import run_nightly

    cfg = with_spark(settings(ctx), spark_master, jdbc_url, engine)
    result = run_nightly(cfg, today=day(today), kind=model)
    payload = {"run": result.run_id, "status": result.status, "exit_code": result.exit_code,
               "version": result.version, "rows": result.rows, "val_epr": result.val_epr,
               "live_epr": result.live_epr, "error": result.error,
               "pulls": {"ok": len(result.pulls) - len(result.failed_pulls),
                         "failed": [p.as_dict() for p in result.failed_pulls]},
               "details": result.details}
    if as_json:
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
    else:
        _show(payload)
    raise typer.Exit(result.exit_code)


def _show(payload: dict) -> None:
    table = Table(title=f"nightly run {payload['run']}: {payload['status']}")
    table.add_column("what")
    table.add_column("value")
    for key in ("version", "rows", "val_epr", "live_epr", "error"):
        table.add_row(key, str(payload[key]))
    table.add_row("charts pulled", str(payload["pulls"]["ok"]))
    for pull in payload["pulls"]["failed"]:
        table.add_row(f"failed {pull['market']} {pull['date']}", str(pull["error"]))
    for path, error in payload["details"].get("ingest", {}).get("failed", {}).items():
        table.add_row(f"bad file {Path(path).name}", str(error))
    console.print(table)


@app.command()
def report(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: home/reports).")]
    = None,
    country: Annotated[list[str] | None, typer.Option(
        "--country", "-c", help="ISO code of a country whose top songs to list (repeatable).")]
    = None,
) -> None:
    """Write an HTML report with PNG figures about the live model and the nightly runs."""
    from dotify.jobs.report import write_report

    written = write_report(settings(ctx), out, country)
    for note in written.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"report: {written.page} ({len(written.figures)} figures)")


@app.command()
def demo(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=30, help="Simulated days.")] = 365,
    serve: Annotated[bool | None, typer.Option(
        "--serve/--no-serve", help="Serve the web app at the end (default: when stdin is a TTY).")]
    = None,
    port: Annotated[int, typer.Option("--port", help="Port of the web app.")] = 8000,
) -> None:
    """Simulate, ingest, tune, run one nightly job, write the report and serve the web app."""
    from dotify.jobs.demo import run_demo

    run_demo(settings(ctx), days=days, serve=sys.stdin.isatty() if serve is None else serve,
             port=port, say=lambda line: console.print(line, soft_wrap=True, highlight=False))
