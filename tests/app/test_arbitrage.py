"""The Arbitrage workflow with three parties (AppTest), its fiche and its workbook.

On the ARS-like listing ``tests/fixtures/listings/ars_regional.csv``,
Aix-en-Provence (13001) is claimed by three CPTS and Arles (13004) by two.
"""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.analysis.disputes import compare_parties, dispute_groups
from diagnosis.core.model import SHARE_COLUMNS
from diagnosis.core.referential import Referential
from tests.app.test_scopes_workflows_files import fr_int, library_diagnosis, metrics, ok, start

pytestmark = pytest.mark.referential

LISTING = "ars_regional.csv"
AIX = "13001"


def options_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "côté" in d.value.columns and "option" in d.value)


def aix_group() -> tuple[object, list[str]]:
    diag = library_diagnosis(LISTING, "paca", "emergence")
    groups = dispute_groups(diag.membership)
    return diag, [str(p) for p in groups.iloc[0]["perimeter_ids"]]


def test_three_parties_around_aix(real_referential: Referential) -> None:
    diag, ids = aix_group()
    assert len(ids) == 3
    at = start("paca", LISTING)
    at.radio(key="workflow").set_value("arbitrage").run()
    ok(at)
    # The groups: the three CPTS around Aix first (most inhabitants at stake), then Arles's pair.
    groups = at.selectbox(key="dispute_group")
    assert len(groups.options) == 2
    names = diag.membership.perimeters.set_index("perimeter_id").loc[ids, "name"]
    assert groups.options[0].startswith(" / ".join(names))
    shown = metrics(at)
    assert shown["Communes disputées"] == "1"
    assert shown["Habitants en jeu"] == fr_int(int(real_referential.units.loc[AIX, "population"]))
    assert "A / B / C sans les communes disputées" in shown
    options = options_table(at)
    assert set(names) <= set(options["projet"])
    assert set(options["côté"]) == {"A", "B", "C", "A+B+C"}
    # Aix is proposed as shared (more than 20,000 inhabitants): two sliders, C gets the rest.
    key = "-".join(ids)
    assert at.multiselect(key=f"dispute_shared_{key}").value == [AIX]
    at.slider(key=f"dispute_share_{key}_{AIX}_A").set_value(50).run()
    at.slider(key=f"dispute_share_{key}_{AIX}_B").set_value(30).run()
    ok(at)
    shares = pd.DataFrame(
        {"perimeter_id": ids, "code": AIX, "share": [0.5, 0.3, 0.2]}, columns=SHARE_COLUMNS
    )
    expected = compare_parties(diag.membership, diag.referential, ids, shares=shares)
    shared = expected.options[expected.options["option"] == "partage_population"]
    options = options_table(at)
    shown_rows = options[options["option"].str.startswith("Communes partagées")]
    assert shown_rows["habitants"].tolist() == [fr_int(int(p)) for p in shared["population"]]
    assert len(options) == 3 + 3 * 3 + 3 + 3 + 3 + 1
    # The shares are applied to the other views of the session.
    at.button(key=f"dispute_apply_{key}").click().run()
    ok(at)
    applied = at.session_state["arbitrage_shares"]
    assert sorted(applied[SHARE_COLUMNS].itertuples(index=False, name=None)) == sorted(
        expected.shares[SHARE_COLUMNS].itertuples(index=False, name=None)
    )
    assert any("Partage appliqué aux autres vues" in c.value for c in at.caption)
    # Over 100 %: refused in French, the shared option disappears, nothing crashes.
    at.slider(key=f"dispute_share_{key}_{AIX}_B").set_value(60).run()
    ok(at)
    errors = " ".join(e.value for e in at.error)
    assert "Partage refusé" in errors and "dépassent 100" in errors
    assert not options_table(at)["option"].str.startswith("Communes partagées").any()
    # The applied shares stay until the committee removes them.
    assert "arbitrage_shares" in at.session_state
    at.button(key="dispute_apply_clear").click().run()
    ok(at)
    assert "arbitrage_shares" not in at.session_state


def test_any_three_projects_chosen_by_hand(real_referential: Referential) -> None:
    diag = library_diagnosis(LISTING, "paca", "emergence")
    pairs = diag.overlap_pairs
    arles = pairs[pairs["codes"].map(lambda c: "13004" in c)].iloc[0]
    _, aix = aix_group()
    chosen = [str(arles["perimeter_a"]), str(arles["perimeter_b"]), aix[0]]
    at = start("paca", LISTING)
    at.radio(key="workflow").set_value("arbitrage").run()
    at.radio(key="dispute_mode").set_value("libre").run()
    at.multiselect(key="dispute_parties").set_value(chosen).run()
    ok(at)
    shown = metrics(at)
    assert shown["Communes disputées"] == "1"  # Arles: the Aix CPTS claims neither
    arles_population = int(real_referential.units.loc["13004", "population"])
    assert shown["Habitants en jeu"] == fr_int(arles_population)
    # One project only: nothing to compare, said in words.
    at.multiselect(key="dispute_parties").set_value(chosen[:1]).run()
    ok(at)
    assert any("au moins deux projets" in i.value for i in at.info)
    assert not at.metric


def _three_party_dispute():
    from ui.dispute_tab import dispute_frames, party_names

    diag, ids = aix_group()
    shares = pd.DataFrame({"perimeter_id": ids, "code": AIX, "share": [0.5, 0.3, 0.2]})
    dispute = compare_parties(diag.membership, diag.referential, ids, shares=shares)
    return dispute, dispute_frames(dispute), party_names(dispute)


def test_arbitration_fiche_names_every_party(real_referential: Referential) -> None:
    from tests.app.test_french import html_texts, scan
    from ui.dispute_tab import dispute_fiche

    dispute, frames, names = _three_party_dispute()
    page = dispute_fiche(dispute, frames, names)
    shown = html_texts(page)
    # Subtitled as an arbitration fiche (it said "Fiche diagnostic", issue 17 §8).
    assert any(t.startswith("Fiche d'arbitrage Atlas CPTS, édition du") for t in shown)
    assert "Fiche diagnostic" not in page
    assert scan(shown) == []
    title = next(t for t in shown if t.startswith("Arbitrage : "))
    for letter, name in names.items():
        assert name in title
        assert f"{letter} : {name}" in shown  # the legend
    assert "Revendiquée par plusieurs projets" in shown
    assert shown[shown.index("projets") - 1] == "3"
    assert "Projets réunis : un seul périmètre, union des communes" in shown
    assert "A 50\u202f% · B 30\u202f% · C 20\u202f%" in shown
    # Every party is drawn in its own colour, and the contested commune in red.
    from ui.dispute_tab import PARTY_COLORS
    from ui.maps import CONTESTED_COLOR

    for colour in (*PARTY_COLORS[:3], CONTESTED_COLOR):
        assert f'fill="{colour}"' in page


def test_arbitration_workbook_has_names_next_to_ids(real_referential: Referential) -> None:
    from diagnosis.outputs.disputes import dispute_workbook

    dispute, _, names = _three_party_dispute()
    book = openpyxl.load_workbook(io.BytesIO(dispute_workbook(dispute)), read_only=True)
    headers = {
        sheet.title: list(next(sheet.iter_rows(values_only=True, max_row=1)))
        for sheet in book.worksheets
    }
    assert set(headers) == {
        "Parties",
        "Options de partage",
        "Bilan des options",
        "Communes disputées",
        "Parts des communes partagées",
    }
    for title, columns in headers.items():
        if "identifiant" in columns:
            assert "projet" in columns, title
        if "code INSEE" in columns:
            assert "commune" in columns, title
    parties = book["Parties"]
    rows = list(parties.iter_rows(values_only=True))[1:]
    assert [r[headers["Parties"].index("projet")] for r in rows] == list(names.values())


@pytest.mark.parametrize(
    ("n_parties", "expected"),
    [
        ([2], "1 groupe de projets revendique les mêmes communes."),
        ([3], "1 groupe de projets revendique les mêmes communes (plus de deux projets)."),
        (
            [3, 2],
            "2 groupes de projets revendiquent les mêmes communes (dont 1 de plus de deux "
            "projets), classés par habitants en jeu.",
        ),
        (
            [2, 2],
            "2 groupes de projets revendiquent les mêmes communes, classés par habitants en jeu.",
        ),
    ],
)
def test_groups_caption_agrees_in_number(n_parties: list[int], expected: str) -> None:
    from ui.dispute_tab import _groups_caption

    assert _groups_caption(pd.DataFrame({"n_parties": n_parties})) == expected
