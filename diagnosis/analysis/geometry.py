"""Geometric operations on groups of units: dissolve, parts, enclaves, compactness.

Geometries are those of the referential: a valid polygonal coverage in WGS84,
so groups are dissolved with shapely's coverage union (about ten times faster
than a general union). Display simplification never happens here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from diagnosis.analysis.membership import Membership, UnitIndex
from diagnosis.core.referential import Referential
from diagnosis.core.zones import ZONE_CRS

__all__ = [
    "component_labels",
    "dissolve_groups",
    "dissolve_perimeters",
    "enclaves",
    "polsby_popper",
    "unit_points",
    "zone_epsg",
]


def unit_points(ref: Referential) -> np.ndarray:
    """A point inside each unit (for point-in-polygon tests), None without geometry."""

    def make() -> np.ndarray:
        geoms = ref.units.geometry.to_numpy()
        points = np.full(len(geoms), None, dtype=object)
        has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        points[has] = shapely.point_on_surface(geoms[has])
        return points

    points: np.ndarray = ref.cached("unit_points", make)
    return points


def dissolve_groups(ref: Referential, groups: Sequence[np.ndarray]) -> np.ndarray:
    """One (multi)polygon per group of unit positions (None for an empty group)."""
    geoms = ref.units.geometry.to_numpy()
    out = np.full(len(groups), None, dtype=object)
    for i, positions in enumerate(groups):
        parts = geoms[positions]
        parts = parts[~shapely.is_missing(parts)]
        if len(parts) == 0:
            continue
        out[i] = parts[0] if len(parts) == 1 else shapely.coverage_union_all(parts)
    return out


def _groups(membership: Membership) -> list[np.ndarray]:
    order = np.argsort(membership.member_perimeter, kind="stable")
    bounds = np.searchsorted(
        membership.member_perimeter[order], np.arange(membership.n_perimeters + 1)
    )
    return [
        membership.member_unit[order[bounds[i] : bounds[i + 1]]]
        for i in range(membership.n_perimeters)
    ]


def dissolve_perimeters(membership: Membership, ref: Referential) -> gpd.GeoDataFrame:
    """Perimeters as polygons (WGS84): perimeter_id, name, status, geometry."""
    geoms = dissolve_groups(ref, _groups(membership))
    frame = membership.perimeters[["perimeter_id", "name", "status"]].copy()
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def component_labels(index: UnitIndex, group: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Connected components of units sharing a border, within each group.

    Parameters
    ----------
    index
        Units and adjacency.
    group
        Group number of each item (e.g. the perimeter of each membership row).
    positions
        Unit position of each item.

    Returns
    -------
    numpy.ndarray
        A component label for each item; items of different groups never share
        a label. An island (a unit without neighbours) is its own component.
    """
    n_items = len(positions)
    if n_items == 0:
        return np.zeros(0, dtype=np.int64)
    n_units = len(index.codes)
    adj = index.adjacency
    key = group.astype(np.int64) * n_units + positions
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    counts = np.diff(adj.indptr)[positions]
    total = int(counts.sum())
    source = np.repeat(np.arange(n_items), counts)
    starts = np.repeat(adj.indptr[positions], counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    neighbours = adj.indices[starts + offsets]
    candidate = group[source].astype(np.int64) * n_units + neighbours
    j = np.searchsorted(sorted_keys, candidate)
    j = np.clip(j, 0, n_items - 1)
    found = sorted_keys[j] == candidate
    rows, cols = source[found], order[j[found]]
    graph = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_items, n_items)
    )
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def enclaves(membership: Membership, ref: Referential, dissolved: gpd.GeoDataFrame) -> pd.DataFrame:
    """Units surrounded by a perimeter but not in it.

    A unit is an enclave of a perimeter when its inner point lies in a hole
    of the perimeter's dissolved polygon. Slivers between source contours make
    tiny holes that contain no unit: they are ignored.

    Returns
    -------
    pandas.DataFrame
        perimeter_id, code, name, population (empty with these columns when
        there is none).
    """
    columns = ["perimeter_id", "code", "name", "population"]
    holes = []
    owners = []
    for i, geom in enumerate(dissolved.geometry.to_numpy()):
        if geom is None:
            continue
        for poly in shapely.get_parts(geom):
            for ring in poly.interiors:
                holes.append(shapely.Polygon(ring))
                owners.append(i)
    if not holes:
        return pd.DataFrame(columns=columns)
    points = unit_points(ref)
    has = np.flatnonzero(points != None)  # noqa: E711 - element-wise comparison
    tree = shapely.STRtree(points[has])
    hole_idx, point_idx = tree.query(np.array(holes, dtype=object), predicate="contains")
    if len(hole_idx) == 0:
        return pd.DataFrame(columns=columns)
    per = np.asarray(owners)[hole_idx]
    unit = has[point_idx]
    member_keys = set(
        zip(membership.member_perimeter.tolist(), membership.member_unit.tolist(), strict=True)
    )
    keep = [(p, u) not in member_keys for p, u in zip(per.tolist(), unit.tolist(), strict=True)]
    per, unit = per[keep], unit[keep]
    units = ref.units
    frame = pd.DataFrame(
        {
            "perimeter_id": dissolved["perimeter_id"].to_numpy()[per],
            "code": membership.index.codes[unit],
            "name": units["name"].to_numpy()[unit],
            "population": membership.index.population[unit],
        }
    )
    return (
        frame.drop_duplicates(["perimeter_id", "code"])
        .sort_values(["perimeter_id", "code"])
        .reset_index(drop=True)
    )


def polsby_popper(geometry: shapely.Geometry | None, *, epsg: int = 2154) -> float:
    """Compactness 4πA/P² of a (multi)polygon measured in a metric CRS (1 for a disc)."""
    if geometry is None or geometry.is_empty:
        return math.nan
    metric = gpd.GeoSeries([geometry], crs=4326).to_crs(epsg).iloc[0]
    perimeter = metric.length
    return float(4 * math.pi * metric.area / perimeter**2) if perimeter else math.nan


def zone_epsg(departments: Sequence[str]) -> int:
    """Metric CRS for a set of departments (the first overseas one, else Lambert-93)."""
    for dep in departments:
        if dep in ZONE_CRS:
            return ZONE_CRS[dep]
    return ZONE_CRS["metro"]
