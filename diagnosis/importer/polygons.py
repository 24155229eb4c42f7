"""Importer step for polygons: units assigned by the share of their area inside."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.core.communes import Resolution
from diagnosis.core.model import Report
from diagnosis.core.referential import Referential
from diagnosis.core.textnorm import label_key
from diagnosis.core.zones import metric_zones, zone_of
from diagnosis.importer.table import cell_text, claims_frame
from diagnosis.io.reading import PolygonLayer

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
    min_area_share: float,
    scope_units: frozenset[str] | None,
) -> pd.DataFrame:
    """Claims of a polygon layer: each unit whose area share inside reaches ``min_area_share``."""
    features = _features(layer.frame.reset_index(drop=True), columns, report)
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
    polygons = [
        shapely.union_all(g) if (g := [f[6] for f in feats if f[6] is not None]) else None
        for _, feats in keyed
    ]
    shares = _shares_by_perimeter(polygons, units, zones, ref)
    for k, (pkey, feats) in enumerate(keyed):
        row0, _, pname, pid, status, date, _ = feats[0]
        head = (row0, pkey, pname, pid, status, date, False, None)
        assigned = 0
        for code, s in shares.get(k, ()):
            if s <= 1e-9:  # touching only
                continue
            if s < _EDGE_SHARE:
                slivers += 1
                continue
            keep = s >= min_area_share
            if s < 1 - _EDGE_SHARE:
                report.add(
                    "polygon_partial",
                    f"Commune {code} ({units.at[code, 'name']}) incluse à {s:.0%} dans le "
                    f"polygone : {'rattachée' if keep else 'non rattachée'} (seuil "
                    f"{min_area_share:.0%}).",
                    row=row0,
                    perimeter=pname or pid,
                    code=str(code),
                    action="rattachée" if keep else "non rattachée",
                )
            if keep:
                assigned += 1
                token = Resolution("unit", str(code), "polygon", (), str(code))
                records.append((*head, token, None))
        if not assigned:
            records.append((*head, None, None))
    if slivers:
        report.add(
            "polygon_edge_slivers",
            f"{slivers} commune(s) touchée(s) par moins de {_EDGE_SHARE:.0%} de leur surface en "
            "bordure des polygones (différences de tracé) : non rattachées.",
        )
    return claims_frame(records)


def _features(
    frame: pd.DataFrame, columns: Mapping[str, str], report: Report
) -> list[tuple[Any, ...]]:
    """One (row, pkey, name, id, status, date, polygon or None) per object of the layer."""
    per_col, id_col = columns.get("perimeter"), columns.get("perimeter_id")
    if per_col is None and id_col is None:
        report.add(
            "single_perimeter",
            "Pas d'attribut de nom de périmètre : chaque objet devient un périmètre "
            "« Périmètre n » (n = numéro de l'objet).",
            action="noms attribués",
        )
    features = []
    for i, geom in enumerate(frame.geometry.to_numpy()):
        row = i + 1
        pname = cell_text(frame.at[i, per_col]) if per_col else None
        pid = cell_text(frame.at[i, id_col]) if id_col else None
        if pname is None and pid is None:
            pname = f"Périmètre {row}"
        status = cell_text(frame.at[i, columns["status"]]) if "status" in columns else None
        date = cell_text(frame.at[i, columns["date"]]) if "date" in columns else None
        pkey = f"id:{pid}" if id_col is not None and pid is not None else f"name:{label_key(pname)}"
        polygon = _polygonal(geom, report, row=row, perimeter=pname or pid)
        features.append((row, pkey, pname, pid, status, date, polygon))
    return features


def _polygonal(
    geom: shapely.Geometry | None, report: Report, *, row: int, perimeter: str | None
) -> shapely.Geometry | None:
    """The polygonal part of an object, repaired if invalid; None (reported) if none."""
    if geom is None or geom.is_empty:
        report.add("empty_geometry", "Objet sans géométrie.", row=row, perimeter=perimeter)
        return None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        report.add(
            "geometry_repaired",
            f"Géométrie invalide ({reason}) corrigée automatiquement.",
            row=row,
            perimeter=perimeter,
        )
    polygonal = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not polygonal:
        report.add(
            "empty_geometry",
            f"Objet sans surface ({geom.geom_type}) : un périmètre doit être un polygone.",
            row=row,
            perimeter=perimeter,
        )
        return None
    return shapely.union_all(polygonal)


def _shares_by_perimeter(
    polygons: list[shapely.Geometry | None],
    units: gpd.GeoDataFrame,
    zones: pd.Series,
    ref: Referential,
) -> dict[int, list[tuple[str, float]]]:
    """For each perimeter (by position): (unit code, share of its area inside) per unit met.

    Areas are measured in each zone's metric CRS. All perimeters are handled
    at once per zone (one reprojection, one tree query): reprojecting and
    selecting units perimeter by perimeter cost about 20 ms each, i.e. 88 s
    for a national file of 3,000 polygons.
    """
    shares: dict[int, list[tuple[str, float]]] = defaultdict(list)
    present = [k for k, polygon in enumerate(polygons) if polygon is not None]
    if not present:
        return shares
    wgs84 = gpd.GeoSeries([polygons[k] for k in present], crs=4326)
    for _, zone, epsg, in_zone in metric_zones(zones):
        zone_units = units[in_zone]
        if zone_units.empty:
            continue
        # Only the perimeters whose box meets the zone's units are reprojected.
        x0, y0, x1, y1 = zone_units.total_bounds
        near = wgs84.cx[x0:x1, y0:y1]
        if near.empty:
            continue
        unit_geoms = _zone_geometries(ref, zone, epsg, zone_units)
        tree = _zone_tree(ref, zone, unit_geoms)
        zone_polys = near.to_crs(epsg).to_numpy()
        poly_i, candidates = tree.query(zone_polys, predicate="intersects")
        if len(candidates) == 0:
            continue
        shapely.prepare(zone_polys)
        pair_polys = zone_polys[poly_i]
        cand_geoms = unit_geoms[candidates]
        share = np.ones(len(candidates))
        partial = ~shapely.contains(pair_polys, cand_geoms)
        if partial.any():
            inter = shapely.intersection(cand_geoms[partial], pair_polys[partial])
            share[partial] = shapely.area(inter) / shapely.area(cand_geoms[partial])
        codes = zone_units.index.to_numpy()[candidates]
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
