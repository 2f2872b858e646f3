"""dotify CLI commands (model): ``train``, ``evaluate`` and ``tune``."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from dotify import api
from dotify.api.tuning import GRID_KINDS
from dotify.cli._app import app, console, settings
from dotify.cli.options import (
    DATE_FORMATS,
    ActiveOpt,
    EndOpt,
    EngineOpt,
    JdbcUrlOpt,
    JsonOpt,
    SeedOpt,
    SparkMasterOpt,
    StartOpt,
    TopOpt,
    bad_values,
    day,
    with_spark,
)
from dotify.errors import ConfigError
from dotify.models import DEFAULT_KIND, MODEL_KINDS, default_kind, search_space

_MODEL = Annotated[str | None, typer.Option(
    "--model", "-m", help=f"One of {', '.join(MODEL_KINDS)} (default {DEFAULT_KIND}; imf with "
    "--engine spark).")]
_FACTORS = Annotated[int | None, typer.Option("--factors", "-f", min=1, help="Latent factors.")]
_ALPHA = Annotated[float | None, typer.Option("--alpha", min=0.0, help="Confidence slope.")]
_LAMBDA = Annotated[float | None, typer.Option("--lambda", min=0.0, help="Regularization.")]
_EPS = Annotated[float | None, typer.Option("--eps", min=0.0,
                                            help="Streams scale in log(1 + r/eps).")]
_ITER = Annotated[int | None, typer.Option("--iterations", min=1, help="ALS iterations.")]
_PARAM = Annotated[list[str] | None, typer.Option(
    "--param", "-p", help="Any model parameter as key=value (repeatable), e.g. epochs=20.")]


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value), the value read as JSON when it parses (1, 0.5, true)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--param {text!r}: write it as key=value")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def given_params(factors: int | None, alpha: float | None, lam: float | None,
                 eps: float | None, iterations: int | None, extra: list[str] | None
                 ) -> dict[str, Any]:
    """The parameters given on the command line: the flags that are set, then ``--param``."""
    flags = {"factors": factors, "alpha": alpha, "regularization": lam, "eps": eps,
             "iterations": iterations}
    given = {k: v for k, v in flags.items() if v is not None}
    return given | dict(parse_param(p) for p in extra or [])


def _emit(as_json: bool, payload: dict[str, Any], title: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, default=_json_default) + "\n")
        return
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in payload.items():
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _progress(as_json: bool) -> Any:
    return lambda message: console.print(f"[dim]{message}[/dim]", highlight=False)


@app.command("train")
def train_command(
    ctx: typer.Context, model: _MODEL = None, factors: _FACTORS = None, alpha: _ALPHA = None,
    lam: _LAMBDA = None, eps: _EPS = None, iterations: _ITER = None, seed: SeedOpt = 0,
    param: _PARAM = None, start: StartOpt = None, end: EndOpt = None,
    n_top_songs: TopOpt = None, active_days: ActiveOpt = None, engine: EngineOpt = None,
    spark_master: SparkMasterOpt = None, jdbc_url: JdbcUrlOpt = None,
    publish: Annotated[bool, typer.Option(help="Make it the live model.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Train a model on the stored charts, evaluate it, save it and publish it."""
    cfg = with_spark(settings(ctx), spark_master, jdbc_url, engine)
    given = given_params(factors, alpha, lam, eps, iterations, param)
    with bad_values():
        saved = api.train_model(cfg, model, given, start=day(start), end=day(end),
                                n_top_songs=n_top_songs, active_days=active_days, seed=seed,
                                publish=publish,
                                progress=_progress(as_json))
    payload = {"version": saved.version, "published": publish, "kind": saved.kind,
               "engine": cfg.engine, "params": saved.model.params, **saved.meta["metrics"],
               **{k: saved.meta[k] for k in ("n_countries", "n_songs", "nnz", "window")}}
    _emit(as_json, payload, f"model {saved.version}")
    if not as_json:
        console.print(f"saved model [bold]{saved.version}[/bold]"
                      + (" (published)" if publish else ""))


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context, model: _MODEL = None, factors: _FACTORS = None, alpha: _ALPHA = None,
    lam: _LAMBDA = None, eps: _EPS = None, iterations: _ITER = None, seed: SeedOpt = 0,
    param: _PARAM = None, start: StartOpt = None, end: EndOpt = None,
    n_top_songs: TopOpt = None, active_days: ActiveOpt = None,
    per_country: Annotated[bool, typer.Option(help="Add the per-country breakdown.")] = False,
    before: Annotated[datetime | None, typer.Option(
        formats=DATE_FORMATS, help="Split by date: train before it, validate on songs new after.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit on the seed split and print train/validation EPR and top-k metrics (saves nothing)."""
    given = given_params(factors, alpha, lam, eps, iterations, param)
    with bad_values():
        found = api.evaluate_model(settings(ctx), model, given, start=day(start), end=day(end),
                                   n_top_songs=n_top_songs, active_days=active_days,
                                   seed=seed, before=day(before),
                                   progress=_progress(as_json))
    result = found.to_dict()
    if not per_country:
        result.pop("per_country")
    result.pop("history")
    _emit(as_json, result, f"{found.kind} on the seed split")


@app.command("tune")
def tune_command(
    ctx: typer.Context,
    model: _MODEL = None,
    search: Annotated[str | None, typer.Option(
        help="grid (the seed's alpha x lambda, imf only) or bayes (any model's whole space); "
        "default grid for imf, bayes otherwise.")] = None,
    trials: Annotated[int, typer.Option(min=1, help="Trials of the bayes search.")] = 30,
    factors: _FACTORS = None, alpha: _ALPHA = None, lam: _LAMBDA = None, eps: _EPS = None,
    iterations: _ITER = None, seed: SeedOpt = 0, param: _PARAM = None, start: StartOpt = None,
    end: EndOpt = None, n_top_songs: TopOpt = None, active_days: ActiveOpt = None,
    engine: EngineOpt = None, spark_master: SparkMasterOpt = None, jdbc_url: JdbcUrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search a model's parameters; save the best for `dotify train` and draw the EPR heatmap."""
    cfg = with_spark(settings(ctx), spark_master, jdbc_url, engine)
    kind = model or default_kind(cfg.engine)
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    if search == "grid" and kind not in GRID_KINDS:  # said in the option's own words
        raise ConfigError(f"the grid is the seed's alpha x lambda for imf; tune {kind} with "
                          "--search bayes")
    fixed = given_params(factors, alpha, lam, eps, iterations, param)
    scale = {k: fixed.pop(k) for k in ("eps", "scaling") if k in fixed}  # the ratings'
    say, names = _progress(as_json), [*search_space(kind), "eps"]
    with bad_values():
        since = api.active_since(cfg, active_days, end=day(end))
        ratings = api.read_ratings(cfg, day(start), day(end), n_top_songs=n_top_songs,
                                   engine=cfg.engine, since=since, **scale)
        result = api.tune(ratings, kind, search, trials, seed, cfg, engine=cfg.engine,
                          on_trial=lambda t: say(_trial_line(t, names)), **fixed)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), default=_json_default) + "\n")
        return
    console.print(_trials_table(result.trials, names))
    console.print(f"best: {_trial_line(result.best, names)}\nsaved to "
                  f"{result.best_params_path} (for {kind}); heatmap {result.heatmap}")


def _trial_line(trial: dict[str, Any], names: list[str]) -> str:
    p = trial["params"]
    shown = " ".join(f"{k}={p[k]:.4g}" if isinstance(p[k], float) else f"{k}={p[k]}"
                     for k in names if k in p)
    return f"{shown}: val EPR {trial['val_epr']:.4f}"


def _trials_table(trials: list[dict[str, Any]], names: list[str]) -> Table:
    table = Table(title="trials: EPR (lower is better), fit seconds")
    for name in (*names, "train", "val", "val filt", "s"):
        table.add_column(name, justify="right")
    for t in sorted(trials, key=lambda t: t["val_epr"]):
        p = t["params"]
        table.add_row(*(f"{p.get(k):.3g}" if isinstance(p.get(k), float) else str(p.get(k, "-"))
                        for k in names),
                      f"{t['train_epr']:.4f}", f"{t['val_epr']:.4f}",
                      f"{t['val_epr_filtered']:.4f}", f"{t['fit_seconds']:.2f}")
    return table
