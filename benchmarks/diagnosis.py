"""Benchmark of the diagnosis: a national case with 1,000 perimeters, and proposals for a region.

Run by hand::

    .venv/bin/python benchmarks/diagnosis.py [--perimeters 1000] [--region 93]

Targets (issue "Diagnosis"): national case with 1,000 perimeters over all
units, including dissolving perimeters into polygons, overlaps, white-zone
clusters and coverage ≤ 5 s and ≤ 2 GB peak; proposals for the white zones of
one region ≤ 10 s. The referential is loaded before timing (it is cached in
memory by the app and the CLI). Each case runs in a fresh process so that the
peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

CASE = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, {project!r})
import numpy as np
from diagnosis.core.referential import load_referential
from diagnosis.core.model import perimeters_from_members
from diagnosis.analysis.membership import membership
from diagnosis.analysis.checks import diagnose_perimeters
from diagnosis.analysis.overlaps import overlaps, overlap_pairs, declared_splits
from diagnosis.analysis.white_zones import white_zones
from diagnosis.analysis.rates import coverage_rates
from diagnosis.analysis.proposals import propose_for_white_zones

def synthetic(ref, n_perimeters, seed=0):
    # Perimeters made of one or two neighbouring EPCIs; about one EPCI in ten stays
    # white; each perimeter also claims a few units of the next one (overlaps).
    rng = np.random.default_rng(seed)
    units = ref.units
    epcis = sorted(units["epci_code"].dropna().unique())
    rng.shuffle(epcis)
    kept = epcis[: int(len(epcis) * 0.9)]
    groups = np.array_split(np.array(kept, dtype=object), n_perimeters)
    by_epci = units.groupby("epci_code").groups
    members, statuses = {{}}, {{}}
    stages = ["emergence", "lettre_intention", "projet_sante", "aci_signe"]
    previous = []
    for i, group in enumerate(groups):
        codes = [c for e in group for c in by_epci[e]]
        members[f"P{{i:04d}}"] = codes + previous[:3]
        statuses[f"P{{i:04d}}"] = stages[i % 4]
        previous = codes
    return perimeters_from_members(members, statuses=statuses)

case = {case!r}
ref = load_referential()
if case == "national":
    imported = synthetic(ref, {n})
    start = time.perf_counter()
    m = membership(imported, ref)
    t_m = time.perf_counter()
    diag = diagnose_perimeters(m, ref, geometry=True)
    t_d = time.perf_counter()
    over = overlaps(m, ref); pairs = overlap_pairs(m); splits = declared_splits(m, ref)
    t_o = time.perf_counter()
    wz = white_zones(m, ref)
    t_w = time.perf_counter()
    rates = coverage_rates(imported, ref)
    t_c = time.perf_counter()
    out = dict(
        case=case, perimeters=len(imported.perimeters), members=len(imported.members),
        membership_s=t_m - start, perimeters_dissolve_enclaves_s=t_d - t_m,
        overlaps_s=t_o - t_d, white_zones_s=t_w - t_o, coverage_s=t_c - t_w,
        total_s=t_c - start, overlapping_units=len(over), pairs=len(pairs),
        white_units=len(wz.units), clusters=len(wz.clusters), coverage_rows=len(rates),
    )
else:
    region = {region!r}
    regional = load_referential(region=region)
    national = synthetic(ref, {n})
    # Keep the synthetic perimeters' members inside the region, then drop half of
    # the perimeters to make large white zones.
    members = national.members[national.members["code"].isin(regional.units.index)]
    ids = sorted(members["perimeter_id"].unique())[::2]
    subset = perimeters_from_members({{p: g["code"].tolist() for p, g in members[members["perimeter_id"].isin(ids)].groupby("perimeter_id")}})
    m = membership(subset, regional)
    wz = white_zones(m, regional)
    start = time.perf_counter()
    props = propose_for_white_zones(m, regional, wz)
    elapsed = time.perf_counter() - start
    table = props.proposals
    out = dict(
        case=case, region=region, white_units=len(wz.units), clusters=len(wz.clusters),
        proposals=len(table), new=int((table["kind"] == "nouveau_perimetre").sum()),
        attachments=int((table["kind"] == "rattachement").sum()),
        all_new_reach_minimum=bool(table.loc[table["kind"] == "nouveau_perimetre", "reaches_minimum"].all()),
        mean_compactness=float(table["compactness"].mean()), proposals_s=elapsed,
    )
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run(case: str, n: int, region: str) -> dict:
    code = CASE.format(project=str(PROJECT), case=case, n=n, region=region)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _fmt(results: list[dict], key: str) -> str:
    return ", ".join(f"{r[key]:.2f}" for r in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--perimeters", type=int, default=1000)
    parser.add_argument("--region", default="93")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    national = [run("national", args.perimeters, args.region) for _ in range(args.repeat)]
    best = min(national, key=lambda r: r["total_s"])
    print(
        f"national: {best['perimeters']} perimeters, {best['members']} memberships; "
        f"total {best['total_s']:.2f} s (best of {args.repeat}; all: "
        f"{_fmt(national, 'total_s')}) — target ≤ 5 s"
    )
    for key in (
        "membership_s",
        "perimeters_dissolve_enclaves_s",
        "overlaps_s",
        "white_zones_s",
        "coverage_s",
    ):
        print(f"  {key}: {best[key]:.3f}")
    print(
        f"  overlapping units {best['overlapping_units']}, pairs {best['pairs']}, "
        f"white units {best['white_units']} in {best['clusters']} clusters"
    )
    print(f"  peak RSS {max(r['peak_rss_mb'] for r in national):.0f} MB — target ≤ 2048 MB")
    regional = [run("region", args.perimeters, args.region) for _ in range(args.repeat)]
    best_r = min(regional, key=lambda r: r["proposals_s"])
    print(
        f"proposals, region {args.region}: {best_r['white_units']} white units in "
        f"{best_r['clusters']} clusters → {best_r['proposals']} proposals "
        f"({best_r['new']} new, {best_r['attachments']} attachments, all new ≥ minimum: "
        f"{best_r['all_new_reach_minimum']}), mean compactness {best_r['mean_compactness']:.2f}; "
        f"{best_r['proposals_s']:.2f} s (all: {_fmt(regional, 'proposals_s')})"
        " — target ≤ 10 s"
    )
    print(json.dumps({"national": best, "region": best_r}))
    print(
        f"reproduce: {sys.executable} benchmarks/diagnosis.py --perimeters {args.perimeters} --region {args.region}"
    )


if __name__ == "__main__":
    main()
