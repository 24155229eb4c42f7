"""Coverage rates: share of population and of units in a perimeter, by status threshold.

Computed the same way for France, each region and each department: a unit is
covered at a threshold when at least one perimeter reaching that status
includes it (a perimeter without status counts as ``emergence``). One
membership serves the four thresholds: each claim carries its status rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from diagnosis.analysis.membership import Membership, membership
from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential
from diagnosis.core.statuses import STATUS_KEYS, StatusKey, status_name

__all__ = ["RATE_COLUMNS", "coverage_rates"]

RATE_COLUMNS = [
    "scope",
    "level",
    "code",
    "name",
    "status_min",
    "status_label",
    "population_total",
    "population_covered",
    "population_white",
    "share_covered",
    "units_total",
    "units_covered",
    "share_units_covered",
]


def coverage_rates(
    perimeters: PerimeterImport | Membership,
    ref: Referential,
    *,
    statuses: Sequence[StatusKey] = STATUS_KEYS,
    levels: Sequence[str] = ("france", "region", "department"),
) -> pd.DataFrame:
    """Coverage by status threshold for France, regions and departments.

    Scopes are named ``FR``, ``REG-xx`` and ``DEP-xx``.

    Parameters
    ----------
    perimeters
        Imported perimeters, or their membership built at a threshold no higher
        than the lowest of ``statuses`` (as :func:`run_diagnosis` does, so that
        the membership is not rebuilt).
    ref
        Referential of the scope: with a regional referential, France is not
        computed (only the region and its departments are in scope); with a
        department's, neither France nor the region is.
    statuses
        Thresholds to compute (default: the four statuses).
    levels
        Which scopes to compute.

    Returns
    -------
    pandas.DataFrame
        One row per (scope, threshold): population_total, population_covered,
        population_white, share_covered, units_total, units_covered,
        share_units_covered. covered + white = total by construction.
    """
    pop = ref.units["population"].to_numpy(dtype=np.int64)
    groups = _scope_groups(ref, levels)
    rows = []
    every_status = perimeters if isinstance(perimeters, Membership) else membership(perimeters, ref)
    for status in statuses:
        covered = every_status.covered_at(status)
        for scope, level, code, name, mask in groups:
            total = int(pop[mask].sum())
            cov = int(pop[mask & covered].sum())
            n_total = int(mask.sum())
            n_cov = int((mask & covered).sum())
            rows.append(
                {
                    "scope": scope,
                    "level": level,
                    "code": code,
                    "name": name,
                    "status_min": status,
                    "status_label": status_name(status),
                    "population_total": total,
                    "population_covered": cov,
                    "population_white": total - cov,
                    "share_covered": cov / total if total else np.nan,
                    "units_total": n_total,
                    "units_covered": n_cov,
                    "share_units_covered": n_cov / n_total if n_total else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=RATE_COLUMNS)


def _scope_groups(
    ref: Referential, levels: Sequence[str]
) -> list[tuple[str, str, str, str, np.ndarray]]:
    """(scope, level, code, name, mask of its units) of every scope to compute."""
    units = ref.units
    region = units["region"].astype(str).to_numpy()
    department = units["department"].astype(str).to_numpy()
    region_names = dict(zip(ref.regions["region"], ref.regions["region_name"], strict=True))
    dep_names = dict(
        zip(ref.departments["department"], ref.departments["department_name"], strict=True)
    )
    scope_level = ref.scope.get("level")
    groups: list[tuple[str, str, str, str, np.ndarray]] = []
    if "france" in levels and scope_level == "france":
        groups.append(("FR", "france", "FR", "France", np.ones(len(units), dtype=bool)))
    # A department's referential holds only part of its region: no region row then
    # (it would show the department's figures under the region's name).
    if "region" in levels and scope_level != "department":
        for code in sorted(set(region)):
            groups.append(
                (f"REG-{code}", "region", code, region_names.get(code, code), region == code)
            )
    if "department" in levels:
        for code in sorted(set(department)):
            groups.append(
                (f"DEP-{code}", "department", code, dep_names.get(code, code), department == code)
            )
    return groups
