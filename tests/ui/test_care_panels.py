"""Care panels: priority white zones, the APL map layer and the what-if, without a browser."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from diagnosis.core.referential import Referential
from tests.coverage.test_priority import APL, UNITS, apl_data
from ui import care_panels, maps


def squares(codes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": codes, "name": [f"Commune <b>{c}</b>" for c in codes]},
        geometry=[shapely.box(5 + k * 0.01, 45, 5.01 + k * 0.01, 45.01) for k in range(len(codes))],
        crs=4326,
    )


def test_apl_layer_is_hidden_classed_and_french() -> None:
    frame = squares(["A", "F", "B", "Z"])
    layer = care_panels.apl_layer(frame, APL)
    assert layer.name == "APL aux médecins généralistes"
    assert layer.show is False and layer.simplify_deg is None
    assert care_panels.apl_layer(frame, APL, simplify_deg=0.01).simplify_deg == 0.01
    shown = layer.frame.set_index("code")
    assert shown.loc["A", "apl_fr"] == "2,00"
    assert shown.loc["Z", "apl_fr"] == "non disponible"
    assert shown.loc["A", "apl_class_fr"] == "moins de 2,5 (sous le seuil)"
    assert shown.loc["F", "apl_class_fr"] == "2,5 à moins de 3"
    assert shown.loc["A", "apl_fill"] != shown.loc["B", "apl_fill"]
    spec = maps.MapSpec(
        bounds=maps.bounds_of(frame),
        layers=(layer,),
        legend_title="Couverture",
        legend=care_panels.apl_legend_entries(APL),
    )
    html = maps.map_html(maps.build_map(spec))
    assert "APL aux m" in html  # the layer switcher (non-ASCII letters are escaped)
    assert "APL : moins de 2,5 (sous le seuil)" in html
    assert "<b>A</b>" not in html  # user text escaped where it becomes HTML
    labels = [e.label for e in care_panels.apl_legend_entries(APL)]
    assert labels[-1] == "APL non disponible" and labels[1] == "APL : 2,5 à moins de 3"


def test_priority_table_and_csv_for_people() -> None:
    from coverage.priority import priority_white_zones

    shown = care_panels.priority_table_for_people(priority_white_zones(UNITS, APL))
    assert list(shown.columns[:5]) == [
        "rang",
        "groupe de zone blanche",
        "communes",
        "habitants",
        "habitants sous le seuil d'APL",
    ]
    first = shown.iloc[0]
    assert first["part des habitants sous le seuil"] == "92,3\u202f%"
    assert first["APL moyenne (consultations par an et par habitant standardisé)"] == "1,75"
    assert first["habitants"] == "1\u202f300"
    diag = SimpleNamespace(white=SimpleNamespace(units=UNITS), status_min="emergence")
    text = care_panels.priority_white_zones_csv(diag, (APL,)).decode("utf-8-sig")  # type: ignore[arg-type]
    header, row = text.splitlines()[:2]
    assert header.startswith(
        "rang;groupe de zone blanche;communes;habitants;habitants sous le seuil d'APL;"
        "part des habitants sous le seuil (%);"
    )
    # As on screen: the share in percent with one decimal, the mean APL with two.
    assert row.startswith("1;2;3;1300;1200;92,3;2;1;1,75;2,5;")
    assert "millésime" in header
    nurses = apl_data({"A": (150.0, 10.0)}, profession="infirmier", label="infirmières")
    assert care_panels.gp_apl((nurses,)) is None
    assert care_panels.gp_apl((None, nurses)) is None and care_panels.gp_apl(None) is None
    chosen = care_panels.gp_apl((nurses, APL))
    assert chosen is not None and chosen.vintages[2023] is APL.vintages[2023]


def _priority_app() -> None:
    from types import SimpleNamespace

    from tests.coverage.test_priority import APL, UNITS
    from ui.care_panels import priority_white_zones_section

    diag = SimpleNamespace(white=SimpleNamespace(units=UNITS), status_min="emergence")
    priority_white_zones_section(diag, (APL,))  # type: ignore[arg-type]


def test_priority_section_draws() -> None:
    at = AppTest.from_function(_priority_app, default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["groupe de zone blanche"].tolist() == ["2", "1", "3", "4"]
    assert "DREES" in at.caption[0].value


def _whatif_app() -> None:
    import streamlit as st
    from pandas import DataFrame

    from coverage.care import CareData
    from coverage.loaders.supply import SupplyTable
    from tests.grid import cell, grid_referential
    from ui.care_panels import whatif_section

    ref = grid_referential()
    care = CareData()
    if st.session_state.get("with_rpps"):
        gps = DataFrame({"medecin_generaliste": [2.0]}, index=[cell(0, 0)])
        care.rpps = SupplyTable(gps, DataFrame(), "Annuaire santé (test)", 2, 2)
    whatif_section(ref, [cell(0, 0), cell(0, 1)], care)


def test_whatif_section_without_and_with_the_annuaire() -> None:
    at = AppTest.from_function(_whatif_app, default_timeout=60).run()
    assert not at.exception
    assert "Annuaire santé non chargé" in at.info[0].value
    assert "pas l'APL officielle" in at.caption[0].value
    # Without the Annuaire santé the change alone is shown, signed, and said to be a change.
    assert at.metric[0].label == "Territoire (moyenne pondérée) : variation"
    assert at.metric[0].value.startswith("+")
    assert at.metric[0].value.endswith("ETP pour 10 000 hab.")
    one_fte = float(at.metric[0].value.split()[0].replace(",", "."))
    assert one_fte > 0
    table = at.dataframe[0].value
    assert "variation (ETP pour 10 000 hab.)" in table.columns
    # The French decimal comma is read as such: "2,5" ETP is 2.5 times the change of 1 (not 25).
    at.text_input[0].input("2,5").run()
    assert not at.error
    two_and_a_half = float(at.metric[0].value.split()[0].replace(",", "."))
    assert two_and_a_half == pytest.approx(2.5 * one_fte, rel=1e-2)
    at.text_input[0].input("1").run()
    assert "avant (ETP pour 10 000 hab.)" not in table.columns

    at.session_state["with_rpps"] = True
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "avant (ETP pour 10 000 hab.)" in table.columns
    assert all(v.startswith("+") for v in table["variation (ETP pour 10 000 hab.)"])
    # With it, the territory reads before → after, the change signed in the delta.
    assert at.metric[0].label == "Territoire (moyenne pondérée)"
    before, after = (float(v.replace(",", ".")) for v in at.metric[0].value.split(" → "))
    delta = at.metric[0].delta
    assert delta.startswith("+") and delta.endswith("ETP pour 10 000 hab.")
    assert float(delta.split()[0].replace(",", ".")) == pytest.approx(after - before, abs=0.011)
    assert any("Offre actuelle de la commune : 2,0 ETP" in c.value for c in at.caption)
    at.text_input[0].input("-3").run()
    assert "retirer plus d'ETP" in at.error[0].value
    at.text_input[0].input("deux").run()
    assert "n'est pas un nombre d'ETP" in at.error[0].value


def test_whatif_figures_read_before_after_and_a_signed_change() -> None:
    row = {"accessibility_before": 2.4137, "accessibility_after": 2.7741, "change": 0.3604}
    assert care_panels.whatif_figures(row, known=True) == (
        "2,41 → 2,77",
        "+0,36 ETP pour 10 000 hab.",
    )
    unknown = {"accessibility_before": float("nan"), "accessibility_after": float("nan")}
    assert care_panels.whatif_figures({**unknown, "change": 0.356}, known=False) == (
        "+0,36 ETP pour 10 000 hab.",
        None,
    )
    # A removal is negative; a change that would round to zero keeps a third decimal.
    assert care_panels.whatif_figures({**unknown, "change": -0.0042}, known=False)[0] == (
        "-0,004 ETP pour 10 000 hab."
    )
    assert [care_panels.signed(v) for v in (1.2, -1.2, 0.0, float("nan"))] == [
        "+1,20",
        "-1,20",
        "0,00",
        "—",
    ]


@pytest.mark.parametrize(
    ("typed", "value"),
    [("2,5", 2.5), ("-1", -1.0), ("+0.5", 0.5), (" 3 ", 3.0), (",5", 0.5), ("100", 100.0)],
)
def test_parse_fte_reads_french_and_english_decimals(typed: str, value: float) -> None:
    from ui.care_panels import parse_fte

    assert parse_fte(typed) == value


@pytest.mark.parametrize("typed", ["", "deux", "2,5,1", "1e3", "100,5", "-101", "2.5.1", "--1"])
def test_parse_fte_refuses_what_is_not_a_number_of_fte(typed: str) -> None:
    from ui.care_panels import parse_fte

    assert parse_fte(typed) is None


def _national_whatif_app() -> None:
    from coverage.care import CareData
    from diagnosis.core.referential import load_referential
    from ui.care_panels import whatif_section

    whatif_section(load_referential(), ["13004", "13100", "13097"], CareData())


def test_whatif_section_at_national_scale(real_referential: Referential) -> None:
    at = AppTest.from_function(_national_whatif_app, default_timeout=120).run()
    assert not at.exception
    options = at.selectbox[0].options
    assert options[0] == "Arles (13004) · territoire"
    assert any(o.endswith("· à proximité") for o in options)
    nearby = next(o for o in options if "(13027)" in o)
    at.selectbox[0].set_value("13027")
    at.text_input[0].input("-2").run()
    assert not at.exception
    assert nearby.startswith("Châteaurenard")
    assert any("au moins 2,0 ETP" in c.value for c in at.caption)
    assert at.metric[0].value.startswith("-")
