"""Two app servers on one PostgreSQL registry: what one writes, the other shows.

Two ``streamlit run`` processes on two ports share a PostgreSQL schema
through ``ATLAS_DATABASE_URL`` (as several app processes behind a reverse
proxy do, see the README's server deployment). In Chromium, a listing
imported through Suivi on server 1 appears in the curve of server 2, and the
next listing imported on server 2 appears in the changes of server 1: each
server's caches follow the registry's revision, not their own writes.
Skipped with its reason without PostgreSQL (``scripts/with-postgres.sh``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from diagnosis.core.referential import Referential
from diagnosis.registry import close_registry, listing_sources, open_registry
from tests.app.test_suivi import EXAMPLE, june_listing
from tests.browser import PROJECT_DIR, browser_or_skip, chromium_page, streamlit_server
from tests.registry.conftest import PG_SKIP, Databases, postgres_url

pytestmark = [pytest.mark.referential, pytest.mark.browser]


def open_suivi(page: object, base: str) -> None:
    """A new session of ``base`` on the Suivi workflow."""
    page.goto(base)  # type: ignore[attr-defined]
    page.get_by_text("Suivi (ARS, CPAM)").click(timeout=120_000)  # type: ignore[attr-defined]
    page.get_by_text("Importer une liste datée").wait_for(timeout=120_000)  # type: ignore[attr-defined]


def import_in_suivi(page: object, listing: Path, day: str, done: str) -> None:
    """Import ``listing`` dated ``day`` (DDMMYYYY) through Suivi: preview, then confirm."""
    uploader = page.locator("[data-testid='stFileUploader']", has_text="Liste de périmètres")  # type: ignore[attr-defined]
    uploader.locator("input[type='file']").set_input_files(str(listing))
    page.get_by_text(listing.name).first.wait_for(timeout=60_000)  # type: ignore[attr-defined]
    date = page.locator("[data-testid='stDateInput']", has_text="Date de la liste")  # type: ignore[attr-defined]
    date.locator("[data-type='day']").click()  # a date field of three spin buttons
    page.keyboard.type(day)  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]  # close the calendar if open
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    page.wait_for_timeout(1_000)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Voir les changements").click()  # type: ignore[attr-defined]
    page.get_by_text("Aperçu", exact=False).first.wait_for(timeout=120_000)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Confirmer l'import").click()  # type: ignore[attr-defined]
    page.get_by_text(done).wait_for(timeout=120_000)  # type: ignore[attr-defined]


def test_two_servers_share_one_postgresql_registry(
    tmp_path: Path, real_referential: Referential
) -> None:
    if postgres_url() is None:
        pytest.skip(PG_SKIP)
    executable = browser_or_skip()
    databases = Databases("postgresql", tmp_path)
    url = databases.url()
    # The deployment's `registry upgrade`, once, before the servers start.
    close_registry(open_registry(url))
    january = tmp_path / "paca_2025-01.csv"
    january.write_bytes(EXAMPLE.read_bytes())
    june = tmp_path / "paca_2025-06.csv"
    june.write_bytes(june_listing())
    env = {"ATLAS_DATABASE_URL": url}
    blocked: list[str] = []
    seen: dict[str, str] = {}
    try:
        with (
            streamlit_server(env=env) as one,
            streamlit_server(env=env) as two,
            chromium_page(executable, blocked=blocked) as page,
        ):
            try:
                open_suivi(page, two)
                page.get_by_text("Le registre est vide").wait_for(timeout=60_000)
                open_suivi(page, one)
                import_in_suivi(page, january, "01012025", "Import enregistré : 24 périmètres")
                open_suivi(page, two)
                page.get_by_text("1 liste importée").wait_for(timeout=120_000)
                seen["two"] = page.get_by_text("1 liste importée").inner_text()
                import_in_suivi(page, june, "01062025", "Import enregistré : 3 périmètres")
                open_suivi(page, one)
                page.get_by_text("2 listes importées").wait_for(timeout=120_000)
                page.get_by_text("retiré : 1").first.wait_for(timeout=120_000)
                seen["one"] = page.get_by_text("retiré : 1").first.inner_text()
            finally:
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=str(PROJECT_DIR / "tests" / "artifacts" / "two-servers.png"),
                        full_page=True,
                    )
        registry = open_registry(url)
        try:
            sources = listing_sources(registry)
        finally:
            close_registry(registry)
    finally:
        databases.close()
    assert "du 01/01/2025 au 01/01/2025" in seen["two"]
    assert "renommé : 1" in seen["one"] and "stade : 1" in seen["one"]
    assert sorted(sources["filename"]) == ["paca_2025-01.csv", "paca_2025-06.csv"]
    assert blocked == []
