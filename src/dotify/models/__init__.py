"""Every model behind one interface (:class:`Recommender`), made by name with :func:`make_model`."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from dotify.models.base import Dimension, Recommender

# kind -> "module:Class"; imported lazily so torch and pyspark load only when used
MODEL_KINDS: dict[str, str] = {
    "imf": "dotify.models.imf:IMF",
    "popularity": "dotify.models.baselines:Popularity",
    "random": "dotify.models.baselines:RandomScores",
    "net1": "dotify.models.nets:Net1",
    "net2": "dotify.models.nets:Net2",
    "net3": "dotify.models.nets:Net3",
    "net4": "dotify.models.nets:Net4",
    "net5": "dotify.models.nets:Net5",
    "bpr-net": "dotify.models.nets:RankingNet",
    "spark-als": "dotify.models.spark:SparkALS",
}

# The kind trained when none is named: the best held-out EPR on the real 2019-2021 weekly
# charts (validation EPR 0.101 for bpr-net against 0.174 for IMF at its defaults, seed split
# 0; `python bench/bench_fidelity.py`), and the best with the same tuning budget for every kind
# (`dotify compare --tune 8`). Answers follow the charts whatever the kind
# (dotify.query.tastes); the model ranks what they do not cover.
DEFAULT_KIND = "bpr-net"
SPARK_KIND = "imf"  # Spark trains IMF only (as spark-als)

__all__ = ["DEFAULT_KIND", "MODEL_KINDS", "Dimension", "Recommender", "accepted_params",
           "default_kind", "make_model", "model_class", "search_space"]


def default_kind(engine: str = "local") -> str:
    """The model kind to train when none is named, for ``engine`` ("local" or "spark")."""
    return SPARK_KIND if engine == "spark" else DEFAULT_KIND


def model_class(kind: str) -> type[Recommender]:
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    module, name = MODEL_KINDS[kind].split(":")
    cls: type[Recommender] = getattr(importlib.import_module(module), name)
    return cls


def make_model(kind: str, **params: Any) -> Recommender:
    """A new, unfitted model of ``kind`` with ``params``."""
    return model_class(kind)(**params)


def accepted_params(kind: str) -> tuple[str, ...]:
    """The parameter names a model of ``kind`` accepts (its ``defaults`` when it declares
    them, else its constructor's named parameters), e.g. ``accepted_params("popularity")``
    is ``()``."""
    cls = model_class(kind)
    declared = getattr(cls, "defaults", None)
    if isinstance(declared, dict):
        return tuple(declared)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(name for name, p in inspect.signature(cls.__init__).parameters.items()
                 if name != "self" and p.kind in named)


def search_space(kind: str) -> dict[str, Dimension]:
    """What ``dotify tune`` searches for a model of ``kind`` (empty: nothing to tune)."""
    return dict(model_class(kind).search_space)
