"""Execute a notebook in place, its outputs saved in it (the docs carry the executed copy).

    .venv/bin/python scripts/execute_notebook.py [docs/notebooks/seed-revisited.ipynb]
        [--set NAME=VALUE ...]

``--set`` overrides a parameter of the cell tagged ``parameters`` (its assignment is added
at the end of that cell, as a Python expression: ``--set DAYS=30``, ``--set
"CHARTS='~/charts'"``). Only commit outputs of charts whose terms allow publishing them:
the simulated ones of the defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

DEFAULT = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "seed-revisited.ipynb"


def with_parameters(notebook: nbformat.NotebookNode, values: list[str]) -> None:
    """Add ``NAME = VALUE`` lines at the end of the cell tagged ``parameters``."""
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    for value in values:
        name, sep, expression = value.partition("=")
        if not sep or not name.strip().isidentifier():
            raise SystemExit(f"--set {value!r}: write it as NAME=VALUE")
        cell.source += f"\n{name.strip()} = {expression.strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    notebook = nbformat.read(args.notebook, as_version=4)
    with_parameters(notebook, args.set)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=900, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(args.notebook.parent)}}).execute()
    nbformat.write(notebook, args.notebook)
    sys.stderr.write(f"executed {args.notebook} in {time.perf_counter() - started:.0f} s\n")


if __name__ == "__main__":
    main()
