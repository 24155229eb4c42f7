"""Issue 20 in the dashboard (AppTest): contracts, funding due, PDF fiches, stage words, caveats.

Every download is taken through the app's own path: the callable a download
button was given is recorded when Streamlit registers it (``add_deferred``)
and called as a click would, then its bytes are read back (pypdf for a PDF,
the CSV as a spreadsheet reads it). Amounts are computed by hand from the ACI
table (``data/rules/aci.toml``, avenant 2).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from html import unescape
from typing import Any

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from diagnosis.core.referential import Referential
from tests.app.test_french import scan
from tests.app.test_scopes_workflows_files import APP, metrics, ok, start, texts
from ui import pdf
from ui.funding_forecast import forecast_chart

pytestmark = pytest.mark.referential

#: A CPTS of the embedded example, taille 1 (12,956 inhabitants), in the Alpes-de-Haute-Provence.
JABRON = "CPTS Jabron-Lure-Vançon-Durance (exemple)"
JABRON_ID = "cpts-jabron-lure-vancon-durance-exemple"

#: Signed on 1 January 2023, the four mandatory missions from signature, no optional one, no
#: crisis; a second row names no perimeter of the listing (rejected, said in French).
CONTRACTS = (
    "CPTS;date de signature;début accès aux soins;début parcours;début prévention;"
    "début crises sanitaires\n"
    f"{JABRON};01/01/2023;01/01/2023;01/01/2023;01/01/2023;01/01/2023\n"
    "CPTS des Nuages;01/01/2023;01/01/2023;;;\n"
).encode()

# Taille 1, by hand: operating 50,000; access 55,000 + 25,000; pathways 25,000 + 25,000;
# prevention 10,000 + 10,000; crisis plan 25,000 in year 1, its update 12,500 afterwards.
YEAR_1 = 50_000 + 80_000 + 50_000 + 20_000 + 25_000
YEAR_2 = YEAR_1 - 25_000 + 12_500
FIXED_1 = 50_000 + 55_000 + 25_000 + 10_000 + 25_000
VARIABLE = 25_000 + 25_000 + 10_000


def fr(n: float) -> str:
    return f"{n:,.0f}".replace(",", "\u202f")


def euros(n: float) -> str:
    """Euros as the dashboard writes them: "225 000 €" with narrow no-break spaces."""
    return f"{fr(n)}\u202f€"


# --------------------------------------------------------------------------
# Downloads through the app's path
# --------------------------------------------------------------------------


def click(at: AppTest, label: str, clicks: dict[str, Callable[[], Any]]) -> bytes:
    """The bytes a click on the download button ``label`` gives."""
    button = next(b for b in at.get("download_button") if b.label == label)
    data = clicks[button.proto.deferred_file_id]()
    return data if isinstance(data, bytes) else str(data).encode("utf-8")


def pdf_text(document: bytes) -> str:
    assert document.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(document))
    return " ".join(" ".join(p.extract_text().split()) for p in reader.pages)


def pdf_lines(document: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(document))
    return [line for page in reader.pages for line in page.extract_text().splitlines()]


@pytest.fixture
def pdf_ready() -> None:
    reason = pdf.pdf_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


def with_contracts(at: AppTest, blob: bytes = CONTRACTS) -> AppTest:
    uploader = next(u for u in at.get("file_uploader") if u.proto.label.startswith("Fichier des c"))
    uploader.set_value(("contrats.csv", blob, "text/csv")).run()
    ok(at)
    return at


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


# --------------------------------------------------------------------------
# The regional forecast (Couverture)
# --------------------------------------------------------------------------


def test_forecast_of_a_contracts_file(
    real_referential: Referential, clicks: dict[str, Callable[[], Any]]
) -> None:
    at = with_contracts(start("paca", "exemple_fictif_paca_couverture.csv"))
    # The report, as the perimeter import's: what was kept, what was rejected and why.
    assert "1 contrat retenu sur 2 lu(s) ; 1 rejet." in texts(at.warning)
    report = table_with(at, "message")
    assert "CPTS inconnue" in report["type"].tolist()  # French, never "unknown_perimeter"
    assert "CPTS des Nuages" in report.to_string()
    assert "unknown_perimeter" not in report.to_string()
    # Over the days each line covers, calendar years are the contract years (signed 1 January).
    at.radio(key="contracts_basis").set_value("periode").run()
    ok(at)
    shown = table_with(at, "total maximal (€)")
    view = shown[shown["territoire"] == "Provence-Alpes-Côte d'Azur (93)"].set_index("année")
    assert view.loc["2023", "total maximal (€)"] == euros(YEAR_1)
    assert view.loc["2023", "parts fixes, maximum (€)"] == euros(FIXED_1)
    assert view.loc["2023", "parts variables, maximum (€)"] == euros(VARIABLE)
    assert view.loc["2024", "total maximal (€)"] == euros(YEAR_2)
    assert view.loc["2024", "total attendu (€)"] == euros(YEAR_2)  # no attainment: 100 %
    assert view.loc["2028", "contrats financés"] == "0"  # a contract lasts five years
    # The people's CSV: ";", BOM, French headers, numbers a French spreadsheet reads.
    raw = click(at, "Financements dus par année (CSV)", clicks)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype=str)
    assert list(rows.columns)[:3] == ["année", "territoire", "parts fixes, maximum (€)"]
    first = rows[(rows["année"] == "2023") & (rows["territoire"].str.startswith("Provence"))]
    assert first["total maximal (€)"].tolist() == [str(YEAR_1)]
    dep = rows[(rows["année"] == "2024") & (rows["territoire"] == "Alpes-de-Haute-Provence (04)")]
    assert dep["total maximal (€)"].tolist() == [str(YEAR_2)]
    assert scan(list(rows.columns)) == []


def test_forecast_chart_draws_each_kind_per_year() -> None:
    view = pd.DataFrame(
        {
            "year": [2023, 2024],
            "fixed_eur": [float(FIXED_1), float(FIXED_1 - 12_500)],
            "variable_eur": [float(VARIABLE)] * 2,
            "one_off_eur": [0.0, 0.0],
            "total_expected_eur": [float(YEAR_1), float(YEAR_2)],
        }
    )
    spec = forecast_chart(view).to_dict()
    # The amounts' axis writes thousands the French way (it wrote "220,000").
    y_axis = spec["layer"][0]["encoding"]["y"]["axis"]
    assert "regexp(',', 'g'), ' ')" in y_axis["labelExpr"]
    data = [row for rows in spec["datasets"].values() for row in rows]
    bars = [r for r in data if "part" in r]
    assert {r["part"] for r in bars} == {"parts fixes", "parts variables", "versements ponctuels"}
    by_year = {y: sum(r["value"] for r in bars if r["annee"] == y) for y in ("2023", "2024")}
    assert by_year == {"2023": YEAR_1, "2024": YEAR_2}
    assert {r["attendu"] for r in data if "attendu" in r} == {euros(YEAR_1), euros(YEAR_2)}


def test_a_cpts_fiche_shows_its_contract_and_its_funding_fiche_as_pdf(
    real_referential: Referential, clicks: dict[str, Callable[[], Any]], pdf_ready: None
) -> None:
    at = with_contracts(start("paca", "exemple_fictif_paca_couverture.csv"))
    at.selectbox(key="coverage_fiche_pick").set_value(JABRON_ID).run()
    ok(at)
    assert "Contrat lu dans le fichier des contrats (signé le 1er janvier 2023)" in texts(
        at.caption
    )
    summary = table_with(at, "année de contrat").set_index("année de contrat")
    assert summary.loc["année 1", "total maximal"] == euros(YEAR_1)
    assert summary.loc["année 2", "total maximal"] == euros(YEAR_2)
    assert summary.loc["total", "total maximal"] == euros(YEAR_1 + 4 * YEAR_2)
    document = click(at, "Fiche de financement (PDF)", clicks)
    text = pdf_text(document)
    assert f"Financement ACI : {JABRON}" in text
    assert f"{YEAR_1:,} € {YEAR_1:,} €".replace(",", " ") in text  # year 1: maximum, expected
    assert "Crises sanitaires : élaboration du plan (première année)" in text
    assert "crises_plan_annee_1" not in text
    assert scan(pdf_lines(document)) == []
    # The diagnostic fiche of the same CPTS, as PDF too.
    fiche = pdf_text(click(at, "Fiche diagnostic (PDF)", clicks))
    assert f"Fiche diagnostic : {JABRON}" in fiche
    assert "Taille 1" in fiche


def test_mon_territoire_simulates_a_contract(
    real_referential: Referential, clicks: dict[str, Callable[[], Any]]
) -> None:
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.radio(key="workflow").set_value("territoire").run()
    at.button(key="territory_example").click().run()
    ok(at)
    assert metrics(at)["Taille ACI"] == "Taille 3"
    at.date_input(key="territory_signature").set_value(dt.date(2025, 1, 1)).run()
    # The pathways mission starts on 2 July (183 of the 365 days of contract year 1 left);
    # no optional mission; a crisis in contract year 2.
    at.date_input(key="territory_start_parcours").set_value(dt.date(2025, 7, 2)).run()
    at.checkbox(key="territory_chosen_qualite_pertinence").uncheck().run()
    at.checkbox(key="territory_chosen_accompagnement").uncheck().run()
    at.multiselect(key="territory_crises").select(2).run()
    ok(at)
    # Taille 3: operating 75,000; access 90,000 + 35,000; pathways 45,000 + 45,000;
    # prevention 17,500 + 17,500; crisis plan 45,000, update 22,500, a crisis 67,500.
    pathways_1 = round(90_000 * 183 / 365, 2)
    year_1 = 75_000 + 125_000 + pathways_1 + 35_000 + 45_000
    year_2 = 75_000 + 125_000 + 90_000 + 35_000 + 22_500 + 67_500
    summary = table_with(at, "année de contrat").set_index("année de contrat")
    assert summary.loc["année 1", "total maximal"] == euros(year_1)
    assert summary.loc["année 2", "total maximal"] == euros(year_2)
    assert summary.loc["année 2", "parts variables (maximum)"] == euros(
        35_000 + 45_000 + 17_500 + 67_500
    )
    html = unescape(click(at, "Fiche de financement (HTML)", clicks).decode("utf-8"))
    assert "Financement ACI simulé" in html
    assert "à partir du 2\u00a0juil.\u00a02025" in html
    assert "Crises sanitaires : survenue d'une crise sanitaire grave" in html


# --------------------------------------------------------------------------
# Stage words, deemed validation, caveats
# --------------------------------------------------------------------------


def _listing() -> bytes:
    pending = (dt.date.today() - dt.timedelta(days=10)).strftime("%d/%m/%Y")
    return (
        "Nom CPTS;Code INSEE;Statut\n"
        "CPTS Aix déposée;13001;projet de santé déposé (15/01/2024)\n"
        f"CPTS Arles en attente;13004;projet de santé déposé ({pending})\n"
        "CPTS Marseille signée;13055;ACI signé\n"
    ).encode()


def test_deemed_validated_uncovered_wording_and_caveats(
    real_referential: Referential, clicks: dict[str, Callable[[], Any]]
) -> None:
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.sidebar.selectbox(key="scope_department").set_value("13").run()
    at.sidebar.radio(key="perimeter_choice").set_value("fichier").run()
    at.sidebar.get("file_uploader")[0].set_value(("stades.csv", _listing(), "text/csv")).run()
    ok(at)
    table = table_with(at, "réputé validé").set_index("CPTS")
    assert table.loc["CPTS Aix déposée", "réputé validé"] == "oui"
    assert table.loc["CPTS Arles en attente", "réputé validé"] == "non"
    assert table.loc["CPTS Marseille signée", "réputé validé"] == "non"
    # The people's workbook lists it too.
    book = openpyxl.load_workbook(io.BytesIO(click(at, "Classeur Excel des tableaux", clicks)))
    sheet = book["Périmètres"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    column = header.index("réputé validé")
    values = {row[header.index("nom")]: row[column] for row in sheet.iter_rows(2, values_only=True)}
    assert values["CPTS Aix déposée"] in ("oui", True)
    # Every commune out of the three is in no project: "zone blanche" at the first stage.
    assert "Communes en zone blanche" in metrics(at)
    assert "#### Communes en zone blanche" in texts(at.markdown)
    proposals = table_with(at, "réserve")
    assert proposals["réserve"].str.contains("à valeur indicative").all()
    assert proposals["réserve"].str.contains("sous réserve de l'accord des acteurs").all()
    assert "Proposition à valeur indicative" in texts(at.warning)
    # At a higher threshold, communes of a project are not "zone blanche".
    at.sidebar.selectbox(key="status_min").set_value("aci_signe").run()
    ok(at)
    wording = "non couvertes par une CPTS au stade « ACI signé » ou au-delà"
    assert f"Communes {wording}" in metrics(at)
    assert "Communes en zone blanche" not in metrics(at)
    markdown = texts(at.markdown)
    assert f"#### Communes {wording}" in markdown
    assert "zone blanche" not in markdown.lower()
    assert "Communes non couvertes au stade « ACI signé » prioritaires" in markdown
    labels = [b.label for b in at.get("download_button")]
    assert f"Communes {wording} (CSV)" in labels


# --------------------------------------------------------------------------
# The dispute fiche as PDF, and the reason where no PDF can be made
# --------------------------------------------------------------------------


def test_dispute_fiche_as_pdf(
    real_referential: Referential, clicks: dict[str, Callable[[], Any]], pdf_ready: None
) -> None:
    at = start("paca", "ars_regional.csv")
    at.radio(key="workflow").set_value("arbitrage").run()
    ok(at)
    labels = [b.label for b in at.get("download_button")]
    assert {"Fiche d'arbitrage imprimable (HTML)", "Fiche d'arbitrage (PDF)"} <= set(labels)
    document = click(at, "Fiche d'arbitrage (PDF)", clicks)
    text = pdf_text(document)
    assert text.startswith("Arbitrage : ") or "Arbitrage : " in text
    assert "Fiche d'arbitrage" in text
    assert "Communes disputées" in text
    assert scan(pdf_lines(document)) == []


@pytest.fixture
def without_weasyprint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(__import__("sys").modules, "weasyprint", None)
    pdf._load_weasyprint.cache_clear()
    yield
    pdf._load_weasyprint.cache_clear()


def test_without_pdf_the_fiche_says_why(
    real_referential: Referential, without_weasyprint: None
) -> None:
    at = start("paca", "exemple_fictif_paca_couverture.csv")
    at.selectbox(key="coverage_fiche_pick").set_value(JABRON_ID).run()
    ok(at)
    labels = [b.label for b in at.get("download_button")]
    assert "Fiche diagnostic imprimable (HTML)" in labels
    assert "Fiche de financement (HTML)" in labels
    assert not [label for label in labels if "(PDF)" in label]
    assert "La fiche PDF n'est pas disponible" in texts(at.caption)


def test_the_registry_s_contracts_give_the_forecast_without_a_file(
    real_referential: Referential, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Perimeters read from the registry on a date bring the contracts kept with them."""
    from diagnosis.contracts import read_contracts
    from diagnosis.paths import EXAMPLES_DIR
    from diagnosis.registry import close_registry, import_listing, open_registry, store_contracts

    path = tmp_path / "registre.sqlite"
    monkeypatch.setenv("ATLAS_DATABASE_URL", str(path))
    registry = open_registry(path)
    try:
        example = EXAMPLES_DIR / "exemple_fictif_paca_couverture.csv"
        import_listing(registry, example, as_of="2025-01-01", region="93")
        read = read_contracts(CONTRACTS, filename="contrats.csv")
        outcome = store_contracts(registry, None, read, as_of="2025-01-01")
        assert outcome.unmatched == ("CPTS des Nuages",)
    finally:
        close_registry(registry)
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.radio(key="perimeter_choice").set_value("registre").run()
    at.date_input(key="registry_day").set_value(dt.date(2025, 2, 1)).run()
    ok(at)
    shown_captions = texts(at.caption).replace("\\", "")
    assert "Contrats ACI enregistrés dans le registre au 01/02/2025" in shown_captions
    at.radio(key="contracts_basis").set_value("periode").run()
    shown = table_with(at, "total maximal (€)")
    view = shown[shown["territoire"] == "Provence-Alpes-Côte d'Azur (93)"].set_index("année")
    assert view.loc["2023", "total maximal (€)"] == euros(YEAR_1)
    assert view.loc["2024", "total maximal (€)"] == euros(YEAR_2)
