"""White zones: units in no perimeter at a status threshold, grouped into clusters.

Clusters are connected sets of white units sharing a border (rook
contiguity); an island is its own cluster. Each cluster comes with its
population, area, units and the neighbouring perimeters that could absorb it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from diagnosis.analysis.geometry import dissolve_groups
from diagnosis.analysis.membership import Membership, UnitIndex
from diagnosis.core.referential import Referential

__all__ = ["WhiteZones", "cluster_geometries", "white_zones"]

UNIT_COLUMNS = ["code", "name", "population", "area_km2", "department", "epci_code", "cluster_id"]
CLUSTER_COLUMNS = [
    "cluster_id",
    "n_units",
    "population",
    "area_km2",
    "departments",
    "is_island",
    "n_neighbour_perimeters",
    "neighbour_perimeters",
    "codes",
]
NEIGHBOUR_COLUMNS = ["cluster_id", "perimeter_id", "name", "status", "border_m", "n_units_adjacent"]


@dataclass
class WhiteZones:
    """White units, their clusters and the perimeters next to each cluster."""

    units: pd.DataFrame
    clusters: pd.DataFrame
    neighbours: pd.DataFrame
    status_min: str


def white_zones(membership: Membership, ref: Referential) -> WhiteZones:
    """White units (in no perimeter of the membership) and their clusters.

    Parameters
    ----------
    membership
        Membership at the chosen status threshold.
    ref
        Referential of the scope (units outside it are not considered).

    Returns
    -------
    WhiteZones
        ``units`` (one row per white unit, with its cluster), ``clusters``
        (largest population first, numbered from 1), ``neighbours`` (one row
        per cluster and adjacent perimeter, with the shared border length).
    """
    index = membership.index
    white = np.flatnonzero(~membership.covered())
    if len(white) == 0:
        return WhiteZones(
            units=pd.DataFrame(columns=UNIT_COLUMNS),
            clusters=pd.DataFrame(columns=CLUSTER_COLUMNS),
            neighbours=pd.DataFrame(columns=NEIGHBOUR_COLUMNS),
            status_min=membership.status_min,
        )
    unit_cluster = _cluster_ids(index, white)
    unit_table = pd.DataFrame(
        {
            "code": index.codes[white],
            "name": ref.units["name"].to_numpy()[white],
            "population": index.population[white],
            "area_km2": index.area_km2[white],
            "department": ref.units["department"].astype(str).to_numpy()[white],
            "epci_code": ref.units["epci_code"].to_numpy()[white],
            "cluster_id": unit_cluster,
        }
    ).sort_values(["cluster_id", "code"], kind="stable")
    neighbours = _neighbours(membership, white, unit_cluster)
    clusters = _with_neighbour_summary(_clusters(index, ref, white, unit_cluster), neighbours)
    return WhiteZones(
        units=unit_table[UNIT_COLUMNS].reset_index(drop=True),
        clusters=clusters[CLUSTER_COLUMNS].sort_values("cluster_id").reset_index(drop=True),
        neighbours=neighbours,
        status_min=membership.status_min,
    )


def _cluster_ids(index: UnitIndex, white: np.ndarray) -> np.ndarray:
    """Cluster of each white unit, numbered from 1 by decreasing population (then first code)."""
    sub = index.adjacency[white][:, white]
    n_comp, labels = connected_components(sub, directed=False)
    pop = np.bincount(labels, weights=index.population[white], minlength=n_comp)
    first_code = pd.Series(index.codes[white]).groupby(labels).min().to_numpy()
    order = np.lexsort((first_code, -pop))
    cluster_id = np.empty(n_comp, dtype=np.int64)
    cluster_id[order] = np.arange(1, n_comp + 1)
    return cluster_id[labels]


def _clusters(
    index: UnitIndex, ref: Referential, white: np.ndarray, unit_cluster: np.ndarray
) -> pd.DataFrame:
    """One row per cluster: units, population, area, departments, island or not, codes."""
    isolated = np.diff(index.adjacency.indptr)[white] == 0
    frame = pd.DataFrame(
        {
            "cluster": unit_cluster,
            "code": index.codes[white],
            "population": index.population[white],
            "area": np.nan_to_num(index.area_km2[white]),
            "department": ref.units["department"].astype(str).to_numpy()[white],
            "isolated": isolated,
        }
    )
    return (
        frame.groupby("cluster")
        .agg(
            n_units=("code", "size"),
            population=("population", "sum"),
            area_km2=("area", "sum"),
            departments=("department", lambda s: ",".join(sorted(set(s)))),
            is_island=("isolated", "all"),
            codes=("code", lambda s: tuple(sorted(s))),
        )
        .reset_index()
        .rename(columns={"cluster": "cluster_id"})
    )


def _with_neighbour_summary(clusters: pd.DataFrame, neighbours: pd.DataFrame) -> pd.DataFrame:
    """Clusters with the number and names of their neighbouring perimeters."""
    clusters = clusters.copy()
    if len(neighbours):
        per_cluster = neighbours.groupby("cluster_id").agg(
            n_neighbour_perimeters=("perimeter_id", "size"),
            neighbour_perimeters=("name", " | ".join),
        )
        clusters["n_neighbour_perimeters"] = (
            clusters["cluster_id"]
            .map(per_cluster["n_neighbour_perimeters"])
            .fillna(0)
            .astype(np.int64)
        )
        clusters["neighbour_perimeters"] = (
            clusters["cluster_id"]
            .map(per_cluster["neighbour_perimeters"])
            .astype(object)
            .fillna("")
        )
    else:
        clusters["n_neighbour_perimeters"] = 0
        clusters["neighbour_perimeters"] = ""
    return clusters


def _neighbours(
    membership: Membership, white: np.ndarray, unit_cluster: np.ndarray
) -> pd.DataFrame:
    """Perimeters adjacent to each cluster, with the shared border length."""
    index = membership.index
    n_units = len(index.codes)
    cluster_of_unit = np.zeros(n_units, dtype=np.int64)
    cluster_of_unit[white] = unit_cluster
    border = index.border_m[white].tocoo()
    w_unit = white[border.row]
    nb_unit = border.col
    length = border.data
    covered_nb = cluster_of_unit[nb_unit] == 0
    # Memberships of the covered neighbours.
    incidence = sp.csr_matrix(
        (
            np.ones(len(membership.member_unit), dtype=np.int8),
            (membership.member_unit, membership.member_perimeter),
        ),
        shape=(n_units, max(membership.n_perimeters, 1)),
    )
    nb = nb_unit[covered_nb]
    cl = cluster_of_unit[w_unit[covered_nb]]
    ln = length[covered_nb]
    sub = incidence[nb].tocoo()
    if sub.nnz == 0:
        return pd.DataFrame(columns=NEIGHBOUR_COLUMNS)
    rows_df = pd.DataFrame(
        {
            "cluster_id": cl[sub.row],
            "perimeter": sub.col,
            "border_m": ln[sub.row],
            "unit": nb[sub.row],
        }
    )
    agg = (
        rows_df.groupby(["cluster_id", "perimeter"])
        .agg(border_m=("border_m", "sum"), n_units_adjacent=("unit", "nunique"))
        .reset_index()
        .sort_values(["cluster_id", "border_m"], ascending=[True, False])
    )
    per = membership.perimeters
    agg["perimeter_id"] = per["perimeter_id"].to_numpy()[agg["perimeter"].to_numpy()]
    agg["name"] = per["name"].to_numpy()[agg["perimeter"].to_numpy()]
    agg["status"] = per["status"].to_numpy()[agg["perimeter"].to_numpy()]
    return agg[NEIGHBOUR_COLUMNS].reset_index(drop=True)


def cluster_geometries(
    membership: Membership, ref: Referential, clusters: pd.DataFrame
) -> np.ndarray:
    """One dissolved (multi)polygon per white-zone cluster (WGS84), in the clusters' order."""
    return dissolve_groups(
        ref, [membership.index.positions(list(codes)) for codes in clusters["codes"]]
    )
