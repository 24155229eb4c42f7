"""Benchmark of the dashboard: region view in a real browser, national coverage map payload.

Run by hand (needs Debian's chromium)::

    .venv/bin/python benchmarks/dashboard.py [--region 93]

- region view: the app is started, headless Chromium opens it on the
  embedded example (Provence-Alpes-Côte d'Azur, about 960 communes); the time
  to the first drawn map and the bytes received over Streamlit's websocket
  (the page payload) are recorded, then again after switching workflow;
- national view: 1,000 synthetic perimeters over all of France (as in
  benchmarks/diagnosis.py); the coverage map of perimeters and white zones
  (dissolved, simplified for display) is built and its HTML size measured,
  then drawn in Chromium from a local server.

Targets (issue "Dashboard"): region first render ≤ 3 s with a payload ≤ 5 MB;
national view ≤ 10 MB.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def region_view() -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, streamlit_server, wait_for_map

    out: dict = {}
    with streamlit_server() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        received = {"bytes": 0}

        def on_ws(ws: object) -> None:
            ws.on(
                "framereceived",
                lambda payload: received.__setitem__(  # type: ignore[attr-defined]
                    "bytes",
                    received["bytes"] + len(payload if isinstance(payload, (bytes, str)) else b""),
                ),
            )

        page.on("websocket", on_ws)
        responses = {"bytes": 0}
        page.on(
            "response",
            lambda r: responses.__setitem__(
                "bytes", responses["bytes"] + int(r.headers.get("content-length", 0) or 0)
            ),
        )
        # First visit: the server's caches (referential, import, diagnosis) and the browser's
        # cache of Streamlit's own scripts are cold.
        start = time.perf_counter()
        page.goto(base)
        wait_for_map(page)
        out["region_cold_first_render_s"] = time.perf_counter() - start
        out["cold_http_mb"] = responses["bytes"] / 1e6
        page.close()
        # A first visit once the server is running: empty browser cache (a new context).
        fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
        first = fresh.new_page()
        start = time.perf_counter()
        first.goto(base)
        wait_for_map(first)
        out["region_first_visit_s"] = time.perf_counter() - start
        fresh.close()
        # A new session (new tab) of a browser that already has Streamlit's scripts.
        page = context.new_page()
        page.on("websocket", on_ws)
        received["bytes"] = 0
        start = time.perf_counter()
        page.goto(base)
        frame = wait_for_map(page)
        out["region_first_render_s"] = time.perf_counter() - start
        out["region_ws_mb"] = received["bytes"] / 1e6
        out["region_paths"] = frame.locator("path.leaflet-interactive").count()
        received["bytes"] = 0
        start = time.perf_counter()
        page.get_by_text("Arbitrage (comité régional)").click()
        page.get_by_text("Options de partage").first.wait_for(timeout=60_000)
        wait_for_map(page)  # the dispute map replaces the coverage map
        out["switch_to_dispute_s"] = time.perf_counter() - start
        out["switch_ws_mb"] = received["bytes"] / 1e6
        received["bytes"] = 0
        start = time.perf_counter()
        page.get_by_text("Mon territoire (CPTS)").click()
        page.get_by_text("Charger l'exemple fictif (Alpilles)").first.wait_for(timeout=60_000)
        frame = wait_for_map(page, min_paths=500)
        out["territory_map_s"] = time.perf_counter() - start
        out["territory_ws_mb"] = received["bytes"] / 1e6
        out["territory_paths"] = frame.locator("path.leaflet-interactive").count()
        browser.close()
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def national_view() -> dict:
    import numpy as np

    from diagnosis.model import perimeters_from_members
    from diagnosis.pipeline import run_diagnosis
    from diagnosis.referential import load_referential
    from ui import maps
    from ui.coverage_tab import coverage_layers, coverage_map

    ref = load_referential()
    rng = np.random.default_rng(0)
    units = ref.units
    epcis = sorted(units["epci_code"].dropna().unique())
    rng.shuffle(epcis)
    groups = np.array_split(np.array(epcis[: int(len(epcis) * 0.9)], dtype=object), 1000)
    by_epci = units.groupby("epci_code").groups
    stages = ["emergence", "lettre_intention", "projet_sante", "aci_signe"]
    members, statuses, previous = {}, {}, []
    for i, group in enumerate(groups):
        codes = [c for e in group for c in by_epci[e]]
        members[f"P{i:04d}"] = codes + previous[:3]
        statuses[f"P{i:04d}"] = stages[i % 4]
        previous = codes
    imported = perimeters_from_members(members, statuses=statuses)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diag = run_diagnosis(imported, ref, proposals=False)
    start = time.perf_counter()
    layers = coverage_layers(diag)
    html = maps.map_html(maps.build_map(coverage_map(layers)))
    built = time.perf_counter() - start
    out = {
        "national_build_s": built,
        "national_html_mb": len(html.encode()) / 1e6,
        "national_perimeters": len(layers["perimeters"]),
        "national_white_clusters": len(layers["white"]),
        "national_overlap_units": len(layers["overlaps"]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app" / "static").symlink_to(PROJECT / "static")
        (root / "map.html").write_text(html, encoding="utf-8")
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            from playwright.sync_api import sync_playwright

            from tests.browser import CHROMIUM_ARGS

            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                page = browser.new_page()
                start = time.perf_counter()
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/map.html")
                page.wait_for_function(
                    "document.querySelectorAll('path.leaflet-interactive').length > 100",
                    timeout=120_000,
                )
                out["national_browser_draw_s"] = time.perf_counter() - start
                browser.close()
        finally:
            server.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-national", action="store_true")
    args = parser.parse_args()
    results = {}
    if not args.skip_browser:
        results.update(region_view())
        print(
            f"region view, cold (server just started, empty browser cache): "
            f"{results['region_cold_first_render_s']:.2f} s, {results['cold_http_mb']:.2f} MB of HTTP "
            "(mostly Streamlit's own scripts)"
        )
        print(
            "region view, first visit of a browser once the server runs (empty browser cache): "
            f"{results['region_first_visit_s']:.2f} s — target ≤ 3 s"
        )
        print(
            f"region view (example, Provence-Alpes-Côte d'Azur), new tab of that browser: first render "
            f"{results['region_first_render_s']:.2f} s, websocket payload {results['region_ws_mb']:.2f} MB, "
            f"{results['region_paths']} shapes drawn — targets ≤ 3 s, ≤ 5 MB"
        )
        print(
            f"switch to the dispute workflow: {results['switch_to_dispute_s']:.2f} s, "
            f"{results['switch_ws_mb']:.2f} MB"
        )
        print(
            f"switch to « Mon territoire » (clickable map of every commune of the region): "
            f"{results['territory_map_s']:.2f} s, {results['territory_ws_mb']:.2f} MB, "
            f"{results['territory_paths']} shapes"
        )
    if args.skip_national:
        return
    national = national_view()
    results.update(national)
    print(
        f"national coverage map: {national['national_perimeters']} perimeters, "
        f"{national['national_white_clusters']} white-zone clusters, {national['national_overlap_units']} "
        f"overlapping units; built in {national['national_build_s']:.2f} s; HTML "
        f"{national['national_html_mb']:.2f} MB — target ≤ 10 MB; Chromium draw "
        f"{national.get('national_browser_draw_s', float('nan')):.2f} s"
    )
    print(f"reproduce: {sys.executable} benchmarks/dashboard.py")


if __name__ == "__main__":
    main()
