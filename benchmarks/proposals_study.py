"""Study: proposals for white zones, greedy EPCI agglomeration vs max-p regions (PySAL spopt).

Run by hand (spopt is not a dependency of the project; install it in the
virtual environment for this study only)::

    .venv/bin/pip install spopt==0.7.0
    .venv/bin/python benchmarks/proposals_study.py [--region 93] [--seeds 3]

On the same white zones (synthetic perimeters over half of the region's
EPCIs), for every cluster that reaches the minimum population, both methods
divide the cluster into contiguous groups of at least the minimum. Printed
per method: time, number of groups, share of groups reaching the minimum,
share of groups made of whole EPCIs only, share of EPCIs split between
groups, mean Polsby-Popper compactness. max-p's homogeneity attribute is the
log of population density (it needs one); its result depends on its random
seed, so it is run with several seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from diagnosis.analysis.geometry import dissolve_groups, polsby_popper  # noqa: E402
from diagnosis.analysis.membership import membership  # noqa: E402
from diagnosis.analysis.proposals import propose_for_white_zones  # noqa: E402
from diagnosis.analysis.white_zones import white_zones  # noqa: E402
from diagnosis.core.aci import size_rules  # noqa: E402
from diagnosis.core.model import perimeters_from_members  # noqa: E402
from diagnosis.core.referential import load_referential  # noqa: E402


def scenario(region: str):
    ref = load_referential(region=region)
    units = ref.units
    epcis = sorted(units["epci_code"].dropna().unique())
    covered = epcis[::2]
    members = {e: units.index[units["epci_code"] == e].tolist() for e in covered}
    m = membership(perimeters_from_members(members), ref)
    return ref, m, white_zones(m, ref)


def quality(ref, groups: list[np.ndarray], minimum: float) -> dict:
    units = ref.units
    pop = units["population"].to_numpy()
    epci = units["epci_code"].to_numpy(dtype=object)
    epci_n = ref.epci.set_index("epci_code")["n_units"]
    reach = [pop[g].sum() >= minimum for g in groups]
    whole_groups = 0
    epci_groups: dict[str, set[int]] = {}
    for i, g in enumerate(groups):
        counts = pd.Series([e for e in epci[g] if e is not None]).value_counts()
        if all(int(epci_n.get(e, -1)) == int(n) for e, n in counts.items()):
            whole_groups += 1
        for e in counts.index:
            epci_groups.setdefault(e, set()).add(i)
    split_epcis = sum(1 for s in epci_groups.values() if len(s) > 1)
    geoms = dissolve_groups(ref, groups)
    compact = [polsby_popper(g) for g in geoms]
    return {
        "groups": len(groups),
        "share_reaching_minimum": float(np.mean(reach)) if reach else np.nan,
        "share_whole_epci_groups": whole_groups / len(groups) if groups else np.nan,
        "epcis_split_between_groups": split_epcis,
        "mean_compactness": float(np.nanmean(compact)) if compact else np.nan,
    }


def run_greedy(ref, m, wz, minimum):
    start = time.perf_counter()
    props = propose_for_white_zones(m, ref, wz, minimum_population=minimum)
    elapsed = time.perf_counter() - start
    table = props.proposals[props.proposals["kind"] == "nouveau_perimetre"]
    groups = [m.index.positions(list(c)) for c in table["codes"]]
    return elapsed, groups


def run_maxp(ref, m, wz, minimum, seed):
    import libpysal
    from spopt.region import MaxPHeuristic

    units = ref.units
    groups = []
    start = time.perf_counter()
    for cluster in wz.clusters.itertuples(index=False):
        if cluster.population < minimum or cluster.n_units < 2:
            continue
        t0 = time.perf_counter()
        sub = units.loc[list(cluster.codes)].reset_index()
        sub["log_density"] = np.log1p(sub["population"] / sub["area_km2"].clip(lower=0.01))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = libpysal.weights.Rook.from_dataframe(sub, use_index=False, silence_warnings=True)
            np.random.seed(seed)  # noqa: NPY002 - spopt draws from the global generator
            model = MaxPHeuristic(sub, w, ["log_density"], "population", minimum, top_n=2)
            model.solve()
        for label in np.unique(model.labels_):
            codes = sub.loc[model.labels_ == label, "code"].tolist()
            groups.append(m.index.positions(codes))
        print(
            f"    max-p seed {seed}: cluster {cluster.cluster_id} ({cluster.n_units} units) "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    return time.perf_counter() - start, groups


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default="93")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--largest-only",
        action="store_true",
        help="compare on the largest white-zone cluster only (max-p can take very long on others)",
    )
    args = parser.parse_args()
    ref, m, wz = scenario(args.region)
    if args.largest_only:
        wz.clusters = wz.clusters.iloc[:1]
        wz.neighbours = wz.neighbours[
            wz.neighbours["cluster_id"] == wz.clusters["cluster_id"].iloc[0]
        ]
    minimum = float(size_rules().minimum_for(args.region))
    big = wz.clusters[wz.clusters["population"] >= minimum]
    print(
        f"region {args.region}: {len(wz.units)} white units, {len(wz.clusters)} clusters, "
        f"{len(big)} reaching {minimum:.0f} inhabitants ({int(big['n_units'].sum())} units)"
    )
    rows = []
    elapsed, groups = run_greedy(ref, m, wz, minimum)
    rows.append(
        {
            "method": "greedy EPCI agglomeration (Atlas CPTS)",
            "seconds": elapsed,
            **quality(ref, groups, minimum),
        }
    )
    try:
        for seed in range(args.seeds):
            elapsed, groups = run_maxp(ref, m, wz, minimum, seed)
            rows.append(
                {
                    "method": f"max-p heuristic (spopt), seed {seed}",
                    "seconds": elapsed,
                    **quality(ref, groups, minimum),
                }
            )
    except ImportError as exc:
        print(f"spopt unavailable ({exc}): install it for the comparison")
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    print(
        f"reproduce: {sys.executable} benchmarks/proposals_study.py --region {args.region} --seeds {args.seeds}"
    )


if __name__ == "__main__":
    main()
