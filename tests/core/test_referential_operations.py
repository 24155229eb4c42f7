"""Operations of a referential the applications call: search, unit at a point, EPCIs, remarks.

Every answer is read off the hand-made grid (``tests/grid.py``).
"""

from __future__ import annotations

import pytest

from diagnosis.core.referential import (
    epci_members,
    epci_names,
    manifest_problems,
    search_units,
    unit_at,
)
from tests.grid import ISLAND, STEP, X0, Y0, cell, grid_referential


def test_search_by_code_prefix_and_by_name_without_accents() -> None:
    ref = grid_referential()
    assert list(search_units(ref, "01004")) == ["01004"]
    assert list(search_units(ref, " 3801")) == [f"3801{i}" for i in range(3, 10)]
    # "Île" is found as "ile", "ÎLE" or "il".
    assert list(search_units(ref, "ILE")) == [ISLAND]
    assert list(search_units(ref, "commune 0101")) == ["01010", "01011", "01012"]
    assert list(search_units(ref, "commune", limit=2)) == ["01001", "01002"]
    assert search_units(ref, "   ").empty
    assert search_units(ref, "nulle part").empty


def test_the_unit_under_a_point() -> None:
    ref = grid_referential()
    col, row = 1, 2
    lon, lat = X0 + (col + 0.5) * STEP, Y0 + (row + 0.5) * STEP
    assert unit_at(ref, lon, lat) == cell(col, row)
    assert unit_at(ref, X0 + 1 + STEP / 2, Y0 + 1 + STEP / 2) == ISLAND
    # Outside every commune, or on the border two communes share: none.
    assert unit_at(ref, X0 - STEP, Y0) is None
    assert unit_at(ref, X0 + STEP, Y0 + STEP / 2) is None


def test_epcis_and_their_members() -> None:
    ref = grid_referential()
    names = epci_names(ref)
    # Sorted by name; the island belongs to no EPCI.
    assert names.to_dict() == {"E2": "CC Deux", "E3": "CC Trois", "E1": "CC Un"}
    assert list(names.index) == ["E2", "E3", "E1"]
    assert epci_members(ref, "E2") == [cell(2, r) for r in range(4)]
    assert epci_members(ref, "nope") == []


@pytest.mark.parametrize(
    ("manifest", "lines"),
    [
        ({}, []),
        (
            {
                "units_without_geometry": [{"code": "97601", "name": "X", "note": "sans contour"}],
                "geometries_rebuilt": [
                    {"code": "01001", "name": "Y", "delegated_codes": ["01002", "01003"]}
                ],
                "notes": ["note libre"],
            },
            [
                "97601 X : sans contour",
                "01001 Y : contour reconstitué à partir des communes déléguées 01002, 01003",
                "note libre",
            ],
        ),
    ],
)
def test_the_build_remarks(manifest: dict, lines: list[str]) -> None:
    assert manifest_problems(manifest) == lines
    from diagnosis.build import iter_problems

    assert list(iter_problems(manifest)) == lines  # the builder's name for the same lines
