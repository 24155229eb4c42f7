"""The fiches as PDF (issue 20, item 6): opened, read back, French, map kept as vector paths.

Each fiche is built on hand-made data (the grid of ``tests/grid.py``, a
hand-made funding schedule), rendered by WeasyPrint (:func:`ui.pdf.fiche_pdf`)
and read back with pypdf: its text carries the title, the figures computed by
hand in French ("57 380", "330 000 €"), French dates, the footer "page n sur
N" and the sources, and the scanner of ``tests/app/test_french.py`` finds no
raw key nor English word in it. The map is drawn as one filled and stroked
path per polygon of the SVG, not as a picture.

Without WeasyPrint or Pango (``make pdf`` installs them on Debian), the tests
that render are skipped with the French reason the dashboard shows.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from diagnosis import DataError
from diagnosis.analysis.checks import territory_summary
from diagnosis.analysis.disputes import compare_perimeters
from diagnosis.analysis.membership import membership
from diagnosis.core.aci import funding_rules, simulate_funding
from diagnosis.core.model import perimeters_from_members
from tests.app.test_french import scan
from tests.grid import cell, grid_referential
from ui import pdf
from ui.fiche import fiche_html
from ui.funding_fiche import funding_fiche_html, funding_line_labels

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


@pytest.fixture
def pdf_ready() -> None:
    """Skip, with the dashboard's French reason, where WeasyPrint or Pango is missing."""
    reason = pdf.pdf_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


def pages_text(document: bytes) -> list[str]:
    """The text of each page, spaces normalised (no-break spaces read as spaces)."""
    reader = PdfReader(io.BytesIO(document))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def lines(document: bytes) -> list[str]:
    """The lines of text of the whole document, for the scanner."""
    reader = PdfReader(io.BytesIO(document))
    return [line for page in reader.pages for line in page.extract_text().splitlines()]


def filled_paths(document: bytes, page: int = 0) -> int:
    """Paths filled and stroked with the even-odd rule on a page (``B*``): the SVG map's."""
    reader = PdfReader(io.BytesIO(document))
    operations = reader.pages[page].get_contents().operations  # type: ignore[union-attr]
    return sum(op == b"B*" for _, op in operations)


def images(document: bytes) -> int:
    """Pictures embedded in the document (image XObjects, on every page)."""
    reader = PdfReader(io.BytesIO(document))
    return sum(len(page.images) for page in reader.pages)


def check_common(document: bytes, title: str) -> list[str]:
    """What every fiche shows: A4 pages, title, footer, sections, French text; its pages."""
    reader = PdfReader(io.BytesIO(document))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 portrait
    assert reader.metadata is not None and reader.metadata.title == title
    text = pages_text(document)
    assert title in text[0]
    for n, page in enumerate(text, start=1):
        assert f"page {n} sur {len(text)}" in page
        assert title in page  # the running footer
    whole = " ".join(text)
    assert "Remarques" in whole and "Sources et millésimes" in whole
    assert "Imprimer" not in whole  # the browser's print button is not printed
    assert scan(lines(document)) == []
    return text


# --------------------------------------------------------------------------
# The three fiches on hand-made data
# --------------------------------------------------------------------------

#: Column 0 has 12,345 inhabitants per commune, column 4 9,000; the others 1,000.
POPULATIONS = {cell(0, r): 12_345 for r in range(4)} | {cell(4, r): 9_000 for r in range(4)}
#: Columns 0 to 2: 4 × 12,345 + 8 × 1,000 = 57,380 inhabitants, taille 2.
TERRITORY = [cell(c, r) for c in range(3) for r in range(4)]


def territory_page() -> str:
    from coverage.indicators import CareData, scope_names, territory_indicators
    from ui.profile import territory_fiche

    ref = grid_referential(populations=POPULATIONS)
    diag = territory_summary(TERRITORY, ref, name="CPTS du Quadrillage")
    return territory_fiche(
        ref,
        TERRITORY,
        diag=diag,
        funding=simulate_funding(2),
        indicators=territory_indicators(TERRITORY, ref, CareData()),
        scopes=scope_names(TERRITORY, ref),
        name="CPTS du Quadrillage",
        frame=ref.units.loc[TERRITORY, ["geometry"]],
    )


def test_territory_fiche_pdf(pdf_ready: None) -> None:
    page = territory_page()
    document = pdf.fiche_pdf(page)
    text = check_common(document, "Fiche diagnostic : CPTS du Quadrillage")
    whole = " ".join(text)
    assert "57 380 habitants" in whole
    assert "12 345" in whole  # a commune of column 0, in the communes' table
    # Taille 2, every mission, first crisis year, no crisis: 60,000 + 70,000 + 30,000 +
    # 35,000 + 35,000 + 15,000 + 15,000 + 35,000 + 10,000 + 10,000 + 7,500 + 7,500.
    assert "330 000 € financement annuel maximal" in whole
    assert "Taille 2" in whole
    # The map: the twelve squares of the territory, one vector path each, no picture.
    assert page.count("<path ") == 12
    assert filled_paths(document) == 12
    assert images(document) == 0


def dispute_page() -> str:
    from ui.dispute_tab import dispute_fiche

    ref = grid_referential(populations=POPULATIONS)
    # A = columns 0-2, B = columns 2-4: column 2 (four communes, 4,000 inhabitants) is contested.
    a = [cell(c, r) for c in range(3) for r in range(4)]
    b = [cell(c, r) for c in range(2, 5) for r in range(4)]
    names = {"A": "CPTS Ouest", "B": "CPTS Est"}
    m = membership(perimeters_from_members({"A": a, "B": b}, names=names), ref)
    dispute = compare_perimeters(m, ref, "A", "B")
    shapes = ref.units[["geometry"]]
    frames = {
        "a": shapes.loc[sorted(set(a) - set(b))],
        "b": shapes.loc[sorted(set(b) - set(a))],
        "contested": shapes.loc[sorted(set(a) & set(b))],
    }
    return dispute_fiche(dispute, frames, names)


def test_dispute_fiche_pdf(pdf_ready: None) -> None:
    page = dispute_page()
    document = pdf.fiche_pdf(page)
    text = check_common(document, "Arbitrage : CPTS Ouest / CPTS Est")
    whole = " ".join(text)
    assert "4 communes disputées" in whole and "4 000 habitants en jeu" in whole
    # A with the contested column: 57,380 inhabitants; B: 4 × 9,000 + 8 × 1,000 = 44,000.
    assert "57 380" in whole and "44 000" in whole
    assert "Revendiquée par les deux" in whole  # the map's legend
    # 8 communes of A only, 8 of B only, 4 contested: twenty vector paths on the first page.
    assert page.count("<path ") == 20
    assert filled_paths(document) == 20
    assert images(document) == 0


def schedule() -> pd.DataFrame:
    """A taille-2 contract signed on 1 January 2025, by hand (amounts of aci.toml).

    Year 0: the letter-of-intent aid (30,000 at most, 15,000 expected). Year 1:
    operating 60,000; access to care 70,000 fixed and 30,000 variable (75 %
    attained: 22,500); care pathways from 1 July, 184 days of 365 of 35,000 =
    17,643.84; crisis plan written 35,000. Year 2: the same for a whole year,
    the plan's update 17,500 and a crisis on 10 March 2026 (52,500).
    """
    rows = [
        (0, "2024-06-15", "2024-06-15", "aide_lettre_intention", "ponctuel", 30_000, 15_000),
        (1, "2025-01-01", "2025-12-31", "fonctionnement", "fixe", 60_000, 60_000),
        (1, "2025-01-01", "2025-12-31", "acces_aux_soins", "fixe", 70_000, 70_000),
        (1, "2025-01-01", "2025-12-31", "acces_aux_soins", "variable", 30_000, 22_500),
        (1, "2025-07-01", "2025-12-31", "parcours", "fixe", 17_643.84, 17_643.84),
        (1, "2025-01-01", "2025-12-31", "crises_plan_annee_1", "fixe", 35_000, 35_000),
        (2, "2026-01-01", "2026-12-31", "fonctionnement", "fixe", 60_000, 60_000),
        (2, "2026-01-01", "2026-12-31", "acces_aux_soins", "fixe", 70_000, 70_000),
        (2, "2026-01-01", "2026-12-31", "acces_aux_soins", "variable", 30_000, 22_500),
        (2, "2026-01-01", "2026-12-31", "parcours", "fixe", 35_000, 35_000),
        (2, "2026-01-01", "2026-12-31", "crises_mise_a_jour", "fixe", 17_500, 17_500),
        (2, "2026-03-10", "2026-03-10", "crises_declenchement", "variable", 52_500, 52_500),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "contract_year",
            "period_start",
            "period_end",
            "line",
            "kind",
            "amount_max_eur",
            "amount_expected_eur",
        ],
    )
    frame.insert(0, "name", "CPTS du Quadrillage")
    frame.insert(0, "perimeter_id", "cpts-quadrillage")
    return frame


def test_funding_fiche_pdf(pdf_ready: None) -> None:
    frame = schedule()
    before = frame.copy()
    page = funding_fiche_html(frame, size_label="Taille 2")
    pd.testing.assert_frame_equal(frame, before)  # the input is not changed
    document = pdf.fiche_pdf(page)
    text = check_common(document, "Financement ACI : CPTS du Quadrillage")
    whole = " ".join(text)
    # Totals by hand: 30,000 + (60,000 + 70,000 + 30,000 + 17,643.84 + 35,000) + (60,000 +
    # 70,000 + 30,000 + 35,000 + 17,500 + 52,500) = 507,643.84 at most; expected 477,643.84.
    assert "507 644 € montant maximal" in whole
    assert "477 644 € montant attendu" in whole
    assert "212 644 €" in whole and "205 144 €" in whole  # year 1
    assert "265 000 €" in whole and "257 500 €" in whole  # year 2
    assert "17 644 €" in whole  # the care pathways from 1 July
    # French dates, the periods of each year and of each line.
    assert "Année 1 : du 1er janvier 2025 au 31 décembre 2025" in whole
    assert "Avant le contrat : le 15 juin 2024" in whole
    assert "le 10 mars 2026" in whole and "à partir du 1er juil. 2025" in whole
    # Every line under its French label from aci.toml, never its key.
    labels = funding_line_labels()
    for key in set(frame["line"]):
        assert " ".join(labels[key].split()) in whole, key
    assert "part fixe" in whole and "part variable" in whole and "versement ponctuel" in whole
    # The source of the rules.
    assert " ".join(funding_rules().source.split())[:60] in whole
    assert images(document) == 0


def test_a_planted_raw_key_is_read_back_and_flagged(pdf_ready: None) -> None:
    # The same fiche with one line shown under its key: the scan of the PDF finds it.
    labels = funding_line_labels() | {"parcours": "parcours_de_soins"}
    document = pdf.fiche_pdf(funding_fiche_html(schedule(), labels=labels))
    found = scan(lines(document))
    assert found and all("parcours_de_soins" in f for f in found), found


# --------------------------------------------------------------------------
# Rendering is offline
# --------------------------------------------------------------------------

#: A 1×1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_only_inline_data_is_read(
    pdf_ready: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Three pictures: inline (data:), a file of this machine, a local web address. Only the
    # first is drawn; the others are refused before anything is opened.
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PIXEL)
    inline = "data:image/png;base64," + base64.b64encode(PIXEL).decode()
    page = fiche_html(
        title="Essai hors ligne",
        key_figures={},
        map_svg=(
            f'<img src="{inline}" width="20"><img src="{picture.as_uri()}" width="20">'
            '<img src="http://127.0.0.1:9/pixel.png" width="20">'
        ),
        tables={},
        sources=["Essai"],
    )
    with caplog.at_level(logging.INFO, logger="ui.pdf"):
        document = pdf.fiche_pdf(page)
    assert images(document) == 1
    refused = [r.getMessage() for r in caplog.records if r.name == "ui.pdf"]
    assert len(refused) == 2 and "file:" in refused[0] and "http:" in refused[1], refused


def test_rendering_warns_about_nothing(pdf_ready: None, caplog: pytest.LogCaptureFixture) -> None:
    # WeasyPrint logs a warning for each CSS rule it ignores: the fiche's style has none.
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf.fiche_pdf(funding_fiche_html(schedule()))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_long_tables_flow_with_their_header_and_short_ones_stay_whole(pdf_ready: None) -> None:
    # 120 rows end the long table low on its last page: without the rule that keeps a short
    # table whole (from 112 to 130 rows, measured), the short one would be cut there.
    short = pd.DataFrame({"commune": [f"Commune courte {i}" for i in range(20)]})
    long = pd.DataFrame({"commune": [f"Commune longue {i}" for i in range(120)]})
    page = fiche_html(
        title="Essai de coupure",
        key_figures={},
        map_svg="",
        tables={"Longue": long, "Courte": short},
        sources=["Essai"],
    )
    text = pages_text(pdf.fiche_pdf(page))
    assert len(text) >= 3
    with_long = [i for i, t in enumerate(text) if "Commune longue" in t]
    # The long table spans pages, its header row repeated on each.
    assert len(with_long) >= 2
    assert all("commune" in re.sub(r"Commune \w+ \d+", "", text[i]) for i in with_long)
    # The short table is on one page, with its heading.
    with_short = [i for i, t in enumerate(text) if "Commune courte" in t]
    assert len(with_short) == 1 and "Courte" in text[with_short[0]]


# --------------------------------------------------------------------------
# The funding fiche refuses what it cannot show
# --------------------------------------------------------------------------


def test_funding_fiche_says_every_problem_in_french() -> None:
    frame = schedule()
    other = frame.iloc[:1].assign(perimeter_id="autre")
    odd = frame.assign(
        line=["ligne_inconnue", *frame["line"][1:]], kind=["bonus", *frame["kind"][1:]]
    )
    with pytest.raises(DataError) as caught:
        funding_fiche_html(pd.concat([odd, other], ignore_index=True))
    message = str(caught.value)
    assert "2 CPTS dans l'échéancier" in message
    assert "ligne_inconnue" in message and "aci.toml" in message
    assert "natures inconnues : bonus" in message
    with pytest.raises(DataError, match="absentes : amount_expected_eur"):
        funding_fiche_html(frame.drop(columns="amount_expected_eur"))


def test_funding_fiche_of_a_simulated_contract() -> None:
    # One contract's schedule, without perimeter nor name, dates as dates: titled by the caller.
    frame = schedule().drop(columns=["perimeter_id", "name"])
    for column in ("period_start", "period_end"):
        frame[column] = [dt.date.fromisoformat(d) for d in frame[column]]
    page = funding_fiche_html(frame, title="Financement ACI : Mon territoire")
    assert "<h1>Financement ACI : Mon territoire</h1>" in page
    assert "du 1er\u00a0janvier\u00a02025 au 31\u00a0décembre\u00a02026" in page
    assert "Financement ACI : contrat simulé" in funding_fiche_html(frame)


def test_funding_labels_cover_the_rules() -> None:
    labels = funding_line_labels()
    rules = funding_rules()
    assert {line.key for line in rules.lines} <= set(labels)
    assert labels["supplement_exceptionnel"] == rules.supplement_label
    assert labels["aide_lettre_intention"] == rules.one_off_label
    assert labels["bonus_taille_4"] == "Majoration de 10\u202f% (taille 4, au moins 100 adhérents)"
    assert all(not re.fullmatch(r"[a-z_0-9]+", label) for label in labels.values())


# --------------------------------------------------------------------------
# The buttons, and the French note where the PDF cannot be made
# --------------------------------------------------------------------------


def _buttons_script() -> None:
    from ui.pdf import fiche_downloads

    fiche_downloads(
        lambda: "<html><body><h1>Essai</h1></body></html>",
        file_stem="fiche_essai",
        key="essai_fiche",
        html_label="Fiche diagnostic imprimable (HTML)",
    )


def test_buttons_offer_html_and_pdf(pdf_ready: None) -> None:
    at = AppTest.from_function(_buttons_script).run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Fiche diagnostic imprimable (HTML)", "Télécharger la fiche (PDF)"]


@pytest.fixture
def without_weasyprint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """WeasyPrint made unimportable for one test (a None entry in sys.modules)."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    pdf._load_weasyprint.cache_clear()
    yield
    pdf._load_weasyprint.cache_clear()


def test_without_weasyprint_a_french_note_replaces_the_pdf_button(
    without_weasyprint: None,
) -> None:
    reason = pdf.pdf_unavailable_reason()
    assert reason is not None and "WeasyPrint" in reason and "La fiche PDF" in reason
    with pytest.raises(pdf.PdfUnavailableError, match="WeasyPrint"):
        pdf.fiche_pdf("<html></html>")
    at = AppTest.from_function(_buttons_script).run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Fiche diagnostic imprimable (HTML)"]
    assert any("La fiche PDF n'est pas disponible" in c.value for c in at.caption)
