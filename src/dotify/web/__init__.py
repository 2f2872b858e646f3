"""The web app: HTML pages and a JSON API over the live model, from one process.

``create_app(settings)`` builds the FastAPI application; ``dotify serve`` runs it under
uvicorn. Everything lives on ``app.state``:

- ``settings``: the :class:`~dotify.config.Settings` the app was made with;
- ``holder``: the :class:`~dotify.web.model_holder.ModelHolder`; it follows the ``current``
  symlink in ``settings.models_dir`` and swaps in a newly published model without a restart;
- ``history``: chart counts from the store for the country pages;
- ``answers``: the :class:`~dotify.web.answers.Answers` of ``POST /api/recommendations``;
- ``scheduler``: an optional APScheduler ``BackgroundScheduler`` (the nightly job);
- ``freeze_gc``: True under ``dotify serve``: start-up's objects leave the cyclic collector.

Extending the lifespan: pass ``create_app(settings, scheduler=s)``; the app's lifespan starts
``s`` on startup when it is not running yet and shuts it down (``wait=False``) on shutdown.
Anything else that must run beside the server can be attached the same way through
``app.state`` before uvicorn starts.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from dotify.config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, scheduler: Any = None, check_every: float = 1.0) -> FastAPI:
    """The web application for ``settings``; ``check_every``: seconds between model checks."""
    from dotify.web.app import build_app

    return build_app(settings, scheduler=scheduler, check_every=check_every)
