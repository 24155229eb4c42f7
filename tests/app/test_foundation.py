"""The dashboard loads (Streamlit AppTest) and its map really draws in Chromium, offline."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.core.referential import Referential
from tests.browser import (
    PROJECT_DIR,
    browser_or_skip,
    chromium_page,
    streamlit_server,
    wait_for_map,
)

pytestmark = pytest.mark.referential

APP = PROJECT_DIR / "app.py"


def test_app_loads_without_exceptions(real_referential: Referential) -> None:
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Atlas CPTS"
    # The "Sources et millésimes" panel reads the manifest.
    sources = [m.value for m in at.sidebar.markdown]
    assert any("@etalab/decoupage-administratif 6.0.0" in s for s in sources)
    assert any(real_referential.population_label.split(" (")[0] in s for s in sources)


@pytest.mark.browser
def test_map_draws_offline_in_chromium(real_referential: Referential) -> None:
    executable = browser_or_skip()
    blocked: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page:
        page.goto(base, wait_until="domcontentloaded")
        frame = wait_for_map(page)
        n_paths = frame.locator("path.leaflet-interactive").count()
        scripts = frame.evaluate("Array.from(document.scripts).map(s => s.src).filter(Boolean)")
        version = frame.evaluate("typeof L === 'undefined' ? null : L.version")
        page.screenshot(path="tests/artifacts/foundation-map.png")
    assert n_paths > 20  # perimeters, white zones, overlaps of the example
    assert version == "1.9.4"
    assert f"{base}/app/static/vendor/leaflet/leaflet.js" in scripts
    # Nothing was fetched from outside the machine.
    assert blocked == []
