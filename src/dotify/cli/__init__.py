"""The ``dotify`` command: thin sub-commands over library functions.

Each module below registers its commands on the shared Typer ``app``. Library errors
(:class:`dotify.errors.DotifyError`) are printed to stderr and end with exit status 2.
"""

from __future__ import annotations

import sys

from dotify.cli import data, model, nets, ops, quality, query, sim, web  # noqa: F401
from dotify.cli._app import app, console
from dotify.errors import DotifyError

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except DotifyError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        sys.exit(2)
