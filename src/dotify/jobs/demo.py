"""``make demo``: the whole system on simulated charts, from nothing to a served web app.

:func:`run_demo` simulates a year of 55 markets, ingests it, runs the seed's grid search
(which saves the best parameters and the heatmap), trains and publishes a model, runs one
nightly job (the simulator's next day: pull, ingest, retrain, gate, publish), writes the
report, and serves the web app when asked (``make demo`` asks when stdin is a TTY). Steps
already done in this home are skipped, so running it again is quick.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotify import artifact
from dotify.config import Settings
from dotify.store.charts import count_charts
from dotify.store.engine import opened

if TYPE_CHECKING:
    from dotify.learn.window import DataWindow

Say = Callable[[str], Any]


@dataclass
class DemoResult:
    """What ran (step -> seconds), the nightly run, the report page and the serve command."""

    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    nightly_status: str = ""
    report: Path | None = None
    serve_command: str = ""


def run_demo(settings: Settings, days: int = 365, serve: bool = False, port: int = 8000,
             say: Say = print, seed: int = 0) -> DemoResult:
    """Run the demo in ``settings.home``; blocks serving the web app when ``serve``."""
    settings.ensure_dirs()
    result = DemoResult()

    def step(name: str, needed: bool, action: Callable[[], str]) -> None:
        if not needed:
            result.skipped.append(name)
            say(f"{name}: already done, skipped")
            return
        began = time.perf_counter()
        message = action()
        result.seconds[name] = time.perf_counter() - began
        say(f"{name}: {message} ({result.seconds[name]:.1f} s)")

    truth = settings.simulator_dir / "ground_truth.json"
    step("simulate", not truth.exists(), lambda: _simulate(settings, days, seed))
    step("ingest", _stored_charts(settings) == 0, lambda: _ingest(settings))
    has_model = artifact.current_version(settings.models_dir) is not None
    step("tune", not (settings.home / "best_params.json").exists(), lambda: _tune(settings))
    step("train", not has_model, lambda: _train(settings))
    step("nightly", True, lambda: _nightly(settings, result))
    step("report", True, lambda: _report(settings, result))
    _where(settings, port, result, say)
    if serve:
        _serve(settings, port)
    return result


def _simulate(settings: Settings, days: int, seed: int) -> str:
    from dotify.charts.sim.simulate import simulate

    summary = simulate(settings.simulator_dir, days=days, markets=settings.markets, seed=seed)
    return (f"{summary.files:,} charts, {summary.rows:,} rows, {len(summary.markets)} markets, "
            f"{summary.start} to {summary.end}")


def _stored_charts(settings: Settings) -> int:
    with opened(settings) as engine:
        return count_charts(engine)


def _ingest(settings: Settings) -> str:
    from dotify.charts.ingest import ingest_paths

    with opened(settings) as engine:
        report = ingest_paths(engine, [settings.simulator_dir])
    return f"{report.rows:,} rows, {report.files_ok:,} files, {len(report.markets)} markets"


def _tune(settings: Settings) -> str:
    from dotify.learn.tuning import tune

    tuned = tune(settings, "grid", window=_active(settings))
    best = tuned.best
    return (f"{len(tuned.trials)} settings of alpha x lambda; best validation EPR "
            f"{best['val_epr']:.4f} with {best['params']}")


def _active(settings: Settings) -> DataWindow:
    """The pairs the demo's models learn: those charted in the last ``active_days``."""
    from dotify.api.data import active_since
    from dotify.learn.window import DataWindow

    return DataWindow(since=active_since(settings))


def _train(settings: Settings) -> str:
    from dotify.learn.training import train
    from dotify.learn.tuning import load_tuned
    from dotify.learn.window import DataWindow
    from dotify.models import DEFAULT_KIND

    params, fields = load_tuned(settings, DEFAULT_KIND)  # when `dotify tune` tuned it
    window = DataWindow.with_fields(fields, since=_active(settings).since)
    trained = train(settings, DEFAULT_KIND, params, window=window)
    return (f"model {trained.artifact.version} published, validation EPR "
            f"{trained.metrics['val_epr']:.4f}")


def _nightly(settings: Settings, result: DemoResult) -> str:
    from dotify.jobs.nightly import run_nightly

    run = run_nightly(settings)
    result.nightly_status = run.status
    pulled = len(run.pulls) - len(run.failed_pulls)
    epr = "" if run.val_epr is None else f", validation EPR {run.val_epr:.4f}"
    live = "" if run.live_epr is None else f" (live model: {run.live_epr:.4f})"
    return (f"run {run.run_id} {run.status} (exit {run.exit_code}): {pulled} charts for "
            f"{run.details.get('newest')}, {run.rows:,} rows{epr}{live}; live version "
            f"{run.version}")


def _report(settings: Settings, result: DemoResult) -> str:
    from dotify.jobs.report import write_report

    written = write_report(settings)
    result.report = written.page
    return f"{len(written.figures)} figures in {written.page}"


def _where(settings: Settings, port: int, result: DemoResult, say: Say) -> None:
    home = shlex.quote(str(settings.home))
    result.serve_command = f"DOTIFY_HOME={home} .venv/bin/dotify serve --port {port}"
    say(f"report:    file://{result.report}")
    # an expression whose countries share songs on simulated charts (Colombia and Turkey
    # share almost none there, so their product is mostly the model's fill-in)
    say(f"try:       DOTIFY_HOME={home} .venv/bin/dotify recommend \"Colombia x Mexico - "
        "Spain\"")
    say(f"nightly:   DOTIFY_HOME={home} .venv/bin/dotify nightly")
    say(f"web app:   {result.serve_command}   then open http://127.0.0.1:{port}/")


def _serve(settings: Settings, port: int) -> None:
    from dotify.web.server import serve

    serve(settings, port=port)  # exactly what `dotify serve` runs
