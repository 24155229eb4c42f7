"""The indicator registry: stable ids, DREES rules per profession, embedded APL layers."""

from __future__ import annotations

import re

import numpy as np
import pytest

import coverage
from coverage.care import CareData
from coverage.indicator_specs import indicator_specs
from coverage.indicators import territory_indicators
from coverage.loaders.apl import load_drees_apl
from coverage.loaders.embedded import embedded_apl
from diagnosis.core.referential import Referential
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

FIXTURES = TESTS_DIR / "fixtures" / "coverage"
TERRITORY = ["13004", "13097"]


def test_registry_ids_are_stable_snake_case() -> None:
    ids = [spec.indicator_id for spec in indicator_specs()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", i) for i in ids)
    expected = {
        "population",
        "apl_mg",
        "apl_ide",
        "apl_mk",
        "apl_sf",
        "apl_cd",
        "apl_mg_share_below",
        "count_mg",
        "density_mg_10k",
        "count_ide",
        "density_ide_10k",
        "share_75_plus",
    }
    assert expected <= set(ids)
    # DREES defines an under-service threshold for GPs only.
    assert [i for i in ids if i.endswith("_share_below")] == ["apl_mg_share_below"]


def test_public_face() -> None:
    assert {"territory_indicators", "load_drees_apl", "embedded_apl", "CareData"} <= set(
        coverage.__all__
    )
    assert all(hasattr(coverage, name) for name in coverage.__all__)


def test_embedded_apl_out_of_the_box(real_referential: Referential) -> None:
    ref = real_referential
    care = CareData(apl_layers=tuple(embedded_apl(ref).values()))
    rows = territory_indicators(TERRITORY, ref, care).set_index("indicator_id")
    for indicator in ("apl_mg", "apl_mg_share_below", "apl_ide"):
        assert rows.loc[indicator, "loaded"]
        assert rows.loc[indicator, "vintage"] == "2023"
        assert np.isfinite(
            rows.loc[indicator, ["territory", "department", "region", "france"]]
        ).all()
    assert not rows.loc["apl_mk", "loaded"]
    assert rows.loc["apl_ide", "unit"] == "ETP pour 100 000 habitants standardisés"
    assert rows.loc["apl_mg", "france"] == pytest.approx(3.7446, abs=5e-5)
    assert rows.loc["apl_mg_share_below", "france"] == pytest.approx(0.1663, abs=1e-4)
    assert rows.loc["apl_ide", "france"] == pytest.approx(156.03, abs=5e-3)
    assert rows.loc["apl_mg", "source"] == "DREES, APL aux médecins généralistes, millésime 2023"
    older = territory_indicators(
        TERRITORY, ref, CareData(apl_layers=care.apl_layers, apl_vintage=2022)
    ).set_index("indicator_id")
    assert older.loc["apl_mg", "france"] == pytest.approx(3.789, abs=5e-4)
    assert older.loc["apl_mg", "vintage"] == "2022"


def test_uploaded_workbook_replaces_the_same_profession_and_vintage(
    real_referential: Referential,
) -> None:
    ref = real_referential
    upload = load_drees_apl(FIXTURES / "drees_apl_ide_wording_fixture.xlsx", referential=ref)
    care = CareData(apl=upload, apl_layers=tuple(embedded_apl(ref).values()))
    rows = territory_indicators(TERRITORY, ref, care).set_index("indicator_id")
    # The fixture gives 80 (50,000 standardised) and 40 (15,000) for 2023.
    assert rows.loc["apl_ide", "territory"] == pytest.approx((80 * 50000 + 40 * 15000) / 65000)
    # The embedded 2022 vintage is still there.
    older = territory_indicators(
        TERRITORY, ref, CareData(apl=upload, apl_layers=care.apl_layers, apl_vintage=2022)
    ).set_index("indicator_id")
    assert older.loc["apl_ide", "vintage"] == "2022"
    assert older.loc["apl_ide", "territory"] > 0
    # The embedded layer itself is not modified by the merge.
    assert 2023 in embedded_apl(ref)["infirmier"].vintages
    assert embedded_apl(ref)["infirmier"].vintages[2023].by_unit.loc["13004", "apl"] != 80.0


def test_nurses_have_no_share_below(real_referential: Referential) -> None:
    ref = real_referential
    nurses = load_drees_apl(FIXTURES / "drees_apl_infirmiers_fixture.xlsx", referential=ref)
    table = territory_indicators(TERRITORY, ref, CareData(apl=nurses))
    loaded = table[table["loaded"]]["indicator_id"].tolist()
    assert loaded == ["population", "apl_ide"]


def test_indicator_selection(real_referential: Referential) -> None:
    table = territory_indicators(TERRITORY, real_referential, CareData(), indicators=["population"])
    assert table["indicator_id"].tolist() == ["population"]
    with pytest.raises(ValueError, match="Indicateur"):
        territory_indicators(TERRITORY, real_referential, CareData(), indicators=["nope"])
