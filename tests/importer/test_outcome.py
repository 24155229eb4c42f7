"""The verdict of an import (diagnosis/importer/outcome.py), on the hand grid."""

from __future__ import annotations

import pytest

from diagnosis.core.referential import referential_view
from diagnosis.importer.outcome import import_outcome
from diagnosis.importer.perimeters import import_perimeters
from tests.grid import cell, grid_referential

HEADER = "code insee;nom cpts\n"


@pytest.mark.parametrize(
    ("rows", "scope", "kind", "counts"),
    [
        ([cell(0, 0), cell(0, 1)], {}, "complete", (1, 2, 0, 0)),
        ([cell(0, 0), "99999"], {}, "partial", (1, 1, 0, 1)),
        # Column 4 is in department 38: nothing of the file in department 01. The
        # commune is kept (whole perimeters), not rejected, and counted outside the view.
        ([cell(4, 0)], {"department": "01"}, "outside_scope", (1, 0, 1, 0)),
        ([cell(0, 0), cell(4, 0)], {"department": "01"}, "complete", (1, 1, 1, 0)),
        ([], {}, "empty", (0, 0, 0, 0)),
    ],
)
def test_outcome(rows: list[str], scope: dict[str, str], kind: str, counts: tuple) -> None:
    text = HEADER + "".join(f"{code};CPTS A\n" for code in rows)
    imported = import_perimeters(
        text.encode(), filename="perimetres.csv", referential=grid_referential(), **scope
    )
    view = referential_view(grid_referential(), **scope) if scope else None
    outcome = import_outcome(imported, view)
    assert outcome.kind == kind
    assert (outcome.n_perimeters, outcome.n_units, outcome.n_outside, outcome.n_rejected) == counts
    assert outcome.usable == (kind in ("complete", "partial"))
    assert outcome.message_fr()
