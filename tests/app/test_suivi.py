"""The "Suivi" workflow: the registry's curve, changes and the import of a dated listing.

AppTest drives the real app on a registry in a temporary SQLite file (set
through ``ATLAS_DATABASE_URL``); one Chromium journey imports a listing with
its preview, sees the curve drawn and the changes counted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.core.referential import Referential
from diagnosis.core.statuses import status_legend
from diagnosis.paths import EXAMPLES_DIR
from diagnosis.registry import (
    Actor,
    close_registry,
    coverage_history,
    decisions_of,
    get_draft,
    grant_role,
    import_listing,
    open_registry,
    save_draft,
    state_at,
    submit_draft,
)
from tests.app.test_contracts_workflows import click
from tests.app.test_french import page_texts, scan
from tests.browser import PROJECT_DIR, browser_or_skip, chromium_page, streamlit_server
from ui.suivi_tab import coverage_chart, curve_frame, month_fr

pytestmark = pytest.mark.referential

APP = str(PROJECT_DIR / "app.py")
EXAMPLE = EXAMPLES_DIR / "exemple_fictif_paca_couverture.csv"


def june_listing() -> bytes:
    """The example six months later: one CPTS left out, one renamed, one signed."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    out = lines[:2]
    for line in lines[2:]:
        if "Serre-Ponçon (exemple)" in line:
            continue
        row = line.replace("CPTS du Pays de Fayence (exemple)", "CPTS Fayence et Mons (exemple)")
        if "Provence-Alpes-Agglomération" in row:
            row = row.replace("lettre d'intention validée", "ACI signé (avril 2025)")
        out.append(row)
    return ("\n".join(out) + "\n").encode("utf-8")


@pytest.fixture
def registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registre.sqlite"
    monkeypatch.setenv("ATLAS_DATABASE_URL", str(path))
    return path


def suivi() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.radio(key="workflow").set_value("suivi").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def change_tables(at: AppTest) -> list:
    return [d.value for d in at.dataframe if "Changement" in d.value.columns]


def import_in_app(at: AppTest, name: str, data: bytes, day: dt.date) -> None:
    uploader = next(u for u in at.get("file_uploader") if u.key == "suivi_upload")
    uploader.set_value((name, data, "text/csv")).run()
    at.date_input(key="suivi_as_of").set_value(day).run()
    at.button(key="suivi_preview_button").click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_suivi_imports_with_a_preview_and_draws_the_curve(
    registry_file: Path, real_referential: Referential
) -> None:
    at = suivi()
    assert any("Le registre est vide" in i.value for i in at.info)
    import_in_app(at, "paca_2025-01.csv", EXAMPLE.read_bytes(), dt.date(2025, 1, 1))
    assert any("Aperçu" in m.value and "24 nouveaux périmètres" in m.value for m in at.markdown)
    assert not registry_file.exists() or open_registry(registry_file).engine  # nothing yet
    at.button(key="suivi_confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Import enregistré : 24 périmètres" in s.value for s in at.success)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1

    import_in_app(at, "paca_2025-06.csv", june_listing(), dt.date(2025, 6, 1))
    preview = change_tables(at)[-1]  # the preview comes after the changes between dates
    assert sorted(preview["Changement"]) == ["renommé", "retiré", "stade"]
    at.button(key="suivi_confirm").click().run()
    assert any("3 périmètres changé(s)" in s.value for s in at.success)
    changes = change_tables(at)[0]
    assert sorted(changes["Changement"]) == ["renommé", "retiré", "stade"]
    assert "Lettre d'intention validée" in set(changes["Stade avant"])
    assert any("retiré : 1" in c.value for c in at.caption)
    shown = page_texts(at)
    assert len(shown) > 20 and scan(shown) == []  # the page speaks French
    # The same listing again changes nothing.
    import_in_app(at, "paca_2025-06.csv", june_listing(), dt.date(2025, 6, 1))
    assert any("déjà été importée" in i.value for i in at.info)


def test_an_unreachable_registry_leaves_the_other_workflows_working(
    monkeypatch: pytest.MonkeyPatch, real_referential: Referential
) -> None:
    monkeypatch.setenv("ATLAS_DATABASE_URL", "postgresql://atlas@127.0.0.1:1/registre")
    at = suivi()
    errors = [e.value for e in at.error]
    assert any("Registre inaccessible" in e for e in errors), errors
    at.radio(key="workflow").set_value("couverture").run()
    assert not at.exception
    assert {m.label for m in at.metric} >= {"Périmètres", "Population couverte"}


def test_the_curve_speaks_french_in_the_stage_colours(
    tmp_path: Path, real_referential: Referential
) -> None:
    registry = open_registry(tmp_path / "r.sqlite")
    import_listing(registry, EXAMPLE, as_of="2025-01-01", region="93", referential=real_referential)
    days = [dt.date(2024, 12, 1), dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
    history = coverage_history(registry, days, region="93", referential=real_referential)
    close_registry(registry)
    curve = curve_frame(history, "REG-93")
    assert len(curve) == 3 * 4
    assert set(curve["mois"]) == {"déc. 2024", "janv. 2025", "févr. 2025"}
    assert month_fr(dt.date(2025, 8, 1)) == "août 2025"
    spec = coverage_chart(curve).to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    assert "'janv.'" in text and "Population couverte (%)" in text
    colours = {label: colour for key, label, colour in status_legend() if key}
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == colours
    before = curve[curve["mois"] == "déc. 2024"]["part"]
    assert (before == 0).all()


@pytest.mark.browser
def test_suivi_journey_in_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_referential: Referential
) -> None:
    executable = browser_or_skip()
    path = tmp_path / "registre.sqlite"
    registry = open_registry(path)
    import_listing(
        registry,
        EXAMPLE,
        as_of="2025-01-01",
        region="93",
        referential=real_referential,
        actor="ars-paca",
    )
    close_registry(registry)
    monkeypatch.setenv("ATLAS_DATABASE_URL", str(path))
    june = tmp_path / "paca_2025-06.csv"
    june.write_bytes(june_listing())
    blocked: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page:
        try:
            page.goto(base)
            page.get_by_text("Suivi (ARS, CPAM)").click()
            page.get_by_text("Couverture au fil du temps").wait_for(timeout=120_000)
            uploader = page.locator(
                "[data-testid='stFileUploader']", has_text="Liste de périmètres"
            )
            uploader.locator("input[type='file']").set_input_files(str(june))
            page.get_by_text("paca_2025-06.csv").first.wait_for(timeout=60_000)
            day = page.locator("[data-testid='stDateInput']", has_text="Date de la liste")
            day.locator("[data-type='day']").click()  # a date field of three spin buttons
            page.keyboard.type("01062025")
            page.keyboard.press("Tab")
            page.wait_for_timeout(1_000)
            page.get_by_role("button", name="Voir les changements").click()
            page.get_by_text("Aperçu", exact=False).first.wait_for(timeout=120_000)
            page.get_by_role("button", name="Confirmer l'import").click()
            page.get_by_text("Import enregistré : 3 périmètres").wait_for(timeout=120_000)
            chart = page.locator("[data-testid='stVegaLiteChart']").first
            chart.wait_for(timeout=60_000)
            marks = chart.locator("canvas, svg")
            marks.first.wait_for(timeout=60_000)
            page.get_by_text("retiré : 1").first.wait_for(timeout=60_000)
            box = chart.bounding_box()
        finally:
            with contextlib.suppress(Exception):
                page.screenshot(
                    path=str(PROJECT_DIR / "tests" / "artifacts" / "suivi.png"), full_page=True
                )
    assert box is not None and box["height"] > 200
    assert blocked == []


def test_couverture_reads_the_registry_on_a_date(
    registry_file: Path, real_referential: Referential
) -> None:
    """The sidebar's "Registre à une date" gives Couverture the registry's state that day."""
    registry = open_registry(registry_file)
    try:
        import_listing(registry, EXAMPLE, as_of="2025-01-01", region="93")
        import_listing(
            registry, june_listing(), filename="juin.csv", as_of="2025-06-01", region="93"
        )
    finally:
        close_registry(registry)
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.radio(key="workflow").set_value("couverture").run()
    at.radio(key="perimeter_choice").set_value("registre").run()
    counts = {}
    for day in (dt.date(2025, 3, 1), dt.date(2025, 7, 1)):
        at.date_input(key="registry_day").set_value(day).run()
        assert not at.exception, [e.value for e in at.exception]
        metric = next(m for m in at.metric if m.label == "Périmètres")
        counts[day] = metric.value
    # 2025-06: one CPTS of the example left out of the listing, so one perimeter fewer.
    january = int(counts[dt.date(2025, 3, 1)].replace("\u202f", ""))
    july = int(counts[dt.date(2025, 7, 1)].replace("\u202f", ""))
    assert july == january - 1
    # Before the first listing the registry holds nothing: the page says so.
    at.date_input(key="registry_day").set_value(dt.date(2024, 12, 1)).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = " ".join(page_texts(at))
    assert "aucun périmètre valide le 01/12/2024" in texts


def test_suivi_answers_a_submitted_project_and_grants_roles(
    registry_file: Path, real_referential: Referential
) -> None:
    """The ARS sees a leader's submitted draft with its overlaps, accepts it; roles are granted."""
    registry = open_registry(registry_file)
    leader = Actor("porteur@cpts.fr", "Porteur")
    try:
        import_listing(registry, EXAMPLE, as_of="2025-01-01", region="93")
        grant_role(registry, None, leader.user_id, "leader")  # the local user, registry open
        draft = save_draft(
            registry, leader, name="CPTS <b>Lubéron</b> Nord", codes=["04004", "04034", "04039"]
        )
        hidden = save_draft(registry, leader, name="Brouillon privé", codes=["04004"])
        submit_draft(registry, leader, draft.id, expected_revision=1)
    finally:
        close_registry(registry)
    at = suivi()
    tables = [d.value for d in at.dataframe if "Porteur" in d.value.columns]
    assert tables and set(tables[0]["Territoire"]) == {
        "CPTS <b>Lubéron</b> Nord",
        "Brouillon privé",
    }
    overlaps = next(d.value for d in at.dataframe if "CPTS du registre" in d.value.columns)
    assert "CPTS Durance-Lubéron-Verdon Agglomération (exemple)" in set(
        overlaps["CPTS du registre"]
    )
    assert any("Allemagne-en-Provence (04004)" in c.value.replace("\\", "") for c in at.caption)
    at.date_input(key="registry_work_day").set_value(dt.date(2025, 3, 1)).run()
    at.button(key="registry_work_accept").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("accepté : nouveau périmètre" in s.value for s in at.success)
    registry = open_registry(registry_file)
    try:
        state = state_at(registry, "2025-03-01", region="93")
        assert "CPTS <b>Lubéron</b> Nord" in set(state.perimeters["name"])
        assert get_draft(registry, leader, hidden.id).state == "draft"
    finally:
        close_registry(registry)
    # Roles: the local user grants an administrator, then has no right left.
    at.text_input(key="registry_work_user").input("admin@ars.fr").run()
    at.selectbox(key="registry_work_role").set_value("admin").run()
    at.button(key="registry_work_grant").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Rôle attribué à admin@ars.fr" in s.value for s in at.success)
    assert any("Votre rôle ne permet pas d'importer" in c.value for c in at.caption)
    assert not any(m.value == "#### Utilisateurs et rôles" for m in at.markdown)
    assert not [d for d in at.dataframe if "Porteur" in d.value.columns]  # drafts hidden now


def said(at: AppTest) -> list[str]:
    """The success messages, Markdown escapes removed."""
    return [s.value.replace("\\", "") for s in at.success]


def test_a_leader_saves_a_draft_submits_it_and_reads_the_answer(
    registry_file: Path, real_referential: Referential
) -> None:
    """Mon territoire → Suivi → Mon territoire, as the local user of an open registry."""
    at = suivi()
    at.radio(key="workflow").set_value("territoire").run()
    at.button(key="territory_example").click().run()
    at.button(key="drafts_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("enregistré (n° 1, version 1)" in s for s in said(at))
    # A second save from the same copy is a new version; a stale copy would be refused.
    at.button(key="drafts_save").click().run()
    assert any("version 2" in s for s in said(at))
    at.button(key="drafts_submit").click().run()
    assert any("soumis à l'ARS" in s for s in said(at))
    assert at.button(key="drafts_submit").disabled
    at.radio(key="workflow").set_value("suivi").run()
    at.text_area(key="registry_work_comment").input("Ajoutez les communes du nord.").run()
    at.button(key="registry_work_return").click().run()
    assert any("renvoyé au porteur" in s for s in said(at))
    at.radio(key="workflow").set_value("territoire").run()
    mine = next(d.value for d in at.dataframe if "Réponse de l'ARS" in d.value.columns)
    assert mine["État"].tolist() == ["renvoyé au porteur"]
    assert mine["Réponse de l'ARS"].tolist() == ["Ajoutez les communes du nord."]
    # Reopening the draft loads its communes into the territory.
    at.button(key="drafts_open_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("ouvert (version 2, renvoyé au porteur)" in s for s in said(at))
    assert not at.button(key="drafts_submit").disabled


def test_arbitrage_records_the_committee_decision_in_the_registry(
    registry_file: Path, real_referential: Referential, clicks: dict[str, Callable[[], Any]]
) -> None:
    """Arbitrage on the registry: the option chosen becomes the parties' new versions."""
    listing = PROJECT_DIR / "tests" / "fixtures" / "listings" / "ars_regional.csv"
    registry = open_registry(registry_file)
    try:
        import_listing(registry, listing, as_of="2025-01-01", region="93")
    finally:
        close_registry(registry)
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.radio(key="perimeter_choice").set_value("registre").run()
    at.date_input(key="registry_day").set_value(dt.date(2025, 2, 1)).run()
    at.radio(key="workflow").set_value("arbitrage").run()
    assert not at.exception, [e.value for e in at.exception]
    parties = next(d.value for d in at.dataframe if "côté" in d.value.columns)
    assert set(parties["côté"]) >= {"A", "B", "C"}  # Aix-en-Provence, claimed by three
    at.selectbox(key="decision_option").set_value("tout_a").run()
    at.text_area(key="decision_reasons").input("Bassin de vie d'Aix tourné vers A.").run()
    at.date_input(key="decision_day").set_value(dt.date(2025, 3, 1)).run()
    at.button(key="decision_record").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Décision n° 1 enregistrée" in s for s in said(at))
    registry = open_registry(registry_file)
    try:
        claimants = [
            name
            for name, codes in zip(
                state_at(registry, "2025-03-01", region="93").perimeters["name"],
                state_at(registry, "2025-03-01", region="93").perimeters["unit_codes"],
                strict=True,
            )
            if "13001" in codes
        ]
        before = state_at(registry, "2025-02-01", region="93").perimeters
        assert sum("13001" in c for c in before["unit_codes"]) == 3  # history kept
        assert len(claimants) == 1
        record = decisions_of(registry)
        assert record["option"].tolist() == ["tout_a"]
        assert record["reasons"].tolist() == ["Bassin de vie d'Aix tourné vers A."]
    finally:
        close_registry(registry)
    # The arbitration fiche carries the decision (the dispute is the registry's on 1 Feb).
    fiche = click(at, "Fiche d'arbitrage imprimable (HTML)", clicks).decode("utf-8")
    assert "Décision du comité" in fiche
    assert "Bassin de vie d&#x27;Aix tourné vers A." in fiche or "Bassin de vie d'Aix" in fiche
    assert "Toutes les communes disputées à A" in fiche
    # The decision is listed in Suivi.
    at.radio(key="workflow").set_value("suivi").run()
    decisions = next(d.value for d in at.dataframe if "Option retenue" in d.value.columns)
    assert decisions["Motifs"].tolist() == ["Bassin de vie d'Aix tourné vers A."]
    assert decisions["Option retenue"].tolist() == ["Toutes les communes disputées à A"]
    # The fiche of a party (Couverture, the registry after the decision) says the decision.
    at.date_input(key="registry_day").set_value(dt.date(2025, 3, 2)).run()
    at.radio(key="workflow").set_value("couverture").run()
    party = decisions["Périmètres concernés"].iloc[0].split(", ")[0]
    at.selectbox(key="coverage_fiche_pick").set_value(party).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [t.replace("\\", "") for t in page_texts(at)]
    assert any("Décision n° 1 du 01/03/2025" in t and "Bassin de vie" in t for t in texts)


def test_a_draft_typed_in_the_url_is_refused_to_another_user(
    registry_file: Path, real_referential: Referential
) -> None:
    """?brouillon=N opens the local user's own draft, never another user's."""
    registry = open_registry(registry_file)
    try:
        grant_role(registry, None, "admin@ars.fr", "admin")  # the registry is no longer open
        grant_role(registry, "admin@ars.fr", "porteur@cpts.fr", "leader")
        other = save_draft(
            registry, Actor("porteur@cpts.fr", "Porteur"), name="Projet confidentiel",
            codes=["04004", "04034"],
        )  # fmt: skip
    finally:
        close_registry(registry)
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["brouillon"] = str(other.id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="workflow").value == "territoire"  # the link opens Mon territoire
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any(f"Brouillon n° {other.id} introuvable ou non visible" in e for e in errors), errors
    texts = " ".join(page_texts(at))
    assert "Projet confidentiel" not in texts
    assert any("Le territoire est vide" in i.value for i in at.info)


def test_the_registry_in_a_department_view(
    registry_file: Path, real_referential: Referential
) -> None:
    """A department keeps its region in the sidebar: the registry reads the department alone."""
    registry = open_registry(registry_file)
    try:
        import_listing(registry, EXAMPLE, as_of="2025-01-01", region="93")
    finally:
        close_registry(registry)
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.selectbox(key="scope_department").set_value("04").run()
    at.radio(key="perimeter_choice").set_value("registre").run()
    at.date_input(key="registry_day").set_value(dt.date(2025, 3, 1)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.sidebar.error]
    assert int(next(m for m in at.metric if m.label == "Périmètres").value) > 0
    at.radio(key="workflow").set_value("suivi").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error]
    assert len(at.get("vega_lite_chart")) == 1
