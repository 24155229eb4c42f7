"""The notebook runs from top to bottom on the embedded default (so it cannot rot).

It runs from any folder (here a temporary one: nothing depends on the working
directory), draws its charts and maps, and is stored with outputs small enough
for git.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.referential, pytest.mark.slow]

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_executes(path: Path, real_referential: object, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    assert sum(1 for c in notebook.cells if c.cell_type == "code") >= 8
    charts = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "vegaEmbed" in str(output.get("data", {}).get("text/html", ""))
    ]
    assert len(charts) >= 3  # coverage by stage, perimeters and white zones, APL of a territory


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_is_stored_executed_and_small(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    assert path.stat().st_size < 300_000
