"""DREES APL: profession wordings, DREES aggregation rules, embedded data, code resolution."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from coverage.loaders.apl import AplProfessionError, apl_data_from_rows, apl_summary, load_drees_apl
from coverage.loaders.embedded import EMBEDDED_DIR, embedded_apl, embedded_manifest
from coverage.loaders.normalise import CODE_EVENT_KINDS, attach_to_units, resolve_codes
from coverage.rules import apl_profession, apl_professions
from diagnosis.core.communes import resolve_commune_codes
from diagnosis.core.referential import Referential
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

FIXTURES = TESTS_DIR / "fixtures" / "coverage"


def test_rules_come_from_apl_toml() -> None:
    professions = apl_professions()
    assert [p.short for p in professions.values()] == ["mg", "ide", "mk", "sf", "cd"]
    assert apl_profession("mg").threshold == 2.5
    assert apl_profession("mg").unit == "consultations par an et par habitant standardisé"
    assert apl_profession("infirmier").threshold is None
    assert apl_profession("ide").unit == "ETP pour 100 000 habitants standardisés"
    with pytest.raises(ValueError, match="Profession APL inconnue"):
        apl_profession("pharmacien")


@pytest.mark.parametrize(
    ("short", "key"),
    [
        ("ide", "infirmier"),
        ("mk", "masseur_kinesitherapeute"),
        ("sf", "sage_femme"),
        ("cd", "chirurgien_dentiste"),
    ],
)
def test_each_profession_wording_is_recognised(
    short: str, key: str, real_referential: Referential
) -> None:
    data = load_drees_apl(
        FIXTURES / f"drees_apl_{short}_wording_fixture.xlsx", referential=real_referential
    )
    assert data.profession == key
    assert data.rules.short == short
    assert data.latest.by_unit.loc["13004", "apl"] == 80.0


def test_gp_wording_is_recognised(real_referential: Referential) -> None:
    data = load_drees_apl(FIXTURES / "drees_apl_fixture.xlsx", referential=real_referential)
    assert data.rules.short == "mg"


def test_unknown_profession_is_refused_naming_what_was_found(
    real_referential: Referential,
) -> None:
    with pytest.raises(AplProfessionError, match="profession non reconnue") as info:
        load_drees_apl(
            FIXTURES / "drees_apl_unknown_wording_fixture.xlsx", referential=real_referential
        )
    message = str(info.value)
    assert "APL aux pharmaciens" in message
    assert "sages-femmes" in message  # what was expected
    assert "/" not in message.split(" : ", 1)[1]  # no server path


def test_apl_summary_follows_drees_weights() -> None:
    table = pd.DataFrame(
        {
            "apl": [2.0, 4.0],
            "population_standardised": [300.0, 100.0],
            "population": [100.0, 300.0],
        }
    )
    summary = apl_summary(table)
    # Mean weighted by the standardised population; share below with total population.
    assert summary["mean_apl"] == pytest.approx((2.0 * 300 + 4.0 * 100) / 400)
    assert summary["share_below"] == pytest.approx(100 / 400)
    assert np.isnan(apl_summary(table, threshold=None)["share_below"])


def test_former_codes_combine_with_standardised_weights(real_referential: Referential) -> None:
    # Albiosc (04003) merged into Esparron-de-Verdon (04081).
    rows = pd.DataFrame(
        {
            "code": ["04003", "04081"],
            "name": ["Albiosc", "Esparron-de-Verdon"],
            "apl": [2.0, 3.0],
            "apl_under65": [np.nan, np.nan],
            "population_standardised": [300.0, 100.0],
            "population": [100.0, 300.0],
        }
    )
    before = rows.copy()
    data = apl_data_from_rows(apl_profession("mg"), {2023: rows}, referential=real_referential)
    pd.testing.assert_frame_equal(rows, before)
    unit = data.vintages[2023].by_unit.loc["04081"]
    assert unit["apl"] == pytest.approx((2.0 * 300 + 3.0 * 100) / 400)
    assert unit["population"] == 400 and unit["population_standardised"] == 400
    report = data.vintages[2023].report
    assert set(report["kind"]) == {"former_code", "merged"}


def test_embedded_manifest_and_files() -> None:
    manifest = embedded_manifest()
    assert manifest["licence"].startswith("Licence Ouverte")
    assert manifest["source"].startswith("https://data.drees.solidarites-sante.gouv.fr/")
    assert manifest["vintages"] == [2022, 2023]
    on_disk = json.loads((EMBEDDED_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    for entry in manifest["files"]:
        frame = pd.read_parquet(EMBEDDED_DIR / entry["file"])
        counts = frame["vintage"].value_counts()
        assert {str(v): int(n) for v, n in counts.items()} == entry["rows"]
        assert len(entry["source_sha256"]) == 64
    assert sum((EMBEDDED_DIR / e["file"]).stat().st_size for e in manifest["files"]) < 3_000_000


# National figures published with the DREES workbooks (domain reference, section 3):
# mean weighted by standardised population, share below with total population.
NATIONAL = [
    ("medecin_generaliste", 2023, 3.7446, 0.1663),
    ("medecin_generaliste", 2022, 3.789, 0.1488),
    ("infirmier", 2023, 156.03, None),
    ("infirmier", 2022, 156.45, None),
]


@pytest.mark.parametrize(("profession", "vintage", "mean", "share"), NATIONAL)
def test_embedded_data_reproduces_national_figures(
    profession: str, vintage: int, mean: float, share: float | None, real_referential: Referential
) -> None:
    data = embedded_apl(real_referential)[profession]
    threshold = data.rules.threshold
    digits = len(str(mean).split(".")[1])
    rows = apl_summary(data.vintages[vintage].rows, threshold=threshold)
    by_unit = apl_summary(data.vintages[vintage].by_unit, threshold=threshold)
    assert round(rows["mean_apl"], digits) == mean
    # Combining former communes keeps the standardised-population weighted mean.
    assert by_unit["mean_apl"] == pytest.approx(rows["mean_apl"], rel=1e-12)
    assert by_unit["population"] == rows["population"]
    if share is None:
        assert threshold is None and np.isnan(rows["share_below"])
        assert np.isnan(by_unit["share_below"])
    else:
        assert round(rows["share_below"], 4) == share
        # A merged commune is under the threshold as a whole or not at all.
        assert by_unit["share_below"] == pytest.approx(share, abs=1e-4)
    assert data.vintages[vintage].report["kind"].isin(["former_code", "merged"]).all()


def test_vectorised_resolution_matches_the_importer(real_referential: Referential) -> None:
    ref = real_referential
    sample = [
        "13004",
        13004,
        1001,
        1001.0,
        " '01 001",
        "04003",  # former code
        "13055",  # PLM parent
        "75056",
        "69123",
        "20004",  # Corsica, old numbering (a former code in the referential)
        "2a004",
        "99999",
        "",
        "abc",
        *ref.former_codes["former_code"].head(200).tolist(),
        *ref.units.index[::500].tolist(),
    ]
    fast = resolve_codes(pd.Series(sample, dtype=object), referential=ref)
    naive = resolve_commune_codes(pd.unique(pd.Series(sample, dtype=object)), referential=ref)
    naive = naive.assign(status=naive["status"].replace({"ambiguous": "unknown"}))
    assert len(fast) == len(naive)
    for got, want in zip(fast.itertuples(), naive.itertuples(), strict=True):
        assert got.status == want.status, got.written
        if want.status != "unknown":
            assert got.code == want.code, got.written
            assert [m for _, m in got.events] == list(want.events), got.written
    kinds = {kind for events in fast["events"] for kind, _ in events}
    assert kinds <= set(CODE_EVENT_KINDS)
    assert {"leading_zero_restored", "former_code", "code_cleaned"} <= kinds


def test_attach_to_units_does_not_modify_input(real_referential: Referential) -> None:
    frame = pd.DataFrame({"code": ["13004", "1001", "13055"], "n": [1.0, 2.0, 3.0]})
    before = frame.copy()
    attached = attach_to_units(
        frame, code_column="code", referential=real_referential, sum_columns=["n"]
    )
    pd.testing.assert_frame_equal(frame, before)
    assert attached.table.loc["01001", "n"] == 2.0
    assert attached.report.loc[attached.report["kind"] == "code_normalised", "event"].tolist() == [
        "leading_zero_restored"
    ]
