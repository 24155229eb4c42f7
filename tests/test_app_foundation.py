"""The dashboard loads (Streamlit AppTest) and its map really draws in Chromium."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.referential import Referential
from tests.browser import (
    PROJECT_DIR,
    browser_or_skip,
    chromium_page,
    component_frame,
    streamlit_server,
)

APP = PROJECT_DIR / "app.py"

pytestmark = pytest.mark.referential


def test_app_loads_without_exceptions(real_referential: Referential) -> None:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Atlas CPTS"
    metrics = {m.label: m.value for m in at.metric}
    # Default scope: Provence-Alpes-Côte d'Azur, population of its units.
    paca = real_referential.units[real_referential.units["region"] == "93"]
    assert metrics["Communes"] == f"{len(paca):,}".replace(",", "\u202f")
    assert metrics["Habitants"] == f"{int(paca['population'].sum()):,}".replace(",", "\u202f")


def test_app_department_scope(real_referential: Referential) -> None:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.sidebar.selectbox[1].select("13").run()
    assert not at.exception
    bdr = real_referential.units[real_referential.units["department"] == "13"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Communes"] == f"{len(bdr):,}".replace(",", "\u202f")


@pytest.mark.browser
def test_map_draws_offline_in_chromium(real_referential: Referential) -> None:
    executable = browser_or_skip()
    blocked: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page:
        page.goto(base, wait_until="domcontentloaded")
        frame = component_frame(page, contains="streamlit_folium")
        frame.wait_for_selector("path.leaflet-interactive", timeout=90_000)
        n_paths = frame.locator("path.leaflet-interactive").count()
        scripts = frame.evaluate("Array.from(document.scripts).map(s => s.src).filter(Boolean)")
        version = frame.evaluate("typeof L === 'undefined' ? null : L.version")
        page.screenshot(path="tests/artifacts/foundation-map.png")
    paca = real_referential.units[real_referential.units["region"] == "93"]
    # One polygon per commune with a geometry (plus no other interactive layer).
    assert n_paths == paca.geometry.notna().sum()
    assert version == "1.9.4"
    assert f"{base}/app/static/vendor/leaflet/leaflet.js" in scripts
    # Nothing was fetched from outside the machine.
    assert blocked == []
