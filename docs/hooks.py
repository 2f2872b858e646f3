"""MkDocs hooks: pages made from the code itself when the site is built, so the reference
never drifts from it. The web app's OpenAPI document becomes ``reference/openapi.json``;
the Typer app's help fills the command-line page where it says ``<!-- commands -->``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

OPENAPI = "reference/openapi.json"
CLI_PAGE = "reference/cli.md"
CLI_MARKER = "<!-- commands -->"


def on_files(files: Files, config: Any) -> Files:
    from dotify.config import Settings
    from dotify.web import create_app

    with tempfile.TemporaryDirectory() as home:
        document = create_app(Settings(home=Path(home))).openapi()
    files.append(File.generated(config, OPENAPI, content=json.dumps(document, indent=2)))
    return files


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    if page.file.src_uri != CLI_PAGE:
        return markdown
    if CLI_MARKER not in markdown:
        raise ValueError(f"{CLI_PAGE} lost its {CLI_MARKER} marker")
    return markdown.replace(CLI_MARKER, cli_markdown())


def cli_markdown() -> str:
    """Typer's Markdown help of every ``dotify`` command (``typer dotify.cli utils docs``),
    one heading level below the page's title."""
    import typer
    from typer.cli import get_docs_for_click

    from dotify.cli import app

    command = typer.main.get_command(app)
    return get_docs_for_click(obj=command, ctx=typer.Context(command), indent=1, name="dotify")
