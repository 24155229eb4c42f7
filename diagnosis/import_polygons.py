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
    for pkey, feats in by_key.items():
        row0, _, pname, pid, status, date, _ = feats[0]
        geoms_k = [f[6] for f in feats if f[6] is not None]
        rows_k = [f[0] for f in feats]
        if not geoms_k:
            records.append((row0, pkey, pname, pid, status, date, False, None, None, None))
            continue
        poly = shapely.union_all(geoms_k)
        assigned = 0
        for _, zone, epsg, in_zone in metric_zones(zones):
            zone_units = units[in_zone]
            zone_poly = gpd.GeoSeries([poly], crs=4326).to_crs(epsg).iloc[0]
            unit_geoms = _zone_geometries(ref, zone, epsg, zone_units)
            tree = _zone_tree(ref, zone, unit_geoms)
            candidates = tree.query(zone_poly, predicate="intersects")
            if len(candidates) == 0:
                continue
            shapely.prepare(zone_poly)
            cand_geoms = unit_geoms[candidates]
            inside = shapely.contains(zone_poly, cand_geoms)
            share = np.ones(len(candidates))
            partial = ~inside
            if partial.any():
                inter = shapely.intersection(cand_geoms[partial], zone_poly)
                share[partial] = shapely.area(inter) / shapely.area(cand_geoms[partial])
            codes = zone_units.index.to_numpy()[candidates]
            for code, s in zip(codes, share, strict=True):
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
