"""Sign-in through a real OpenID Connect provider started locally, in Chromium.

The app runs with an ``[auth]`` section (``st.login``) pointing at
``oidc-provider-mock`` on a free port, and with a registry in a temporary
SQLite file where an administrator granted roles through the library. A
visitor reads only; Camille signs in at the provider, comes back named in the
sidebar with the role the registry holds for her e-mail, and signs out;
Dominique, known to the provider but granted nothing, reads only.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from diagnosis.core.referential import Referential
from diagnosis.registry import Actor, close_registry, grants_of, local_actor, open_registry
from diagnosis.registry.users import grant_role
from tests.browser import (
    PROJECT_DIR,
    browser_or_skip,
    chromium_page,
    free_port,
    streamlit_server,
)
from tests.signin import oidc_provider, provider_or_skip, sign_in, sign_out, write_secrets

pytestmark = [pytest.mark.referential, pytest.mark.browser]

ADMIN = "admin@ars-paca.example"
CAMILLE = {"sub": "camille", "email": "camille.martin@ars-paca.example", "name": "Camille Martin"}
DOMINIQUE = {"sub": "dominique", "email": "dominique.roux@cpam.example", "name": "Dominique Roux"}


def registry_with_roles(path: Path) -> None:
    """An administrator (granted by the local user of an open registry) makes Camille analyst."""
    registry = open_registry(path)
    try:
        grant_role(registry, local_actor(), ADMIN, "admin")
        grant_role(
            registry,
            Actor(ADMIN, "Admin ARS", local=False),
            CAMILLE["email"],
            "analyst",
            region="93",
        )
        assert set(grants_of(registry)["user_id"]) == {ADMIN, CAMILLE["email"]}
    finally:
        close_registry(registry)


def sidebar_text(page: object) -> str:
    return str(page.locator("[data-testid='stSidebar']").inner_text())  # type: ignore[attr-defined]


def test_sign_in_at_the_provider_names_the_user_and_their_roles(
    tmp_path: Path, real_referential: Referential
) -> None:
    executable = browser_or_skip()
    provider_or_skip()
    database = tmp_path / "registre.sqlite"
    registry_with_roles(database)
    port = free_port()
    blocked: list[str] = []
    seen: dict[str, str] = {}
    with oidc_provider([CAMILLE, DOMINIQUE]) as provider:
        secrets = write_secrets(tmp_path, app_port=port, provider=provider)
        with (
            streamlit_server(
                port=port,
                args=["--secrets.files", str(secrets)],
                env={"ATLAS_DATABASE_URL": str(database)},
            ) as base,
            chromium_page(executable, blocked=blocked) as page,
        ):
            try:
                page.goto(base)
                page.get_by_text("Non connecté").wait_for(timeout=120_000)
                seen["visitor"] = sidebar_text(page)
                sign_in(page, "camille")
                page.get_by_text("Rôles :").wait_for(timeout=60_000)
                # Drawn between the two captions, but may come after them.
                page.get_by_role("button", name="Se déconnecter").wait_for(timeout=60_000)
                seen["camille"] = sidebar_text(page)
                sign_out(page)
                page.get_by_text("Non connecté").wait_for(timeout=60_000)
                seen["signed_out"] = sidebar_text(page)
                sign_in(page, "dominique")
                page.get_by_text("Rôles :").wait_for(timeout=60_000)
                seen["dominique"] = sidebar_text(page)
            finally:
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=str(PROJECT_DIR / "tests" / "artifacts" / "signin.png"),
                        full_page=True,
                    )
    assert "Non connecté : lecture des vues sur fichier seulement." in seen["visitor"]
    assert "Utilisateur local" not in seen["visitor"]
    assert "Connecté : Camille Martin" in seen["camille"]
    assert "Rôles : analyste ARS ou CPAM (région 93)" in seen["camille"]
    assert "Se déconnecter" in seen["camille"]
    assert "Camille Martin" not in seen["signed_out"]
    assert "Se connecter" in seen["signed_out"]
    assert "Connecté : Dominique Roux" in seen["dominique"]
    assert "Rôles : aucun rôle attribué (lecture seule)" in seen["dominique"]
    # Only the app and the provider on this machine were reached (the provider's own pages
    # ask for a stylesheet on a CDN: refused, and the sign-in works without it).
    assert [url for url in blocked if "picocss" not in url] == []
