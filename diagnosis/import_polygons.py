"""Importer step for polygons: units assigned by the share of their area inside."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.communes import Resolution
from diagnosis.import_table import cell_text, claims_frame
from diagnosis.model import Report
from diagnosis.reading import PolygonLayer
from diagnosis.referential import Referential
from diagnosis.textnorm import label_key
from diagnosis.zones import metric_zones, zone_of

#: Shares of a unit's area below this are border slivers (summarised in one
#: event); above ``1 - _EDGE_SHARE`` the unit counts as wholly inside. Hand-drawn
#: or differently simplified polygons never follow commune borders exactly.
_EDGE_SHARE = 0.05


def claims_from_polygons(
    layer: PolygonLayer,
    columns: Mapping[str, str],
    ref: Referential,
    report: Report,
    *,
    threshold: float,
    scope_units: frozenset[str] | None,
) -> pd.DataFrame:
    """Claims of a polygon layer: each unit whose share inside reaches ``threshold``."""
    frame = layer.frame.reset_index(drop=True)
    per_col, id_col = columns.get("perimeter"), columns.get("perimeter_id")
    if per_col is None and id_col is None:
        report.add(
            "single_perimeter",
            "Pas d'attribut de nom de périmètre : chaque objet devient un périmètre "
            "« Périmètre n » (n = numéro de l'objet).",
            action="noms attribués",
        )
    geoms = frame.geometry.to_numpy()
    features = []
    for i, geom in enumerate(geoms):
        row = i + 1
        pname = cell_text(frame.at[i, per_col]) if per_col else None
        pid = cell_text(frame.at[i, id_col]) if id_col else None
        if pname is None and pid is None:
            pname = f"Périmètre {row}"
        status = cell_text(frame.at[i, columns["status"]]) if "status" in columns else None
        date = cell_text(frame.at[i, columns["date"]]) if "date" in columns else None
        pkey = f"id:{pid}" if id_col is not None and pid is not None else f"name:{label_key(pname)}"
        if geom is None or geom.is_empty:
            report.add("empty_geometry", "Objet sans géométrie.", row=row, perimeter=pname or pid)
            features.append((row, pkey, pname, pid, status, date, None))
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            geom = shapely.make_valid(geom)  # noqa: PLW2901 - the repaired shape replaces it
            report.add(
                "geometry_repaired",
                f"Géométrie invalide ({reason}) corrigée automatiquement.",
                row=row,
                perimeter=pname or pid,
            )
        polygonal = [
            p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")
        ]
        if not polygonal:
            report.add(
                "empty_geometry",
                f"Objet sans surface ({geom.geom_type}) : un périmètre doit être un polygone.",
                row=row,
                perimeter=pname or pid,
            )
            features.append((row, pkey, pname, pid, status, date, None))
            continue
        features.append((row, pkey, pname, pid, status, date, shapely.union_all(polygonal)))

    units = ref.units
    has_geom = units.geometry.notna() & ~units.geometry.is_empty
    units = units[has_geom]
    zones = zone_of(units["department"].astype(str))
    records: list[tuple[Any, ...]] = []
    slivers = 0
    by_key: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for feat in features:
        by_key[feat[1]].append(feat)
    keyed = list(by_key.items())
    shares = _shares_by_perimeter(
        [
            shapely.union_all(g) if (g := [f[6] for f in feats if f[6] is not None]) else None
            for _, feats in keyed
        ],
        ref,
        units,
        zones,
    )
    for k, (pkey, feats) in enumerate(keyed):
        row0, _, pname, pid, status, date, _ = feats[0]
        rows_k = [f[0] for f in feats]
        assigned = 0
        for code, s in shares.get(k, ()):
            if s <= 1e-9:  # touching only
                continue
            if s < _EDGE_SHARE:
                slivers += 1
                continue
            keep = s >= threshold
            if s < 1 - _EDGE_SHARE:
                report.add(
                    "polygon_partial",
                    f"Commune {code} ({units.at[code, 'name']}) incluse à {s:.0%} dans le "
                    f"polygone : {'rattachée' if keep else 'non rattachée'} (seuil "
                    f"{threshold:.0%}).",
                    row=rows_k[0],
                    perimeter=pname or pid,
                    code=str(code),
                    action="rattachée" if keep else "non rattachée",
                )
            if keep:
                assigned += 1
                token = Resolution("unit", str(code), "polygone", (), str(code))
                records.append(
                    (rows_k[0], pkey, pname, pid, status, date, False, None, token, None)
                )
        if not assigned:
            records.append((row0, pkey, pname, pid, status, date, False, None, None, None))
    if slivers:
        report.add(
            "polygon_edge_slivers",
            f"{slivers} commune(s) touchée(s) par moins de {_EDGE_SHARE:.0%} de leur surface en "
            "bordure des polygones (différences de tracé) : non rattachées.",
        )
    return claims_frame(records)


def _shares_by_perimeter(
    polygons: list[Any], ref: Referential, units: gpd.GeoDataFrame, zones: pd.Series
) -> dict[int, list[tuple[str, float]]]:
    """For each perimeter (by position), the units it meets and the share of their area inside.

    All perimeters are handled at once per zone (one reprojection, one tree
    query): per-perimeter reprojection and unit selection cost about 20 ms
    each, i.e. a minute for a national file of 3,000 polygons.
    """
    shares: dict[int, list[tuple[str, float]]] = defaultdict(list)
    present = [k for k, poly in enumerate(polygons) if poly is not None]
    if not present:
        return shares
    wgs84 = gpd.GeoSeries([polygons[k] for k in present], crs=4326)
    for _, zone, epsg, in_zone in metric_zones(zones):
        zone_units = units[in_zone]
        if zone_units.empty:
            continue
        unit_geoms = _zone_geometries(ref, zone, epsg, zone_units)
        tree = _zone_tree(ref, zone, unit_geoms)
        # Only the perimeters whose box meets the zone's units are reprojected.
        x0, y0, x1, y1 = zone_units.total_bounds
        near = wgs84.cx[x0:x1, y0:y1]
        if near.empty:
            continue
        zone_polys = near.to_crs(epsg).to_numpy()
        poly_i, cand = tree.query(zone_polys, predicate="intersects")
        if len(cand) == 0:
            continue
        shapely.prepare(zone_polys)
        pair_polys = zone_polys[poly_i]
        cand_geoms = unit_geoms[cand]
        share = np.ones(len(cand))
        partial = ~shapely.contains(pair_polys, cand_geoms)
        if partial.any():
            inter = shapely.intersection(cand_geoms[partial], pair_polys[partial])
            share[partial] = shapely.area(inter) / shapely.area(cand_geoms[partial])
        codes = zone_units.index.to_numpy()[cand]
        positions = np.asarray(present)[near.index.to_numpy()[poly_i]]
        for k, code, s in zip(positions.tolist(), codes.tolist(), share.tolist(), strict=True):
            shares[k].append((str(code), float(s)))
    return shares


def _zone_geometries(
    ref: Referential, zone: str, epsg: int, zone_units: gpd.GeoDataFrame
) -> np.ndarray:
    key = f"polygon_zone_geoms:{zone}:{len(zone_units)}"

    def make() -> np.ndarray:
        return zone_units.geometry.to_crs(epsg).to_numpy()

    geoms: np.ndarray = ref.cached(key, make)
    return geoms


def _zone_tree(ref: Referential, zone: str, geoms: np.ndarray) -> shapely.STRtree:
    key = f"polygon_zone_tree:{zone}:{len(geoms)}"
    tree: shapely.STRtree = ref.cached(key, lambda: shapely.STRtree(geoms))
    return tree


# --------------------------------------------------------------------------
# Building results programmatically, and the project's own export format
