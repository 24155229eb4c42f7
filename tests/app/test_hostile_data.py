"""Hostile user data in the dashboard: script injection, session isolation (issue 11).

Names from users' files and file names reach tooltips, layer names, legends,
tables, captions and fiches: none may run as script or render as markup. Two
sessions uploading the same bytes under different names must each see their
own result.
"""

from __future__ import annotations

import re

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

APP = str(PROJECT_DIR / "app.py")

#: A payload that sets a flag on the top page and opens a dialog if it ever runs.
SCRIPT = '<img src=x onerror="window.top.__atlas_xss=1;alert(1)">'
HOSTILE_CSV = (
    "code_insee;nom_cpts;statut\n"
    f"13001;{SCRIPT};ACI signé\n"
    f"13004;{SCRIPT};ACI signé\n"
    "13004;<b>CPTS en gras</b><script>alert(2)</script>;ACI signé\n"
    "13097;<b>CPTS en gras</b><script>alert(2)</script>;ACI signé\n"
    "13055;[lien](http://example.invalid/x) ![img](http://example.invalid/x.png);Projet\n"
).encode()
HOSTILE_NAME = "<img src=x onerror=alert(3)>![x](http://example.invalid/n.png).csv"


#: Markdown that would render as markup: an unescaped tag, image or link.
UNSAFE_MARKDOWN = re.compile(r"(?<!\\)<[A-Za-z/!]|(?<!\\)!(?<!\\)\[|(?<!\\)\]\(")


def test_unsafe_markdown_detector() -> None:
    from ui.safe import md_text

    for raw in (SCRIPT, "![x](http://e/x.png)", "[lien](http://e)", "<b>gras</b>"):
        assert UNSAFE_MARKDOWN.search(raw)
        assert not UNSAFE_MARKDOWN.search(md_text(raw))


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.sidebar.radio(key="perimeter_choice").set_value("fichier").run()
    at.sidebar.get("file_uploader")[0].set_value((name, data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown_texts(at: AppTest) -> list[str]:
    blocks = [*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error]
    blocks += [*at.sidebar.markdown, *at.sidebar.caption, *at.sidebar.info]
    blocks += [*at.sidebar.warning, *at.sidebar.success, *at.sidebar.error]
    return [b.value for b in blocks]


def test_hostile_names_are_text_in_every_workflow(real_referential: Referential) -> None:
    at = _upload(_app(), HOSTILE_NAME, HOSTILE_CSV)
    for workflow in ("couverture", "territoire", "arbitrage"):
        at.radio(key="workflow").set_value(workflow).run()
        assert not at.exception, (workflow, [e.value for e in at.exception])
        for text in _markdown_texts(at):
            # Markdown would render these: they must come escaped (or not at all).
            assert not UNSAFE_MARKDOWN.search(text), (workflow, text)
    # The file name is shown as plain text, as given.
    assert any(HOSTILE_NAME in t.value for t in at.sidebar.text)


def test_two_sessions_same_bytes_other_names(real_referential: Referential) -> None:
    """Session B never sees what session A's file name produced (no shared cache entry)."""
    codes_only = b"code_insee\n13001\n13004\n13097\n"
    a = _upload(_app(), "cpts_confidentiel_alpha.csv", codes_only)
    b = _upload(_app(), "cpts_beta.csv", codes_only)
    texts_a = " ".join(_markdown_texts(a)) + " ".join(str(d.value) for d in a.dataframe)
    texts_b = " ".join(_markdown_texts(b)) + " ".join(str(d.value) for d in b.dataframe)
    assert "confidentiel" in texts_a
    assert "confidentiel" not in texts_b
    assert "cpts\\_beta" in texts_b or "cpts_beta" in texts_b
    # A renamed re-upload in the same session gives the new name.
    a.sidebar.get("file_uploader")[0].set_value(("cpts_gamma.csv", codes_only, "text/csv")).run()
    texts_a2 = " ".join(_markdown_texts(a)) + " ".join(str(d.value) for d in a.dataframe)
    assert "confidentiel" not in texts_a2


def _hover_everything(page: object, frame: object, *, limit: int = 40) -> int:
    """Move the mouse over the map's shapes, so that tooltips open (at most ``limit``)."""
    paths = frame.locator("path.leaflet-interactive")  # type: ignore[attr-defined]
    n = min(paths.count(), limit)
    for i in range(n):
        try:
            paths.nth(i).hover(timeout=2_000, force=True)
        except Exception:  # a shape hidden under another one cannot be hovered
            continue
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    return n


def _in_map(page: object, script: str, *, attempts: int = 6) -> dict:
    """Hover every shape of the map, then run ``script`` in its frame (retried if replaced)."""
    for _ in range(attempts):
        frame = wait_for_map(page)
        try:
            assert _hover_everything(page, frame) > 0
            return frame.evaluate(script)  # type: ignore[attr-defined, no-any-return]
        except Exception as exc:  # a rerun can detach the frame meanwhile
            if "detached" not in str(exc):
                raise
            page.wait_for_timeout(1_000)  # type: ignore[attr-defined]
    raise AssertionError("the map frame kept being replaced")


@pytest.mark.browser
def test_no_script_from_user_data_runs_in_chromium(
    real_referential: Referential, tmp_path: object
) -> None:
    executable = browser_or_skip()
    upload = tmp_path / "cpts.csv"  # type: ignore[operator]
    upload.write_bytes(HOSTILE_CSV)
    blocked: list[str] = []
    dialogs: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(base)
            wait_for_map(page)
            page.get_by_text("Mon fichier").click()
            uploader = page.locator(
                "[data-testid='stFileUploader']", has_text="Fichier de périmètres"
            )
            uploader.wait_for(timeout=60_000)
            uploader.locator("input[type='file']").set_input_files(str(upload))
            page.get_by_text("Fichier : cpts.csv", exact=True).wait_for(timeout=120_000)
            for label in ("Couverture (ARS, CPAM)", "Arbitrage (comité régional)"):
                page.get_by_text(label).click()
                page.wait_for_timeout(1_500)  # let the view settle: the map frame may be replaced
                # The layer switcher and the tooltips show names as text: no element was made
                # from them, and the text reads as written.
                shown = _in_map(
                    page,
                    """() => {
                        document.querySelectorAll('.leaflet-control-layers').forEach(
                            e => e.classList.add('leaflet-control-layers-expanded'));
                        const zones = document.querySelectorAll(
                            '.leaflet-control-layers, .leaflet-tooltip, .atlas-legend');
                        let text = "", imgs = 0, scripts = 0;
                        zones.forEach(z => {
                            text += z.innerText + '\\n';
                            imgs += z.querySelectorAll('img').length;
                            scripts += z.querySelectorAll('script').length;
                        });
                        return {text, imgs, scripts};
                    }""",
                )
                assert shown["imgs"] == 0 and shown["scripts"] == 0, label
                if label.startswith("Arbitrage"):
                    assert "<img src=x" in shown["text"] or "<b>CPTS en gras</b>" in shown["text"]
            page.get_by_text("Mon territoire (CPTS)").click()
            page.wait_for_timeout(2_000)
            flag = page.evaluate("() => window.__atlas_xss === 1")
            page.screenshot(path=str(PROJECT_DIR / "tests" / "artifacts" / "xss-check.png"))
        except Exception:
            # A script from the file that ran (a dialog opened) is the failure to report.
            assert dialogs == [], f"script from user data ran: {dialogs}"
            raise
    assert dialogs == []
    assert flag is False
    assert [u for u in blocked if "example.invalid" in u] == []


@pytest.mark.browser
def test_two_browser_sessions_same_bytes_other_names(
    real_referential: Referential, tmp_path: object
) -> None:
    """Two browsers upload the same bytes under two names: each sees only its own name."""
    executable = browser_or_skip()
    codes_only = b"code_insee\n13001\n13004\n13097\n"
    first = tmp_path / "cpts_confidentiel_alpha.csv"  # type: ignore[operator]
    second = tmp_path / "cpts_beta.csv"  # type: ignore[operator]
    first.write_bytes(codes_only)
    second.write_bytes(codes_only)
    blocked: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page_a:
        browser = page_a.context.browser
        page_b = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        texts = {}
        for page, path in ((page_a, first), (page_b, second)):
            page.goto(base)
            wait_for_map(page)
            page.get_by_text("Mon fichier", exact=True).click()
            uploader = page.locator(
                "[data-testid='stFileUploader']", has_text="Fichier de périmètres"
            )
            uploader.wait_for(timeout=60_000)
            uploader.locator("input[type='file']").set_input_files(str(path))
            page.get_by_text(f"Fichier : {path.name}", exact=True).wait_for(timeout=120_000)
            page.get_by_text("CPTS du périmètre d'étude").wait_for(timeout=120_000)
            page.wait_for_timeout(1_500)
            # Perimeter names reach the map's data (tooltips): read every frame's document.
            frame = wait_for_map(page)
            texts[path.name] = frame.content()
    # The file has no name column: its perimeter is named after the file.
    assert "cpts_confidentiel_alpha" in texts[first.name]
    assert "confidentiel" not in texts[second.name]
    assert "cpts_beta" in texts[second.name]
    assert blocked == []
