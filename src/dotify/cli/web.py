"""dotify CLI commands (web): ``dotify serve``."""

from __future__ import annotations

import typer

from dotify.cli._app import app, console, settings


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free)."),
    nightly_at: str = typer.Option(None, "--nightly-at", metavar="HH:MM",
                                   help="Also run the nightly job daily at HH:MM (UTC)."),
    check_every: float = typer.Option(1.0, "--check-every", min=0.0,
                                      help="Seconds between checks for a newly published model."),
) -> None:
    """Serve the web app and the JSON API (docs at /docs); follows newly published models."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    from dotify.web import create_app

    threadpool_limits(1, "blas")  # many small concurrent queries: threaded BLAS only contends

    config = settings(ctx)
    at = nightly_at or config.nightly_at
    scheduler = None
    if at:
        from dotify.scheduler import start_nightly

        scheduler = start_nightly(config, at)
    web = create_app(config, scheduler=scheduler, check_every=check_every)
    console.print(f"dotify serving on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(web, host=host, port=port, log_level="warning")
