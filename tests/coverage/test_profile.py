"""The ``profile`` command: one row per perimeter and indicator, against a hand computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli import main
from coverage import PROFILE_COLUMNS, CareData, perimeter_profiles
from diagnosis.core.referential import Referential
from tests.paths import PROJECT_DIR, TESTS_DIR

pytestmark = pytest.mark.referential

PROJECT = PROJECT_DIR
EXAMPLE = PROJECT / "data" / "examples" / "exemple_fictif_paca_couverture.csv"
FIXTURES = TESTS_DIR / "fixtures" / "coverage"
NAME = "CPTS Jabron-Lure-Vançon-Durance (exemple)"
CONTRACT = [
    "perimeter_id",
    "name",
    "indicator_id",
    "value",
    "unit",
    "department_value",
    "region_value",
    "france_value",
    "source",
    "vintage",
]


def _profiles(out: Path, *options: str) -> pd.DataFrame:
    code = main(
        [
            "profile",
            "--perimeters",
            str(EXAMPLE),
            "--region",
            "93",
            "--out",
            str(out),
            "--no-progress",
            *options,
        ]
    )
    assert code == 0
    text = (out / "profiles.csv").read_bytes().decode("utf-8")  # UTF-8, or this raises
    assert NAME in text
    return pd.read_csv(out / "profiles.csv", dtype={"department": str, "region": str})


def _members(name: str) -> list[str]:
    rows = pd.read_csv(EXAMPLE, sep=";", skiprows=1, dtype=str)
    return rows.loc[rows["Nom CPTS"] == name, "Code INSEE"].tolist()


def _embedded_rows(short: str, vintage: int) -> pd.DataFrame:
    rows = pd.read_parquet(PROJECT / "data" / "apl" / f"apl_{short}.parquet")
    return rows[rows["vintage"] == vintage].set_index("code")


def _hand(rows: pd.DataFrame, threshold: float | None) -> tuple[float, float]:
    mean = (rows["apl"] * rows["population_standardised"]).sum() / rows[
        "population_standardised"
    ].sum()
    if threshold is None:
        return float(mean), float("nan")
    below = rows.loc[rows["apl"] < threshold, "population"].sum() / rows["population"].sum()
    return float(mean), float(below)


def test_profile_cli_on_the_example(tmp_path: Path, real_referential: Referential) -> None:
    ref = real_referential
    profiles = _profiles(tmp_path)
    assert list(profiles.columns[: len(PROFILE_COLUMNS)]) == PROFILE_COLUMNS
    assert set(CONTRACT) <= set(profiles.columns)
    assert profiles["perimeter_id"].nunique() == 24
    assert not profiles.duplicated(["perimeter_id", "indicator_id"]).any()
    mine = profiles[profiles["name"] == NAME].set_index("indicator_id")
    codes = _members(NAME)
    assert len(set(codes)) == len(codes) == 26

    # Population: the legal population of its communes, of department 04, of region 93.
    units = ref.units
    population = mine.loc["population"]
    assert population["value"] == units.loc[codes, "population"].sum()
    assert population["department"] == "04" and population["region"] == "93"
    assert (
        population["department_value"] == units.loc[units["department"] == "04", "population"].sum()
    )
    assert population["region_value"] == units.loc[units["region"] == "93", "population"].sum()
    assert population["france_value"] == units["population"].sum()

    # APL by hand from the embedded DREES rows (the communes' codes are current ones).
    gp = _embedded_rows("mg", 2023)
    nurses = _embedded_rows("ide", 2023)
    assert set(codes) <= set(gp.index) and set(codes) <= set(nurses.index)
    mean, below = _hand(gp.loc[codes], 2.5)
    assert mine.loc["apl_mg", "value"] == pytest.approx(mean, rel=1e-12)
    assert mine.loc["apl_mg_share_below", "value"] == pytest.approx(below, rel=1e-12)
    assert mine.loc["apl_ide", "value"] == pytest.approx(_hand(nurses.loc[codes], None)[0])
    dep_mean, _ = _hand(gp[gp.index.str.startswith("04")], 2.5)
    assert mine.loc["apl_mg", "department_value"] == pytest.approx(dep_mean, rel=1e-9)
    assert mine.loc["apl_mg", "france_value"] == pytest.approx(3.7446, abs=5e-5)
    assert mine.loc["apl_mg", "vintage"] == 2023
    assert mine.loc["apl_mg", "source"] == "DREES, APL aux médecins généralistes, millésime 2023"
    assert mine.loc["apl_mg", "unit"] == "consultations par an et par habitant standardisé"
    # No threshold for nurses; no professionals without the Annuaire santé.
    assert "apl_ide_share_below" not in mine.index
    assert not mine.loc["density_mg_10k", "loaded"]
    assert np.isnan(mine.loc["density_mg_10k", "value"])


def test_profile_cli_with_official_files_and_an_older_vintage(tmp_path: Path) -> None:
    profiles = _profiles(
        tmp_path,
        "--vintage",
        "2022",
        "--apl",
        str(FIXTURES / "drees_apl_mk_wording_fixture.xlsx"),
        "--rpps",
        str(FIXTURES / "PS_LibreAcces_Personne_activite_202611010830.txt"),
    )
    mine = profiles[profiles["name"] == NAME].set_index("indicator_id")
    gp = _embedded_rows("mg", 2022)
    mean, _ = _hand(gp.loc[_members(NAME)], 2.5)
    assert mine.loc["apl_mg", "value"] == pytest.approx(mean, rel=1e-12)
    assert mine.loc["apl_mg", "vintage"] == 2022
    # The physiotherapists' workbook has 2023 only: its latest vintage is used, and said.
    assert mine.loc["apl_mk", "loaded"] and mine.loc["apl_mk", "vintage"] == 2023
    assert mine.loc["count_mg", "loaded"]
    assert mine.loc["count_mg", "france_value"] == 4  # the fixture's GPs


def test_profile_cli_refuses_a_missing_vintage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "profile",
            "--perimeters",
            str(EXAMPLE),
            "--vintage",
            "2015",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "Millésime 2015 absent" in err and "2022, 2023" in err
    assert not (tmp_path / "profiles.csv").exists()


def test_perimeter_profiles_does_not_modify_input(real_referential: Referential) -> None:
    perimeters = pd.DataFrame(
        {
            "perimeter_id": ["a", "b"],
            "name": ["A", "B"],
            "unit_codes": [("13004", "13097"), ("99999",)],
        }
    )
    before = perimeters.copy()
    table = perimeter_profiles(perimeters, real_referential, CareData(), indicators=["population"])
    pd.testing.assert_frame_equal(perimeters, before)
    assert table["perimeter_id"].tolist() == ["a"]  # no unit of the referential: left out
    with pytest.raises(ValueError, match="unit_codes"):
        perimeter_profiles(perimeters.drop(columns="unit_codes"), real_referential, CareData())


def test_profile_cli_reads_every_kind_of_the_care_registry(tmp_path: Path) -> None:
    """Each kind of care file is an option (``--finess`` included); ``loaded`` is a boolean."""
    profiles = _profiles(tmp_path, "--finess", str(FIXTURES / "finess_fixture.csv"))
    assert "status" not in profiles.columns
    assert profiles["loaded"].dtype == bool
    mine = profiles[profiles["name"] == NAME].set_index("indicator_id")
    assert mine.loc["finess_pharmacie_count", "loaded"]
    assert mine.loc["finess_pharmacie_count", "source"].startswith("FINESS")
    assert not mine.loc["count_mg", "loaded"]
    assert mine.loc["count_mg", "source"] == "Annuaire santé (RPPS)"
