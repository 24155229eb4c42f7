"""Issue 10's matrix: scopes × workflows × files × thresholds, through the whole app (AppTest).

Each case drives the dashboard as a user would (scope, file, threshold,
workflow) and checks that nothing crashed and that the figures shown match an
independent computation: the library run in the test, and hand counts from
the listings of ``tests/fixtures/listings`` (see its README). An empty result
must be a warning, never a green success.

Not the full cartesian product (it would take far more than the few minutes
a run may cost): each scope, each workflow, each file and each threshold is
covered at least once, with the risky combinations (a department, a file
outside the scope, a file without status above "emergence").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.analysis.disputes import compare_perimeters, dispute_groups
from diagnosis.analysis.pipeline import Diagnosis, run_diagnosis
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.statuses import status_name
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.paths import EXAMPLES_DIR
from tests.browser import PROJECT_DIR
from tests.paths import TESTS_DIR
from ui.coverage_tab import uncovered_metric_label

pytestmark = pytest.mark.referential

APP = str(PROJECT_DIR / "app.py")
LISTINGS = TESTS_DIR / "fixtures" / "listings"
NNBSP = "\u202f"

#: Scope name → (region, department); "" is "France entière".
SCOPES = {
    "france": ("", None),
    "paca": ("93", None),
    "bdr": ("93", "13"),
    "var": ("93", "83"),
    "ille": ("53", "35"),
}
EXAMPLE = "exemple_fictif_paca_couverture.csv"


def fr_int(n: int) -> str:
    """A count written the French way (narrow no-break space between thousands)."""
    return f"{n:,}".replace(",", NNBSP)


def fr_share(x: float) -> str:
    """A share as shown by the dashboard ("23,9 %")."""
    return f"{100 * x:.1f}".replace(".", ",") + f"{NNBSP}%"


def file_bytes(name: str) -> bytes:
    return (EXAMPLES_DIR / name if name == EXAMPLE else LISTINGS / name).read_bytes()


def scoped_ref(scope: str) -> Referential:
    region, department = SCOPES[scope]
    if department:
        return load_referential(department=department)
    if region:
        return load_referential(region=region)
    return load_referential()


def library_diagnosis(name: str, scope: str, status_min: str) -> Diagnosis:
    """The diagnosis computed by the library alone, for the scope the app is set to."""
    region, department = SCOPES[scope]
    imported = import_perimeters(
        file_bytes(name),
        filename=name,
        referential=load_referential(),
        region=None if department else (region or None),
        department=department,
    )
    return run_diagnosis(imported, scoped_ref(scope), status_min=status_min)  # type: ignore[arg-type]


def start(scope: str, name: str, *, status_min: str = "emergence") -> AppTest:
    """The app set to a scope, a file (the embedded example or an upload) and a threshold."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    ok(at)
    region, department = SCOPES[scope]
    if region != "93":
        at.sidebar.selectbox(key="scope_region").set_value(region).run()
        ok(at)
    if department:
        at.sidebar.selectbox(key="scope_department").set_value(department).run()
        ok(at)
    if name != EXAMPLE:
        at.sidebar.radio(key="perimeter_choice").set_value("fichier").run()
        at.sidebar.get("file_uploader")[0].set_value((name, file_bytes(name), "text/csv")).run()
        ok(at)
    if status_min != "emergence":
        at.sidebar.selectbox(key="status_min").set_value(status_min).run()
        ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(blocks: object) -> str:
    return " ".join(b.value for b in blocks)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# Couverture
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    scope: str
    file: str
    status_min: str = "emergence"


COVERAGE_CASES = [
    Case("france", EXAMPLE),
    Case("france", EXAMPLE, "aci_signe"),
    Case("paca", "ars_regional.csv"),
    Case("paca", "partly_outside.csv", "aci_signe"),
    Case("paca", "unknown_codes.csv"),
    Case("bdr", EXAMPLE, "aci_signe"),
    Case("paca", EXAMPLE, "projet_sante"),
    Case("bdr", "ars_regional.csv"),
    Case("bdr", "no_status.csv"),
    Case("ille", "brittany.csv"),
    Case("ille", "brittany.csv", "aci_signe"),
    Case("france", "idf_stades.csv"),
]


@pytest.mark.parametrize("case", COVERAGE_CASES, ids=lambda c: f"{c.scope}-{c.file}-{c.status_min}")
def test_coverage_figures_match_the_library(real_referential: Referential, case: Case) -> None:
    at = start(case.scope, case.file, status_min=case.status_min)
    diag = library_diagnosis(case.file, case.scope, case.status_min)
    assert not at.sidebar.error, texts(at.sidebar.error)
    shown = metrics(at)
    # The figure counts the perimeters with at least one commune in the scope.
    assert shown["Périmètres"] == fr_int(int((diag.perimeters.summary["n_units"] > 0).sum()))
    assert shown["Population couverte"] == fr_share(
        diag.coverage_at_threshold().iloc[0]["share_covered"]
    )
    # Above emergence, "zone blanche" is kept for communes in no project (issue 20).
    label = uncovered_metric_label(case.status_min)
    assert label == (
        "Communes en zone blanche"
        if case.status_min == "emergence"
        else f"Communes non couvertes par une CPTS au stade « {status_name(case.status_min)} » "
        "ou au-delà"
    )
    assert shown[label] == fr_int(len(diag.white.units))
    assert shown["Communes en chevauchement"] == fr_int(len(diag.overlaps))
    # The per-CPTS table lists the perimeters of the threshold, and the exports are offered.
    assert "Classeur Excel des tableaux" in [b.label for b in at.get("download_button")]
    # Coverage by stage: one row per scope of the library; a department alone has no region
    # row (it would show the department's figures under the region's name).
    rates = next(d.value for d in at.dataframe if "territoire" in d.value.columns)
    assert rates["territoire"].tolist() == diag.coverage.drop_duplicates("scope")["name"].tolist()
    departments = {"bdr": ["Bouches-du-Rhône"], "ille": ["Ille-et-Vilaine"]}
    if case.scope in departments:
        assert rates["territoire"].tolist() == departments[case.scope]


def _covered_by_hand(ref: Referential, codes: set[str]) -> tuple[int, float]:
    """White-zone units and covered share, counted from the listing's codes by hand."""
    units = ref.units
    covered = units.index.isin(list(codes))
    share = float(units.loc[covered, "population"].sum() / units["population"].sum())
    return int((~covered).sum()), share


#: In-scope units of the ARS listing (04002 is a former code of 04167, outside the department).
ARS_13 = {
    "13001", "13109", "13095", "13111", "13012", "13113", "13059", "13074", "13080", "13082",
    "13032", "13114", "13118", "13091", "13004", "13096", "13078", "13097", "13044",
    "13201", "13202", "13203", "13056", "13077", "13026", "13098",
}  # fmt: skip
ARS_PACA = ARS_13 | {"04070", "04167"}


@pytest.mark.parametrize(("scope", "codes"), [("paca", ARS_PACA), ("bdr", ARS_13)])
def test_ars_listing_hand_counts(
    real_referential: Referential, scope: str, codes: set[str]
) -> None:
    """The regional listing: overlaps, white zones and coverage counted by hand."""
    at = start(scope, "ars_regional.csv")
    white, share = _covered_by_hand(scoped_ref(scope), codes)
    shown = metrics(at)
    assert shown["Communes en chevauchement"] == "2"  # Aix-en-Provence (3 CPTS) and Arles (2)
    # The stage caption says the perimeters without status are counted at "emergence".
    n_in_scope = int(shown["Périmètres"])
    assert f"dont {n_in_scope} périmètres au statut non renseigné" in texts(at.caption)
    assert shown["Communes en zone blanche"] == fr_int(white)
    assert shown["Population couverte"] == fr_share(share)
    # The former code is reported, and the missing status said next to the stage selector.
    report = next(d.value for d in at.sidebar.dataframe if "valeur lue" in d.value.columns)
    assert "04002" in report["valeur lue"].astype(str).tolist()
    # The summary by type lists rejections and warnings before the information lines.
    summary = next(m.value for m in at.sidebar.markdown if "· " in m.value)
    assert "- avertissement · ancien code de commune" in summary
    assert summary.index("avertissement") < summary.index("- information · stade non renseigné")
    assert "aucun stade" in texts(at.sidebar.info)
    # No status: above "emergence" nothing is kept, and the page says why (a warning).
    at.sidebar.selectbox(key="status_min").set_value("aci_signe").run()
    ok(at)
    assert "Aucun périmètre n'atteint le stade" in texts(at.warning)
    shown = metrics(at)
    assert shown["Périmètres"] == "0"
    assert shown["Population couverte"] == fr_share(0.0)
    assert shown[uncovered_metric_label("aci_signe")] == fr_int(len(scoped_ref(scope).units))
    assert "Communes en zone blanche" not in shown


def test_ars_listing_counts_only_cpts_of_the_department(real_referential: Referential) -> None:
    at = start("bdr", "ars_regional.csv")
    assert metrics(at)["Périmètres"] == "7"


@pytest.mark.parametrize(
    ("scope", "name"),
    [
        ("paca", "brittany.csv"),
        ("bdr", "brittany.csv"),
        ("ille", EXAMPLE),
        ("paca", "header_only.csv"),
    ],
)
def test_empty_result_is_a_warning_not_a_success(
    real_referential: Referential, scope: str, name: str
) -> None:
    """A file wholly outside the scope, or with no row: a French warning, no crash, no success."""
    at = start(scope, name)
    assert not at.sidebar.success, texts(at.sidebar.success)
    if name == "header_only.csv":
        # A file with no data row is said to be empty, not to lie outside the scope.
        assert "aucun périmètre exploitable" in texts(at.sidebar.warning)
        assert "aucun périmètre exploitable" in texts(at.warning)
        assert "hors du périmètre" not in texts(at.warning) + texts(at.sidebar.warning)
    else:
        assert "Aucune commune du fichier n'est retenue" in texts(at.sidebar.warning)
        assert "Aucune commune du fichier n'est dans le périmètre d'étude" in texts(at.warning)
    assert not at.metric
    if name == "brittany.csv":
        # Outside the view is said with its count, in one neutral line (issue 17).
        assert "4 communes du fichier sont hors de la vue" in texts(at.sidebar.info)


def test_partly_outside_says_how_many_communes_are_outside_the_view(
    real_referential: Referential,
) -> None:
    """Issue 17: communes outside the view are context, not rejections: a neutral line."""
    at = start("bdr", "partly_outside.csv")
    assert "2 communes du fichier sont hors de la vue" in texts(at.sidebar.info)
    info = texts(at.sidebar.info)
    # CPTS Bruz reaches the Ille-et-Vilaine; CPTS Toulon is wholly in the Var, not shown.
    assert "1 périmètre déborde de la vue" in info
    assert "1 périmètre n'a aucune commune dans la vue" in info
    assert not at.sidebar.warning  # nothing was rejected: no warning, no point to check
    assert "0 point à vérifier" in " ".join(e.label for e in at.sidebar.expander)
    covered = {"13103", "13044", "13063", "13041"}
    white, share = _covered_by_hand(scoped_ref("bdr"), covered)
    shown = metrics(at)
    assert shown["Communes en zone blanche"] == fr_int(white)
    assert shown["Population couverte"] == fr_share(share)


def test_unknown_codes_are_rejected_with_a_warning(real_referential: Referential) -> None:
    at = start("paca", "unknown_codes.csv")
    assert not at.sidebar.success
    assert "3 valeur(s) rejetée(s)" in texts(at.sidebar.warning)
    assert metrics(at)["Périmètres"] == "1"


def test_no_status_file_explains_the_threshold(real_referential: Referential) -> None:
    at = start("paca", "no_status.csv", status_min="aci_signe")
    assert "aucun périmètre n'est retenu" in texts(at.sidebar.info)
    assert "Aucun périmètre n'atteint le stade" in texts(at.warning)
    # The same file at every stage: 2 perimeters, La Ciotat and Aubagne share Aubagne.
    at.sidebar.selectbox(key="status_min").set_value("emergence").run()
    ok(at)
    shown = metrics(at)
    assert shown["Périmètres"] == "2"
    assert shown["Communes en chevauchement"] == "1"


def test_no_status_legend_says_not_given(real_referential: Referential) -> None:
    """The coverage map of a file without status: its legend says the stage is not given."""
    from ui.coverage_tab import coverage_layers, coverage_map

    diag = library_diagnosis("no_status.csv", "bdr", "emergence")
    layers = coverage_layers(diag)
    labels = [entry.label for entry in coverage_map(layers).legend]
    assert "Statut non renseigné" in labels
    assert "Statut inconnu" not in labels
    # The tooltip of each CPTS says the same.
    assert set(layers["perimeters"]["status_fr"]) == {"Statut non renseigné"}


def test_france_workbook_loses_no_cell(real_referential: Referential) -> None:
    from diagnosis.outputs.export import people_workbook

    diag = library_diagnosis(EXAMPLE, "france", "emergence")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert people_workbook(diag)


def test_idf_listing_stage_labels_are_read(real_referential: Referential) -> None:
    at = start("france", "idf_stades.csv", status_min="aci_signe")
    ok(at)
    # "en activité" and "en fonctionnement" are signed CPTS: Paris 13 and Boulogne.
    assert metrics(at)["Périmètres"] == "2"


def test_idf_listing_at_region_scope(real_referential: Referential) -> None:
    """The Île-de-France listing in its own region: populations right, whatever the stages."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.sidebar.selectbox(key="scope_region").set_value("11").run()
    at.sidebar.radio(key="perimeter_choice").set_value("fichier").run()
    blob = file_bytes("idf_stades.csv")
    at.sidebar.get("file_uploader")[0].set_value(("idf_stades.csv", blob, "text/csv")).run()
    ok(at)
    ref = load_referential(region="11")
    codes = {"75113", "92012", "92040", "92075", "94028", "93066", "93001"}
    white, share = _covered_by_hand(ref, codes)
    shown = metrics(at)
    assert shown["Périmètres"] == "5"
    assert shown["Communes en zone blanche"] == fr_int(white)
    assert shown["Population couverte"] == fr_share(share)


# --------------------------------------------------------------------------
# Issue 17: whole perimeters in department views, shared cities
# --------------------------------------------------------------------------


def cpts_table(at: AppTest) -> pd.DataFrame:
    """The per-CPTS table of Couverture, indexed by the CPTS's name."""
    return next(d.value for d in at.dataframe if "CPTS" in d.value.columns).set_index("CPTS")


def test_a_department_view_shows_whole_sizes(real_referential: Referential) -> None:
    """The Var: "CPTS Durance-Haut Var" is 41,499 inhabitants (Taille 2), 15,826 in the Var."""
    at = start("var", "paca_like.csv")
    assert not at.sidebar.warning, texts(at.sidebar.warning)
    assert "6 périmètres n'ont aucune commune dans la vue" in texts(at.sidebar.info)
    shown = metrics(at)
    diag = library_diagnosis("paca_like.csv", "var", "emergence")
    assert shown["Périmètres"] == "6" == fr_int(len(diag.perimeters.summary))
    table = cpts_table(at)
    durance = table.loc["CPTS Durance-Haut Var"]
    assert durance["habitants (périmètre entier)"] == fr_int(41_499)
    assert durance["dont dans la vue"] == fr_int(15_826)
    assert durance["taille ACI"] == "Taille 2"
    assert durance["sous le seuil"] == "non"
    assert durance["déborde sur"] == "Bouches-du-Rhône (13)"
    # Every figure of the table is the library's, whole: no CPTS with 0 inhabitants.
    summary = diag.perimeters.summary.set_index("name")
    for name, row in table.iterrows():
        assert row["habitants (périmètre entier)"] == fr_int(int(summary.loc[name, "population"]))
    # Toulon is shared by two CPTS without declared parts: a size range, the city named.
    toulon = table.loc["CPTS Toulon Ouest"]
    assert toulon["taille ACI"] == "Taille 2 à 4"
    assert toulon["communes partagées"] == "Toulon (83137)"
    assert "Toulon (83137)" in toulon["fourchette de taille : pourquoi"]
    # The shared communes column is among the first ones (visible without scrolling).
    assert list(table.columns).index("communes partagées") <= 5


def test_the_fiche_of_a_nice_cpts_says_the_sharing(real_referential: Referential) -> None:
    at = start("paca", "paca_like.csv")
    # Above the floor only with Nice counted whole (12,557 inhabitants without it).
    assert cpts_table(at).loc["CPTS Nice Est", "sous le seuil"] == "selon le partage"
    at.selectbox(key="coverage_fiche_pick").set_value("cpts-nice-est").run()
    ok(at)
    notes = texts(at.info).replace("\\", "")  # markdown escapes of user strings
    assert "Taille 1 à 4" in notes
    assert "Nice (06088) partagée avec CPTS Nice Nord, CPTS Nice Ouest" in notes
    assert "comptée entière" in notes
    shown = metrics(at)
    assert shown["Habitants"] == fr_int(370_294)


def test_shares_set_in_arbitrage_are_applied_to_couverture(real_referential: Referential) -> None:
    at = start("paca", "paca_like.csv")
    at.session_state["arbitrage_shares"] = pd.DataFrame(
        {
            "perimeter_id": ["cpts-nice-est", "cpts-nice-ouest", "cpts-nice-nord"],
            "code": ["06088"] * 3,
            "share": [0.4, 0.35, 0.25],
        }
    )
    at.run()
    ok(at)
    assert "Parts fixées dans Arbitrage appliquées" in texts(at.caption)
    table = cpts_table(at)
    # 40 % of Nice's 357,737 inhabitants: 143,094.8, rounded as Arbitrage rounds it.
    assert table.loc["CPTS Nice Est", "habitants (périmètre entier)"] == fr_int(143_095 + 12_557)
    assert table.loc["CPTS Nice Est", "taille ACI"] == "Taille 3"


def test_declared_parts_of_the_file_are_used(real_referential: Referential) -> None:
    at = start("paca", "paca_like_parts.csv")
    table = cpts_table(at)
    assert table.loc["CPTS Nice Est", "habitants (périmètre entier)"] == fr_int(155_652)
    assert table.loc["CPTS Toulon Ouest", "taille ACI"] == "Taille 4"
    assert table.loc["CPTS Toulon Est", "taille ACI"] == "Taille 3"


# --------------------------------------------------------------------------
# Mon territoire
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "name", "query", "code"),
    [
        ("france", "idf_stades.csv", "Vanves", "92075"),
        ("paca", "ars_regional.csv", "Gardanne", "13041"),
        ("bdr", "header_only.csv", "13004", "13004"),
        ("ille", "brittany.csv", "Rennes", "35238"),
    ],
)
def test_territory_by_search(
    real_referential: Referential, scope: str, name: str, query: str, code: str
) -> None:
    at = start(scope, name)
    at.radio(key="workflow").set_value("territoire").run()
    ok(at)
    assert "Le territoire est vide" in texts(at.info)
    at.text_input(key="territory_search").input(query).run()
    at.selectbox(key="territory_search_choice").set_value(code).run()
    at.button(key="territory_add_commune").click().run()
    ok(at)
    population = int(real_referential.units.loc[code, "population"])
    shown = metrics(at)
    assert shown["Habitants"] == fr_int(population)
    assert shown["Communes"] == "1"
    size = 1 + sum(population >= bound for bound in (40_000, 80_000, 175_000))
    assert shown["Taille ACI"] == f"Taille {size}"
    labels = [b.label for b in at.get("download_button")]
    assert "Fiche diagnostic imprimable (HTML)" in labels


def test_territory_says_which_communes_the_loaded_perimeters_claim(
    real_referential: Referential,
) -> None:
    """A CPTS leader taking Aix-en-Provence learns that three CPTS of the listing claim it."""
    at = start("paca", "ars_regional.csv")
    at.radio(key="workflow").set_value("territoire").run()
    for code in ("13001", "13041"):
        at.text_input(key="territory_search").input(code).run()
        at.selectbox(key="territory_search_choice").set_value(code).run()
        at.button(key="territory_add_commune").click().run()
    ok(at)
    m = library_diagnosis("ars_regional.csv", "paca", "emergence").membership
    claimed = m.claims_of(["13001", "13041"])
    assert set(claimed["code"]) == {"13001"}  # Gardanne is in no CPTS of the listing
    notice = next(i.value for i in at.info if "déjà revendiquée" in i.value)
    assert notice.startswith("1 commune du territoire sur 2 est déjà revendiquée")
    for cpts in claimed["name"]:
        assert str(cpts).replace("'", "\\'") in notice or str(cpts) in notice, cpts


# --------------------------------------------------------------------------
# Arbitrage
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "name"),
    [
        ("paca", "ars_regional.csv"),
        ("bdr", "ars_regional.csv"),
        ("france", EXAMPLE),
    ],
)
def test_dispute_of_the_first_pair(real_referential: Referential, scope: str, name: str) -> None:
    at = start(scope, name)
    at.radio(key="workflow").set_value("arbitrage").run()
    ok(at)
    diag = library_diagnosis(name, scope, "emergence")
    # The first group of perimeters claiming the same communes (issue 17: any number of parties).
    group = dispute_groups(diag.membership).iloc[0]
    ids = [str(p) for p in group["perimeter_ids"]]
    dispute = compare_perimeters(diag.membership, diag.referential, ids)
    shown = metrics(at)
    assert shown["Communes disputées"] == fr_int(int(dispute.summary.n_contested))
    assert shown["Habitants en jeu"] == fr_int(int(dispute.summary.population_contested))
    letters = set(dispute.summary.parties)
    if name == "ars_regional.csv":
        # The groups are ranked by inhabitants at stake: Aix-en-Provence comes first.
        assert shown["Habitants en jeu"] == fr_int(
            int(real_referential.units.loc["13001", "population"])
        )
        groups = at.selectbox(key="dispute_group")
        assert len(groups.options) == 2  # the three CPTS around Aix, the pair around Arles
        assert letters == {"A", "B", "C"}
    options = next(d.value for d in at.dataframe if "option" in d.value.columns)
    assert set(options["côté"]) == letters | {"+".join(sorted(letters))}
    if name == "ars_regional.csv":
        # Aix-en-Provence is too big for one side: it is proposed as shared, with its option.
        shared_option = "Communes partagées : population répartie selon la part fixée"
        assert any(str(o).startswith(shared_option) for o in options["option"])
        key = f"dispute_shared_{'-'.join(ids)}"
        assert at.multiselect(key=key).value == ["13001"]
        at.multiselect(key=key).set_value([]).run()
        ok(at)
        options = next(d.value for d in at.dataframe if "option" in d.value.columns)
        assert not any(str(o).startswith(shared_option) for o in options["option"])
        # Five whole-commune options (one "all to" per party), three sides each, and the merge.
        assert len(options) == (3 + 3) * 3 + 1


@pytest.mark.parametrize(("scope", "name"), [("ille", "brittany.csv"), ("paca", "header_only.csv")])
def test_dispute_without_overlap_or_without_perimeters(
    real_referential: Referential, scope: str, name: str
) -> None:
    at = start(scope, name)
    at.radio(key="workflow").set_value("arbitrage").run()
    ok(at)
    if name == "brittany.csv":
        # Two CPTS that do not overlap: chosen by hand, nothing contested.
        assert "Aucun chevauchement dans ce fichier" in texts(at.caption)
        assert metrics(at)["Communes disputées"] == "0"
        # Said in words, instead of identical options and an empty table.
        assert "ne revendiquent aucune commune en commun" in texts(at.info)
        assert not any("Options de partage" in md.value for md in at.markdown)
        assert not at.main.dataframe
    else:
        assert "il n'y a rien à arbitrer" in texts(at.warning)
        assert not at.metric


def test_arbitrage_at_a_department_offers_only_its_perimeters(
    real_referential: Referential,
) -> None:
    """The example at department 13: perimeters of other departments are not offered, no crash."""
    at = start("bdr", EXAMPLE)
    at.radio(key="workflow").set_value("arbitrage").run()
    ok(at)
    diag = library_diagnosis(EXAMPLE, "bdr", "emergence")
    m = diag.membership
    with_units = set(m.perimeters["perimeter_id"].to_numpy()[np.unique(m.member_perimeter)])
    offered = set(at.multiselect(key="dispute_parties").options)
    names = dict(zip(m.perimeters["perimeter_id"], m.perimeters["name"], strict=True))
    assert offered == {names[p] for p in with_units}
    # The example's perimeters of the department do not overlap: the first two chosen by hand
    # share no commune, which is said instead of options that would all be equal.
    assert "Aucun chevauchement dans ce fichier" in texts(at.caption)
    assert "ne revendiquent aucune commune en commun" in texts(at.info)
