"""The documentation site: the Python API reference documents exactly ``dotify.__all__``,
and ``mkdocs build --strict`` (what ``make docs`` runs) builds every page offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

import dotify
from dotify.cli import app

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference" / "python.md"


def documented() -> list[str]:
    """The objects the Python API page renders (its ``::: dotify.NAME`` lines)."""
    return re.findall(r"^::: dotify\.(\S+)$", REFERENCE.read_text(), flags=re.MULTILINE)


def test_the_python_reference_documents_exactly_dotify_all() -> None:
    names = documented()
    assert len(names) == len(set(names)), "an object is documented twice"
    assert set(names) == set(dotify.__all__)


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    python = (site / "reference" / "python" / "index.html").read_text()
    for name in dotify.__all__:
        assert f'id="dotify.{name}"' in python, f"dotify.{name} is not rendered"
    cli = (site / "reference" / "cli" / "index.html").read_text()
    for command in get_command(app).commands:  # type: ignore[attr-defined]
        assert f"dotify {command}" in cli, f"`dotify {command}` is missing from the CLI page"
    openapi = json.loads((site / "reference" / "openapi.json").read_text())
    assert "/api/recommendations" in openapi["paths"]
    assert 'href="../openapi.json"' in (site / "reference" / "http" / "index.html").read_text()
    notebook = (site / "notebooks" / "seed-revisited" / "index.html").read_text()
    assert notebook.count("data:image/png;base64") >= 6
    assert "Colombia * Turkey - Germany" in notebook
    for page in ("getting-started", "concepts", "operations"):
        assert (site / page / "index.html").exists()
