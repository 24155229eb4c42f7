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

from diagnosis.core.referential import Referential
from tests.app.test_scopes_workflows_files import EXAMPLE, library_diagnosis, ok, start

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
    # A French decimal comma with more decimals than any table shows ("0,018821"; accessibility
    # in GP full-time equivalents is shown with three), as a whole cell.
    "trop de décimales (virgule)": re.compile(r"^-?\d+,\d{4,}$"),
    # The keys of the scope levels (diagnosis.analysis.rates), shown as "France", "Région",
    # "Département".
    "clé de niveau": re.compile(r"\b(?:france|region|department)\b"),
    # A count of one followed by a plural noun ("1 communes", "1 parties").
    "pluriel après 1": re.compile(
        r"(?<![\d\u202f,.])1 (?:communes|parties|périmètres|habitants|enclaves|groupes)\b"
    ),
}
#: English words a French page must not show (whole words, any case).
ENGLISH_WORDS = (
    "upload", "per file", "browse files", "drag and drop", "unknown", "warning", "info",
    "error", "rejected", "kind", "severity", "scope", "perimeter", "overlap", "white zone",
    "cluster", "status", "true", "false", "none", "yes", "no", "proposal", "share",
    "miles", "feet", "layers", "library", "zoom in", "zoom out",
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
        "margin to nearest bound", "perimeter ids", "0,018821", "4,55493", "region", "department",
        "france", "1 communes, 357 737 habitants", "1 parties", "Layers",
        "A JavaScript library for interactive maps", "Zoom in",
    ):  # fmt: skip
        assert findings(bad), bad
    for good in (
        "Population couverte : 98,1 %", "4,6 km", "1 234 567 habitants", "250 000 €", "oui",
        "non", "Télécharger atlas_cpts_couverture.xlsx", "https://www.data.gouv.fr/x_y",
        "Taille 3", "Lettre d'intention validée ou plus", "Rapport d'import", "Ids-Saint-Roch",
        "1,9", "1,75", "Région", "Département", "France", "1 commune", "21 communes",
        "1\u202f234 communes", "04,05,06,13,83,84", "Calques", "Zoom avant",
        "Bibliothèque JavaScript de cartes interactives",
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


def format_decimals(number_format: str) -> int:
    """Decimals an Excel number format shows; "General" gets the 2 of the dashboard's numbers."""
    if number_format == "General":
        return 2
    found = re.search(r"\.(0+)", number_format)
    digits = len(found.group(1)) if found else 0
    return digits + 2 if "%" in number_format else digits


def workbook_number_findings(raw: bytes) -> list[str]:
    """Numeric cells shown otherwise than on screen: more decimals than their format shows,
    or a share ("part …", between 0 and 1) without a percentage format."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw))
    out = []
    for sheet in book.worksheets:
        headers = [str(c.value) for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                value = cell.value
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                where = f"{sheet.title} / {headers[cell.column - 1]} = {value!r}"
                digits = format_decimals(cell.number_format)
                if round(value, digits) != value:
                    out.append(f"trop de décimales ({cell.number_format}): {where}")
                if headers[cell.column - 1].startswith("part ") and "%" not in cell.number_format:
                    out.append(f"part sans format % ({cell.number_format}): {where}")
    return out


def workbook_stage_findings(raw: bytes) -> list[str]:
    """Cells of stage columns ("stade…") that are not a stage label or the one unknown wording."""
    import openpyxl

    from diagnosis.core.statuses import status_name, status_specs

    allowed = {s.label_fr for s in status_specs()} | {status_name(None)}
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    out = []
    for sheet in book.worksheets:
        rows = sheet.iter_rows(values_only=True)
        headers = [str(h) for h in next(rows)]
        status_columns = [i for i, h in enumerate(headers) if h.startswith("stade")]
        for row in rows:
            for i in status_columns:
                if row[i] is None:
                    continue
                out += [
                    f"stade: {sheet.title} / {headers[i]} = {part!r}"
                    for part in str(row[i]).split(" | ")
                    if part not in allowed
                ]
    return out


def _tiny_workbook(cells: dict[str, tuple[object, str | None]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        sheet = book.add_worksheet("f")
        for col, (header, (value, number_format)) in enumerate(cells.items()):
            sheet.write(0, col, header)
            fmt = book.add_format({"num_format": number_format}) if number_format else None
            sheet.write(1, col, value, fmt)
    return buffer.getvalue()


def test_workbook_number_scanner_flags_floats_shown_raw() -> None:
    bad = {
        "part couverte": (0.2388949722607822, None),
        "superficie (km²)": (286.471627749281, None),
        "frontière commune (m)": (118893.8804934081, "0"),
        "part incluse": (0.239, None),
        "densité": (541.07, "#,##0.0"),
    }
    found = workbook_number_findings(_tiny_workbook(bad))
    assert {f.split(" / ")[1].split(" = ")[0] for f in found} == set(bad), found
    assert sum("part sans format %" in f for f in found) == 2, found
    good = {
        "part couverte": (0.239, "0.0%"),
        "superficie (km²)": (286.5, "#,##0.0"),
        "frontière commune (m)": (118894, None),
        "habitants": (155002, None),
        "compacité": (0.3, "0.00"),
    }
    assert workbook_number_findings(_tiny_workbook(good)) == []


def _dispute_case() -> tuple[object, dict[str, object], dict[str, str]]:
    """A dispute of the Bouches-du-Rhône listing (Aix-en-Provence shared), its map frames, names."""
    from diagnosis.analysis.disputes import compare_perimeters
    from ui.dispute_tab import dispute_frames, party_names

    diag = library_diagnosis("ars_regional.csv", "bdr", "emergence")
    pair = diag.overlap_pairs.iloc[0]
    a, b = str(pair["perimeter_a"]), str(pair["perimeter_b"])
    dispute = compare_perimeters(diag.membership, diag.referential, a, b, shared={"13001": 0.5})
    # The dispute exposes its sides: the frames are no longer rebuilt from the membership.
    return dispute, dispute_frames(dispute), party_names(dispute)


EXPORT_CASES = [("paca", "ars_regional.csv"), ("bdr", EXAMPLE), ("paca", "unknown_codes.csv")]


@pytest.mark.parametrize(("scope", "name"), EXPORT_CASES)
def test_coverage_csv_exports_are_french(
    real_referential: Referential, scope: str, name: str
) -> None:
    from coverage.loaders.embedded import embedded_apl
    from diagnosis.outputs.export import white_zone_csv
    from diagnosis.outputs.people import people_csv
    from ui.care_panels import priority_white_zones_csv
    from ui.sidebar import report_for_people

    diag = library_diagnosis(name, scope, "emergence")
    white = csv_texts(white_zone_csv(diag))
    report = csv_texts(people_csv(report_for_people(diag.imported.report)))
    apl = tuple(embedded_apl(diag.referential).values())
    priority = csv_texts(priority_white_zones_csv(diag, apl))
    assert len(white) > 20 and len(report) > 8 and len(priority) > 20
    assert scan(white) == [], "CSV des zones blanches"
    assert scan(report) == [], "CSV du rapport d'import"
    assert scan(priority) == [], "CSV des zones blanches prioritaires"


@pytest.mark.parametrize(("scope", "name"), EXPORT_CASES[:1])
def test_coverage_workbook_is_french(real_referential: Referential, scope: str, name: str) -> None:
    from diagnosis.outputs.export import people_workbook

    raw = people_workbook(library_diagnosis(name, scope, "emergence"))
    workbook = workbook_texts(raw)
    assert len(workbook) > 20
    assert scan(workbook) == [], "classeur Excel de la couverture"
    assert workbook_number_findings(raw) == [], "nombres du classeur de la couverture"
    assert workbook_stage_findings(raw) == [], "stades du classeur de la couverture"


def test_dispute_workbook_is_french(real_referential: Referential) -> None:
    from diagnosis.outputs.disputes import dispute_workbook

    dispute, _, _ = _dispute_case()
    raw = dispute_workbook(dispute)  # type: ignore[arg-type]
    workbook = workbook_texts(raw)
    assert "Communes disputées" in workbook
    assert scan(workbook) == [], "classeur Excel de l'arbitrage"
    assert workbook_number_findings(raw) == [], "nombres du classeur de l'arbitrage"


def test_coverage_workbook_headers_are_unique(real_referential: Referential) -> None:
    import openpyxl

    from diagnosis.outputs.export import people_workbook

    raw = people_workbook(library_diagnosis("ars_regional.csv", "paca", "emergence"))
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    for sheet in book.worksheets:
        headers = next(sheet.iter_rows(values_only=True, max_row=1))
        assert len(set(headers)) == len(headers), (sheet.title, headers)


@pytest.mark.parametrize(
    ("codes", "figures"),
    [
        # Salon-de-Provence and neighbours, across two EPCIs (one cut), with Arles apart: every
        # table is filled.
        (
            ["13103", "13044", "13063", "13069", "13092", "13004"],
            {"communes": "6", "parties": "2"},
        ),
        # Salon-de-Provence alone: the key figures are singular.
        (["13103"], {"commune": "1", "partie": "1"}),
    ],
)
def test_territory_fiche_is_french(
    real_referential: Referential, codes: list[str], figures: dict[str, str]
) -> None:
    from coverage.care import CareData
    from coverage.indicators import scope_names, territory_indicators
    from coverage.loaders.embedded import embedded_apl
    from diagnosis.analysis.checks import territory_summary
    from diagnosis.core.aci import simulate_funding
    from ui.profile import territory_fiche

    ref = real_referential
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
    # The key figures read value then noun ("1 partie", "2 parties").
    for noun, value in figures.items():
        assert shown[shown.index(noun) - 1] == value, noun


def test_dispute_fiche_is_french(real_referential: Referential) -> None:
    from ui.dispute_tab import dispute_fiche

    dispute, frames, names = _dispute_case()
    shown = html_texts(dispute_fiche(dispute, frames, names))  # type: ignore[arg-type]
    assert "Revendiquée par les deux" in shown  # the legend
    assert scan(shown) == []
    # The key figures read value then noun: one contested commune (Aix-en-Provence).
    assert shown[shown.index("commune disputée") - 1] == "1"
    assert "communes disputées" not in shown
