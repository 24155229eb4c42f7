"""Benchmark of the registry: a national history of dated listings, on SQLite and PostgreSQL.

A national registry of 1,000 perimeters (consecutive communes of the real
referential, by department and EPCI) with 60 monthly listings where 5 % of the
perimeters change each month (a stage reached, a new name, communes moved to a
neighbour). Timed, after the history is built:

- importing a national listing from a CSV file, preview included (≤ 5 s);
- the state at a date (≤ 0.5 s);
- the coverage history of France, every region and every department at the
  four thresholds over the 60 months (≤ 3 s);
- the database's size.

Run by hand (PostgreSQL needs a server; ``scripts/with-postgres.sh`` starts a
private one and sets ``ATLAS_TEST_POSTGRES_URL``)::

    scripts/with-postgres.sh .venv/bin/python benchmarks/registry.py [--backend both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from diagnosis.core.model import PerimeterImport, perimeters_from_members  # noqa: E402
from diagnosis.core.referential import Referential, load_referential  # noqa: E402
from diagnosis.importer.perimeter_csv import export_perimeters_csv  # noqa: E402
from diagnosis.registry import (  # noqa: E402
    Registry,
    close_registry,
    coverage_history,
    history_dates,
    import_listing,
    open_registry,
    state_at,
)

STATUSES = ["emergence", "lettre_intention", "projet_sante", "aci_signe"]
START = dt.date(2021, 1, 1)


class History:
    """The perimeters of every month: members, names and statuses, built from a seed."""

    def __init__(self, ref: Referential, n_perimeters: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        units = ref.units.sort_values(["department", "epci_code"]).index.to_numpy()
        groups = np.array_split(units, n_perimeters)
        self.members = {f"P{i:04d}": [str(c) for c in g] for i, g in enumerate(groups)}
        self.names = {p: f"CPTS n°{i + 1}" for i, p in enumerate(self.members)}
        self.statuses = {p: STATUSES[int(self.rng.integers(0, 4))] for p in self.members}
        self.order = list(self.members)

    def listing(self) -> PerimeterImport:
        return perimeters_from_members(self.members, statuses=self.statuses, names=self.names)

    def change(self, share: float) -> None:
        """Change ``share`` of the perimeters: a stage, a name, or communes given away."""
        n = len(self.order)
        for i in self.rng.choice(n, size=round(share * n), replace=False):
            pid = self.order[int(i)]
            kind = int(self.rng.integers(0, 3))
            if kind == 0:
                rank = STATUSES.index(self.statuses[pid])
                self.statuses[pid] = STATUSES[min(rank + 1, 3)]
            elif kind == 1:
                self.names[pid] = f"{self.names[pid]} (nouveau nom)"
            else:
                neighbour = self.order[(int(i) + 1) % n]
                moved = self.members[pid][-int(self.rng.integers(1, 4)) :]
                if len(moved) < len(self.members[pid]):
                    self.members[pid] = self.members[pid][: -len(moved)]
                    self.members[neighbour] = self.members[neighbour] + moved


def month(k: int) -> dt.date:
    return dt.date(START.year + (START.month - 1 + k) // 12, (START.month - 1 + k) % 12 + 1, 1)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def database_size(registry: Registry) -> float:
    """Size of the registry in MB (the SQLite file, or the PostgreSQL schema's relations)."""
    if registry.dialect == "sqlite":
        path = Path(sa.engine.make_url(registry.url).database or "")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    query = (
        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "AND c.relkind IN ('r', 'm')"
    )
    with registry.engine.connect() as conn:
        return float(conn.execute(sa.text(query)).scalar_one()) / 1e6


def new_registry(backend: str, pg_url: str | None, folder: Path) -> tuple[Registry, str | None]:
    if backend == "sqlite":
        return open_registry(folder / "bench.sqlite"), None
    assert pg_url, "PostgreSQL needs --pg-url or ATLAS_TEST_POSTGRES_URL"
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    joiner = "&" if "?" in pg_url else "?"
    return open_registry(f"{pg_url}{joiner}options=-csearch_path%3D{schema}"), schema


def run(backend: str, args: argparse.Namespace, ref: Referential, folder: Path) -> None:
    registry, schema = new_registry(backend, args.pg_url, folder)
    history = History(ref, args.perimeters, args.seed)
    build = []
    for k in range(args.months):
        if k:
            history.change(args.share)
        listing, day = history.listing(), month(k)
        start = time.perf_counter()
        import_listing(registry, listing, as_of=day, referential=ref, filename=f"m{k}.csv")
        build.append(time.perf_counter() - start)
    history.change(args.share)
    csv = folder / f"liste-{backend}.csv"
    csv.write_bytes(export_perimeters_csv(history.listing(), referential=ref))
    next_month = month(args.months)
    file_s, outcome = timed(
        lambda: import_listing(registry, csv, as_of=next_month, referential=ref)
    )
    dry_s, _ = timed(
        lambda: import_listing(
            registry, csv, as_of=month(args.months - 1), referential=ref, dry_run=True
        )
    )
    middle = month(args.months // 2)
    state_s, state = timed(lambda: state_at(registry, middle, referential=ref), args.repeat)
    dates = history_dates(month(0), month(args.months - 1), every="month")
    history_s, curve = timed(
        lambda: coverage_history(registry, dates, referential=ref), args.repeat
    )
    size = database_size(registry)
    n_scopes = curve["scope"].nunique()
    print(
        f"[{backend}] history built: {args.months} listings of {args.perimeters} perimeters, "
        f"{args.share:.0%} changed a month; import from memory median "
        f"{statistics.median(build):.2f} s (max {max(build):.2f} s)"
    )
    print(
        f"[{backend}] national listing from CSV ({csv.stat().st_size / 1e6:.1f} MB, "
        f"{outcome.plan.counts()}): {file_s[0]:.2f} s committed, {dry_s[0]:.2f} s preview "
        "only — target ≤ 5 s"
    )
    print(
        f"[{backend}] state at {middle}: median {statistics.median(state_s):.3f} s "
        f"({len(state.perimeters)} perimeters, {len(state.members)} members) — target ≤ 0.5 s"
    )
    print(
        f"[{backend}] coverage history: {len(dates)} months × {n_scopes} scopes × 4 thresholds "
        f"= {len(curve)} rows, median {statistics.median(history_s):.2f} s — target ≤ 3 s"
    )
    print(f"[{backend}] database size: {size:.1f} MB")
    close_registry(registry)
    if schema and args.pg_url:
        engine = sa.create_engine(args.pg_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("ATLAS_TEST_POSTGRES_URL"))
    parser.add_argument("--perimeters", type=int, default=1000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ref = load_referential()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not args.pg_url:
        print(
            "PostgreSQL skipped: no --pg-url nor ATLAS_TEST_POSTGRES_URL "
            "(run through scripts/with-postgres.sh)"
        )
        backends.remove("postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            run(backend, args, ref, Path(tmp))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(
        f"reproduce: scripts/with-postgres.sh {sys.executable} benchmarks/registry.py "
        f"--backend {args.backend} --perimeters {args.perimeters} --months {args.months} "
        f"--share {args.share}"
    )


if __name__ == "__main__":
    main()
