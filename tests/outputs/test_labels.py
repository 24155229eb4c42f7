"""What people read in exports: level and stage wording, rounding, number formats, plurals.

Tiny hand-made tables; the answers are those the dashboard shows on screen
("23,9 %", "286,5 km²", "118 894 m").
"""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from diagnosis.core.numbers import plural
from diagnosis.core.statuses import status_name
from diagnosis.outputs.export import excel_bytes, people_tables
from diagnosis.outputs.people import for_people, people_csv

UNKNOWN = "Statut non renseigné"


def rates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scope": ["FR", "REG-93", "DEP-13"],
            "level": ["france", "region", "department"],
            "status_min": ["emergence", None, "aci_signe"],
            "population_total": [1000, 200, 100],
            "share_covered": [0.2388949722607822, 0.5, np.nan],
            "area_km2": [286.471627749281, 12.0, 1.04],
            "border_m": [118893.8804934081, 10.2, 0.4],
            "distance_a_km": [8.170973, 1.0, 0.05],
            "density_per_km2": [541.072779939161, 3.0, 2.0],
            "compactness": [0.3025681398527085, 0.5, 0.25],
            "statuses": ["aci_signe | inconnu", "emergence", "inconnu"],
        }
    )


def test_levels_and_stages_are_worded_once() -> None:
    frame = rates()
    for as_text in (True, False):
        shown = for_people(frame, as_text=as_text)
        assert shown["niveau"].tolist() == ["France", "Région", "Département"]
        assert shown["stade minimal"].tolist() == ["En émergence", UNKNOWN, "ACI signé"]
        assert shown["stades"].tolist() == [f"ACI signé | {UNKNOWN}", "En émergence", UNKNOWN]
    assert status_name(None) == UNKNOWN
    assert frame["level"].tolist() == ["france", "region", "department"]  # input unchanged


def test_numbers_for_excel_are_rounded_as_on_screen() -> None:
    shown = for_people(rates(), as_text=False)
    assert shown["part couverte"].tolist()[:2] == [0.239, 0.5]
    assert shown["superficie (km²)"].tolist() == [286.5, 12.0, 1.0]
    assert shown["frontière commune (m)"].tolist() == [118894.0, 10.0, 0.0]
    assert shown["distance à la mairie principale de A (km)"].tolist() == [8.2, 1.0, 0.1]
    assert shown["densité (hab./km²)"].tolist() == [541.1, 3.0, 2.0]
    assert shown["compacité"].tolist() == [0.3, 0.5, 0.25]


def test_workbook_cells_carry_the_screen_number_format() -> None:
    raw = excel_bytes(people_tables({"coverage.csv": rates()}))
    sheet = openpyxl.load_workbook(io.BytesIO(raw))["Couverture"]
    headers = [c.value for c in sheet[1]]

    def cell(header: str) -> openpyxl.cell.cell.Cell:
        return sheet.cell(row=2, column=headers.index(header) + 1)

    share = cell("part couverte")
    assert share.value == pytest.approx(0.239) and share.number_format == "0.0%"
    area = cell("superficie (km²)")
    assert area.value == pytest.approx(286.5) and area.number_format == "#,##0.0"
    assert cell("frontière commune (m)").value == 118894
    assert cell("compacité").number_format == "#,##0.00"
    assert cell("habitants").value == 1000 and cell("habitants").number_format == "General"
    assert cell("niveau").value == "France"


def test_people_csv_writes_shares_in_percent_as_on_screen() -> None:
    text = people_csv(rates()).decode("utf-8-sig")
    header, first = (line.split(";") for line in text.splitlines()[:2])
    row = dict(zip(header, first, strict=True))
    assert row["part couverte (%)"] == "23,9"
    assert row["superficie (km²)"] == "286,5"
    assert row["frontière commune (m)"] == "118894"
    assert row["distance à la mairie principale de A (km)"] == "8,2"
    assert row["niveau"] == "France"
    assert text.count(";") > 10


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "partie"), (1, "partie"), (1.0, "partie"), (np.int64(1), "partie"), (2, "parties"),
     (1234, "parties")],
)  # fmt: skip
def test_plural_follows_french_usage(n: object, expected: str) -> None:
    assert plural(n, "partie", "parties") == expected


def test_coverage_sheets_name_each_territory_once() -> None:
    """No machine scope code ("DEP-13") and no repeated stage in the people's coverage sheets."""
    frame = pd.DataFrame(
        {
            "scope": ["REG-93", "DEP-13"],
            "level": ["region", "department"],
            "code": ["93", "13"],
            "name": ["Provence-Alpes-Côte d'Azur", "Bouches-du-Rhône"],
            "status_min": ["emergence", "emergence"],
            "status_label": [status_name("emergence")] * 2,
            "share_covered": [0.1, 0.2],
        }
    )
    for name in ("coverage.csv", "coverage_by_status.csv"):
        sheet = people_tables({name: frame})[name]
        assert "stade (tel qu'écrit)" not in sheet.columns
        assert sheet["territoire"].tolist() == ["Provence-Alpes-Côte d'Azur", "Bouches-du-Rhône"]
        assert sheet["code du territoire"].tolist() == ["93", "13"]
        assert not sheet.astype(str).apply(lambda c: c.str.contains("DEP-|REG-")).any().any()
    # Other sheets keep the stage as written in the file.
    other = people_tables({"perimeters.csv": frame})["perimeters.csv"]
    assert "stade (tel qu'écrit)" in other.columns


def test_people_workbook_puts_names_next_to_ids() -> None:
    """Issue 17: the sheets "Communes", "Parties", "EPCI" carried only slug ids."""
    from diagnosis.analysis.pipeline import run_diagnosis
    from diagnosis.core.model import perimeters_from_members
    from diagnosis.outputs.export import people_workbook
    from tests.grid import cell, grid_referential

    ref = grid_referential()
    imported = perimeters_from_members(
        {"nord": [cell(0, 0), cell(0, 1)], "sud": [cell(0, 1), cell(3, 3)]},
        names={"nord": "CPTS du Nord", "sud": "CPTS du Sud"},
    )
    raw = people_workbook(run_diagnosis(imported, ref, proposals=False))
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)

    def rows(sheet: str) -> list[dict[str, object]]:
        values = list(book[sheet].iter_rows(values_only=True))
        return [dict(zip(values[0], row, strict=True)) for row in values[1:]]

    names = {"nord": "CPTS du Nord", "sud": "CPTS du Sud"}
    communes = ref.units["name"]
    for sheet in ("Communes", "Parties", "EPCI", "Communes partagées"):
        found = rows(sheet)
        assert found, sheet
        headers = list(found[0])
        # The CPTS' name right after its id.
        assert headers[headers.index("identifiant") + 1] == "nom du périmètre", sheet
        assert all(r["nom du périmètre"] == names[str(r["identifiant"])] for r in found), sheet
    members = rows("Communes")
    assert len(members) == 4
    assert all(r["commune"] == communes[str(r["code INSEE"])] for r in members)
    assert list(members[0])[:4] == ["identifiant", "nom du périmètre", "code INSEE", "commune"]
