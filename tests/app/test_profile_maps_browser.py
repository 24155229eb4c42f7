"""Every static map of Mon territoire and of a CPTS's fiche, as Chromium draws it.

Issue 17 §4: the APL map of Mon territoire and of the CPTS fiche opened grey,
with no commune and no legend, though the page held the data (Leaflet's
fitBounds threw on the map drawn hidden in its expander and stopped the
script); a journey test checked the zoom only. Here each map is opened and
its drawn, filled polygons are counted and its legend read. Mon territoire
also hatches the communes already claimed by a CPTS (named in the tooltip),
gives the inhabitants in the tooltips and zooms to communes added by search.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from diagnosis.core.referential import Referential
from tests.app.test_french import scan
from tests.app.test_journeys import (
    ARS,
    ARTIFACTS,
    VISIBLE_TEXT,
    Journey,
    choose,
    download,
    open_listing,
    settle,
    shot,
    upload,
    wait_metric,
)
from tests.app.test_scopes_workflows_files import fr_int, library_diagnosis
from tests.browser import map_frames
from tests.paths import TESTS_DIR
from ui import maps

pytestmark = [pytest.mark.referential, pytest.mark.browser]

FINESS = TESTS_DIR / "fixtures" / "coverage" / "finess_fixture.csv"

#: What a map frame draws: its legend, its filled shapes (drawn: with a path) and its zoom.
MAP_STATE = """() => {
    const drawn = Array.from(document.querySelectorAll('path.leaflet-interactive'))
        .filter(p => (p.getAttribute('d') || '').length > 8);
    const filled = drawn.filter(p => {
        const fill = p.getAttribute('fill');
        return fill && fill !== 'none' && parseFloat(p.getAttribute('fill-opacity') || '1') > 0;
    });
    const key = Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k));
    const map = window.map || (key && window[key]);
    return {
        legend: Array.from(document.querySelectorAll('.atlas-legend'))
            .map(e => e.innerText).join('\\n'),
        filled: filled.length,
        fills: filled.map(p => p.getAttribute('fill')),
        clickable: typeof map_div !== 'undefined',
        zoom: map && map.getSize().x > 0 ? map.getZoom() : null,
        hatch: !!document.getElementById('atlas-hatch'),
    };
}"""


def map_states(page: object) -> list[tuple[object, dict]]:
    """Every map frame of the page with what it draws (frames being replaced are skipped)."""
    out = []
    for frame in map_frames(page):
        try:
            out.append((frame, frame.evaluate(MAP_STATE)))  # type: ignore[attr-defined]
        except Exception:  # detached meanwhile
            continue
    return out


def wait_map(
    page: object,
    title: str,
    *,
    min_filled: int = 1,
    ready: Callable[[dict], bool] = lambda _state: True,
    timeout_s: float = 90,
) -> tuple:
    """The frame of the map whose legend starts with ``title``, once it fills ``min_filled``.

    ``ready`` may ask more of what it draws. Only shapes in view are drawn:
    Leaflet leaves those outside it without a path.
    """
    deadline = time.monotonic() + timeout_s
    seen: list[dict] = []
    while time.monotonic() < deadline:
        states = map_states(page)
        seen = [s for _, s in states]
        for frame, state in states:
            if state["legend"].startswith(title) and state["filled"] >= min_filled and ready(state):
                return frame, state
        page.wait_for_timeout(500)  # type: ignore[attr-defined]
    raise AssertionError(f"no map {title!r} filling {min_filled} shapes: {seen}")


def open_expander(page: object, text: str, *, last: bool = False) -> None:
    found = page.locator("[data-testid='stExpander']", has_text=text)  # type: ignore[attr-defined]
    expander = found.last if last else found.first
    expander.locator("summary").scroll_into_view_if_needed()
    expander.locator("summary").click()


def add_by_search(page: object, code: str) -> None:
    search = page.get_by_role("textbox", name="Rechercher une commune (nom ou code INSEE)")  # type: ignore[attr-defined]
    search.fill(code)
    search.press("Enter")
    settle(page)
    page.get_by_role("button", name="Ajouter la commune").click()  # type: ignore[attr-defined]
    settle(page)


def tooltip_of(frame: object, selector: str) -> str:
    """The tooltip Leaflet opens when the mouse enters the first shape matching ``selector``.

    The event is sent to the shape itself: a mouse moved to the middle of a
    commune's box may well rest on its neighbour.
    """
    shape = frame.locator(selector).first  # type: ignore[attr-defined]
    shape.dispatch_event("mouseover")
    tip = frame.locator(".leaflet-tooltip")  # type: ignore[attr-defined]
    tip.first.wait_for(timeout=10_000)
    text = str(tip.first.inner_text())
    shape.dispatch_event("mouseout")
    return text


#: Titles of controls (Leaflet's zoom buttons, the data grids' toolbars): read on hover.
TITLES = """() => Array.from(document.querySelectorAll('[title]:not(iframe)'))
    .map(e => e.title).filter(t => t)"""


def shown_texts(page: object, name: str) -> list[str]:
    """What the page and each of its maps show as text (legends, controls' titles).

    Kept in ``tests/artifacts/<name>.json`` for a reader.
    """
    texts = list(page.evaluate(VISIBLE_TEXT)) + list(page.evaluate(TITLES))  # type: ignore[attr-defined]
    for frame, _ in map_states(page):
        try:
            texts += frame.evaluate(VISIBLE_TEXT) + frame.evaluate(TITLES)  # type: ignore[attr-defined]
        except Exception:  # a frame replaced meanwhile
            continue
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(texts, ensure_ascii=False, indent=1))
    return texts


APL_TITLE = "APL aux médecins généralistes"
APL_LEGEND = ("APL : moins de 2,5 (sous le seuil)", "APL : 5 ou plus", "APL non disponible")


def _territory_maps(page: object, ref: Referential, claimed: object) -> None:
    """Mon territoire with Gardanne and Aix: the clickable map, the APL and FINESS maps."""
    page.get_by_text("Mon territoire (CPTS)").click()  # type: ignore[attr-defined]
    page.get_by_text("Le territoire est vide").wait_for(timeout=120_000)  # type: ignore[attr-defined]
    _, empty = wait_map(page, "Mon territoire", min_filled=500)
    for code in TERRITORY:
        add_by_search(page, code)
    wait_metric(page, "Communes", "2")
    settle(page)

    # The clickable map: the scope's communes, the territory over them, Aix hatched.
    frame, clickable = wait_map(
        page,
        "Mon territoire",
        min_filled=3,
        ready=lambda state: state["fills"].count(maps.TERRITORY_COLOR) == 2,
    )
    assert clickable["clickable"] and clickable["hatch"]
    assert clickable["fills"].count(maps.TERRITORY_COLOR) == 2
    assert clickable["fills"].count(f"url(#{maps.HATCH_ID})") == 1
    assert "Commune déjà revendiquée par une CPTS (hachures)" in clickable["legend"]
    # Communes added by search are zoomed to (the region's map opened wider).
    assert clickable["zoom"] >= empty["zoom"] + 2, (empty["zoom"], clickable["zoom"])
    tip = tooltip_of(frame, f"path[fill='url(#{maps.HATCH_ID})']")
    assert "Déjà revendiquée par" in tip and "Aix-en-Provence" in tip
    for cpts in claimed["name"]:  # type: ignore[index]
        assert str(cpts) in tip, (cpts, tip)
    assert fr_int(int(ref.units.loc["13001", "population"])) in tip
    frame.locator(".leaflet-container").screenshot(path=str(ARTIFACTS / "territory-claims.png"))

    # The APL map (blank before the fix) and the points-of-care map.
    open_expander(page, "Carte de l'APL")
    apl_frame, apl = wait_map(page, APL_TITLE, min_filled=2)
    assert apl["filled"] == 2
    for line in APL_LEGEND:
        assert line in apl["legend"], apl["legend"]
    tip = tooltip_of(apl_frame, "path.leaflet-interactive")
    assert "Habitants" in tip and "APL" in tip
    open_expander(page, "Carte des points de soins")
    _, finess = wait_map(page, "Points de soins (FINESS)", min_filled=2)
    assert "Pharmacie" in finess["legend"] and "géolocalisé(s)" in finess["legend"]
    shot(page, "profile-maps-territory.png")
    texts = shown_texts(page, "texts-territory")
    assert scan(texts) == [], scan(texts)


def _fiche_maps(page: object, ref: Referential, diag: object) -> None:
    """The fiche of CPTS Pays d'Aix Centre in Couverture: the coverage, APL and FINESS maps."""
    page.get_by_text("Couverture (ARS, CPAM)").click()  # type: ignore[attr-defined]
    wait_map(page, "Couverture CPTS", min_filled=10)
    choose(page, "Fiche d'une CPTS", "Pays d'Aix Centre")
    page.get_by_text("Diagnostic instantané : CPTS Pays d'Aix Centre").wait_for(  # type: ignore[attr-defined]
        timeout=120_000
    )
    settle(page)
    perimeters = diag.imported.perimeters  # type: ignore[attr-defined]
    row = perimeters[perimeters["name"].str.contains("Pays d'Aix Centre", regex=False)].iloc[0]
    n_units = len([c for c in row["unit_codes"] if c in ref.units.index])
    _, coverage = wait_map(page, "Couverture CPTS", min_filled=10)
    for line in ("Statut non renseigné", "Commune en chevauchement", "Zone blanche (par groupe)"):
        assert line in coverage["legend"], coverage["legend"]
    open_expander(page, "Carte de l'APL", last=True)
    _, apl = wait_map(page, APL_TITLE, min_filled=n_units)
    assert apl["filled"] == n_units
    for line in APL_LEGEND:
        assert line in apl["legend"]
    open_expander(page, "Carte des points de soins", last=True)
    _, finess = wait_map(page, "Points de soins (FINESS)", min_filled=n_units)
    assert finess["filled"] >= n_units
    shot(page, "profile-maps-cpts-fiche.png")
    texts = shown_texts(page, "texts-cpts-fiche")
    assert scan(texts) == [], scan(texts)


TERRITORY = ("13041", "13001")  # Gardanne (no CPTS), Aix-en-Provence (claimed by three)


def test_every_map_of_the_territory_and_the_cpts_fiche_is_drawn(
    real_referential: Referential, tmp_path: Path
) -> None:
    diag = library_diagnosis("ars_regional.csv", "paca", "emergence")
    claimed = diag.membership.claims_of(list(TERRITORY))
    assert set(claimed["code"]) == {"13001"} and len(claimed) == 3
    journey = Journey()
    with journey as page:
        open_listing(page, ARS)
        open_expander(page, "Données de soins")
        upload(page, "Extraction FINESS des établissements", FINESS)
        settle(page)
        _territory_maps(page, real_referential, claimed)
        fiche = download(page, "Fiche diagnostic imprimable (HTML)", tmp_path).read_text()
        _fiche_maps(page, real_referential, diag)

    # The printed fiche of the territory lists the claimed commune and its CPTS.
    text = html.unescape(re.sub(r"<[^>]+>", " ", fiche))
    listed = text[text.index("Communes déjà revendiquées par une CPTS des périmètres chargés") :]
    assert "Aix-en-Provence" in listed
    for cpts in claimed["name"]:
        assert str(cpts) in listed, cpts
