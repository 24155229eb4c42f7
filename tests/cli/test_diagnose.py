"""The `python -m diagnosis diagnose` contract, end to end on small files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest

from cli import main
from diagnosis.core.referential import Referential
from diagnosis.outputs.export import CSV_CONTRACT
from tests.paths import PROJECT_DIR

pytestmark = pytest.mark.referential

PROJECT = PROJECT_DIR

FILE = """Nom CPTS;Code INSEE;Commune;Statut
"=HYPERLINK(""http://exemple.invalid"";""piège"")";13004;Arles;ACI signé
"=HYPERLINK(""http://exemple.invalid"";""piège"")";13097;Saint-Martin-de-Crau;ACI signé
CPTS Tarascon;13004;Arles;en émergence
CPTS Tarascon;13108;Tarascon;en émergence
CPTS Tarascon;2A004;Ajaccio;en émergence
"""


@pytest.fixture
def perimeter_file(tmp_path: Path) -> Path:
    path = tmp_path / "perimetres.csv"
    path.write_text(FILE, encoding="utf-8")
    return path


def run(perimeter_file: Path, out: Path, *options: str) -> int:
    """`diagnose` in-process, without the progress bar."""
    args = ["diagnose", "--perimeters", str(perimeter_file), *options, "--out", str(out)]
    return main([*args, "--no-progress"])


def read(out: Path, name: str) -> pd.DataFrame:
    codes = {"code": str, "scope": str, "shared_units": str, "outside_departments": str}
    return pd.read_csv(out / name, dtype=codes, encoding="utf-8", keep_default_na=False)


def test_contract_on_a_region(
    perimeter_file: Path, tmp_path: Path, real_referential: Referential
) -> None:
    out = tmp_path / "out"
    assert run(perimeter_file, out, "--region", "93") == 0
    for name, columns in CSV_CONTRACT.items():
        frame = read(out, name)
        assert list(frame.columns[: len(columns)]) == columns, name
    perimeters = read(out, "perimeters.csv").set_index("name")
    units = real_referential.units
    trap = "'" + '=HYPERLINK("http://exemple.invalid";"piège")'
    assert set(perimeters.index) == {trap, "CPTS Tarascon"}
    # Issue 17: CPTS Tarascon is whole (Ajaccio, in Corsica, counts in its size), its
    # inhabitants in the region apart, Corse-du-Sud named; Arles is shared with the trap.
    assert (
        perimeters.loc["CPTS Tarascon", "population"]
        == units.loc[["13004", "13108", "2A004"], "population"].sum()
    )
    assert (
        perimeters.loc["CPTS Tarascon", "population_in_scope"]
        == units.loc[["13004", "13108"], "population"].sum()
    )
    assert (
        perimeters.loc["CPTS Tarascon", "population_without_shared"]
        == units.loc[["13108", "2A004"], "population"].sum()
    )
    assert perimeters.loc["CPTS Tarascon", "shared_units"] == "13004"
    assert perimeters.loc["CPTS Tarascon", "outside_departments"] == "2A"
    assert perimeters.loc["CPTS Tarascon", "n_units"] == 3
    assert perimeters.loc["CPTS Tarascon", "n_parts"] == 2  # Ajaccio is across the sea
    assert perimeters.loc["CPTS Tarascon", "size_class"] == 3  # 51,811 + 15,396 + 76,320
    assert str(perimeters.loc["CPTS Tarascon", "below_minimum"]) == "False"
    # Overlap: Arles in both. Tarascon and Arles share a border: one part.
    overlaps = read(out, "overlaps.csv")
    assert overlaps["code"].tolist() == ["13004"]
    assert overlaps["n_perimeters"].tolist() == [2]
    assert " | " in overlaps["perimeters"].iloc[0]
    # White zones: every other unit of the region, one cluster id each.
    white = read(out, "white_zones.csv")
    paca = units[units["region"] == "93"]
    assert set(white["code"]) == set(paca.index) - {"13004", "13097", "13108"}
    # Coverage: the region and its six departments, at the chosen threshold.
    coverage = read(out, "coverage.csv").set_index("scope")
    assert set(coverage.index) == {
        "REG-93",
        "DEP-04",
        "DEP-05",
        "DEP-06",
        "DEP-13",
        "DEP-83",
        "DEP-84",
    }
    covered = units.loc[["13004", "13097", "13108"], "population"].sum()
    assert coverage.loc["REG-93", "population_covered"] == covered
    assert coverage.loc["REG-93", "population_total"] == paca["population"].sum()
    assert coverage.loc["REG-93", "share_covered"] == pytest.approx(
        covered / paca["population"].sum()
    )
    # Ajaccio is outside the region: said in one neutral line, counted in its CPTS's size,
    # not in the region's coverage.
    report = read(out, "import_report.csv")
    outside = report[report["kind"] == "outside_scope"]
    assert outside["severity"].tolist() == ["info"]
    assert "1 commune du fichier est hors de la vue" in outside["message"].iloc[0]
    assert not (report["severity"] == "rejected").any()


def test_status_threshold(
    perimeter_file: Path, tmp_path: Path, real_referential: Referential
) -> None:
    out = tmp_path / "signed"
    assert run(perimeter_file, out, "--department", "13", "--status-min", "aci_signe") == 0
    perimeters = read(out, "perimeters.csv")
    assert len(perimeters) == 1
    assert read(out, "overlaps.csv").empty
    coverage = read(out, "coverage.csv").set_index("scope")
    # A department scope has no region row (it would give the department's figures).
    assert list(coverage.index) == ["DEP-13"]
    signed = real_referential.units.loc[["13004", "13097"], "population"].sum()
    assert read(out, "perimeters.csv")["n_parts"].tolist() == [1]  # Arles borders Saint-Martin
    assert coverage.loc["DEP-13", "population_covered"] == signed


def test_workbook_geopackage_and_formula_injection(perimeter_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(perimeter_file, out, "--department", "13") == 0
    workbook = openpyxl.load_workbook(out / "diagnosis.xlsx")
    assert {
        "Périmètres",
        "Chevauchements",
        "Zones blanches",
        "Couverture",
        "Rapport d'import",
        "Sources",
    } <= set(workbook.sheetnames)
    sheet = workbook["Périmètres"]
    header = [c.value for c in sheet[1]]
    name_col = header.index("nom") + 1  # the workbook is for people: French headers
    names = [sheet.cell(row=r, column=name_col) for r in range(2, sheet.max_row + 1)]
    trap = [c for c in names if str(c.value).startswith("=")]
    assert trap, "the trap name is kept as text"
    assert all(c.data_type == "s" for c in trap)  # a string, never a formula
    layers = {name for name, _ in pyogrio.list_layers(out / "diagnosis.gpkg")}
    assert {"perimeters", "overlaps", "white_zone_clusters", "proposals"} <= layers
    import geopandas as gpd

    per = gpd.read_file(out / "diagnosis.gpkg", layer="perimeters")
    assert len(per) == 2 and per.crs.to_epsg() == 4326
    assert per.geometry.is_valid.all()
    clusters = gpd.read_file(out / "diagnosis.gpkg", layer="white_zone_clusters")
    assert clusters["population"].sum() == read(out, "white_zones.csv")["population"].sum()


def test_unreadable_file_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    assert run(bad, tmp_path / "o") == 2
    assert "illisible" in capsys.readouterr().err


def test_module_entry_point(perimeter_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "diagnosis",
            "diagnose",
            "--perimeters",
            str(perimeter_file),
            "--department",
            "13",
            "--out",
            str(out),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Diagnostic" in result.stderr  # the progress bar
    assert (out / "perimeters.csv").exists()
