"""Issue 17's CLI contract: whole perimeters in department and region views, shared cities.

On the PACA-like listing of ``tests/fixtures/listings`` (see its README):
"CPTS Durance-Haut Var" crosses the Var / Bouches-du-Rhône border (41,499
inhabitants whole, 15,826 in the Var), Nice is claimed by three CPTS and Toulon
by two; ``paca_like_parts.csv`` declares their shares.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cli import main
from diagnosis.core.referential import Referential
from diagnosis.outputs.export import CSV_CONTRACT
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

LISTINGS = TESTS_DIR / "fixtures" / "listings"
DURANCE_VAR = ["83150", "83104", "83066", "83146", "83113", "83052", "83006", "83114"]
DURANCE_BDR = ["13048", "13074", "13059", "13080", "13099", "13082", "13093"]
NICE = {
    "CPTS Nice Est": ["06159", "06011", "06059", "06121"],
    "CPTS Nice Ouest": ["06046"],
    "CPTS Nice Nord": ["06060", "06147", "06006", "06114"],
}
TOULON = {"CPTS Toulon Ouest": ["83126", "83090"], "CPTS Toulon Est": ["83144", "83062", "83103"]}
VAR_CPTS = [
    "CPTS Durance-Haut Var",
    "CPTS Toulon Ouest",
    "CPTS Toulon Est",
    "CPTS Hyères Littoral",
    "CPTS Ouest Var",
    "CPTS Sainte-Victoire",
]


def diagnose(tmp: Path, name: str, *scope: str) -> Path:
    out = tmp / f"{name}-{'-'.join(scope)}"
    args = ["diagnose", "--perimeters", str(LISTINGS / name), *scope, "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    return out


def read(out: Path, name: str) -> pd.DataFrame:
    text = {"code": str, "scope": str, "shared_units": str, "outside_departments": str}
    return pd.read_csv(out / name, dtype=text, encoding="utf-8", keep_default_na=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("whole")
    return {
        "var": diagnose(tmp, "paca_like.csv", "--department", "83"),
        "paca": diagnose(tmp, "paca_like.csv", "--region", "93"),
        "var_parts": diagnose(tmp, "paca_like_parts.csv", "--department", "83"),
        "paca_parts": diagnose(tmp, "paca_like_parts.csv", "--region", "93"),
    }


def pop(ref: Referential, codes: list[str]) -> int:
    return int(ref.units.loc[codes, "population"].sum())


def test_contract_columns(runs: dict[str, Path]) -> None:
    columns = list(read(runs["var"], "perimeters.csv").columns)
    assert columns[: len(CSV_CONTRACT["perimeters.csv"])] == CSV_CONTRACT["perimeters.csv"]
    assert columns[8:12] == [
        "population_in_scope",
        "population_without_shared",
        "shared_units",
        "outside_departments",
    ]


def test_a_department_view_lists_its_cpts_whole(
    runs: dict[str, Path], real_referential: Referential
) -> None:
    perimeters = read(runs["var"], "perimeters.csv").set_index("name")
    # Only the CPTS with a commune in the Var; none with 0 inhabitants.
    assert perimeters.index.tolist() == VAR_CPTS
    durance = perimeters.loc["CPTS Durance-Haut Var"]
    assert durance["population"] == pop(real_referential, DURANCE_VAR + DURANCE_BDR) == 41_499
    assert durance["population_in_scope"] == pop(real_referential, DURANCE_VAR) == 15_826
    assert durance["n_units"] == 15
    assert durance["size_class"] == 2
    assert str(durance["below_minimum"]) == "False"
    assert durance["outside_departments"] == "13"
    assert durance["shared_units"] == ""
    # The same figures as in the region view: a perimeter does not depend on the view.
    region = read(runs["paca"], "perimeters.csv").set_index("name")
    for column in ("population", "size_class", "funding_max_eur", "n_parts", "n_epci"):
        assert durance[column] == region.loc["CPTS Durance-Haut Var", column], column
    # Communes outside the view are context: one neutral line, no rejection.
    report = read(runs["var"], "import_report.csv")
    assert not (report["severity"] == "rejected").any()
    outside = report[report["kind"] == "outside_scope"]
    assert len(outside) == 1 and outside["severity"].iloc[0] == "info"
    assert "6 périmètres n'ont aucune commune dans la vue" in outside["message"].iloc[0]


def test_department_rates_are_the_same_from_the_region_run(runs: dict[str, Path]) -> None:
    alone = read(runs["var"], "coverage_by_status.csv")
    region = read(runs["paca"], "coverage_by_status.csv")
    region = region[region["scope"] == "DEP-83"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, region)


def test_a_region_view_shows_a_cpts_across_the_regional_border_whole(
    runs: dict[str, Path], real_referential: Referential
) -> None:
    avignon = read(runs["paca"], "perimeters.csv").set_index("name").loc["CPTS Grand Avignon"]
    assert avignon["population"] == pop(real_referential, ["84007", "30351", "30011"])
    assert avignon["population_in_scope"] == pop(real_referential, ["84007"])
    assert avignon["outside_departments"] == "30"


def test_nice_and_toulon_without_shares_say_so(
    runs: dict[str, Path], real_referential: Referential
) -> None:
    perimeters = read(runs["paca"], "perimeters.csv").set_index("name")
    nice = pop(real_referential, ["06088"])
    for name, own in NICE.items():
        row = perimeters.loc[name]
        assert row["population"] == nice + pop(real_referential, own)  # whole, as before
        assert row["population_without_shared"] == pop(real_referential, own)
        assert row["shared_units"] == "06088"
        assert (row["size_class"], row["size_class_without_shared"]) == (4, 1)
    shared = read(runs["paca"], "perimeter_shared_units.csv")
    nice_rows = shared[shared["code"] == "06088"]
    assert len(nice_rows) == 3 and set(nice_rows["n_perimeters"]) == {3}
    assert (nice_rows["population_counted"] == nice).all()


def test_declared_shares_count_each_city_once(
    runs: dict[str, Path], real_referential: Referential
) -> None:
    perimeters = read(runs["paca_parts"], "perimeters.csv").set_index("name")
    nice, toulon = pop(real_referential, ["06088"]), pop(real_referential, ["83137"])
    # Nice 40 % / 35 % / 25 %: 143,094.8, 125,207.95 and 89,434.25 rounded; they add up.
    parts = {"CPTS Nice Est": 143_095, "CPTS Nice Ouest": 125_208, "CPTS Nice Nord": 89_434}
    assert sum(parts.values()) == nice == 357_737
    for name, own in NICE.items():
        assert perimeters.loc[name, "population"] == parts[name] + pop(real_referential, own)
        assert perimeters.loc[name, "size_class"] == 3
        assert perimeters.loc[name, "size_class_without_shared"] == 3
    # Toulon 3/5 and 40 %: 107,469.6 and 71,646.4 rounded.
    toulon_parts = {"CPTS Toulon Ouest": 107_470, "CPTS Toulon Est": 71_646}
    assert sum(toulon_parts.values()) == toulon
    for name, own in TOULON.items():
        assert perimeters.loc[name, "population"] == toulon_parts[name] + pop(real_referential, own)
    # Summed over the CPTS, the region's inhabitants are counted once: the covered population.
    coverage = read(runs["paca_parts"], "coverage.csv").set_index("scope")
    assert perimeters["population_in_scope"].sum() == coverage.loc["REG-93", "population_covered"]
    assert perimeters["population_in_scope"].sum() <= coverage.loc["REG-93", "population_total"]
    var = read(runs["var_parts"], "perimeters.csv").set_index("name")
    var_coverage = read(runs["var_parts"], "coverage.csv").set_index("scope")
    assert var["population_in_scope"].sum() == var_coverage.loc["DEP-83", "population_covered"]
    report = read(runs["paca_parts"], "import_report.csv")
    assert report.loc[report["kind"] == "share_declared", "code"].tolist() == ["06088", "83137"]


def test_shares_over_100_percent_are_refused(tmp_path: Path, real_referential: Referential) -> None:
    listing = tmp_path / "trop.csv"
    listing.write_text(
        "Nom CPTS;Code INSEE;Quote-part\n"
        "CPTS A;83137;60 %\nCPTS A;83126;\n"
        "CPTS B;83137;50 %\nCPTS B;83144;\n"
        "CPTS C;83062;moitié\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["diagnose", "--perimeters", str(listing), "--out", str(out), "--no-progress"]) == 0
    report = read(out, "import_report.csv").set_index("kind")
    assert report.loc["share_over_total", "severity"] == "rejected"
    assert "110\u202f%" in report.loc["share_over_total", "message"]
    assert report.loc["share_invalid", "code"] == "moitié"
    perimeters = read(out, "perimeters.csv").set_index("name")
    toulon = pop(real_referential, ["83137"])
    assert perimeters.loc["CPTS A", "population"] == toulon + pop(real_referential, ["83126"])
    assert perimeters.loc["CPTS A", "size_class_without_shared"] == 2


def test_the_peoples_workbook_says_whole_sizes_ranges_and_overflow(runs: dict[str, Path]) -> None:
    sheets = pd.read_excel(
        runs["var"] / "diagnosis.xlsx",
        sheet_name=None,
        engine="openpyxl",
        dtype={"communes partagées (codes)": str},  # codes are text cells
    )
    perimeters = sheets["Périmètres"].set_index("nom")
    durance = perimeters.loc["CPTS Durance-Haut Var"]
    assert durance["habitants"] == 41_499
    assert durance["habitants dans la vue"] == 15_826
    assert durance["déborde sur"] == "déborde sur Bouches-du-Rhône (13)"
    toulon = perimeters.loc["CPTS Toulon Ouest"]
    assert toulon["taille ACI (fourchette)"] == "Taille 2 à 4"
    assert "Toulon (83137)" in toulon["fourchette de taille : pourquoi"]
    assert str(toulon["communes partagées (codes)"]) == "83137"
    shared = sheets["Communes partagées"]
    assert set(shared["partagée avec"]) == {"CPTS Toulon Est", "CPTS Toulon Ouest"}
