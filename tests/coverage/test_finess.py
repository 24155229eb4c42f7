"""FINESS loader: official format, Corsica and overseas communes, report, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from coverage.care import CareData
from coverage.indicators import territory_indicators
from coverage.loaders.finess import FINESS_COLUMNS, load_finess
from coverage.loaders.supply import load_population_ages
from diagnosis.core.referential import Referential
from diagnosis.errors import FileReadError
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

FIXTURES = TESTS_DIR / "fixtures" / "coverage"
FIXTURE = FIXTURES / "finess_fixture.csv"


def test_finess_fixture_points(real_referential: Referential) -> None:
    table = load_finess(FIXTURE, referential=real_referential)
    points = table.points.set_index("finess")
    assert list(table.points.columns) == FINESS_COLUMNS
    assert table.rows_read == 7  # complete structureet lines
    assert table.rows_used == 5
    assert sorted(points.index) == [
        "010000024",
        "010000107",
        "2A0000011",
        "2A0000029",
        "970400015",
    ]
    assert points.loc["010000024", "code"] == "01053"
    assert points.loc["010000024", "category_key"] == "hopital"
    assert points.loc["2A0000011", "code"] == "2A004"
    assert points.loc["2A0000011", "category_key"] == "pharmacie"
    assert points.loc["2A0000029", "category_key"] == "msp"
    assert points.loc["970400015", "code"] == "97411"
    assert points.loc["970400015", "category_key"] == "centre_sante"
    assert points.loc["970400015", "category_label"] == "Centres de santé"
    assert points.loc["970400015", "name"] == "CENTRE DE SANTÉ DU BUTOR"  # Latin-1 decoded
    # Back to WGS84 from Lambert-93 (mainland, Corsica) and UTM 40S (La Réunion).
    assert points.loc["010000024", ["lon", "lat"]].tolist() == pytest.approx(
        [5.2256, 46.2052], abs=1e-4
    )
    assert points.loc["2A0000011", ["lon", "lat"]].tolist() == pytest.approx(
        [8.7369, 41.9267], abs=1e-4
    )
    assert points.loc["970400015", ["lon", "lat"]].tolist() == pytest.approx(
        [55.4504, -20.8823], abs=1e-4
    )
    assert points["lon"].isna().sum() == 1  # the pharmacy without geolocation
    assert table.source == "FINESS, extraction du fichier des établissements 2026"


def test_finess_report_counts_what_is_not_used(real_referential: Referential) -> None:
    report = load_finess(FIXTURE, referential=real_referential).report.set_index("kind")
    assert report.loc["category_not_kept", "rows"] == 1  # the EHPAD
    assert report.loc["unknown_commune", "rows"] == 1
    assert "99999" in report.loc["unknown_commune", "detail"]
    assert report.loc["no_coordinates", "rows"] == 1
    malformed = report.loc[["malformed_line"], "rows"]
    assert int(malformed.sum()) == 2  # the truncated line and the unknown kind


def test_finess_counts_by_unit(real_referential: Referential) -> None:
    by_unit = load_finess(FIXTURE, referential=real_referential).by_unit
    assert list(by_unit.columns) == ["msp", "centre_sante", "pharmacie", "hopital"]
    assert by_unit.loc["2A004"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert by_unit.loc["01053"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert by_unit.loc["97411", "centre_sante"] == 1.0


def test_finess_utf8_and_overseas_letter_codes(real_referential: Referential) -> None:
    text = FIXTURE.read_bytes().decode("latin-1")
    for written in (";411;9D;", ";11;974;"):
        changed = text.replace(";411;974;", written)
        points = load_finess(changed.encode("utf-8"), referential=real_referential).points
        assert points.set_index("finess").loc["970400015", "code"] == "97411"
    # A file without its header line loses no establishment.
    headless = "\n".join(text.splitlines()[1:])
    assert load_finess(headless.encode("utf-8"), referential=real_referential).rows_used == 5
    # The CRS named in sourcecoordet wins over the zone's (here the same one, named).
    named = text.replace("V2.2,UTM_S40", "EPSG:2975 RGR92/UTM zone 40S")
    points = load_finess(named.encode("utf-8"), referential=real_referential).points.set_index(
        "finess"
    )
    assert points.loc["970400015", "name"] == "CENTRE DE SANTÉ DU BUTOR"
    assert points.loc["970400015", ["lon", "lat"]].tolist() == pytest.approx(
        [55.4504, -20.8823], abs=1e-4
    )


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"DEPCOM;TYPEQU;NB_EQUIP\n01053;D201;3\n",
        b"finess;etalab;100;2026-10-05\ngeolocalisation;010000024;1;2;x;2026-10-01\n",
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ],
)
def test_finess_refuses_other_files(content: bytes, real_referential: Referential) -> None:
    with pytest.raises(FileReadError) as info:
        load_finess(content, referential=real_referential)
    message = str(info.value)
    assert "n'est pas une extraction FINESS" in message
    assert "etalab-cs1100507" in message
    assert "/" not in message.split("Attendu", maxsplit=1)[0]  # no server path


def test_finess_and_age_band_indicators(real_referential: Referential) -> None:
    ref = real_referential
    nothing = territory_indicators(["2A004"], ref, CareData()).set_index("indicator_id")
    finess_ids = [f"finess_{k}_count" for k in ("msp", "centre_sante", "pharmacie", "hopital")]
    band_ids = [f"share_{b}" for b in ("00_14", "15_29", "30_44", "45_59", "60_74")]
    for indicator in finess_ids + band_ids:
        assert not nothing.loc[indicator, "loaded"]
        assert np.isnan(nothing.loc[indicator, "territory"])
    care = CareData(
        finess=load_finess(FIXTURE, referential=ref),
        ages=load_population_ages(FIXTURES / "TD_POP1B_2021_fixture.csv", referential=ref),
    )
    rows = territory_indicators(["2A004"], ref, care).set_index("indicator_id")
    assert rows.loc["finess_pharmacie_count", "territory"] == 1
    assert rows.loc["finess_pharmacie_count", "france"] == 2  # 01053 and 2A004
    assert rows.loc["finess_msp_count", "region"] == 1
    assert rows.loc["finess_hopital_count", "territory"] == 0
    assert rows.loc["finess_hopital_count", "france"] == 1
    assert rows.loc["finess_centre_sante_count", "france"] == 1
    assert rows.loc["finess_msp_count", "loaded"]
    assert rows.loc["finess_msp_count", "source"].startswith("FINESS")
    # Ages: 10 people of each sex at each single age 0..100 in 13004 and 13097.
    arles = territory_indicators(["13004"], ref, care).set_index("indicator_id")
    assert arles.loc["share_00_14", "territory"] == pytest.approx(15 / 101)
    assert arles.loc["share_60_74", "territory"] == pytest.approx(15 / 101)
    total = sum(arles.loc[i, "territory"] for i in [*band_ids, "share_75_plus"])
    assert total == pytest.approx(1.0)
    assert arles.loc["share_30_44", "france"] == pytest.approx(15 / 101)
