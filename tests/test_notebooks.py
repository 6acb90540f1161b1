"""The five workshop notebooks run top to bottom on the tiny demo workspace (nbclient, a real kernel)."""

from pathlib import Path

import nbformat
import pytest
from demo_workspace import tiny_workspace
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "latentexplorer" / "notebooks").glob("*.ipynb"))


def test_there_are_five_workshop_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTEXPLORER_WORKSPACE", str(tiny_workspace()))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs
              if out.output_type == "error"]
    assert not errors
    assert any(out.output_type in ("display_data", "execute_result") for cell in notebook.cells
               if cell.cell_type == "code" for out in cell.outputs)  # it drew something
