"""Benchmark of the hardening targets (issue "Hardening"): speed and memory of imports.

Run by hand::

    nice .venv/bin/python benchmarks/hardening.py [--only polygons|rows|repeat]

Each case runs in its own process so that its peak RSS is its own:

- ``polygons``: 1,000 perimeter polygons covering France (one per EPCI, their
  communes dissolved and simplified to about 100 m) as GeoJSON, and 3,000 small
  squares (0.3 MB of GeoJSON, the file of the issue). Target ≤ 5 s for 1,000.
- ``rows``: a 500,000-row CSV (one row per commune and perimeter). Target
  ≤ 10 s and ≤ 1.5 GB peak RSS.
- ``repeat``: four successive imports of a ~48 MB CSV (the largest accepted,
  50 Mo = 50 MiB) in one process; peak RSS after each.

The referential is loaded before timing (cached in memory in the app and the
CLI), and a first small import builds the lookup tables.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from diagnosis.core.referential import load_referential  # noqa: E402
from diagnosis.importer.perimeters import import_perimeters  # noqa: E402

STATUSES = ["ACI signé", "projet de santé validé", "lettre d'intention validée", "en émergence"]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm() -> None:
    ref = load_referential()
    import_perimeters(b"Nom CPTS;Code INSEE\nA;13004\n", filename="warm.csv", referential=ref)


def _epci_polygons(n: int) -> bytes:
    import geopandas as gpd

    ref = load_referential()
    units = ref.units[ref.units.geometry.notna() & (ref.units["kind"] != "arrondissement")]
    metro = units[units["zone"] == "metro"]
    groups = metro.groupby("epci_code").groups
    codes = sorted(groups)[:n]
    geoms, names = [], []
    for i, code in enumerate(codes):
        members = metro.loc[groups[code]]
        geom = shapely.union_all(members.geometry.to_numpy()).simplify(0.001)
        geoms.append(geom)
        names.append(f"CPTS {i + 1} ({members['epci_name'].iloc[0]})")
    frame = gpd.GeoDataFrame(
        {"nom": names, "statut": [STATUSES[i % 4] for i in range(len(names))]},
        geometry=geoms,
        crs=4326,
    )
    return frame.to_json(drop_id=True).encode("utf-8")


def _squares(n: int, seed: int = 0) -> bytes:
    import geopandas as gpd

    ref = load_referential()
    rng = np.random.default_rng(seed)
    units = ref.units[ref.units["townhall_lon"].notna()]
    pick = units.iloc[rng.choice(len(units), n, replace=False)]
    size = 0.02
    geoms = [
        shapely.box(round(x, 3), round(y, 3), round(x + size, 3), round(y + size, 3))
        for x, y in zip(pick["townhall_lon"], pick["townhall_lat"], strict=True)
    ]
    frame = gpd.GeoDataFrame({"nom": [f"P{i}" for i in range(n)]}, geometry=geoms, crs=4326)
    return frame.to_json(drop_id=True).encode("utf-8")


def _rows_csv(n_rows: int, *, comment: int = 0, seed: int = 0) -> bytes:
    ref = load_referential()
    rng = np.random.default_rng(seed)
    codes = ref.units.index.to_numpy()
    names = ref.units["name"].to_numpy()
    n_per = max(1, n_rows // 40)
    picks = rng.integers(0, len(codes), n_rows)
    frame = pd.DataFrame(
        {
            "Nom CPTS": [f"CPTS n°{i % n_per + 1}" for i in range(n_rows)],
            "Code INSEE": codes[picks],
            "Commune": names[picks],
            "Statut": [STATUSES[i % 4] for i in range(n_rows)],
        }
    )
    if comment:
        frame["Commentaire"] = "x" * comment
    return frame.to_csv(sep=";", index=False).encode("utf-8")


def _timed(data: bytes, filename: str) -> tuple[float, object]:
    start = time.perf_counter()
    result = import_perimeters(data, filename=filename)
    return time.perf_counter() - start, result


def case_polygons() -> dict[str, object]:
    _warm()
    national = _epci_polygons(1000)
    seconds, result = _timed(national, "national.geojson")
    squares = _squares(3000)
    seconds_sq, result_sq = _timed(squares, "carres.geojson")
    return {
        "1000 EPCI polygons": f"{len(national) / 1e6:.1f} MB, {seconds:.2f} s, "
        f"{len(result.perimeters)} perimeters, {len(result.members)} members",  # type: ignore[attr-defined]
        "3000 squares": f"{len(squares) / 1e6:.2f} MB, {seconds_sq:.2f} s, "
        f"{len(result_sq.members)} members",  # type: ignore[attr-defined]
        "peak RSS MB": round(_peak_mb()),
    }


def case_rows() -> dict[str, object]:
    _warm()
    data = _rows_csv(500_000)
    before = _peak_mb()
    seconds, result = _timed(data, "lignes.csv")
    return {
        "500000 rows": f"{len(data) / 1e6:.1f} MB, {seconds:.2f} s, "
        f"{len(result.perimeters)} perimeters, {len(result.members)} members",  # type: ignore[attr-defined]
        "peak RSS MB before import": round(before),
        "peak RSS MB": round(_peak_mb()),
    }


def case_repeat() -> dict[str, object]:
    _warm()
    out: dict[str, object] = {}
    for i in range(4):
        data = _rows_csv(480_000, comment=52, seed=i)  # about 48 Mo
        seconds, _ = _timed(data, f"gros_{i}.csv")
        out[f"import {i + 1}"] = (
            f"{len(data) / 2**20:.1f} Mo, {seconds:.2f} s, peak {_peak_mb():.0f} MB"
        )
        del data
    return out


CASES = {"polygons": case_polygons, "rows": case_rows, "repeat": case_repeat}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case]()))
        return
    for name in [args.only] if args.only else list(CASES):
        done = subprocess.run(
            [sys.executable, __file__, "--case", name],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"{name}:")
        for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
            print(f"  {key}: {value}")
    only = f" --only {args.only}" if args.only else ""
    print(f"reproduce: nice {sys.executable} benchmarks/hardening.py{only}")


if __name__ == "__main__":
    main()
