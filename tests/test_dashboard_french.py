"""English identifiers and raw values on screen and in people's exports (issue 10, item 8).

The scanner reads what a person sees: the rendered pages of every workflow
and scope (AppTest elements, dataframe headers and cells) and the exports
meant for people (Couverture workbook, white-zone CSV, import report CSV,
territory and dispute fiches). It looks for ``nan``, ``None``,
``True``/``False``, snake_case identifiers, floats with more decimals than a
person is shown, and English words. What is allowed is whitelisted narrowly
below, each with its reason.
"""

from __future__ import annotations

import html.parser
import io
import re
from collections.abc import Iterable, Iterator

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.referential import Referential
from tests.test_dashboard_matrix import EXAMPLE, library_diagnosis, ok, start

pytestmark = pytest.mark.referential

# --------------------------------------------------------------------------
# The scanner
# --------------------------------------------------------------------------

#: Raw values that only a program writes.
RAW = {
    "nan": re.compile(r"\b(?:nan|NaN|NaT|<NA>)\b"),
    "None": re.compile(r"\bNone\b"),
    "booléen anglais": re.compile(r"\b(?:True|False)\b"),
    "identifiant snake_case": re.compile(r"\b[a-z]+_[a-z_]+\b"),
    "trop de décimales": re.compile(r"\b\d+\.\d{3,}\b"),
}
#: English words a French page must not show (whole words, any case).
ENGLISH_WORDS = (
    "upload", "per file", "browse files", "drag and drop", "unknown", "warning", "info",
    "error", "rejected", "kind", "severity", "scope", "perimeter", "overlap", "white zone",
    "cluster", "status", "true", "false", "none", "yes", "no", "proposal", "share",
    "miles", "feet",
)  # fmt: skip
#: English words of column ids turned into headers; lowercase only, since place names such as
#: "Ids-Saint-Roch" would match otherwise.
ENGLISH_HEADER_WORDS = (
    "label", "bound", "lower", "upper", "nearest", "margin", "ids", "units", "covered", "n epci",
    "epci cut",
)  # fmt: skip
ENGLISH = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in ENGLISH_WORDS) + r")\b", re.I)
ENGLISH_HEADERS = re.compile(r"\b(?:" + "|".join(map(re.escape, ENGLISH_HEADER_WORDS)) + r")\b")

MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")

#: Allowed before scanning, each for its reason.
WHITELIST = {
    # Addresses are copied as they are (sources, licences).
    "adresse web": re.compile(r"https?://\S+"),
    # File names offered or cited (downloads, the example, the rules tables): a person types
    # them as they are.
    "nom de fichier": re.compile(
        r"[\w./@-]+\.(?:csv|xlsx|xls|ods|toml|json|geojson|gpkg|html|txt|zip|lzma|shp)\b"
    ),
    # The npm and PyPI package names of the sources (how the data is cited in the manifest).
    "paquet source": re.compile(r"@etalab/decoupage-administratif|data[-_]france"),
    # The import report quotes the file's own column headers, as the user wrote them.
    "en-tête du fichier": re.compile(r"← «[^»]*»"),
    # The Annuaire santé extraction is named by its official file name stem.
    "extraction RPPS": re.compile(r"PS_LibreAcces_Personne_activite\w*"),
}


def findings(text: str) -> list[str]:
    """What the scanner flags in ``text``: ``"kind: excerpt"`` each."""
    # Markdown escapes are not shown to the reader ("unknown\\_codes\\.csv" reads as a file name).
    text = MARKDOWN_ESCAPE.sub(r"\1", text)
    for pattern in WHITELIST.values():
        text = pattern.sub(" ", text)
    found = []
    for kind, pattern in RAW.items():
        found += [f"{kind}: {m.group(0)}" for m in pattern.finditer(text)]
    found += [f"mot anglais: {m.group(0)}" for m in ENGLISH.finditer(text)]
    found += [f"mot anglais: {m.group(0)}" for m in ENGLISH_HEADERS.finditer(text)]
    return found


def scan(texts: Iterable[str]) -> list[str]:
    """Findings of several texts, each with its text (cut) for the report."""
    out = []
    for text in texts:
        out += [f"{f}  ←  {text[:120]!r}" for f in findings(text)]
    return out


def test_scanner_flags_raw_values_and_spares_french() -> None:
    for bad in (
        "nan", "None", "True", "False", "proposal_id", "distance_b_km", "4.611373514963556",
        "0.4459", "Upload", "200MB per file", "unknown", "warning", "kind", "severity", "scope",
        "margin to nearest bound", "perimeter ids",
    ):  # fmt: skip
        assert findings(bad), bad
    for good in (
        "Population couverte : 98,1 %", "4,6 km", "1 234 567 habitants", "250 000 €", "oui",
        "non", "Télécharger atlas_cpts_couverture.xlsx", "https://www.data.gouv.fr/x_y",
        "Taille 3", "Lettre d'intention validée ou plus", "Rapport d'import", "Ids-Saint-Roch",
    ):  # fmt: skip
        assert not findings(good), (good, findings(good))


# --------------------------------------------------------------------------
# Rendered pages
# --------------------------------------------------------------------------


def frame_texts(frame: pd.DataFrame) -> Iterator[str]:
    yield from (str(c) for c in frame.columns)
    for column in frame.columns:
        yield from (str(v) for v in frame[column].tolist())


def page_texts(at: AppTest) -> list[str]:
    """Everything the page shows as text: blocks, labels, options, metrics, tables."""
    out: list[str] = []
    for part in (at.main, at.sidebar):
        for kind in ("markdown", "caption", "info", "warning", "success", "error", "text"):
            out += [str(e.value) for e in part.get(kind)]
        for kind in ("title", "header", "subheader"):
            out += [str(e.value) for e in part.get(kind)]
        for kind in (
            "button", "selectbox", "multiselect", "radio", "text_input", "toggle", "checkbox",
            "slider", "number_input", "expander", "download_button", "file_uploader",
        ):  # fmt: skip
            for e in part.get(kind):
                label = getattr(e, "label", None)
                if label:
                    out.append(str(label))
                out += [str(o) for o in getattr(e, "options", []) or []]
        for m in part.get("metric"):
            out += [str(m.label), str(m.value)]
        for d in part.get("dataframe"):
            out += list(frame_texts(d.value))
    return out


def open_everything(at: AppTest) -> AppTest:
    """Show what is folded: the import report's information lines."""
    toggles = [t for t in at.sidebar.get("toggle") if t.key == "report_show_info"]
    if toggles:
        toggles[0].set_value(True).run()
        ok(at)
    return at


def _territory(at: AppTest) -> None:
    at.radio(key="workflow").set_value("territoire").run()
    at.button(key="territory_example").click().run()
    ok(at)


PAGES = [
    ("paca", "ars_regional.csv", "couverture"),
    ("bdr", EXAMPLE, "couverture"),
    ("paca", "unknown_codes.csv", "couverture"),
    ("bdr", "partly_outside.csv", "couverture"),
    ("france", EXAMPLE, "couverture"),
    ("paca", "ars_regional.csv", "territoire"),
    ("ille", "brittany.csv", "territoire"),
    ("paca", "ars_regional.csv", "arbitrage"),
    ("bdr", "ars_regional.csv", "arbitrage"),
]


def rendered(scope: str, name: str, workflow: str) -> list[str]:
    at = open_everything(start(scope, name))
    if workflow == "couverture":
        # Open the fiche of the first CPTS (the shared territory profile).
        at.selectbox(key="coverage_fiche_pick").select_index(0).run()
        ok(at)
    elif workflow == "territoire":
        _territory(at)
    else:
        at.radio(key="workflow").set_value("arbitrage").run()
        ok(at)
    return page_texts(at)


@pytest.mark.parametrize(("scope", "name", "workflow"), PAGES)
def test_rendered_page_is_french(
    real_referential: Referential, scope: str, name: str, workflow: str
) -> None:
    shown = rendered(scope, name, workflow)
    assert len(shown) > 20  # the page was drawn
    assert scan(shown) == []


# --------------------------------------------------------------------------
# Exports meant for people
# --------------------------------------------------------------------------


class _VisibleText(html.parser.HTMLParser):
    """The text a reader sees in an HTML page (no style, script or markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def html_texts(page: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(page)
    return parser.parts


def csv_texts(raw: bytes) -> list[str]:
    """Cells of a people's CSV, which must be ``;``-separated UTF-8 with a BOM."""
    assert raw.startswith("\ufeff".encode()), "people's CSV without BOM"
    frame = pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype=str)
    assert len(frame.columns) > 1, "people's CSV not separated by ';'"
    return list(frame_texts(frame.fillna("")))


def workbook_texts(raw: bytes) -> list[str]:
    """Sheet names, headers and text cells of a workbook; booleans are flagged as English."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    out = list(book.sheetnames)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, bool):
                    out.append(str(value))
                elif isinstance(value, str):
                    out.append(value)
    return out


EXPORT_CASES = [("paca", "ars_regional.csv"), ("bdr", EXAMPLE), ("paca", "unknown_codes.csv")]


@pytest.mark.parametrize(("scope", "name"), EXPORT_CASES)
def test_coverage_csv_exports_are_french(
    real_referential: Referential, scope: str, name: str
) -> None:
    from diagnosis.export import white_zone_csv
    from diagnosis.labels import people_csv
    from ui.sidebar import report_for_people

    diag = library_diagnosis(name, scope, "emergence")
    white = csv_texts(white_zone_csv(diag))
    report = csv_texts(people_csv(report_for_people(diag.imported.report)))
    assert len(white) > 20 and len(report) > 8
    assert scan(white) == [], "CSV des zones blanches"
    assert scan(report) == [], "CSV du rapport d'import"


@pytest.mark.parametrize(("scope", "name"), EXPORT_CASES[:1])
def test_coverage_workbook_is_french(real_referential: Referential, scope: str, name: str) -> None:
    from diagnosis.export import people_workbook

    workbook = workbook_texts(people_workbook(library_diagnosis(name, scope, "emergence")))
    assert len(workbook) > 20
    assert scan(workbook) == [], "classeur Excel de la couverture"


def test_coverage_workbook_headers_are_unique(real_referential: Referential) -> None:
    import openpyxl

    from diagnosis.export import people_workbook

    raw = people_workbook(library_diagnosis("ars_regional.csv", "paca", "emergence"))
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    for sheet in book.worksheets:
        headers = next(sheet.iter_rows(values_only=True, max_row=1))
        assert len(set(headers)) == len(headers), (sheet.title, headers)


def test_territory_fiche_is_french(real_referential: Referential) -> None:
    from coverage.embedded import embedded_apl
    from coverage.indicators import CareData, scope_names, territory_indicators
    from diagnosis.checks import territory_summary
    from diagnosis.rules import simulate_funding
    from ui.territory_tab import territory_fiche

    ref = real_referential
    # Salon-de-Provence and neighbours, across two EPCIs (one cut): every table is filled.
    codes = ["13103", "13044", "13063", "13069", "13092", "13004"]
    diag = territory_summary(codes, ref, name="CPTS d'essai")
    funding = simulate_funding(int(diag.summary.iloc[0]["size_class"]))
    indicators = territory_indicators(
        codes, ref, CareData(apl_layers=tuple(embedded_apl(ref).values()))
    )
    page = territory_fiche(
        ref,
        codes,
        diag=diag,
        funding=funding,
        indicators=indicators,
        scopes=scope_names(codes, ref),
        name="CPTS d'essai",
    )
    shown = html_texts(page)
    assert "Fiche diagnostic : CPTS d'essai" in shown
    assert scan(shown) == []


def test_dispute_fiche_is_french(real_referential: Referential) -> None:
    from diagnosis.disputes import compare_perimeters
    from ui import data
    from ui.dispute_tab import dispute_fiche

    diag = library_diagnosis("ars_regional.csv", "bdr", "emergence")
    pair = diag.overlap_pairs.iloc[0]
    a, b = str(pair["perimeter_a"]), str(pair["perimeter_b"])
    dispute = compare_perimeters(diag.membership, diag.referential, a, b, shared={"13001": 0.5})
    m = diag.membership
    ids = m.perimeters["perimeter_id"].tolist()
    a_units = set(m.index.codes[m.units_of(ids.index(a))])
    b_units = set(m.index.codes[m.units_of(ids.index(b))])

    def frame(codes: set[str]) -> object:
        return data.unit_display(tuple(sorted(codes)))

    frames = {
        "a": frame(a_units - b_units),
        "b": frame(b_units - a_units),
        "contested": frame(a_units & b_units),
    }
    names = {"A": str(dispute.summary["name_a"]), "B": str(dispute.summary["name_b"])}
    shown = html_texts(dispute_fiche(dispute, frames, names))  # type: ignore[arg-type]
    assert "Revendiquée par les deux" in shown  # the legend
    assert scan(shown) == []
