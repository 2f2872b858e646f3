"""dotify CLI commands (web): ``dotify serve``."""

from __future__ import annotations

import typer

from dotify.cli._app import app, console, settings


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Worker processes (each follows new models on its own)."),
    nightly_at: str = typer.Option(None, "--nightly-at", metavar="HH:MM",
                                   help="Also run the nightly job daily at HH:MM (UTC)."),
    check_every: float = typer.Option(1.0, "--check-every", min=0.0,
                                      help="Seconds between checks for a newly published model."),
) -> None:
    """Serve the web app and the JSON API (docs at /docs); follows newly published models."""
    from dotify.web.server import serve as run_server

    config = settings(ctx)
    console.print(f"dotify serving on http://{host}:{port}/ (API docs at /docs)")
    run_server(config, host=host, port=port, workers=workers,
               nightly_at=nightly_at or config.nightly_at, check_every=check_every)
