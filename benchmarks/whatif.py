"""Benchmark of the GP what-if at national scale (issue 12, item 7: ≤ 100 ms per change).

Run by hand::

    PYTHONPATH=. .venv/bin/python benchmarks/whatif.py [--changes 50]

Steps, timed separately: crow-fly pairs of every town hall of the national
referential (once per scope), the what-if model (weights and step-1
denominators, once per scope and supply), then ``--changes`` successive
changes (±FTE in a random commune, with a territory of 20 communes), each
timed on its own. A synthetic baseline supply (Poisson, about 0.8 GP a
commune) stands in for the Annuaire santé. Every fifth change is checked
against a full recomputation (:func:`coverage.access.two_step_fca` from
scratch on the same pairs): the largest difference must stay under 1e-9.

The last line is ``change_ms_median=<m> change_ms_max=<m> pairs=<n> model_s=<s>
max_abs_diff=<d> peak_rss_mb=<m>``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
# The script's own folder holds benchmarks/diagnosis.py, which would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "benchmarks"]
sys.path.insert(0, str(PROJECT))

from coverage.access import referential_pairs, two_step_fca  # noqa: E402
from coverage.whatif import whatif_model  # noqa: E402
from diagnosis.core.referential import load_referential  # noqa: E402

TARGET_MS = 100.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures (exit status 1 when over the target)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50, help="changes to time")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    ref = load_referential()
    t0 = time.perf_counter()
    pairs = referential_pairs(ref)
    t1 = time.perf_counter()
    codes = pd.Index(pairs.demand_codes)
    demand = ref.units["population"].astype(float).reindex(codes)
    supply = pd.Series(rng.poisson(0.8, len(codes)).astype(float), index=codes)
    model = whatif_model(demand, pairs, supply=supply)
    t2 = time.perf_counter()
    territory = list(rng.choice(codes, 20, replace=False))
    timings, diffs = [], []
    current = supply.copy()
    for k in range(args.changes):
        code = str(rng.choice(codes))
        delta = float(rng.choice([-1.0, 1.0, 2.0, 0.5]))
        delta = max(delta, -float(supply[code]))
        s = time.perf_counter()
        result = model.simulate({code: delta}, territory=territory)
        result.summary()
        timings.append((time.perf_counter() - s) * 1000)
        if k % 5 == 0:
            current = supply.copy()
            current[code] += delta
            full = two_step_fca(current, demand, pairs).accessibility * 10_000
            table = result.table.set_index("code")
            diffs.append(
                float(
                    np.abs(
                        table["accessibility_after"].to_numpy()
                        - full.reindex(table.index).to_numpy()
                    ).max()
                )
            )
    s = time.perf_counter()
    two_step_fca(current, demand, pairs)
    full_ms = (time.perf_counter() - s) * 1000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median, worst = float(np.median(timings)), float(np.max(timings))
    print("command: PYTHONPATH=. .venv/bin/python benchmarks/whatif.py --changes", args.changes)
    print(f"communes={len(codes)} pairs={len(pairs)} pairs_s={t1 - t0:.3f} model_s={t2 - t1:.3f}")
    print(f"full two_step_fca on cached pairs: {full_ms:.1f} ms")
    print(
        f"change_ms_median={median:.1f} change_ms_max={worst:.1f} pairs={len(pairs)} "
        f"model_s={t2 - t1:.3f} max_abs_diff={max(diffs):.2e} peak_rss_mb={peak:.0f}"
    )
    return 0 if worst <= TARGET_MS and max(diffs) <= 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
