"""A hand-made referential of square communes where every answer can be computed by hand.

The grid has ``NX`` columns and ``NY`` rows of squares of 0.01 degree near
5°E 45°N, plus one island far from the others. Codes are ``cell(col, row)``.

Columns 0-2 are department 01, columns 3-4 department 38 (both region 84);
the island is in department 2A (region 94). EPCI: E1 = columns 0-1, E2 =
column 2, E3 = columns 3-4; the island is in no EPCI. Every commune has 1,000
inhabitants unless ``populations`` says otherwise.

Layout (row 3 at the top)::

    row 3:  01004 01008 01012 38016 38020
    row 2:  01003 01007 01011 38015 38019
    row 1:  01002 01006 01010 38014 38018
    row 0:  01001 01005 01009 38013 38017      island: 2A999
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.core.referential import Referential

NX, NY = 5, 4
X0, Y0, STEP = 5.0, 45.0, 0.01
ISLAND = "2A999"


def cell(col: int, row: int) -> str:
    dep = "01" if col < 3 else "38"
    return f"{dep}{col * NY + row + 1:03d}"


def grid_referential(populations: Mapping[str, int] | None = None) -> Referential:
    rows = []
    for col in range(NX):
        for row in range(NY):
            code = cell(col, row)
            dep = code[:2]
            epci = "E1" if col < 2 else ("E2" if col == 2 else "E3")
            geom = shapely.box(
                X0 + col * STEP, Y0 + row * STEP, X0 + (col + 1) * STEP, Y0 + (row + 1) * STEP
            )
            rows.append((code, f"Commune {code}", dep, "84", epci, geom))
    island = shapely.box(X0 + 1, Y0 + 1, X0 + 1 + STEP, Y0 + 1 + STEP)
    rows.append((ISLAND, "Île", "2A", "94", None, island))
    frame = pd.DataFrame(
        rows, columns=["code", "name", "department", "region", "epci_code", "geometry"]
    )
    pops = dict.fromkeys(frame["code"], 1000)
    pops.update(populations or {})
    frame["population"] = frame["code"].map(pops).astype("int64")
    frame["kind"] = "commune"
    frame["parent_code"] = None
    frame["department_name"] = frame["department"].map(
        {"01": "Ain", "38": "Isère", "2A": "Corse-du-Sud"}
    )
    frame["region_name"] = frame["region"].map({"84": "Auvergne-Rhône-Alpes", "94": "Corse"})
    frame["epci_name"] = frame["epci_code"].map({"E1": "CC Un", "E2": "CC Deux", "E3": "CC Trois"})
    frame["epci_type"] = "CC"
    frame["population_year"] = 2023
    frame["area_km2"] = 1.0  # by convention: every square counts 1 km²
    lon = [g.centroid.x for g in frame["geometry"]]
    lat = [g.centroid.y for g in frame["geometry"]]
    frame["townhall_lon"], frame["townhall_lat"] = lon, lat
    frame["townhall_source"] = "mairie"
    frame["geometry_source"] = "test"
    frame["geometry_note"] = None
    frame["zone"] = "metro"
    units = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326).set_index("code")

    adjacency = []
    for col in range(NX):
        for row in range(NY):
            if col + 1 < NX:
                adjacency.append((cell(col, row), cell(col + 1, row)))
            if row + 1 < NY:
                adjacency.append((cell(col, row), cell(col, row + 1)))
    adj = pd.DataFrame([tuple(sorted(p)) for p in adjacency], columns=["code_a", "code_b"])
    adj["border_m"] = 1000.0

    epci = (
        frame.dropna(subset=["epci_code"])
        .groupby(["epci_code", "epci_name", "epci_type"])
        .agg(
            population=("population", "sum"),
            n_units=("population", "size"),
            area_km2=("area_km2", "sum"),
        )
        .reset_index()
    )
    departments = (
        frame.groupby(["department", "department_name", "region", "region_name"])
        .agg(
            population=("population", "sum"),
            n_units=("population", "size"),
            area_km2=("area_km2", "sum"),
        )
        .reset_index()
    )
    regions = (
        frame.groupby(["region", "region_name"])
        .agg(
            population=("population", "sum"),
            n_units=("population", "size"),
            area_km2=("area_km2", "sum"),
        )
        .reset_index()
    )
    manifest = {
        "vintages": {
            "population": {"label": "population municipale 2023", "outdated": False, "year": 2023}
        },
        "sources": [],
        "counts": {"units": len(units)},
    }
    return Referential(
        units=units,
        aliases=pd.DataFrame(columns=["parent_code", "parent_name", "unit_code"]),
        former_codes=pd.DataFrame(
            columns=["former_code", "former_name", "former_kind", "current_code"]
        ),
        epci=epci,
        departments=departments,
        regions=regions,
        adjacency=adj.sort_values(["code_a", "code_b"]).reset_index(drop=True),
        manifest=manifest,
    )


def all_codes() -> list[str]:
    return [cell(c, r) for c in range(NX) for r in range(NY)] + [ISLAND]


def rng_codes(seed: int, k: int) -> list[str]:
    rng = np.random.default_rng(seed)
    codes = all_codes()
    return sorted(rng.choice(codes, size=k, replace=False).tolist())


# --------------------------------------------------------------------------
# Issue 17: whole perimeters and shared cities (figures computed by hand)
# --------------------------------------------------------------------------

#: A city of 90,001 inhabitants (department 01) and a town of 45,000 (department 38).
CITY = cell(2, 2)
TOWN = cell(3, 1)
WHOLE_POPULATIONS = {CITY: 90_001, TOWN: 45_000}

#: X crosses the 01 / 38 border: 1,000 + 1,000 in 01, 45,000 + 1,000 in 38; whole
#: 48,000 inhabitants (Taille 2), 2,000 in the 01 view. Y crosses the regional border
#: (84 / 94): 1,000 in region 84, the island's 1,000 in Corsica.
CROSSING = {
    "X": [cell(1, 1), cell(2, 1), TOWN, cell(4, 1)],
    "Y": [cell(0, 0), ISLAND],
}

#: The city claimed by three perimeters without sub-commune detail, each with one
#: commune of its own (1,000 inhabitants): 91,001 each counted whole (Taille 3),
#: 1,000 without the city (Taille 1). P3's own commune is in department 38.
SHARING = {
    "P1": [CITY, cell(2, 3)],
    "P2": [CITY, cell(1, 2)],
    "P3": [CITY, cell(3, 2)],
}
