"""The nightly job: pull new charts, ingest, retrain, gate, publish, record.

:func:`run_nightly` finds per market the dates missing in the last ``backfill_days`` up to the
source's newest date, pulls them into ``settings.charts_dir``, ingests them, retrains on the
last ``window_days`` (the (country, song) pairs charted in the last ``active_days``, read
from the ratings aggregate, so that training follows the recent charts and not the history)
with the saved best parameters, and publishes the new model only when
its validation EPR is no worse than the live model's by more than ``gate_tolerance`` (the
first model is always published; a rejected one is deleted), then keeps the newest
``keep_versions``. Two runs never overlap (``home/nightly.lock``), and every run is one row
of ``nightly_runs``.

The gate compares with the live model's validation EPR as recorded when it was trained (in
its ``meta.json``), not with the live model scored on the new split: the live model was
refitted on all its data, so it has seen most of the new split's held-out pairs and would
look better than it is.

Exit codes (:attr:`NightlyResult.exit_code`):

* 0 -- a new model was published, or there was nothing new; every pull succeeded;
* 1 -- the run finished but needs a look: some pulls or files failed (they are retried on
  the next run), or the gate kept the new model out;
* 2 -- the run failed (training, ingest or database error); the live model is untouched.
  A held lock or an unreachable database raises before a run starts (the CLI exits 2).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import filelock
from sqlalchemy.engine import Engine

from dotify import artifact
from dotify.charts.sources import Pull, Source, Wanted, make_source, ok_paths
from dotify.config import Settings
from dotify.countries import GLOBAL
from dotify.errors import DotifyError, LockedError
from dotify.learn.window import DataWindow
from dotify.models import default_kind, model_class
from dotify.store import runs as store_runs
from dotify.store.charts import chart_days, last_chart_dates
from dotify.store.engine import opened
from dotify.store.totals import newest_day

log = logging.getLogger("dotify")

EXIT_OK, EXIT_ATTENTION, EXIT_FAILED = 0, 1, 2
FAULT_ENV = "DOTIFY_FAULT_AT"  # test hook: the process kills itself at this named step


@dataclass
class NightlyResult:
    """What one run did. ``status``: published | kept | nothing | failed."""

    run_id: int
    status: str
    exit_code: int
    pulls: list[Pull] = field(default_factory=list)
    rows: int = 0
    val_epr: float | None = None
    live_epr: float | None = None
    version: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_pulls(self) -> list[Pull]:
        return [p for p in self.pulls if p.status != "ok"]


@contextmanager
def nightly_lock(settings: Settings) -> Iterator[None]:
    """Hold ``home/nightly.lock``; raise :class:`LockedError` at once when another run has it."""
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / "nightly.lock"
    lock = filelock.FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout as exc:
        raise LockedError(f"another nightly run holds {path}; wait for it to finish "
                          "(or remove the file if no dotify process is running)") from exc
    try:
        yield
    finally:
        lock.release()


def fault_point(step: str) -> None:
    """Die at ``step`` when ``DOTIFY_FAULT_AT`` names it: lets tests kill a run mid-publish."""
    if os.environ.get(FAULT_ENV) == step:
        log.warning("fault injection: killing this process at %s", step)
        os.kill(os.getpid(), signal.SIGKILL)


def missing_dates(engine: Engine, markets: list[str], newest: date, backfill_days: int,
                  kind: str = "daily") -> Wanted:
    """Per market, the chart dates of the last ``backfill_days`` up to ``newest`` that the
    store lacks, oldest first. Holes count too, so a failed day is tried again next run;
    days before a market's first stored chart are not asked for when it has older data."""
    first = newest - timedelta(days=backfill_days - 1)
    stored, earliest = chart_days(engine, kind, first, newest)
    have: dict[str, set[date]] = {}
    for market, day in stored:
        have.setdefault(market, set()).add(day)
    step = 7 if kind == "weekly" else 1
    wanted: Wanted = {}
    for market in markets:
        start = max(first, earliest[market]) if market in earliest else first
        days = [newest - timedelta(days=k) for k in range(0, (newest - start).days + 1, step)]
        missing = sorted(d for d in days if d not in have.get(market, set()))
        if missing:
            wanted[market] = missing
    return wanted


def run_nightly(settings: Settings, today: date | None = None, source: Source | None = None,
                kind: str | None = None, params: dict[str, Any] | None = None
                ) -> NightlyResult:
    """Run the nightly job once under the lock and record it; see the module docstring.

    ``today`` overrides the source's newest date; ``kind``/``params`` the model to train
    (default: :func:`dotify.models.default_kind` for the settings' engine; IMF takes the
    tuned parameters)."""
    kind = kind or default_kind(settings.engine)
    source = source or make_source(settings)  # a bad setting is a ConfigError before the run
    with nightly_lock(settings):
        settings.ensure_dirs()
        with opened(settings) as engine:
            store_runs.close_interrupted(engine)
            run_id = store_runs.start_run(engine)
            result = NightlyResult(run_id, "running", EXIT_FAILED)
            try:
                _run(settings, engine, source, today, kind, params, result)
            except DotifyError as exc:  # said in one sentence: no traceback
                log.error("nightly run %s failed: %s", run_id, exc)
                result.status, result.exit_code, result.error = "failed", EXIT_FAILED, str(exc)
            except Exception as exc:  # anything at all: the live model stays as it is
                log.exception("nightly run %s failed", run_id)
                result.status, result.exit_code = "failed", EXIT_FAILED
                result.error = f"{type(exc).__name__}: {exc}"
            details = {**result.details, "exit_code": result.exit_code, "error": result.error}
            store_runs.finish_run(engine, run_id, result.status, result.rows, result.val_epr,
                                  result.version, details)
    return result


def _run(settings: Settings, engine: Engine, source: Source, today: date | None, kind: str,
         params: dict[str, Any] | None, result: NightlyResult) -> None:
    chart_kind = settings.chart_kind
    last = last_chart_dates(engine, chart_kind)
    newest = today or source.newest(last)
    markets = [m for m in (settings.markets or source.markets(sorted(last))) if m != GLOBAL]
    wanted = missing_dates(engine, markets, newest, settings.backfill_days, chart_kind)
    result.details["newest"] = newest.isoformat()
    result.pulls = source.pull(wanted, settings.charts_dir, chart_kind)
    result.details["pulls"] = _pull_summary(result.pulls)
    ingested = _ingest(engine, ok_paths(result.pulls))
    result.rows = ingested["rows"]
    result.details["ingest"] = ingested
    needs_look = bool(result.failed_pulls) or bool(ingested["failed"])
    live = artifact.current_version(settings.models_dir)
    if result.rows == 0 and live is not None:
        result.status, result.version = "nothing", live
        result.exit_code = EXIT_ATTENTION if needs_look else EXIT_OK
        return
    trained = _train(settings, kind, params, newest, engine)
    result.val_epr = trained["val_epr"]
    result.details["metrics"] = trained["metrics"]
    result.details["epochs_search"] = trained["epochs_search"]
    result.live_epr = live_val_epr(settings.models_dir)
    fault_point("before-publish")
    if gate(result.val_epr, result.live_epr, settings.gate_tolerance):
        artifact.publish(settings.models_dir, trained["version"])
        result.status, result.version = "published", trained["version"]
    else:  # the rejected model is deleted, so the K versions kept stay ones that were live
        result.status, result.version = "kept", live
        result.details["rejected_version"] = trained["version"]
        shutil.rmtree(settings.models_dir / trained["version"], ignore_errors=True)
        needs_look = True
    result.details["pruned"] = artifact.prune(settings.models_dir, settings.keep_versions)
    result.exit_code = EXIT_ATTENTION if needs_look else EXIT_OK


def gate(new_epr: float | None, live_epr: float | None, tolerance: float) -> bool:
    """True when the new model may replace the live one (lower EPR is better)."""
    if live_epr is None:
        return True  # nothing live (or it has no validation EPR): the first model goes out
    if new_epr is None:
        return False
    return new_epr <= live_epr + tolerance


def live_val_epr(models_dir: Path) -> float | None:
    """The published model's recorded validation EPR, or None when nothing is published."""
    meta = live_meta(models_dir)
    try:
        value = (meta or {}).get("metrics", {}).get("val_epr")
        return None if value is None else float(value)
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("the live model's validation EPR cannot be read (%s): a new model may "
                    "replace it", exc)
        return None


def live_meta(models_dir: Path) -> dict[str, Any] | None:
    """The published model's ``meta.json``, or None when nothing is published or it cannot
    be read (logged)."""
    version = artifact.current_version(models_dir)
    if version is None:
        return None
    try:
        meta = json.loads((models_dir / version / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        log.warning("the live model %s cannot be read (%s): a new one may replace it",
                    version, exc)
        return None
    return meta if isinstance(meta, dict) else None


def _ingest(engine: Engine, paths: list[Path]) -> dict[str, Any]:
    """Ingest the pulled files; a file that fails is listed and its date pulled again later."""
    if not paths:
        return {"files": 0, "rows": 0, "failed": {}}
    from dotify.charts.ingest import ingest_paths

    report = ingest_paths(engine, paths)
    failed = {error.path: str(error) for error in report.errors}
    return {"files": report.files, "rows": int(report.rows), "unchanged": report.files_unchanged,
            "new_songs": report.new_songs, "failed": failed}


def _train(settings: Settings, kind: str, params: dict[str, Any] | None, newest: date,
           engine: Engine) -> dict[str, Any]:
    """Train on the last ``window_days`` up to ``newest`` (the pairs charted in its last
    ``active_days``) without publishing; without ``params`` the kind takes its tuned params
    and eps (``dotify tune``), and a network that stops early the epochs the live model's
    search chose, unless that search is ``epochs_search_days`` old."""
    from dotify.learn.training import train
    from dotify.learn.tuning import load_tuned

    fields: dict[str, Any] = {}
    search = None
    stored = newest_day(engine)  # the active days count from the newest chart stored
    if params is None:
        params, fields = load_tuned(settings, kind)
        search = recent_search(settings, kind, stored)
        if search is not None:  # reused when the kind can (else it chooses again)
            reused = model_class(kind).reusing(params, search)
            params, search = reused, (search if reused is not params else None)
    start = None if settings.window_days is None else \
        newest - timedelta(days=settings.window_days - 1)
    window = DataWindow.with_fields(fields, start=start, end=newest).active(
        settings.active_days, stored)
    trained = train(settings, kind=kind, params=params or {}, window=window, publish=False,
                    engine=settings.engine, epochs_search=search)
    metrics = trained.metrics
    return {"version": trained.artifact.version, "val_epr": metrics.get("val_epr"),
            "epochs_search": trained.artifact.meta.get("epochs_search"),
            "metrics": {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}}


def recent_search(settings: Settings, kind: str, newest: date | None) -> dict[str, Any] | None:
    """What the live model chose by itself (``epochs_search``: ``{"on": day, "epochs": n}``)
    when it is of ``kind`` and chose less than ``epochs_search_days`` before ``newest``."""
    meta = live_meta(settings.models_dir)
    search = meta.get("epochs_search") if meta and meta.get("kind") == kind else None
    if not isinstance(search, dict) or newest is None:
        return None
    try:
        age = (newest - date.fromisoformat(str(search.get("on")))).days
    except ValueError:
        return None
    return search if 0 <= age < settings.epochs_search_days else None


def _pull_summary(pulls: list[Pull]) -> dict[str, Any]:
    markets: dict[str, dict[str, Any]] = {}
    for pull in pulls:
        entry = markets.setdefault(pull.market or "?", {"ok": 0, "failed": {}})
        if pull.status == "ok":
            entry["ok"] += 1
        else:
            entry["failed"][str(pull.day)] = pull.error
    return markets


runs = store_runs.runs  # the recorded runs, for the report and tests
