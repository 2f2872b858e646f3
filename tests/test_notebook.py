"""docs/notebooks/seed-revisited.ipynb: it executes on a small simulation without an error,
and its committed copy carries the outputs of the simulated charts."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

import dotify

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "seed-revisited.ipynb"
SMALL = {"DAYS": "21", "TRIALS": "2",
         "MARKETS": '["co", "mx", "ar", "es", "tr", "it", "de", "at", "se", "no", "jp", "kr"]'}


def _code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in notebook.cells if c.cell_type == "code"]


def _images(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for c in _code_cells(notebook)
               for o in c.outputs)


def test_the_committed_copy_carries_the_outputs_of_simulated_charts() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    cells = _code_cells(notebook)
    parameters = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and cells[0] is parameters[0]
    assert "CHARTS = None" in parameters[0].source  # simulated: publishable outputs
    assert all(c.outputs for c in cells[1:]), "a code cell has no output: execute it"
    outputs = [o for c in cells for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert _images(notebook) >= 6
    text = "".join(o.get("text", "") for o in outputs)
    assert "simulated" in text and "shared/data" not in text


@pytest.mark.slow
def test_the_notebook_executes_on_a_small_simulation(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = _code_cells(notebook)[0]
    values = {**SMALL, "HOME": repr(str(tmp_path / "home"))}
    parameters.source += "".join(f"\n{name} = {value}" for name, value in values.items())
    for cell in _code_cells(notebook):
        cell.outputs = []
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError at the first cell that fails
    outputs = [o for c in _code_cells(notebook) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "simulated 252 charts of 12 markets" in text
    assert "live model" in text and "bpr-net" in text
    assert _images(notebook) >= 6
    live = dotify.load_model(dotify.open_home(tmp_path / "home"))
    assert live.kind == "bpr-net" and len(live.countries) == 12
