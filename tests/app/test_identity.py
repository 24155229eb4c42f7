"""Who the dashboard says is acting when no sign-in is configured (``make run``).

AppTest drives the real app on a registry in a temporary SQLite file. The
person at the machine is the local user: every right while the registry has
no administrator, then the roles an administrator granted them. Sign-in
through OpenID Connect is tested in Chromium (``test_signin_browser.py``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.core.referential import Referential
from diagnosis.registry import Actor, close_registry, default_actor, local_actor, open_registry
from diagnosis.registry.users import grant_role
from tests.browser import PROJECT_DIR

pytestmark = pytest.mark.referential

APP = str(PROJECT_DIR / "app.py")
ADMIN = Actor("admin@ars-paca.example", "Admin ARS", local=False)


def identity_box(at: AppTest) -> list[str]:
    """The captions of the sidebar's identity box, in order, as read (Markdown marks removed)."""
    assert not at.exception, [e.value for e in at.exception]
    return [c.value.replace("\\", "").replace("**", "") for c in at.sidebar.caption][:3]


def test_the_local_user_then_their_granted_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_referential: Referential
) -> None:
    path = tmp_path / "registre.sqlite"
    monkeypatch.setenv("ATLAS_DATABASE_URL", str(path))
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    box = identity_box(at)
    me = default_actor()
    assert box[0] == f"Utilisateur local : {me} (aucune connexion configurée)"
    assert box[1] == "Registre sans administrateur : l'utilisateur local a tous les droits."
    # Nothing to sign in to without an [auth] section.
    assert not [b for b in at.button if b.key in {"identity_login", "identity_logout"}]

    registry = open_registry(path)
    try:
        grant_role(registry, local_actor(), ADMIN.user_id, "admin")
        at.run()
        box = identity_box(at)
        assert box[1] == "Rôles : aucun rôle attribué (lecture seule)"
        grant_role(registry, ADMIN, me, "analyst", region="93")
        grant_role(registry, ADMIN, me, "reader")
    finally:
        close_registry(registry)
    at.run()
    box = identity_box(at)
    assert box[1] == "Rôles : analyste ARS ou CPAM (région 93), lecteur (France)"


def test_an_unreachable_registry_still_names_the_local_user(
    monkeypatch: pytest.MonkeyPatch, real_referential: Referential
) -> None:
    monkeypatch.setenv("ATLAS_DATABASE_URL", "postgresql://atlas@127.0.0.1:1/registre")
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    box = identity_box(at)
    assert box[0].startswith("Utilisateur local : ")
    # No roles line: the registry cannot say; the file views carry on.
    assert not any(c.startswith(("Rôles", "Registre sans")) for c in box)
    assert {m.label for m in at.metric} >= {"Périmètres", "Population couverte"}


def test_the_repository_ships_no_sign_in_secrets() -> None:
    """``make run`` has no sign-in: no secrets.toml is tracked, and git ignores one written."""
    tracked = subprocess.run(
        ["git", "ls-files", ".streamlit"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode != 0:
        pytest.skip(f"not a git checkout ({tracked.stderr.strip()})")
    assert tracked.stdout.split() == [".streamlit/config.toml"]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=PROJECT_DIR, check=False
    )
    assert ignored.returncode == 0
