"""Loaders of official files (fixtures in their formats) and territory indicators."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from coverage.care import CareData
from coverage.indicators import territory_indicators
from coverage.loaders.apl import AplFileError, apl_summary, load_drees_apl
from coverage.loaders.supply import (
    AGE_BANDS,
    SupplyFileError,
    load_bpe,
    load_population_ages,
    load_rpps,
)
from diagnosis.core.referential import Referential
from tests.paths import PROJECT_DIR, TESTS_DIR

pytestmark = pytest.mark.referential

FIXTURES = TESTS_DIR / "fixtures" / "coverage"
SHARED_APL = Path(
    os.environ.get(
        "ATLAS_DREES_APL",
        PROJECT_DIR.parent / "shared" / "data" / "drees_apl" / "drees_apl_mg_2022_2023.xlsx",
    )
)


def test_apl_fixture(real_referential: Referential) -> None:
    data = load_drees_apl(FIXTURES / "drees_apl_fixture.xlsx", referential=real_referential)
    assert data.profession == "medecin_generaliste"
    assert sorted(data.vintages) == [2022, 2023]
    v = data.vintages[2023]
    assert v.sheet == "APL 2023"
    assert len(v.rows) == 8  # the line of units under the header is not a row
    table = v.by_unit
    assert table.loc["13004", "apl"] == 3.2
    assert table.loc["13201", "apl"] == 5.0  # arrondissements as given
    assert table.loc["01001", "apl"] == 1.9  # 1001 lost its zero
    # Albiosc (04003, former) merged into Esparron (04081): weighted by population.
    assert table.loc["04081", "apl"] == pytest.approx((2.0 * 100 + 3.0 * 300) / 400)
    assert table.loc["04081", "population"] == 400
    assert "99999" not in table.index
    kinds = set(v.report["kind"])
    assert {"unknown_code", "former_code", "merged"} <= kinds
    assert data.source_label() == "DREES, APL aux médecins généralistes, millésime 2023"
    summary = apl_summary(v.rows, weight="population")
    pop = np.array([51000, 14000, 37000, 830, 100, 300, 10, 72000], dtype=float)
    apl = np.array([3.2, 2.1, 5.0, 1.9, 2.0, 3.0, 4.0, 4.4])
    assert summary["mean_apl"] == pytest.approx((apl * pop).sum() / pop.sum())
    assert summary["share_below"] == pytest.approx(pop[apl < 2.5].sum() / pop.sum())


def test_apl_other_profession_and_errors(real_referential: Referential, tmp_path: Path) -> None:
    nurses = load_drees_apl(
        FIXTURES / "drees_apl_infirmiers_fixture.xlsx", referential=real_referential
    )
    assert nurses.profession == "infirmier"
    assert list(nurses.vintages) == [2023]
    assert nurses.latest.by_unit.loc["13004", "apl"] == 120.0
    with pytest.raises(AplFileError, match="aucune feuille d'APL"):
        load_drees_apl(
            FIXTURES.parent.parent / "corpus" / "perimeters" / "long_basic.xlsx",
            referential=real_referential,
        )
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(AplFileError, match="classeur illisible"):
        load_drees_apl(bad, referential=real_referential)


@pytest.mark.skipif(
    not SHARED_APL.exists(), reason=f"DREES workbook not found at {SHARED_APL} (../shared absent)"
)
def test_real_drees_workbook_matches_provenance(real_referential: Referential) -> None:
    data = load_drees_apl(SHARED_APL, referential=real_referential)
    assert sorted(data.vintages) == [2022, 2023]
    expected = {2022: (34_964, 67_162_154, 3.79, 0.149), 2023: (34_954, 67_408_052, 3.75, 0.166)}
    for vintage, (n_rows, population, mean, share) in expected.items():
        v = data.vintages[vintage]
        # PROVENANCE.md measured these with the total population as weight.
        summary = apl_summary(v.rows, weight="population")
        assert len(v.rows) == n_rows
        assert summary["population"] == population
        assert round(summary["mean_apl"], 2) == mean
        assert round(summary["share_below"], 3) == share
        # The same figures once attached to the units of the referential.
        by_unit = apl_summary(v.by_unit, weight="population")
        assert round(by_unit["mean_apl"], 2) == mean
        assert round(by_unit["share_below"], 3) == share
        assert set(v.report["kind"]) <= {"former_code", "merged", "code_normalised", "unknown_code"}


def test_rpps_counts_each_person_once_per_commune(real_referential: Referential) -> None:
    rpps = load_rpps(
        FIXTURES / "PS_LibreAcces_Personne_activite_202611010830.txt", referential=real_referential
    )
    table = rpps.by_unit
    assert table.loc["13004", "medecin_generaliste"] == 2  # A (two activities) and B
    assert table.loc["13097", "medecin_generaliste"] == 1  # A again, in another commune
    assert table.loc["13004", "medecin_specialiste"] == 1
    assert table.loc["13097", "infirmier"] == 1
    assert table.loc["04081", "medecin_generaliste"] == 1  # former code 04003
    assert table.loc["01001", "chirurgien_dentiste"] == 1
    # The physiotherapist given at Marseille (13055) is spread over the arrondissements.
    arr = real_referential.parent_units("13055")
    assert table.loc[arr, "masseur_kinesitherapeute"].sum() == pytest.approx(1.0)
    assert table.loc[arr, "estimated"].all()
    kinds = rpps.report.set_index("kind")["n_rows"].to_dict()
    assert (
        kinds["no_commune"] == 1 and kinds["unknown_code"] == 1 and kinds["plm_parent_spread"] == 1
    )
    assert rpps.rows_read == 11
    assert rpps.source.endswith("du 01/11/2026")


def test_rpps_rejects_another_file(real_referential: Referential) -> None:
    with pytest.raises(SupplyFileError, match="PS_LibreAcces_Personne_activite"):
        load_rpps(FIXTURES / "bpe_ensemble_fixture.csv", referential=real_referential)


@pytest.mark.parametrize(
    ("name", "arles", "st_martin"),
    [("bpe_ensemble_fixture.csv", 15 + 4, 5), ("bpe_geolocalise_fixture.csv", 2, 1)],
)
def test_bpe_formats(name: str, arles: int, st_martin: int, real_referential: Referential) -> None:
    bpe = load_bpe(FIXTURES / name, referential=real_referential)
    types = [c for c in bpe.by_unit.columns if c != "estimated"]
    assert all(t.startswith("D2") for t in types)
    assert bpe.by_unit.loc["13004", types].sum() == arles
    assert bpe.by_unit.loc["13097", types].sum() == st_martin


def test_population_by_single_age_and_by_band(real_referential: Referential) -> None:
    ages = load_population_ages(
        FIXTURES / "TD_POP1B_2021_fixture.csv", referential=real_referential
    )
    row = ages.by_unit.loc["13004"]
    # 10 people of each sex at each age 0..100: bands of 5 ages hold 100, 90+ holds 11 ages.
    assert row["0-4"] == 100 and row["85-89"] == 100 and row["90+"] == 220
    assert row["population_ages"] == 2020
    assert "2021" in ages.source
    bands = load_population_ages(
        FIXTURES / "population_tranches_fixture.csv", referential=real_referential
    )
    assert list(bands.by_unit.columns[: len(AGE_BANDS)]) == AGE_BANDS
    assert bands.by_unit.loc["13004", "90+"] == 20
    with pytest.raises(SupplyFileError, match="CODGEO"):
        load_population_ages(FIXTURES / "bpe_geolocalise_fixture.csv", referential=real_referential)


def test_territory_indicators(real_referential: Referential) -> None:
    ref = real_referential
    territory = ["13004", "13097"]
    nothing = territory_indicators(territory, ref, CareData())
    assert (~nothing.loc[nothing["indicator_id"] != "population", "loaded"]).all()
    assert nothing.loc[nothing["indicator_id"] != "population", "territory"].isna().all()
    pop = ref.units.loc[territory, "population"].sum()
    assert nothing.set_index("indicator_id").loc["population", "territory"] == pop
    care = CareData(
        apl=load_drees_apl(FIXTURES / "drees_apl_fixture.xlsx", referential=ref),
        rpps=load_rpps(
            FIXTURES / "PS_LibreAcces_Personne_activite_202611010830.txt", referential=ref
        ),
        ages=load_population_ages(FIXTURES / "TD_POP1B_2021_fixture.csv", referential=ref),
        bpe=load_bpe(FIXTURES / "bpe_ensemble_fixture.csv", referential=ref),
    )
    table = territory_indicators(territory, ref, care)
    rows = table.set_index("indicator_id")
    gp = rows.loc["density_mg_10k"]
    assert gp["territory"] == pytest.approx(3 / pop * 10_000)
    assert gp["loaded"]
    apl = rows.loc["apl_mg"]
    # DREES: weighted by the standardised population (52,000 and 13,500 in the fixture).
    # This assertion said (3.2 * 51000 + 2.1 * 14000) / 65000 before issue 12, when the
    # mean was wrongly weighted by the total population.
    assert apl["territory"] == pytest.approx((3.2 * 52000 + 2.1 * 13500) / 65500)
    below = rows.loc["apl_mg_share_below"]
    assert below["territory"] == pytest.approx(14000 / 65000)
    old = rows.loc["share_75_plus"]
    # Ages 75 to 100 are 26 of the 101 single ages, in both communes of the fixture.
    assert old["territory"] == pytest.approx(26 / 101)
    assert {"department", "region", "france"} <= set(table.columns)
    with pytest.raises(ValueError, match="Territoire vide"):
        territory_indicators(["99999"], ref, CareData())


def test_computed_gp_access_conserves_supply(real_referential: Referential) -> None:
    import pandas as pd

    from coverage.care import computed_gp_access

    ref = real_referential
    rpps = load_rpps(FIXTURES / "PS_LibreAcces_Personne_activite_202611010830.txt", referential=ref)
    access, method = computed_gp_access(ref, rpps)
    assert "vol d'oiseau" in method and "1 médecin = 1" in method
    demand = ref.units["population"].astype(float)
    # Every GP of the fixture has inhabitants in reach: 2 + 1 (Arles, Saint-Martin), 1 (Esparron).
    assert (access * demand.reindex(access.index)).sum() / 10_000 == pytest.approx(4.0)
    assert access["13004"] > 0 and access["2A004"] == 0
    # A user's travel table: only Arles and Saint-Martin-de-Crau, 15 minutes apart.
    travel = pd.DataFrame(
        {"origine": ["13004", "13097"], "destination": ["13097", "13004"], "minutes": [15, 15]}
    )
    access_t, method_t = computed_gp_access(ref, rpps, travel=travel)
    assert "table de temps de trajet" in method_t
    pa, pm = demand["13004"], demand["13097"]
    w = 2 / 3  # 15 minutes: the 10-15 band, upper bound included
    r_arles = 2 / (pa + w * pm)  # Arles' 2 GPs reach Arles (0 min) and Saint-Martin (15 min)
    r_martin = 1 / (pm + w * pa)
    assert access_t["13004"] == pytest.approx((r_arles + w * r_martin) * 10_000)
    assert access_t["13097"] == pytest.approx((r_martin + w * r_arles) * 10_000)
