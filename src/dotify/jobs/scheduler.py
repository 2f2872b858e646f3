"""The nightly job inside a long-running process (``dotify serve --nightly-at 03:00``).

:func:`start_nightly` starts an APScheduler ``BackgroundScheduler`` whose one job runs
:func:`dotify.jobs.nightly.run_nightly` at ``HH:MM`` (UTC) every day in a worker thread, so
requests are never blocked; the web app's model holder picks up the newly published model.
"""

from __future__ import annotations

import logging
import re

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from dotify.config import Settings
from dotify.errors import ConfigError, DotifyError

log = logging.getLogger("dotify")

JOB_ID = "dotify-nightly"
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_at(at: str) -> tuple[int, int]:
    """``"03:00"`` -> (3, 0); a ConfigError names a bad time (the CLI exits 2 on it)."""
    match = _AT.match(at.strip())
    if not match:
        raise ConfigError(f"nightly time must be HH:MM (00:00 to 23:59), not {at!r}")
    return int(match[1]), int(match[2])


def nightly_job(settings: Settings) -> None:
    """One scheduled run; failures are logged (the run record keeps the details)."""
    from dotify.jobs.nightly import run_nightly

    try:
        result = run_nightly(settings)
    except DotifyError as exc:  # a held lock or an unreachable database
        log.error("scheduled nightly run did not start: %s", exc)
        return
    log.info("scheduled nightly run %s: %s (version %s)", result.run_id, result.status,
             result.version)


def start_nightly(settings: Settings, at: str) -> BackgroundScheduler:
    """Start a background scheduler that runs the nightly job daily at ``at`` (HH:MM, UTC).

    One run at a time (``max_instances=1``); missed runs collapse into one (``coalesce``).
    Call ``scheduler.shutdown(wait=False)`` when the server stops."""
    hour, minute = parse_at(at)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(nightly_job, CronTrigger(hour=hour, minute=minute, timezone="UTC"),
                      args=[settings], id=JOB_ID, max_instances=1, coalesce=True,
                      misfire_grace_time=3600, replace_existing=True)
    scheduler.start()
    log.info("nightly job scheduled daily at %02d:%02d UTC", hour, minute)
    return scheduler
