"""The Arbitrage tab with three parties in Chromium, at 1,500 px: map, legend, tables in view.

Issue 17 saw wide tables cut at the right edge at 1,500 px (the Arbitrage
options among them) and an arbitration fiche naming two parties only.
"""

from __future__ import annotations

import pytest

from diagnosis.core.referential import Referential
from tests.app.test_journeys import ARS, open_listing, settle, shot
from tests.browser import browser_or_skip, chromium_page, streamlit_server, wait_for_map

pytestmark = [pytest.mark.referential, pytest.mark.browser]

#: Each visible table: its width, the width of its content and its headers.
TABLES = """() => Array.from(document.querySelectorAll("[data-testid='stDataFrame']"))
    .filter(df => df.getClientRects().length && df.getBoundingClientRect().width > 300)
    .map(df => {
        const scroller = df.querySelector('.dvn-scroller');
        return {
            client: scroller.clientWidth,
            content: scroller.scrollWidth,
            headers: Array.from(df.querySelectorAll('[role=columnheader]')).map(h => h.innerText),
        };
    })"""


def test_three_parties_fit_at_1500_px(real_referential: Referential) -> None:
    executable = browser_or_skip()
    blocked: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page:
        page.set_viewport_size({"width": 1500, "height": 1000})  # type: ignore[attr-defined]
        page.set_default_timeout(120_000)  # type: ignore[attr-defined]
        page.goto(base, wait_until="domcontentloaded")  # type: ignore[attr-defined]
        page.get_by_text("Mon fichier", exact=True).wait_for()  # type: ignore[attr-defined]
        settle(page)
        open_listing(page, ARS)
        page.get_by_text("Arbitrage (comité régional)").click()  # type: ignore[attr-defined]
        page.get_by_text("Options de partage").first.wait_for(timeout=120_000)  # type: ignore[attr-defined]
        settle(page)
        # The three CPTS around Aix-en-Provence and the contested city: four colours.
        frame = wait_for_map(page, min_paths=4)
        legend = " ".join(frame.locator(".legend, .atlas-legend").all_inner_texts())  # type: ignore[attr-defined]
        for name in ("CPTS Pays d'Aix Centre", "CPTS Aix Nord Durance", "CPTS Aix Ouest"):
            assert name in legend
        assert "Revendiquée par plusieurs projets" in legend
        fills = frame.evaluate(  # type: ignore[attr-defined]
            "() => new Set(Array.from(document.querySelectorAll('path.leaflet-interactive'))"
            ".map(p => p.getAttribute('fill'))).size"
        )
        assert fills >= 4
        tables = page.evaluate(TABLES)  # type: ignore[attr-defined]
        shot(page, "arbitrage-three-parties.png")
    assert blocked == []
    shown = {t["headers"][0]: t for t in tables}
    assert {"côté", "option", "code INSEE"} <= set(shown), [t["headers"] for t in tables]
    for table in tables:
        # No sideways scroll: every column of the table is in view.
        assert table["content"] <= table["client"], table
    contested = next(t for t in tables if t["headers"][0] == "code INSEE")
    assert contested["headers"][-1] == "partage"
