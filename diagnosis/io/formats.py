"""The file formats the importer reads, by extension, and how to say them in French."""

from __future__ import annotations

from typing import Literal

__all__ = ["EXPECTED_FORMATS_FR", "POLYGON_EXTENSIONS", "TABLE_EXTENSIONS", "FileFormat"]

FileFormat = Literal["csv", "excel", "geojson", "gpkg", "shapefile-zip"]

TABLE_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
}
POLYGON_EXTENSIONS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile-zip",
}

EXPECTED_FORMATS_FR = (
    "un tableau CSV ou Excel (une ligne par commune et par périmètre, ou une ligne par "
    "périmètre avec la liste des codes), ou des polygones GeoJSON, GeoPackage ou "
    "Shapefile zippé"
)
