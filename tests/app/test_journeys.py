"""One Chromium journey per user of issue 10: ARS, CPTS leader, regional committee.

Each journey drives the real app in headless Chromium (Debian's browser,
through Playwright), downloads what the user would take away and reads it
back, and checks the key figures against the library. Every journey asserts
that no dialog opened and that no request left 127.0.0.1. Screenshots are
kept in ``tests/artifacts/``.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from diagnosis.analysis.disputes import compare_perimeters
from diagnosis.core.referential import Referential
from tests.app.test_scopes_workflows_files import LISTINGS, fr_int, library_diagnosis
from tests.browser import (
    PROJECT_DIR,
    browser_or_skip,
    chromium_page,
    map_frames,
    streamlit_server,
    wait_for_map,
)

pytestmark = [pytest.mark.referential, pytest.mark.browser]

ARTIFACTS = PROJECT_DIR / "tests" / "artifacts"
ARS = LISTINGS / "ars_regional.csv"


# --------------------------------------------------------------------------
# Page helpers
# --------------------------------------------------------------------------


def metric(page: object, label: str) -> str:
    """The value of the metric whose label is ``label`` (exactly)."""
    boxes = page.locator("[data-testid='stMetric']")  # type: ignore[attr-defined]
    for i in range(boxes.count()):
        box = boxes.nth(i)
        if box.locator("[data-testid='stMetricLabel']").inner_text().strip() == label:
            return str(box.locator("[data-testid='stMetricValue']").inner_text().strip())
    raise AssertionError(f"no metric {label!r}")


def wait_metric(page: object, label: str, expected: str, *, timeout_s: float = 90) -> str:
    """Wait until the metric ``label`` shows ``expected`` (the page reruns meanwhile)."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        try:
            value = metric(page, label)
            if value == expected:
                return value
        except Exception:  # the metric is being redrawn
            pass
        page.wait_for_timeout(300)  # type: ignore[attr-defined]
    raise AssertionError(f"metric {label!r} shows {value!r}, expected {expected!r}")


def settle(page: object) -> None:
    """Wait for Streamlit to finish its rerun (the "running" status widget disappears).

    Until then the previous run's elements stay on the page: a download button
    clicked meanwhile would deliver the previous run's file.
    """
    status = page.locator("[data-testid='stStatusWidget']")  # type: ignore[attr-defined]
    # The rerun may be quicker than that, or not started yet.
    with contextlib.suppress(Exception):
        status.wait_for(state="attached", timeout=1_500)
    status.wait_for(state="detached", timeout=120_000)
    page.wait_for_timeout(500)  # type: ignore[attr-defined]


def choose(page: object, label: str, text: str) -> None:
    """Pick the option containing ``text`` in the selectbox labelled ``label``."""
    box = page.locator("[data-testid='stSelectbox']", has_text=label).first  # type: ignore[attr-defined]
    combo = box.locator("input[role='combobox']")
    combo.scroll_into_view_if_needed()
    combo.click()
    combo.fill(text)
    option = page.get_by_role("option", name=re.compile(re.escape(text)))  # type: ignore[attr-defined]
    option.first.click()
    settle(page)


def download(page: object, label: str, dest: Path) -> Path:
    """Click the download button ``label`` and save what the browser received."""
    button = page.locator("[data-testid='stDownloadButton']", has_text=label).first  # type: ignore[attr-defined]
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as info:  # type: ignore[attr-defined]
        button.locator("button").click()
    path = dest / info.value.suggested_filename
    info.value.save_as(path)
    return path


def upload(page: object, label: str, path: Path) -> None:
    uploader = page.locator("[data-testid='stFileUploader']", has_text=label)  # type: ignore[attr-defined]
    uploader.wait_for(timeout=60_000)
    uploader.locator("input[type='file']").set_input_files(str(path))


def open_listing(page: object, path: Path) -> None:
    page.get_by_text("Mon fichier", exact=True).click()  # type: ignore[attr-defined]
    upload(page, "Fichier de périmètres", path)
    page.get_by_text(f"Fichier : {path.name}", exact=True).wait_for(  # type: ignore[attr-defined]
        timeout=120_000
    )
    settle(page)


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)  # type: ignore[attr-defined]


class Journey:
    """A Streamlit server and a Chromium page that records dialogs and outside requests."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.dialogs: list[str] = []

    def __enter__(self) -> object:
        executable = browser_or_skip()
        self._server = streamlit_server()
        base = self._server.__enter__()
        self._page = chromium_page(executable, blocked=self.blocked)
        page = self._page.__enter__()
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
        page.set_default_timeout(60_000)  # type: ignore[attr-defined]
        page.goto(base, wait_until="domcontentloaded")  # type: ignore[attr-defined]
        wait_for_map(page)
        return page

    def __exit__(self, *exc: object) -> None:
        self._page.__exit__(*exc)
        self._server.__exit__(*exc)
        assert self.dialogs == [], self.dialogs
        assert self.blocked == [], self.blocked


def read_people_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode()), "CSV without BOM"
    frame = pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype=str)
    assert len(frame.columns) > 1, "CSV not separated by ';'"
    return frame


# --------------------------------------------------------------------------
# ARS
# --------------------------------------------------------------------------


def test_ars_journey(real_referential: Referential, tmp_path: Path) -> None:
    """Upload the regional listing, pick the department, a threshold and back; read the exports."""
    import openpyxl

    diag = library_diagnosis("ars_regional.csv", "bdr", "emergence")
    journey = Journey()
    with journey as page:
        open_listing(page, ARS)
        choose(page, "Département", "Bouches-du-Rhône")
        page.get_by_text("Couverture : Bouches-du-Rhône (13)").wait_for(timeout=120_000)
        wait_metric(page, "Communes en chevauchement", "2")
        white = wait_metric(page, "Communes en zone blanche", fr_int(len(diag.white.units)))
        covered = metric(page, "Population couverte")
        shot(page, "journey-ars-department.png")

        choose(page, "Stade minimal pris en compte", "ACI signé")
        page.get_by_text("Aucun périmètre n'atteint le stade").wait_for(timeout=120_000)
        at_signed = wait_metric(page, "Périmètres", "0")
        shot(page, "journey-ars-aci-signe.png")
        choose(page, "Stade minimal pris en compte", "Tous les stades")
        wait_metric(page, "Communes en zone blanche", white)
        assert metric(page, "Population couverte") == covered
        settle(page)
        workbook_path = download(page, "Classeur Excel des tableaux", tmp_path)
        csv_path = download(page, "Communes en zone blanche (CSV)", tmp_path)
        shot(page, "journey-ars-exports.png")
    assert at_signed == "0"
    book = openpyxl.load_workbook(workbook_path, read_only=True)
    assert "Zones blanches" in book.sheetnames
    headers = {
        str(h)
        for sheet in book.worksheets
        for h in next(sheet.iter_rows(values_only=True, max_row=1))
    }
    assert {"habitants", "taille ACI", "stade"} <= headers
    white_rows = read_people_csv(csv_path)
    assert "code INSEE" in white_rows.columns and "commune" in white_rows.columns
    assert sorted(white_rows["code INSEE"]) == sorted(diag.white.units["code"])


# --------------------------------------------------------------------------
# CPTS leader
# --------------------------------------------------------------------------


def _opened_map_zoom(page: object, timeout_s: float = 30.0, *, at_least: float = 0.0) -> float:
    """Zoom of the static (non-clickable) map shown last, once it has a size.

    The map is fitted right after it gets its size: the zoom is read again until
    it reaches ``at_least`` or the time runs out (then the last zoom read).
    """
    script = """() => {
        const key = Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k));
        const map = key && window[key];
        return map && map.getSize().x > 0 ? map.getZoom() : null;
    }"""
    deadline = time.monotonic() + timeout_s
    last: float | None = None
    while time.monotonic() < deadline:
        for frame in map_frames(page):
            try:
                zoom = frame.evaluate(script)  # type: ignore[attr-defined]
            except Exception:  # a frame being replaced
                continue
            if zoom is not None and frame.evaluate("() => typeof map_div === 'undefined'"):  # type: ignore[attr-defined]
                last = float(zoom)
                if last >= at_least:
                    return last
        page.wait_for_timeout(250)  # type: ignore[attr-defined]
    if last is not None:
        return last
    raise AssertionError("no opened static map")


def test_cpts_leader_journey(real_referential: Referential, tmp_path: Path) -> None:
    """Build a territory by a map click and a search, name it, take the fiche, save and reload."""
    ref = real_referential
    name = "CPTS Essai du parcours"
    journey = Journey()
    with journey as page:
        page.get_by_text("Mon territoire (CPTS)").click()
        page.get_by_text("Le territoire est vide").wait_for(timeout=120_000)
        frame = wait_for_map(page, min_paths=500)
        container = frame.locator(".leaflet-container")
        container.scroll_into_view_if_needed()
        box = container.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_text("Diagnostic instantané").first.wait_for(timeout=120_000)
        wait_metric(page, "Communes", "1")

        search = page.get_by_role("textbox", name="Rechercher une commune (nom ou code INSEE)")
        search.fill("13041")
        search.press("Enter")
        settle(page)
        add = page.get_by_role("button", name="Ajouter la commune")
        add.wait_for(timeout=60_000)
        assert page.get_by_label("Résultats").input_value() == "Gardanne (13041)"
        add.click()
        wait_metric(page, "Communes", "2")

        field = page.get_by_role("textbox", name="Nom du territoire")
        field.fill(name)
        field.press("Enter")
        page.get_by_text(f"Diagnostic instantané : {name}").wait_for(timeout=120_000)
        settle(page)
        population = metric(page, "Habitants")
        # The APL map drawn in a closed expander is fitted to the territory once opened
        # (it used to show the whole world: Leaflet fitted it while it had no size).
        apl = page.locator("[data-testid='stExpander']", has_text="Carte de l'APL")
        apl.locator("summary").click()
        zoom = _opened_map_zoom(page, at_least=9)
        assert zoom >= 9, zoom
        shot(page, "journey-cpts-territory.png")
        fiche_path = download(page, "Fiche diagnostic imprimable (HTML)", tmp_path)
        saved_path = download(page, "Enregistrer le territoire (CSV)", tmp_path)

        page.get_by_role("button", name="Vider le territoire").click()
        page.get_by_text("Le territoire est vide").wait_for(timeout=120_000)
        # Another day: a new browser session (the page reloaded) takes the saved file back.
        page.reload()
        wait_for_map(page)
        page.get_by_text("Mon territoire (CPTS)").click()
        page.get_by_text("Le territoire est vide").wait_for(timeout=120_000)
        upload(page, "Charger un territoire enregistré", saved_path)
        page.get_by_role("button", name="Utiliser ce territoire").click()
        wait_metric(page, "Communes", "2")
        reloaded = wait_metric(page, "Habitants", population)
        # The saved file gives the territory its name back.
        page.get_by_text(f"Diagnostic instantané : {name}").wait_for(timeout=60_000)
        assert page.get_by_role("textbox", name="Nom du territoire").input_value() == name
        shot(page, "journey-cpts-reloaded.png")

    saved = read_people_csv(saved_path)
    code_column = next(c for c in saved.columns if "code" in c.lower())
    codes = sorted(saved[code_column])
    assert "13041" in codes and len(codes) == 2
    assert population == fr_int(int(ref.units.loc[codes, "population"].sum()))
    assert reloaded == population
    fiche = fiche_path.read_text(encoding="utf-8")
    assert f"Fiche diagnostic : {name}" in fiche
    region = str(ref.units.loc["13041", "region_name"])
    department = str(ref.units.loc["13041", "department_name"])
    assert "comparée au département, à la région et à la France" in fiche
    for scope in (region, department, "France"):
        assert html.escape(scope) in fiche, scope


# --------------------------------------------------------------------------
# Regional committee
# --------------------------------------------------------------------------


def test_committee_journey(real_referential: Referential, tmp_path: Path) -> None:
    """Pick the Arles pair, read the options, share Arles 60/40, take the fiche."""
    ref = real_referential
    diag = library_diagnosis("ars_regional.csv", "paca", "emergence")
    pairs = diag.overlap_pairs
    arles = pairs[
        pairs["name_a"].str.contains("Arles|Crau") & pairs["name_b"].str.contains("Arles|Crau")
    ]
    a, b = str(arles.iloc[0]["perimeter_a"]), str(arles.iloc[0]["perimeter_b"])
    shared = compare_perimeters(diag.membership, diag.referential, a, b, shared={"13004": 0.6})
    journey = Journey()
    with journey as page:
        open_listing(page, ARS)
        page.get_by_text("Arbitrage (comité régional)").click()
        page.get_by_text("Projets en chevauchement").wait_for(timeout=120_000)
        settle(page)
        choose(page, "Projets en chevauchement", "Crau")
        wait_metric(page, "Habitants en jeu", fr_int(int(ref.units.loc["13004", "population"])))
        assert metric(page, "Communes disputées") == "1"
        page.get_by_text("Options de partage").first.wait_for()

        expander = page.locator("[data-testid='stExpander']", has_text="Partager la population")
        expander.locator("summary").click()
        chosen = expander.locator("[data-testid='stMultiSelect']")
        chosen.wait_for()
        # Arles (51,811 inhabitants) is proposed by default; the committee keeps it and sets 60 %.
        assert "Arles" in chosen.inner_text()
        thumb = expander.locator("input[type='range']")
        thumb.focus()
        thumb.press("ArrowRight")
        thumb.press("ArrowRight")
        settle(page)
        value = expander.locator("[data-testid='stSliderThumbValue']").inner_text()
        assert value.strip() == "60"
        shot(page, "journey-committee-shared.png")
        fiche_path = download(page, "Fiche d'arbitrage imprimable (HTML)", tmp_path)
    fiche = fiche_path.read_text(encoding="utf-8")
    assert "Communes partagées : population répartie selon la part fixée" in fiche
    assert 'class="legend"' in fiche and "Revendiquée par les deux" in fiche
    options = shared.options
    row = options[(options["option"] == "partage_population") & (options["side"] == "A")].iloc[0]
    assert fr_int(round(row["population"])) in fiche
    assert re.search(r"<title>Arbitrage : ", fiche)


# --------------------------------------------------------------------------
# What Chromium shows, Streamlit's own texts included
# --------------------------------------------------------------------------

#: Text nodes a person sees (not hidden, not shrunk to nothing by the French style sheet of
#: ui/widgets_fr.py), and the placeholders of empty fields.
VISIBLE_TEXT = """() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode, el = node.parentElement;
        if (!el || !node.textContent.trim() || el.closest('style, script, noscript')) continue;
        const style = getComputedStyle(el);
        if (style.fontSize === '0px' || style.display === 'none' || style.visibility === 'hidden')
            continue;
        // Icon names ("keyboard_arrow_right") are drawn as icons by a ligature font.
        if (style.fontFamily.includes('Material') || el.closest('[data-testid="stIconMaterial"]'))
            continue;
        if (!el.getClientRects().length) continue;
        out.push(node.textContent.trim());
    }
    document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(i => {
        if (!i.value && i.placeholder) out.push(i.placeholder);
    });
    return out;
}"""


def test_visible_texts_are_french_in_chromium(real_referential: Referential) -> None:
    """Every workflow as Chromium draws it: no English, no raw value (Streamlit's texts too)."""
    from tests.app.test_french import scan

    shown: dict[str, list[str]] = {}
    journey = Journey()
    with journey as page:
        open_listing(page, ARS)
        shown["couverture"] = page.evaluate(VISIBLE_TEXT)
        page.get_by_text("Mon territoire (CPTS)").click()
        page.get_by_text("Le territoire est vide").wait_for(timeout=120_000)
        search = page.get_by_role("textbox", name="Rechercher une commune (nom ou code INSEE)")
        search.fill("13041")
        search.press("Enter")
        settle(page)
        page.get_by_role("button", name="Ajouter la commune").click()
        wait_metric(page, "Communes", "1")
        settle(page)
        shown["territoire"] = page.evaluate(VISIBLE_TEXT)
        page.get_by_text("Arbitrage (comité régional)").click()
        page.get_by_text("Projets en chevauchement").wait_for(timeout=120_000)
        settle(page)
        shown["arbitrage"] = page.evaluate(VISIBLE_TEXT)
        shot(page, "journey-french-arbitrage.png")
    (ARTIFACTS / "visible-texts.json").write_text(json.dumps(shown, ensure_ascii=False, indent=1))
    for workflow, texts in shown.items():
        assert len(texts) > 30, workflow
        assert scan(texts) == [], (workflow, scan(texts))
