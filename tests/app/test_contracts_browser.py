"""Issue 20 in Chromium: a contracts file uploaded in Couverture, the forecast drawn and downloaded,
a CPTS's funding fiche downloaded as PDF and read back.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from diagnosis.core.referential import Referential
from tests.app.test_contracts_workflows import CONTRACTS, JABRON, YEAR_1, YEAR_2
from tests.app.test_journeys import Journey, choose, download, read_people_csv, settle, shot
from ui import pdf

pytestmark = [pytest.mark.referential, pytest.mark.browser]


def test_contracts_journey(real_referential: Referential, tmp_path: Path) -> None:
    reason = pdf.pdf_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    contracts = tmp_path / "contrats.csv"
    contracts.write_bytes(CONTRACTS)
    journey = Journey()
    with journey as page:
        page.get_by_text("Fichier des contrats ACI", exact=True).click()  # type: ignore[attr-defined]
        uploader = page.locator("[data-testid='stFileUploader']", has_text="Fichier des contrats")  # type: ignore[attr-defined]
        uploader.locator("input[type='file']").set_input_files(str(contracts))
        page.get_by_text("1 contrat retenu sur 2 lu(s) ; 1 rejet.").wait_for(timeout=120_000)  # type: ignore[attr-defined]
        settle(page)
        # The chart is drawn (Vega's canvas or SVG), with something on it.
        chart = page.locator("[data-testid='stVegaLiteChart']").first  # type: ignore[attr-defined]
        chart.scroll_into_view_if_needed()
        chart.locator("canvas, svg").first.wait_for(timeout=60_000)
        box = chart.bounding_box()
        assert box is not None and box["height"] > 100
        shot(page, "contracts-forecast.png")
        frame = read_people_csv(download(page, "Financements dus par année (CSV)", tmp_path))
        region = frame[frame["territoire"].str.startswith("Provence-Alpes")]
        totals = dict(zip(region["année"], region["total maximal (€)"], strict=True))
        # Paid on the ACI's dates: year 1's operating amount and advances fall in 2023,
        # its balances after the review (by 1 March 2024) in 2024; five years in all.
        paid = sum(int(v) for v in totals.values())
        assert paid == YEAR_1 + 4 * YEAR_2
        assert int(totals["2023"]) < YEAR_1
        choose(page, "Fiche d'une CPTS", "Jabron")
        page.get_by_text("Contrat lu dans le fichier des contrats", exact=False).first.wait_for(  # type: ignore[attr-defined]
            timeout=120_000
        )
        settle(page)
        document = download(page, "Fiche de financement (PDF)", tmp_path).read_bytes()
        shot(page, "contracts-cpts-fiche.png")
    assert document.startswith(b"%PDF")
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(document)).pages
    )
    assert f"Financement ACI : {JABRON}" in text
    assert f"{YEAR_1:,} €".replace(",", " ") in text
