"""Load benchmark: concurrent sessions of the real dashboard, on one server and on two.

Each session is a headless Chromium context (its own cookies, so its own
Streamlit session) that

1. opens the app: the region view of the example (Provence-Alpes-Côte d'Azur)
   until its map is drawn ("map", seconds from the page request);
2. chooses "Mon fichier" in the sidebar and uploads the example PACA listing
   (``data/examples/exemple_fictif_paca_couverture.csv``, under a name of its
   own), until Couverture shows its diagnosis (the caption naming the file:
   "diagnosis", seconds from the upload) and its map is drawn again
   ("import map").

1, 10 and 20 sessions run at once against one server, then against two
servers on one PostgreSQL registry (sessions dealt in turn, as a reverse proxy
with sticky sessions does). Before each run, one session warms the servers up
(the referential and the example's shared caches are loaded once per
process). Measured while every session is still open: the servers' CPU
seconds and resident memory (RSS) added per session (``/proc`` through
psutil), and the browser's CPU (on this 2-core machine the browsers compete
with the servers, which lengthens the times of the larger runs).

Reference before the registry work (issue 19): about 1.3 server CPU-seconds per
session for the region view and the import, about 25-30 MB per open session.

Run by hand (needs Debian's chromium; two servers need PostgreSQL, which
``scripts/with-postgres.sh`` starts privately)::

    bash scripts/with-postgres.sh .venv/bin/python benchmarks/load.py
    .venv/bin/python benchmarks/load.py --sessions 1 10 --servers 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from diagnosis.paths import EXAMPLES_DIR  # noqa: E402
from diagnosis.registry import close_registry, open_registry  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_path, streamlit_process  # noqa: E402
from tests.registry.conftest import postgres_url, with_schema  # noqa: E402

EXAMPLE = EXAMPLES_DIR / "exemple_fictif_paca_couverture.csv"
COMMAND = "bash scripts/with-postgres.sh .venv/bin/python benchmarks/load.py"
MAP_DRAWN = "document.querySelectorAll('path.leaflet-interactive').length >= 1"


@dataclass
class Session:
    """The times of one session, in seconds (None when it did not get there)."""

    server: int
    map_s: float | None = None
    diagnosis_s: float | None = None
    import_map_s: float | None = None
    error: str = ""


@dataclass
class Run:
    """One run: ``n`` sessions at once on ``servers`` servers."""

    n: int
    servers: int
    database: str
    sessions: list[Session] = field(default_factory=list)
    server_cpu_s: float = 0.0
    server_rss_mb: float = 0.0
    browser_cpu_s: float = 0.0
    wall_s: float = 0.0


async def _drawn(page: object, *, fresh: bool, timeout_s: float) -> None:
    """Wait until a map frame draws; ``fresh``: a frame not seen by :func:`_mark_maps`."""
    script = ("!window.__seen && " if fresh else "") + MAP_DRAWN
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames[1:]:  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):  # a frame being replaced
                if await frame.evaluate(script):
                    return
        await asyncio.sleep(0.05)
    raise TimeoutError("no map drawn")


async def _settled(page: object, *, timeout_s: float) -> None:
    """Wait until the current rerun is over (no element marked stale, twice in a row)."""
    deadline = time.monotonic() + timeout_s
    calm = 0
    while calm < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the page kept rerunning")
        stale = await page.locator("[data-stale='true']").count()  # type: ignore[attr-defined]
        calm = calm + 1 if stale == 0 else 0
        await asyncio.sleep(0.1)


async def _mark_maps(page: object) -> None:
    for frame in page.frames[1:]:  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            await frame.evaluate("window.__seen = true")


async def _session(browser: object, base: str, listing: Path, out: Session, timeout_s: float):
    """One user's journey; the context stays open (returned) until the run is measured."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = await context.new_page()
    try:
        start = time.perf_counter()
        await page.goto(base, timeout=timeout_s * 1000)
        await _drawn(page, fresh=False, timeout_s=timeout_s)
        out.map_s = time.perf_counter() - start
        await _mark_maps(page)
        await page.get_by_text("Mon fichier", exact=True).click(timeout=timeout_s * 1000)
        uploader = page.locator("[data-testid='stFileUploader']", has_text="Fichier de périmètres")
        await uploader.wait_for(timeout=timeout_s * 1000)
        await _settled(page, timeout_s=timeout_s)
        start = time.perf_counter()
        await uploader.locator("input[type='file']").set_input_files(str(listing))
        caption = page.get_by_text(f"périmètres : {listing.name}")
        await caption.wait_for(timeout=timeout_s * 1000)
        out.diagnosis_s = time.perf_counter() - start
        await _drawn(page, fresh=True, timeout_s=timeout_s)
        out.import_map_s = time.perf_counter() - start
    except Exception as exc:  # a session that fails is counted, the run goes on
        out.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return context


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def _rss_mb(pids: list[int]) -> float:
    return sum(psutil.Process(pid).memory_info().rss for pid in pids) / 1e6


def _browser_pids() -> list[int]:
    """Chromium's processes (started by Playwright's driver, a child of this process)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in proc.name().lower():
                found.append(proc.pid)
    return found


def _browser_cpu() -> float:
    total = 0.0
    for pid in _browser_pids():
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


async def _measure(run: Run, bases: list[str], pids: list[int], folder: Path, timeout_s: float):
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        # Warm-up: one journey per server, closed before measuring.
        for i, base in enumerate(bases):
            warm = Session(i)
            context = await _session(browser, base, _listing(folder, f"warm{i}"), warm, timeout_s)
            await context.close()
            if warm.error:
                raise RuntimeError(f"warm-up failed on server {i + 1}: {warm.error}")
        await asyncio.sleep(2)
        cpu0, rss0, browser0 = _cpu(pids), _rss_mb(pids), _browser_cpu()
        run.sessions = [Session(i % len(bases)) for i in range(run.n)]
        start = time.perf_counter()
        contexts = await asyncio.gather(
            *(
                _session(browser, bases[s.server], _listing(folder, f"s{i:02d}"), s, timeout_s)
                for i, s in enumerate(run.sessions)
            )
        )
        run.wall_s = time.perf_counter() - start
        await asyncio.sleep(2)  # the last reruns settle
        run.server_cpu_s = (_cpu(pids) - cpu0) / run.n
        run.server_rss_mb = (_rss_mb(pids) - rss0) / run.n
        run.browser_cpu_s = (_browser_cpu() - browser0) / run.n
        for context in contexts:
            await context.close()
        await browser.close()


def _listing(folder: Path, tag: str) -> Path:
    """The example listing under a name of its own (each session imports its own file)."""
    path = folder / f"paca-{tag}.csv"
    if not path.exists():
        shutil.copyfile(EXAMPLE, path)
    return path


@contextlib.contextmanager
def _database(folder: Path) -> Iterator[tuple[str, str]]:
    """A fresh registry: a PostgreSQL schema when available, else a SQLite file."""
    base = postgres_url()
    if base is None:
        yield str(folder / f"registre-{uuid.uuid4().hex[:6]}.sqlite"), "SQLite"
        return
    schema = f"load_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield with_schema(base, schema), "PostgreSQL"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def run_once(n: int, servers: int, folder: Path, timeout_s: float) -> Run:
    """``n`` sessions at once on ``servers`` fresh servers sharing one registry."""
    with _database(folder) as (url, kind), contextlib.ExitStack() as stack:
        close_registry(open_registry(url))  # the deployment's `registry upgrade`
        procs = [
            stack.enter_context(streamlit_process(env={"ATLAS_DATABASE_URL": url}))
            for _ in range(servers)
        ]
        run = Run(n, servers, kind)
        asyncio.run(
            _measure(run, [p.base for p in procs], [p.pid for p in procs], folder, timeout_s)
        )
        return run


def _quantiles(values: list[float]) -> str:
    if not values:
        return "—"
    median = statistics.median(values)
    p95 = sorted(values)[max(0, round(0.95 * len(values)) - 1)]
    return f"{median:5.2f} / {p95:5.2f}"


def report(run: Run) -> dict:
    """Print one run's line; its figures as a dict (for the JSON file)."""
    ok = [s for s in run.sessions if not s.error]
    maps = [s.map_s for s in ok if s.map_s is not None]
    diags = [s.diagnosis_s for s in ok if s.diagnosis_s is not None]
    import_maps = [s.import_map_s for s in ok if s.import_map_s is not None]
    print(
        f"{run.servers} server(s) {run.database:10s} {run.n:3d} sessions: "
        f"map {_quantiles(maps)} s · diagnosis {_quantiles(diags)} s · "
        f"import map {_quantiles(import_maps)} s (median / p95) · "
        f"server {run.server_cpu_s:4.2f} CPU-s and {run.server_rss_mb:5.1f} MB per session · "
        f"browser {run.browser_cpu_s:4.2f} CPU-s per session · wall {run.wall_s:5.1f} s · "
        f"failed {run.n - len(ok)}"
    )
    for s in run.sessions:
        if s.error:
            print(f"    failed session (server {s.server + 1}): {s.error}")
    return {
        "sessions": run.n,
        "servers": run.servers,
        "database": run.database,
        "map_s": maps,
        "diagnosis_s": diags,
        "import_map_s": import_maps,
        "server_cpu_s_per_session": run.server_cpu_s,
        "server_rss_mb_per_session": run.server_rss_mb,
        "browser_cpu_s_per_session": run.browser_cpu_s,
        "wall_s": run.wall_s,
        "failed": [s.error for s in run.sessions if s.error],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 20])
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=float, default=300.0, help="per step of a session (s)")
    args = parser.parse_args()
    if chromium_path() is None:
        sys.exit("Chromium is needed (Debian package `chromium`)")
    if 2 in args.servers and postgres_url() is None:
        print("two servers need a shared PostgreSQL: run through scripts/with-postgres.sh")
        args.servers = [s for s in args.servers if s != 2]
    print(f"reproduce: {COMMAND}")
    results = []
    with tempfile.TemporaryDirectory(prefix="atlas-load-") as tmp:
        for servers in args.servers:
            for n in args.sessions:
                results.append(report(run_once(n, servers, Path(tmp), args.timeout)))
    out = PROJECT / "benchmarks" / "results" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"figures written to {out.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
