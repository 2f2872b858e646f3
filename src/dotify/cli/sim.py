"""dotify CLI commands (sim)."""

from __future__ import annotations

from dotify.cli._app import app  # noqa: F401
