"""Hyper-parameter search on the seed's split: the seed's alpha x lambda grid for IMF, or
Optuna's TPE over any model kind's search space (``search_space`` of its class in
:mod:`dotify.models`), so every kind can be tuned with the same budget of trials.

Every trial fits on the same split (the held-out songs depend only on the seed and the
pattern of ratings, so changing ``eps`` rescales the same pairs) and is scored by validation
EPR. The best trial's parameters are saved per kind to ``<home>/best_params.json``, which
``dotify train`` uses by default for that kind; :func:`load_best_params` reads them back and
:func:`tuned_params` lays given ones over them.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from dotify.config import Settings
from dotify.errors import ConfigError
from dotify.learn import ratings as ratings_mod
from dotify.learn.fitting import fit_and_evaluate
from dotify.learn.ratings import Ratings
from dotify.learn.splits import SplitSpec, load_split
from dotify.learn.training import check_kind, ratings_reader, shape_of
from dotify.learn.window import DEFAULT_EPS, FIELDS, DataWindow
from dotify.models import Dimension, accepted_params, make_model, search_space
from dotify.models.spark import dotify_params, model_for_spark

log = logging.getLogger("dotify")

SEED_GRID: dict[str, list[float]] = {"alpha": [0.1, 1.0, 10.0, 100.0],
                                     "regularization": [0.1, 1.0, 10.0, 100.0]}
SEARCHES = ("grid", "bayes")
GRID_KINDS = ("imf", "spark-als")  # the seed's grid is IMF's alpha x lambda
EPS_RANGE = Dimension(1.0, 1e5)  # the ratings' scale, searched with every kind's own space
BEST_PARAMS_FILE = "best_params.json"
HEATMAP_FILE = "tuning_heatmap.png"
Trial = dict[str, Any]


@dataclass
class TuneResult:
    """Every trial, the best one, the data's shape and, when saved, the heatmap and
    best_params.json."""

    trials: list[Trial]
    best: Trial
    heatmap: Path | None
    best_params_path: Path | None
    data: dict[str, Any]


def rescaled(full: Ratings, eps: float) -> Ratings:
    """``full`` re-scaled with another ``eps`` (same scaling), from its raw streams."""
    if float(full.info.get("eps", -1)) == float(eps):
        return full
    if full.raw is None:
        raise ValueError("these ratings carry no raw streams; build them with from_store")
    matrix = full.raw.astype(np.float32)
    matrix.data = ratings_mod.scale(full.raw.data, full.info.get("scaling", "log"), eps)
    matrix.eliminate_zeros()
    return replace(full, matrix=matrix.tocsr(), info={**full.info, "eps": float(eps)})


def run_trial(full: Ratings, params: dict[str, Any], split: SplitSpec, kind: str = "imf",
              eps: float | None = None) -> Trial:
    """Fit a model of ``kind`` with ``params`` on ``split`` of ``full`` re-scaled with
    ``eps`` (default: as built); its metrics. Recorded params are the model's (``spark-als``
    mapped back to IMF's, so best_params.json suits both engines) plus the trial's
    ``eps``."""
    data = rescaled(full, full.info.get("eps", DEFAULT_EPS) if eps is None else eps)
    _, train, validation = load_split(lambda _window: data, DataWindow(), split)
    model = make_model(kind, **params)
    metrics = fit_and_evaluate(model, train, validation)
    metrics.pop("per_country")
    recorded = dotify_params(model.params) if kind == "spark-als" else model.params
    recorded = {k: v for k, v in recorded.items() if v is not None}
    return {"params": {**recorded, "eps": float(data.info["eps"])}, **metrics}


def grid_trials(base: dict[str, Any], grid: dict[str, list[Any]] | None = None
                ) -> list[dict[str, Any]]:
    """Every combination of ``grid`` (the seed's alpha x lambda by default) over ``base``."""
    grid = grid or SEED_GRID
    names = list(grid)
    return [{**base, **dict(zip(names, values, strict=True))}
            for values in itertools.product(*(grid[n] for n in names))]


def bayes_search(full: Ratings, base: dict[str, Any], n_trials: int, split: SplitSpec,
                 on_trial: Callable[[Trial], None] | None = None, kind: str = "imf",
                 search_eps: bool = True) -> list[Trial]:
    """Optuna TPE (seeded by ``split.seed``) over ``kind``'s search space (less what
    ``base`` fixes) and, with ``search_eps``, the ratings' ``eps``: ``n_trials`` trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial raises, and says why
    trials: list[Trial] = []
    space = {k: d for k, d in search_space(kind).items() if k not in base}

    def objective(trial: optuna.Trial) -> float:
        params = {**base, **{name: _suggest(trial, name, d) for name, d in space.items()}}
        eps = _suggest(trial, "eps", EPS_RANGE) if search_eps else None
        result = run_trial(full, params, split, kind, eps)
        trials.append(result)
        if on_trial:
            on_trial(result)
        return float(result["val_epr"])

    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=split.seed))
    study.optimize(objective, n_trials=n_trials)
    return trials


def _suggest(trial: Any, name: str, dimension: Dimension) -> float | int:
    if dimension.integer:
        return int(trial.suggest_int(name, int(dimension.low), int(dimension.high),
                                     log=dimension.log))
    return float(trial.suggest_float(name, dimension.low, dimension.high, log=dimension.log))


def tune(
    settings: Settings,
    search: str = "grid",
    trials: int = 30,
    base: dict[str, Any] | None = None,
    *,
    window: DataWindow | None = None,
    split: SplitSpec | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    engine: str = "local",
    kind: str = "imf",
) -> TuneResult:
    """Search the parameters of a model of ``kind`` (``base``: its fixed ones) on ``split``
    of ``window``'s ratings; write the heatmap and the kind's best params
    (:func:`tune_ratings` on the ratings read by ``engine``)."""
    window, split = window or DataWindow(), split or SplitSpec()
    check_search(kind, search, trials, split, engine)
    with ratings_reader(settings, engine) as read:
        full, _, _ = load_split(read, window, split)  # refuses an empty window up front
    return tune_ratings(full, search, trials, base, split=split, on_trial=on_trial,
                        engine=engine, kind=kind, settings=settings)


def check_search(kind: str, search: str, trials: int, split: SplitSpec | None = None,
                 engine: str = "local") -> None:
    """Refuse a search that cannot run, saying why: an unknown kind or search, no trials, a
    kind with nothing to tune, the grid for a kind without IMF's alpha x lambda, a split
    other than the seed's, or Spark for a kind other than IMF."""
    check_kind(kind)
    if search not in SEARCHES:
        raise ConfigError(f"unknown search {search!r}; choose one of {', '.join(SEARCHES)}")
    if trials < 1:
        raise ConfigError(f"trials must be >= 1, not {trials}")
    if split is not None and split.protocol != "seed":
        raise ConfigError(f"tuning runs on the seed split, not the {split.protocol} split")
    if not search_space(kind):
        raise ConfigError(f"{kind} has no parameters to tune")
    if search == "grid" and kind not in GRID_KINDS:
        raise ConfigError(f"the grid is the seed's alpha x lambda for imf; tune {kind} with "
                          "search='bayes'")
    if engine == "spark" and kind != "imf":
        raise ConfigError(f"Spark tunes imf only, not {kind}")


def tune_ratings(
    full: Ratings,
    search: str = "grid",
    trials: int = 30,
    base: dict[str, Any] | None = None,
    *,
    split: SplitSpec | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    engine: str = "local",
    kind: str = "imf",
    settings: Settings | None = None,
) -> TuneResult:
    """Search the parameters of a model of ``kind`` (``base``: its fixed ones) on ``split``
    of ``full``. The grid is the seed's alpha x lambda (IMF only, at f = 30 unless ``base``
    says); "bayes" searches the kind's whole space and eps in ``trials`` trials. ``engine``
    "spark" fits every trial with ``spark-als`` (IMF only). With ``settings``, write the
    heatmap into its reports and the best params for ``kind`` (:func:`save_best_params`)."""
    split = split or SplitSpec()
    check_search(kind, search, trials, split, engine)
    check_params(kind, base or {})
    saved_as = kind
    base = {**({"factors": 30} if search == "grid" else {}), **(base or {})}
    if engine == "spark":
        kind, base = model_for_spark(kind, base)
    if search == "grid":
        done = []
        for params in grid_trials(base):
            done.append(run_trial(full, params, split, kind))
            if on_trial:
                on_trial(done[-1])
    else:
        done = bayes_search(full, base, trials, split, on_trial, kind)
    best = min(done, key=lambda t: t["val_epr"])
    heatmap = path = None
    if settings is not None:
        settings.ensure_dirs()
        heatmap = write_heatmap(done, settings.reports_dir / HEATMAP_FILE,
                                binned=search == "bayes")
        path = save_best_params(settings, best, search, full, saved_as)
    return TuneResult(done, best, heatmap, path, shape_of(full))


def check_params(kind: str, params: dict[str, Any], window_fields: bool = False) -> None:
    """Refuse a parameter ``kind`` does not take, listing those it takes (with
    ``window_fields``, ``eps`` and ``scaling`` are taken too: they go to the ratings)."""
    accepted = [*accepted_params(kind), *(FIELDS if window_fields else ())]
    unknown = [k for k in params if k not in accepted]
    if unknown:
        raise ConfigError(f"model {kind!r} takes no parameter {', '.join(map(repr, unknown))}; "
                          f"it takes {', '.join(accepted) or 'none'}")


def save_best_params(settings: Settings, best: Trial, search: str, full: Ratings,
                     kind: str = "imf") -> Path:
    """Record ``best`` as ``kind``'s entry of best_params.json (other kinds' are kept)."""
    record = {"params": best["params"], "val_epr": best["val_epr"],
              "val_epr_filtered": best["val_epr_filtered"], "search": search,
              "fingerprint": full.info.get("fingerprint"),
              "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    path = settings.home / BEST_PARAMS_FILE
    records = _records(path) if path.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**records, kind: record}, indent=2))
    tmp.replace(path)
    return path


def _records(path: Path) -> dict[str, dict[str, Any]]:
    """best_params.json as {kind: record}; a file of one record (``"kind"`` and
    ``"params"`` at the top, as older versions wrote it) is that kind's."""
    try:
        found = json.loads(path.read_text())
        records = {found["kind"]: found} if "kind" in found else found
        for kind, record in records.items():
            if not isinstance(record["params"], dict):
                raise TypeError(f"{kind}: 'params' must be an object")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not a best-parameters file ({exc}); delete it or rerun "
                          "`dotify tune`") from exc
    return dict(records)


def load_best_params(settings: Settings, kind: str = "imf") -> dict[str, Any]:
    """The best parameters the last ``dotify tune`` of ``kind`` saved, as recorded: the
    model's and the ratings' ``eps`` ({} when it never ran). :func:`load_tuned` splits them."""
    path = settings.home / BEST_PARAMS_FILE
    if not path.exists():
        return {}
    record = _records(path).get(kind)
    return dict(record["params"]) if record else {}


def load_tuned(settings: Settings, kind: str = "imf") -> tuple[dict[str, Any], dict[str, Any]]:
    """(model params, window fields) of the last ``dotify tune`` of ``kind``: the window
    fields (``eps``, ``scaling``) go to a :class:`DataWindow`, the rest to the model."""
    params = load_best_params(settings, kind)
    fields = {k: params.pop(k) for k in FIELDS if k in params}
    return params, fields


def tuned_params(settings: Settings, kind: str, given: dict[str, Any] | None = None,
                 seed: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model params, window fields) for training ``kind``: its tuned ones
    (:func:`load_tuned`), then ``seed`` as its ``random_state`` (where it takes one), then
    ``given``, whose ``eps``/``scaling`` go to the window fields; a parameter the kind does
    not take is refused."""
    check_kind(kind)
    params, fields = load_tuned(settings, kind)
    if seed is not None and "random_state" in accepted_params(kind):
        params["random_state"] = seed
    given = dict(given or {})
    fields |= {k: given.pop(k) for k in FIELDS if k in given}
    params |= given
    check_params(kind, params, window_fields=True)
    return params, fields


def write_heatmap(trials: list[Trial], path: Path, binned: bool = False) -> Path:
    """The seed's figure: validation EPR over alpha (rows; the learning rate for a kind
    without alpha) x lambda (columns), annotated.
    ``binned`` rounds values to powers of ten (for a random search); a cell keeps its best."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def key(value: float) -> float:
        return float(10 ** np.round(np.log10(value))) if binned and value > 0 else float(value)

    rows = "alpha" if all("alpha" in t["params"] for t in trials) else "lr"
    cells: dict[tuple[float, float], float] = {}
    for t in trials:
        cell = (key(t["params"][rows]), key(t["params"]["regularization"]))
        cells[cell] = min(cells.get(cell, np.inf), t["val_epr"])
    alphas = sorted({a for a, _ in cells})
    lambdas = sorted({lam for _, lam in cells})
    grid = np.full((len(alphas), len(lambdas)), np.nan)
    for (a, lam), value in cells.items():
        grid[alphas.index(a), lambdas.index(lam)] = value
    fig, ax = plt.subplots(figsize=(1.4 * len(lambdas) + 2.5, 1.0 * len(alphas) + 1.8))
    image = ax.imshow(grid, cmap="viridis_r", aspect="auto")
    low, high = np.nanmin(grid), np.nanmax(grid)
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):  # dark text on the light (good) cells, the best one in bold
            light = value <= (low + high) / 2
            ax.text(j, i, f"{value:.4f}", ha="center", va="center", fontsize=9,
                    color="black" if light else "white",
                    fontweight="bold" if value == low else "normal")
    ax.set_xticks(range(len(lambdas)), [f"{v:g}" for v in lambdas])
    ax.set_yticks(range(len(alphas)), [f"{v:g}" for v in alphas])
    ax.set_xlabel("lambda (regularization)")
    ax.set_ylabel("alpha" if rows == "alpha" else "learning rate")
    ax.set_title("validation expected percentile ranking (lower is better)")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
