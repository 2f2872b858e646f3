"""The nightly job's record in the store: one ``nightly_runs`` row per run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dotify.errors import StoreError
from dotify.store.schema import nightly_runs


def start_run(engine: Engine) -> int:
    """Record a run that starts now; its id."""
    done = _write(engine, nightly_runs.insert().values(started_at=_now(), status="running"))
    return int(done.inserted_primary_key[0])


def finish_run(engine: Engine, run_id: int, status: str, rows: int, val_epr: float | None,
               version: str | None, details: dict[str, Any]) -> None:
    """Record how run ``run_id`` ended (``details`` stored as JSON)."""
    _write(engine, nightly_runs.update().where(nightly_runs.c.id == run_id).values(
        finished_at=_now(), status=status, rows=rows, val_epr=val_epr, version=version,
        details=json.dumps(details, default=str)))


def close_interrupted(engine: Engine) -> None:
    """Mark runs left 'running' by a killed process as failed (call it under the lock)."""
    details = json.dumps({"error": "interrupted: the process ended before the run finished"})
    _write(engine, nightly_runs.update().where(nightly_runs.c.status == "running").values(
        status="failed", details=details))


def runs(engine: Engine) -> list[dict[str, Any]]:
    """Every recorded run, oldest first, with ``details`` decoded."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(nightly_runs).order_by(nightly_runs.c.id)).mappings().all()
    return [{**row, "details": json.loads(row["details"]) if row["details"] else {}}
            for row in rows]


def _now() -> datetime:
    return datetime.now(UTC)


def _write(engine: Engine, statement: sa.Executable) -> Any:
    try:
        with engine.begin() as conn:
            return conn.execute(statement)
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot record the nightly run in {engine.url!r}: {exc.orig}") from exc
