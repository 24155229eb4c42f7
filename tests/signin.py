"""Helpers for the sign-in tests: a real OpenID Connect provider started locally.

The provider is ``oidc-provider-mock`` (PyPI, pinned in requirements-dev):
a real OpenID Connect server (discovery, authorization code, tokens signed
with its own key, user info). Its authorization page asks for a subject: a
test types it, as a person would, and the provider sends the browser back to
the app with the claims given here (e-mail, name). The app's side is
Streamlit's own ``st.login``, configured by a ``secrets.toml`` written in a
temporary folder and passed with ``--secrets.files``: the repository ships
no secrets, so ``make run`` has no sign-in.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.browser import free_port
from tests.paths import PROJECT_DIR

#: The client the app is registered as at the provider (the mock accepts any).
CLIENT_ID = "atlas-cpts"


def provider_or_skip() -> None:
    """Skip the test, saying why, when the provider or Streamlit's sign-in is not installed."""
    for module, package in (
        ("oidc_provider_mock", "oidc-provider-mock"),
        ("authlib", "Authlib"),
        ("httpx", "httpx"),
    ):
        # Found, not imported: their deprecation warnings belong to the servers' processes.
        if importlib.util.find_spec(module) is None:
            pytest.skip(
                f"{package} absent (pinned in requirements-dev.txt, installed by `make test`): "
                "sign-in test skipped"
            )


@contextlib.contextmanager
def oidc_provider(users: Sequence[Mapping[str, str]], *, timeout_s: float = 30.0) -> Iterator[str]:
    """Start the OpenID Connect provider on a free local port; yields its address.

    ``users`` are the people known to the provider, each with a ``sub``
    (what is typed on its sign-in page) and claims (``email``, ``name``).
    """
    port = free_port()
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)]
    for user in users:
        command += ["--user-claims", json.dumps(dict(user))]
    log_path = PROJECT_DIR / "tests" / "artifacts" / f"oidc-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"provider exited early:\n{log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{base}/.well-known/openid-configuration") as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"provider did not start:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def write_secrets(
    folder: Path, *, app_port: int, provider: str, cookie_secret: str | None = None
) -> Path:
    """A ``secrets.toml`` with the ``[auth]`` section of the README for an app on ``app_port``.

    Servers behind one address share their ``cookie_secret`` (pass the same one).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"secrets-{app_port}.toml"
    lines = [
        "[auth]",
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"',
        f'cookie_secret = "{cookie_secret or secrets.token_hex(16)}"',
        f'client_id = "{CLIENT_ID}"',
        f'client_secret = "{secrets.token_hex(8)}"',
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sign_in(page: object, subject: str, *, timeout_ms: float = 120_000) -> None:
    """Click "Se connecter", type ``subject`` at the provider and come back signed in."""
    page.get_by_role("button", name="Se connecter").click(timeout=timeout_ms)  # type: ignore[attr-defined]
    page.wait_for_url("**/oauth2/authorize**", timeout=timeout_ms)  # type: ignore[attr-defined]
    page.fill("input[name=sub]", subject)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Authorize").click()  # type: ignore[attr-defined]
    page.get_by_text("Connecté :").wait_for(timeout=timeout_ms)  # type: ignore[attr-defined]


def sign_out(page: object, *, timeout_ms: float = 120_000) -> None:
    """Click "Se déconnecter", end the session at the provider and come back signed out."""
    page.get_by_role("button", name="Se déconnecter").click(timeout=timeout_ms)  # type: ignore[attr-defined]
    page.wait_for_url("**/oauth2/end_session**", timeout=timeout_ms)  # type: ignore[attr-defined]
    page.get_by_role("button", name="End session").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Se connecter").wait_for(timeout=timeout_ms)  # type: ignore[attr-defined]
