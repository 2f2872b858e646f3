"""dotify: music recommendations from Spotify Charts.

Countries and songs are embedded in one vector space by Implicit Matrix Factorization
(Hu, Koren & Volinsky 2008); country arithmetic ("Colombia x Turkey - Germany") combines
country tastes into a query scored against every song.

The public API (:mod:`dotify.api`) is exported here and imported on first use, so that
``import dotify`` stays fast and loads neither numpy nor torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dotify.config import Settings
from dotify.errors import DotifyError

if TYPE_CHECKING:
    from dotify.api import (
        Answer,
        Artifact,
        Comparison,
        Evaluation,
        FidelityTable,
        Metrics,
        Ratings,
        SimilarCountries,
        Split,
        StoreStats,
        TasteMap,
        Tuning,
        active_since,
        compare,
        evaluate,
        evaluate_model,
        fidelity,
        ingest,
        load_model,
        open_home,
        read_ratings,
        recommend,
        save_model,
        similar,
        simulate,
        split,
        stats,
        taste_map,
        top,
        train,
        train_model,
        tune,
        verify_aggregate,
    )

__version__ = "0.1.0"
__all__ = ["Answer", "Artifact", "Comparison", "DotifyError", "Evaluation", "FidelityTable",
           "Metrics", "Ratings", "Settings", "SimilarCountries", "Split", "StoreStats", "TasteMap",
           "Tuning", "__version__", "active_since", "compare", "evaluate", "evaluate_model",
           "fidelity", "ingest", "load_model", "open_home", "read_ratings", "recommend",
           "save_model", "similar", "simulate", "split", "stats", "taste_map", "top", "train",
           "train_model", "tune", "verify_aggregate"]
_EAGER = ("DotifyError", "Settings", "__version__")  # the rest: dotify.api, on first use

def __getattr__(name: str) -> Any:
    if name in __all__ and name not in _EAGER:
        value = getattr(importlib.import_module("dotify.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dotify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
