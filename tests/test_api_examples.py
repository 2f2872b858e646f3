"""Every example in the public API's docstrings runs as written: the package docstring's
session (a home of simulated charts, ratings, a split, a model) first, then each
function's examples on a copy of it."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = ("dotify.api.data", "dotify.api.database", "dotify.api.learning", "dotify.api.tuning",
           "dotify.api.comparison", "dotify.api.home_models", "dotify.api.answers")


@pytest.mark.slow
def test_every_docstring_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dotify.api

    monkeypatch.setenv("HOME", str(tmp_path))  # the examples write under ~
    monkeypatch.delenv("DOTIFY_HOME", raising=False)
    monkeypatch.delenv("DOTIFY_DATABASE_URL", raising=False)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures: list[str] = []
    session: dict = {}
    for test in finder.find(dotify.api, "dotify.api"):
        test.globs = session
        runner.run(test, out=failures.append, clear_globs=False)
    assert {"home", "ratings", "train", "validation", "model", "metrics", "live"} <= set(session)
    ran: set[str] = set()
    for name in MODULES:
        for test in finder.find(importlib.import_module(name)):
            test.globs = dict(session)
            runner.run(test, out=failures.append)
            ran.add(test.name.rsplit(".", 1)[-1])
    assert not failures, "\n".join(failures)
    functions = {n for n in dotify.api.__all__ if n[0].islower()}
    assert functions <= ran, f"no example ran for {sorted(functions - ran)}"
