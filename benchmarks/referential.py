"""Benchmark of the foundation: data build, referential loads, region map.

Run by hand (figures vary with the machine's load; compare runs on one machine)::

    .venv/bin/python benchmarks/referential.py [--region 93] [--skip-build] [--skip-browser]

Targets (issue "Foundation"): cold data build ≤ 90 s (downloads excluded), warm
national load ≤ 1 s, region ≤ 0.3 s, region map built and rendered ≤ 3 s with a
page payload ≤ 5 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def _child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_build() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "diagnosis", "build-data", "--out", f"{tmp}/ref", "--no-static"],
            cwd=PROJECT,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        manifest = json.loads(Path(f"{tmp}/ref/manifest.json").read_text())
    return {"build_wall_s": round(wall, 2), "build_internal_s": manifest["timings_s"]}


LOAD_CODE = """
import json, time, resource
t0 = time.perf_counter()
from diagnosis.core.referential import load_referential
t1 = time.perf_counter()
ref = load_referential({arg})
t2 = time.perf_counter()
again = load_referential({arg})
t3 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "cached_s": t3 - t2,
                   "units": len(ref.units),
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def bench_loads(region: str) -> dict:
    _child(LOAD_CODE.format(arg=""))  # warm the OS file cache
    national = _child(LOAD_CODE.format(arg=""))
    regional = _child(LOAD_CODE.format(arg=f"region={region!r}"))
    return {"national": national, "region": regional}


def bench_map(region: str) -> tuple[dict, str]:
    import geopandas as gpd

    from diagnosis.core.referential import load_display_geometries, load_outlines, load_referential
    from ui import maps

    t0 = time.perf_counter()
    ref = load_referential(region=region)
    display = load_display_geometries(ref.units.index)
    frame = gpd.GeoDataFrame(
        {
            "code": ref.units.index.to_numpy(),
            "name": ref.units["name"].to_numpy(),
            "population": ref.units["population"].to_numpy(),
        },
        geometry=display.to_numpy(),
        crs=4326,
    )
    outlines = load_outlines("department", sorted(ref.units["department"].astype(str).unique()))
    t1 = time.perf_counter()
    fmap = maps.build_map(
        maps.MapSpec(
            bounds=maps.bounds_of(frame),
            layers=(
                maps.outline_layer(outlines),
                maps.units_layer(frame, name="Communes", color="#666666"),
            ),
        )
    )
    html = maps.map_html(fmap)
    t2 = time.perf_counter()
    return (
        {
            "data_s": round(t1 - t0, 3),
            "build_render_s": round(t2 - t1, 3),
            "payload_mb": round(len(html.encode()) / 1e6, 3),
            "n_units": len(frame),
        },
        html,
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def bench_browser(html: str, n_expected: int) -> dict:
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        return {"skipped": "chromium absent"}
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app" / "static").symlink_to(PROJECT / "static")
        (root / "map.html").write_text(html, encoding="utf-8")
        handler = functools.partial(_QuietHandler, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/map.html"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.route(
                    "**/*",
                    lambda route: (
                        route.continue_()
                        if route.request.url.startswith("http://127.0.0.1")
                        else route.abort()
                    ),
                )
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_function(
                    f"document.querySelectorAll('path.leaflet-interactive').length >= {n_expected}",
                    timeout=60_000,
                )
                drawn = time.perf_counter() - start
                browser.close()
        finally:
            server.shutdown()
    return {"browser_draw_s": round(drawn, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default="93")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    results: dict = {}
    if not args.skip_build:
        results["build"] = bench_build()
        print("cold data build (downloads cached):", results["build"]["build_wall_s"], "s")
    results["loads"] = bench_loads(args.region)
    print(
        f"warm national load: {results['loads']['national']['load_s']:.3f} s "
        f"(cached again: {results['loads']['national']['cached_s'] * 1000:.2f} ms, "
        f"peak RSS {results['loads']['national']['peak_rss_mb']:.0f} MB)"
    )
    print(f"warm region {args.region} load: {results['loads']['region']['load_s']:.3f} s")
    map_result, html = bench_map(args.region)
    results["map"] = map_result
    if not args.skip_browser:
        n_with_geom = map_result["n_units"]
        results["map"].update(bench_browser(html, n_with_geom))
    print(
        f"region map: {map_result['n_units']} communes, data {map_result['data_s']} s, "
        f"build+render {map_result['build_render_s']} s, payload {map_result['payload_mb']} MB, "
        f"Chromium draw {map_result.get('browser_draw_s', 'n/a')} s"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"benchmark process peak RSS: {rss:.0f} MB")
    print(json.dumps(results, ensure_ascii=False))
    print(f"reproduce: {sys.executable} benchmarks/referential.py --region {args.region}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
