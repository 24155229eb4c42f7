"""The territory profile's care panel and fiche: loaded indicators first, the rest in one line.

On the hand grid with no care file loaded, only the population is loaded: the
table shows it alone, one line names the files to load, and the printed fiche
cites only the sources actually used.
"""

from __future__ import annotations

import html as html_lib
import re

import pandas as pd

from coverage.care import CareData
from coverage.indicators import scope_names, territory_indicators
from diagnosis.analysis.checks import territory_summary
from diagnosis.core.aci import funding_rules, simulate_funding
from tests.grid import cell, grid_referential
from ui.profile import territory_fiche
from ui.profile.care import indicators_for_people, not_loaded_line
from ui.profile.funding import crisis_years, optional_missions

CODES = [cell(0, r) for r in range(4)]


def _indicators() -> tuple[pd.DataFrame, dict[str, str]]:
    ref = grid_referential()
    return territory_indicators(CODES, ref, CareData()), scope_names(CODES, ref)


def test_only_loaded_indicators_fill_the_table() -> None:
    indicators, scopes = _indicators()
    assert indicators["loaded"].sum() == 1  # the population
    table = indicators_for_people(indicators, scopes)
    assert table["indicateur"].tolist() == ["Population"]
    # Four communes of 1,000 inhabitants; Ain (01) has 12 of them, the region 20, France 21.
    assert table.iloc[0]["Territoire"] == "4\u202f000"
    assert table.iloc[0]["Ain (01)"] == "12\u202f000"
    assert table.iloc[0]["France"] == "21\u202f000"
    assert "état" not in table.columns and "non chargé" not in table.to_string()


def test_what_is_not_loaded_is_one_line_naming_the_files() -> None:
    indicators, _ = _indicators()
    line = not_loaded_line(indicators)
    n = int((~indicators["loaded"]).sum())
    assert line.startswith(f"Non chargé ({n} indicateurs) : ")
    assert line.endswith(", à charger dans « Données de soins » (barre latérale).")
    for source in ("Annuaire santé (RPPS)", "INSEE, BPE", "DREES, APL aux médecins généralistes"):
        assert line.count(source) == 1, source  # each file named once
    assert not_loaded_line(indicators[indicators["loaded"]]) == ""


def _texts(page: str, tag: str) -> list[str]:
    return [html_lib.unescape(t) for t in re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S)]


def test_the_fiche_lists_only_the_sources_used() -> None:
    ref = grid_referential()
    indicators, scopes = _indicators()
    diag = territory_summary(CODES, ref, name="Essai")
    frame = (
        ref.units.loc[CODES, ["name"]]
        .reset_index()
        .set_geometry(ref.units.loc[CODES].geometry.to_numpy())
    )
    page = territory_fiche(
        ref,
        CODES,
        diag=diag,
        funding=simulate_funding(int(diag.summary.iloc[0]["size_class"])),
        indicators=indicators,
        scopes=scopes,
        name="Essai",
        frame=frame.set_crs(4326),
    )
    cells = _texts(page, "td")
    assert "non chargé" not in cells
    assert "Population" in cells and "Annuaire santé (RPPS)" not in cells
    items = _texts(page, "li")
    assert "INSEE, population municipale 2023" in items
    assert not any(i in ("Annuaire santé (RPPS)", "INSEE, BPE") for i in items)
    # What was not loaded is said once, as a remark.
    assert sum(i.startswith("Non chargé") for i in items) == 1


def test_funding_options_come_from_the_rules() -> None:
    rules = funding_rules()
    optional = [line for line in rules.lines if line.kind == "mission_optionnelle"]
    assert list(optional_missions()) == [line.key for line in optional]
    assert optional_missions()["qualite_pertinence"] == "Qualité et pertinence"
    assert list(crisis_years()) == ["premiere_annee", "annees_suivantes"]
    assert crisis_years()["premiere_annee"] == "Élaboration du plan (première année)"


def test_the_fiche_lists_the_communes_already_claimed() -> None:
    ref = grid_referential()
    indicators, scopes = _indicators()
    diag = territory_summary(CODES, ref, name="Essai")
    frame = (
        ref.units.loc[CODES, ["name"]]
        .reset_index()
        .set_geometry(ref.units.loc[CODES].geometry.to_numpy())
    )
    claims = pd.DataFrame(
        {"code": [CODES[2]], "name": ["Commune <2>"], "population": [1234], "cpts": ["CPTS Est"]}
    )
    page = territory_fiche(
        ref,
        CODES,
        diag=diag,
        funding=simulate_funding(1),
        indicators=indicators,
        scopes=scopes,
        name="Essai",
        frame=frame.set_crs(4326),
        claims=claims,
    )
    assert "Communes déjà revendiquées par une CPTS des périmètres chargés" in page
    cells = _texts(page, "td")
    at = len(cells) - 1 - cells[::-1].index(CODES[2])  # the last table lists the claims
    assert cells[at - 1 : at + 3] == ["Commune <2>", CODES[2], "1\u202f234", "CPTS Est"]
    headers = _texts(page, "th")
    assert "déjà revendiquée par" in headers
    without = territory_fiche(
        ref,
        CODES,
        diag=diag,
        funding=simulate_funding(1),
        indicators=indicators,
        scopes=scopes,
        name="Essai",
        frame=frame.set_crs(4326),
    )
    assert "déjà revendiquées" not in without
