"""Helpers for end-to-end tests: a Streamlit server and headless Chromium (Playwright).

The browser is Debian's ``chromium`` driven by Playwright through its
``executable_path`` (Playwright's own browser download is never used). When the
browser or Playwright is unavailable, :func:`browser_or_skip` skips the test
with its reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import PROJECT_DIR

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def browser_or_skip() -> str:
    """Path of Chromium, or skip the test saying why."""
    path = chromium_path()
    if path is None:
        pytest.skip(
            "Chromium absent (Debian package `chromium`): `make test` installs it where it can "
            "(root or sudo with apt-get); browser test skipped"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - playwright is pinned in requirements-dev
        pytest.skip(f"Playwright unavailable ({exc}); browser test skipped")
    return path


def free_port() -> int:
    """A TCP port free on the loopback interface (for a server the test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class StreamlitProcess:
    """A running ``streamlit run``: its base URL, process id (for CPU and memory) and log."""

    base: str
    pid: int
    log: Path


@contextlib.contextmanager
def streamlit_process(
    script: str = "app.py",
    *,
    timeout_s: float = 60.0,
    port: int | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[StreamlitProcess]:
    """Start ``streamlit run`` on a local port (free unless given) and stop it at the end.

    ``args`` are more options of ``streamlit run`` (for example
    ``--secrets.files`` for sign-in); ``env`` adds variables to the server's
    environment (for example ``ATLAS_DATABASE_URL``).
    """
    port = port or free_port()
    full_env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(env or {}))
    log_path = PROJECT_DIR / "tests" / "artifacts" / f"streamlit-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", *args]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            command, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT, env=full_env
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(proc, base, log_path, timeout_s)
            yield StreamlitProcess(base, proc.pid, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(proc: subprocess.Popen, base: str, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)


@contextlib.contextmanager
def streamlit_server(
    script: str = "app.py",
    *,
    timeout_s: float = 60.0,
    port: int | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Start ``streamlit run`` on a free local port; yields the base URL."""
    with streamlit_process(script, timeout_s=timeout_s, port=port, args=args, env=env) as server:
        yield server.base


@contextlib.contextmanager
def chromium_page(executable: str, *, blocked: list[str]) -> Iterator[object]:
    """A Playwright page in headless Chromium that refuses every non-local request.

    Refused URLs are appended to ``blocked``, so a test can assert that nothing
    was fetched from the internet.
    """
    with chromium_pages(executable, 1, blocked=blocked) as pages:
        yield pages[0]


@contextlib.contextmanager
def chromium_pages(executable: str, count: int, *, blocked: list[str]) -> Iterator[list[object]]:
    """``count`` pages of one headless Chromium, each in its own context (cookies, sessions).

    Several people at once: each context signs in on its own. Like
    :func:`chromium_page`, every non-local request is refused and recorded.
    """
    from playwright.sync_api import sync_playwright

    def _route(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(count):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.route("**/*", _route)
                pages.append(context.new_page())
            yield pages
        finally:
            browser.close()


def component_frame(page: object, *, contains: str, timeout_s: float = 60.0) -> object:
    """The iframe of a Streamlit component whose URL contains ``contains``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:  # type: ignore[attr-defined]
            if contains in frame.url:
                return frame
        page.wait_for_timeout(250)  # type: ignore[attr-defined]
    raise AssertionError(f"no component frame whose URL contains {contains!r}")


def map_frames(page: object) -> list[object]:
    """The frames of the page that hold a Leaflet map (folium component or static map)."""
    found = []
    for frame in page.frames:  # type: ignore[attr-defined]
        if frame == page.main_frame:  # type: ignore[attr-defined]
            continue
        try:
            if frame.evaluate("() => !!document.querySelector('.leaflet-container')"):
                found.append(frame)
        except Exception:  # a frame being replaced or not yet loaded
            continue
    return found


def wait_for_map(page: object, *, min_paths: int = 1, timeout_s: float = 90.0) -> object:
    """The map frame once it draws ``min_paths`` shapes.

    After a rerun Streamlit may replace a map's frame: a frame found a moment
    earlier can be detached, so look again until the new one has drawn. The
    budget is in seconds, not attempts: on a loaded 2-core machine the first
    page of a fresh server can take tens of seconds to reach its map.
    """
    script = f"document.querySelectorAll('path.leaflet-interactive').length >= {min_paths}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in map_frames(page):
            try:
                frame.wait_for_function(script, timeout=5_000)  # type: ignore[attr-defined]
                return frame
            except Exception:  # detached, or not drawn yet
                continue
        page.wait_for_timeout(250)  # type: ignore[attr-defined]
    raise AssertionError(f"no map drawing {min_paths} shapes")
