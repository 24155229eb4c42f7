"""Overlaps: units claimed by two or more perimeters, and pairs of perimeters sharing units.

Declared infra-communal splits (a city deliberately shared below commune
level) are listed apart and not counted as overlaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from diagnosis.analysis.membership import Membership
from diagnosis.core.referential import Referential

__all__ = ["declared_splits", "overlap_pairs", "overlaps"]

UNIT_COLUMNS = [
    "code",
    "name",
    "population",
    "n_perimeters",
    "perimeters",
    "perimeter_ids",
    "statuses",
]
PAIR_COLUMNS = [
    "perimeter_a",
    "perimeter_b",
    "name_a",
    "name_b",
    "status_a",
    "status_b",
    "n_units_shared",
    "population_shared",
    "area_shared_km2",
    "codes",
]


def _claims(membership: Membership, *, split: bool) -> pd.DataFrame:
    mask = membership.split if split else ~membership.split
    return pd.DataFrame(
        {"perimeter": membership.member_perimeter[mask], "unit": membership.member_unit[mask]}
    )


def _unit_table(
    membership: Membership, ref: Referential, claims: pd.DataFrame, *, minimum: int
) -> pd.DataFrame:
    counts = np.bincount(claims["unit"].to_numpy(), minlength=len(membership.index.codes))
    units = np.flatnonzero(counts >= minimum)
    if len(units) == 0:
        return pd.DataFrame(columns=UNIT_COLUMNS)
    sub = claims[np.isin(claims["unit"].to_numpy(), units)].sort_values(["unit", "perimeter"])
    names = membership.perimeters["name"].astype(str).to_numpy()
    ids = membership.perimeters["perimeter_id"].astype(str).to_numpy()
    statuses = (
        membership.perimeters["status"]
        .map(lambda s: s if isinstance(s, str) else "inconnu")
        .to_numpy()
    )
    grouped = sub.groupby("unit")["perimeter"].agg(list)
    codes = membership.index.codes[grouped.index.to_numpy()]
    return pd.DataFrame(
        {
            "code": codes,
            "name": ref.units["name"].to_numpy()[grouped.index.to_numpy()],
            "population": membership.index.population[grouped.index.to_numpy()],
            "n_perimeters": [len(p) for p in grouped],
            "perimeters": [" | ".join(names[p]) for p in grouped],
            "perimeter_ids": [" | ".join(ids[p]) for p in grouped],
            "statuses": [" | ".join(statuses[p]) for p in grouped],
        }
    )


def overlaps(membership: Membership, ref: Referential) -> pd.DataFrame:
    """Every unit claimed by two or more perimeters (declared splits excluded).

    Returns
    -------
    pandas.DataFrame
        code, name, population (at stake), n_perimeters, perimeters (names
        joined with " | "), perimeter_ids, statuses; empty with these columns
        when no unit is claimed twice.
    """
    return _unit_table(membership, ref, _claims(membership, split=False), minimum=2)


def declared_splits(membership: Membership, ref: Referential) -> pd.DataFrame:
    """Units under a declared infra-communal split, with the perimeters sharing them."""
    return _unit_table(membership, ref, _claims(membership, split=True), minimum=1)


def overlap_pairs(membership: Membership) -> pd.DataFrame:
    """Every pair of perimeters sharing units (declared splits excluded).

    Each pair appears once (``perimeter_a`` before ``perimeter_b`` in the
    perimeter table), with the shared units, population and area.
    """
    claims = _claims(membership, split=False)
    n_units = len(membership.index.codes)
    if claims.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    incidence = sp.csr_matrix(
        (np.ones(len(claims), dtype=np.int64), (claims["perimeter"], claims["unit"])),
        shape=(membership.n_perimeters, n_units),
    )
    shared = sp.triu(incidence @ incidence.T, k=1).tocoo()
    if shared.nnz == 0:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    pop = incidence @ sp.diags(membership.index.population.astype(np.float64)) @ incidence.T
    area = incidence @ sp.diags(np.nan_to_num(membership.index.area_km2)) @ incidence.T
    a, b = shared.row, shared.col
    members = incidence.tolil().rows
    codes = [
        tuple(sorted(membership.index.codes[np.intersect1d(members[i], members[j])]))
        for i, j in zip(a.tolist(), b.tolist(), strict=True)
    ]
    per = membership.perimeters
    frame = pd.DataFrame(
        {
            "perimeter_a": per["perimeter_id"].to_numpy()[a],
            "perimeter_b": per["perimeter_id"].to_numpy()[b],
            "name_a": per["name"].to_numpy()[a],
            "name_b": per["name"].to_numpy()[b],
            "status_a": per["status"].to_numpy()[a],
            "status_b": per["status"].to_numpy()[b],
            "n_units_shared": shared.data.astype(np.int64),
            "population_shared": np.asarray(pop[a, b]).ravel().astype(np.int64),
            "area_shared_km2": np.asarray(area[a, b]).ravel(),
            "codes": codes,
        }
    )
    return frame.sort_values(
        ["population_shared", "perimeter_a"], ascending=[False, True]
    ).reset_index(drop=True)
