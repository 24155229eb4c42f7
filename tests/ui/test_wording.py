"""Wording defects seen on screen (issue 17 §8), each checked without a browser."""

from __future__ import annotations

import pandas as pd

from ui import fmt, maps
from ui.coverage_tab import export_name, no_cpts_message, proposals_for_people
from ui.sources import sources_markdown

MANIFEST = {
    "vintages": {"population": {"label": "population municipale 2023"}},
    "built_at": "2026-12-04T17:56:21+00:00",
    "counts": {"units": 34_917, "arrondissements": 45, "epci": 1_255},
    "sources": [],
}


def test_the_sources_panel_keeps_its_punctuation_and_writes_french_dates() -> None:
    text = sources_markdown(MANIFEST)
    assert "(Paris, Lyon, Marseille), 1\u202f255 EPCI." in text
    assert "34\u202f917 unités dont 45 arrondissements" in text
    assert "construit le 04/12/2026" in text and "2026-12-04" not in text


def test_one_formatter_shows_missing_figures_as_a_dash() -> None:
    assert fmt.number(float("nan")) == fmt.MISSING == "—"
    assert fmt.number(None) == "—" and fmt.share(None) == "—" and fmt.euros(None) == "—"
    assert fmt.number(1234567) == "1\u202f234\u202f567" and fmt.number(3.756, 2) == "3,76"
    assert fmt.share(0.981) == "98,1\u202f%" and fmt.euros(287500) == "287\u202f500\u202f€"
    assert fmt.date("2026-12-04T17:56:21+00:00") == "04/12/2026" and fmt.date("") == "—"


def test_leaflet_zoom_buttons_are_french() -> None:
    html = maps.map_html(maps.base_map((5.0, 45.0, 6.0, 46.0)))
    assert '"zoomControl": false' in html  # Leaflet's English control is off…
    assert '"zoomInTitle": "Zoom avant"' in html  # …and a French one is added
    assert "Zoom in" not in html


def test_an_empty_table_says_why() -> None:
    assert no_cpts_message("Durance", "aci_signe") == "Aucune CPTS ne correspond à la recherche."
    empty_search = no_cpts_message("  ", "aci_signe")
    assert "recherche" not in empty_search and "ACI signé" in empty_search


def test_export_names_say_their_scope_and_threshold() -> None:
    names = {
        export_name("couverture", scope, status, "xlsx")
        for scope in ("France entière", "Provence-Alpes-Côte d'Azur", "Var (83)")
        for status in ("emergence", "aci_signe")
    }
    assert len(names) == 6  # successive downloads no longer overwrite each other
    assert "atlas_cpts_couverture_var-83_emergence.xlsx" in names


def test_proposals_write_the_size_as_other_tables() -> None:
    proposals = pd.DataFrame(
        {
            "proposal_id": ["P1"],
            "kind": ["nouveau_perimetre"],
            "n_units": [12],
            "population": [181_000],
            "size_class": [4],
            "epcis": ["CA Exemple"],
            "evidence": ["…"],
        }
    )
    shown = proposals_for_people(proposals)
    assert shown.iloc[0]["taille ACI"] == "Taille 4"
