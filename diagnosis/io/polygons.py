"""Reading polygon layers (GeoJSON, GeoPackage, zipped Shapefile) into WGS84.

The CRS is taken from the file, or guessed (WGS84 or Lambert-93) and reported;
the size of a layer is checked before it is read.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from diagnosis.core.numbers import fr_number
from diagnosis.errors import PerimeterFileError
from diagnosis.io.archives import extract_shapefile
from diagnosis.io.formats import EXPECTED_FORMATS_FR, FileFormat
from diagnosis.io.limits import (
    MAX_POLYGONS,
    MAX_VERTICES,
    check_upload_size,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------

_LAMBERT93_BOUNDS = (50_000.0, 6_000_000.0, 1_300_000.0, 7_200_000.0)


@dataclass
class PolygonLayer:
    """Polygons read from a file, in WGS84, with what was detected."""

    frame: gpd.GeoDataFrame
    info: dict[str, Any] = field(default_factory=dict)


def _in_degrees(bounds: Sequence[float]) -> bool:
    minx, miny, maxx, maxy = bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def _guess_crs(frame: gpd.GeoDataFrame, *, why: str) -> tuple[str, str]:
    minx, miny, maxx, maxy = frame.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise PerimeterFileError(
            "La couche géographique ne contient aucune géométrie utilisable (toutes vides) : "
            "attendu des polygones de périmètres."
        )
    if _in_degrees((minx, miny, maxx, maxy)):
        return "EPSG:4326", "coordonnées en degrés : WGS84 (EPSG:4326) supposé"
    lx0, ly0, lx1, ly1 = _LAMBERT93_BOUNDS
    if lx0 <= minx <= maxx <= lx1 and ly0 <= miny <= maxy <= ly1:
        return "EPSG:2154", "coordonnées en mètres compatibles avec Lambert-93 (EPSG:2154) supposé"
    raise PerimeterFileError(
        f"Système de coordonnées {why} et impossible à deviner : "
        f"étendue {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f} ni en degrés WGS84 ni en "
        "Lambert-93. Attendu : des coordonnées en longitude/latitude (WGS84) ou en "
        "Lambert-93 ; ajoutez le fichier .prj ou exportez en GeoJSON WGS84."
    )


_LAYER_REFUSAL = (
    "Couche géographique illisible (fichier abîmé ou d'un autre format). Attendu : "
    + EXPECTED_FORMATS_FR
    + "."
)


@contextlib.contextmanager
def _gdal_warnings_logged() -> Iterator[None]:
    """GDAL's warnings (English, with the temporary path) go to the log, not to the user."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        logger.info("GDAL: %s", warning.message)


def _check_layer_size(path: Path, layer: str | None) -> None:
    try:
        with _gdal_warnings_logged():
            n_features = int(pyogrio.read_info(path, layer=layer).get("features", 0))
    except Exception as exc:  # GDAL raises its own error types
        raise PerimeterFileError(_LAYER_REFUSAL, detail=f"{type(exc).__name__}: {exc}") from exc
    if n_features > MAX_POLYGONS:
        raise PerimeterFileError(
            f"Couche trop grande : {fr_number(n_features)} objets, la limite est de "
            f"{fr_number(MAX_POLYGONS)} périmètres. Attendu : un polygone (ou multipolygone) "
            "par périmètre ; découpez la couche par région."
        )


def _check_vertices(n_vertices: int) -> None:
    if n_vertices > MAX_VERTICES:
        raise PerimeterFileError(
            f"Couche trop détaillée : {fr_number(n_vertices)} sommets, la limite est de "
            f"{fr_number(MAX_VERTICES)}. Simplifiez les contours (tolérance de quelques "
            "mètres) avant l'import."
        )


def read_polygons(
    data: bytes, *, file_format: FileFormat, layer: str | None = None
) -> PolygonLayer:
    """Read polygons from GeoJSON, GeoPackage or a zipped Shapefile, reprojected to WGS84.

    A zipped Shapefile is checked before extraction (see :mod:`diagnosis.io.archives`);
    every file is read inside a private temporary folder. A missing ``.prj``,
    or coordinates out of the longitude/latitude range in a layer said to be
    in degrees (GeoJSON without ``crs``), get their CRS guessed and reported.
    """
    check_upload_size(len(data))
    info: dict[str, Any] = {"format": file_format}
    with tempfile.TemporaryDirectory(prefix="atlas-cpts-") as tmp:
        if file_format == "shapefile-zip":
            members = extract_shapefile(data, Path(tmp))
            # 16 bytes per vertex in a .shp: too detailed a layer is refused before reading.
            _check_vertices(members.shp.stat().st_size // 16)
            has_prj = ".prj" in members.parts
            info["prj"] = has_prj
            path = members.shp
        else:
            suffix = ".gpkg" if file_format == "gpkg" else ".geojson"
            path = Path(tmp) / f"input{suffix}"
            path.write_bytes(data)
            has_prj = True
        try:
            with _gdal_warnings_logged():
                layers = pyogrio.list_layers(path)
            if file_format == "gpkg":
                layer = _gpkg_layer(layers, layer, info)
            _check_layer_size(path, layer)
            with _gdal_warnings_logged():
                frame = gpd.read_file(path, layer=layer, engine="pyogrio")
        except PerimeterFileError:
            raise
        except Exception as exc:  # GDAL raises its own error types
            raise PerimeterFileError(_LAYER_REFUSAL, detail=f"{type(exc).__name__}: {exc}") from exc
    if frame.empty:
        raise PerimeterFileError(
            "La couche géographique ne contient aucun objet : attendu un polygone par périmètre."
        )
    _check_vertices(int(shapely.get_num_coordinates(frame.geometry.to_numpy()).sum()))
    frame, fixed = _repair_mojibake(frame)
    if fixed:
        info["encoding_repaired"] = fixed
    frame = _with_crs(frame, has_prj=has_prj, info=info)
    info["crs"] = frame.crs.to_string() if frame.crs is not None else None
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return PolygonLayer(frame=frame, info=info)


def _gpkg_layer(layers: Any, layer: str | None, info: dict[str, Any]) -> str:
    """The polygon layer of a GeoPackage to read (the first one unless named)."""
    polygon_layers = [str(n) for n, t in layers if t and "Polygon" in str(t)]
    info["layers"] = [str(n) for n, _ in layers]
    if layer is None:
        if not polygon_layers:
            raise PerimeterFileError(
                "Le GeoPackage ne contient aucune couche de polygones. Couches : "
                + ", ".join(info["layers"])
            )
        layer = polygon_layers[0]
    elif layer not in info["layers"]:
        raise PerimeterFileError(
            f"Couche « {layer} » introuvable. Couches du GeoPackage : " + ", ".join(info["layers"])
        )
    info["layer"] = layer
    return layer


def _with_crs(frame: gpd.GeoDataFrame, *, has_prj: bool, info: dict[str, Any]) -> gpd.GeoDataFrame:
    """The layer with a CRS: its own, or a guess (WGS84 or Lambert-93) that ``info`` reports."""
    if frame.crs is None or not has_prj:
        crs, note = _guess_crs(frame, why="absent (pas de fichier .prj)")
        info["crs_guessed"] = "Pas de fichier .prj : " + note
        return frame.set_crs(crs, allow_override=True)
    if frame.crs.is_geographic and not _in_degrees(frame.total_bounds):
        crs, note = _guess_crs(
            frame, why="annoncé en degrés (WGS84) mais coordonnées hors des degrés"
        )
        info["crs_guessed"] = (
            "Coordonnées hors des longitudes/latitudes alors que le fichier ne déclare pas "
            "d'autre système : " + note
        )
        return frame.set_crs(crs, allow_override=True)
    return frame


_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")


def _repair_mojibake(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Re-decode text attributes that were UTF-8 read as Latin-1 (Shapefile without .cpg)."""
    fixed = []
    out = frame
    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        values = frame[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        texts = [v for v in values.tolist() if isinstance(v, str)]
        if not any(_MOJIBAKE.search(v) for v in texts):
            continue
        try:
            repaired = {v: v.encode("latin-1").decode("utf-8") for v in texts}
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if out is frame:
            out = frame.copy()
        out[col] = values.map(lambda v, r=repaired: r.get(v, v) if isinstance(v, str) else v)
        fixed.append(str(col))
    return out, fixed
