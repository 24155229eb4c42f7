"""Load the referential of territorial units built by :mod:`diagnosis.build`.

A *unit* is a current commune, except that Paris, Lyon and Marseille are
represented by their municipal arrondissements. Units are indexed by their
INSEE code. Loads are cached in memory: the first national load reads the
GeoParquet files (about 0.4 s), later loads and filtered views are served from
memory.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.core.textnorm import name_key
from diagnosis.errors import ReferentialError
from diagnosis.paths import DEFAULT_REFERENTIAL_DIR, MANIFEST_NAME

__all__ = [
    "Referential",
    "ReferentialMissingError",
    "clear_cache",
    "epci_members",
    "epci_names",
    "load_display_geometries",
    "load_outlines",
    "load_referential",
    "main_zone",
    "main_zones",
    "manifest_problems",
    "population_label",
    "referential_view",
    "search_units",
    "unit_at",
    "whole_referential",
]

#: The levels of zones a unit belongs to (columns of ``Referential.units``).
ZoneLevel = Literal["region", "department"]


class ReferentialMissingError(ReferentialError):
    """The referential has not been built in the expected folder."""


@dataclass(frozen=True)
class Referential:
    """Territorial units of a scope and their lookup tables.

    Attributes
    ----------
    units
        One row per unit, indexed by INSEE code: name, kind (``commune`` or
        ``arrondissement``), parent_code, department(_name), region(_name),
        epci_code, epci_name, epci_type, population, population_year,
        area_km2, townhall_lon, townhall_lat, townhall_source,
        geometry_source, geometry_note, zone, geometry (EPSG:4326).
    aliases
        Parent code of Paris, Lyon, Marseille → arrondissement codes
        (parent_code, parent_name, unit_code).
    former_codes
        Former code → current code (former_code, former_name, former_kind,
        current_code). Current codes may be a PLM parent.
    epci, departments, regions
        Lookup tables with population, number of units and area.
    adjacency
        Pairs of units sharing a border (code_a < code_b, border_m).
    manifest
        The build manifest (sources, versions, vintages, checksums).
    scope
        What was loaded: ``{"level": "france"}`` or e.g.
        ``{"level": "region", "code": "93"}``.
    whole
        The referential a view was cut from (None for a whole referential).
        A view chooses which perimeters are shown and which population the
        coverage rates count; perimeters are evaluated whole against it.
    """

    units: gpd.GeoDataFrame
    aliases: pd.DataFrame
    former_codes: pd.DataFrame
    epci: pd.DataFrame
    departments: pd.DataFrame
    regions: pd.DataFrame
    adjacency: pd.DataFrame
    manifest: dict[str, Any]
    scope: dict[str, str] = field(default_factory=lambda: {"level": "france"})
    directory: Path = DEFAULT_REFERENTIAL_DIR
    #: Derived lookups (name index, code sets) computed once per object.
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    whole: Referential | None = field(default=None, compare=False, repr=False)

    @property
    def population_label(self) -> str:
        """The population vintage of the units in scope, as shown to users.

        E.g. "population municipale 2023"; Mayotte's older census year is only
        mentioned when Mayotte is in scope.
        """
        return population_label(self.manifest, self.units)

    @property
    def population_outdated(self) -> bool:
        """True when the build used an older population than the latest available."""
        return bool(self.manifest["vintages"]["population"].get("outdated", False))

    @property
    def scope_label(self) -> str:
        """French label of the scope, e.g. "Région Provence-Alpes-Côte d'Azur"."""
        level = self.scope.get("level")
        code = self.scope.get("code", "")
        if level == "region":
            names = self.regions.set_index("region")["region_name"]
            return f"Région {names.get(code, code)}"
        if level == "department":
            names = self.departments.set_index("department")["department_name"]
            return f"Département {names.get(code, code)} ({code})"
        if level == "epci":
            names = self.epci.set_index("epci_code")["epci_name"]
            return str(names.get(code, code))
        return "France entière"

    def cached(self, key: str, factory: Callable[[], Any]) -> Any:
        """A value derived from this referential, computed once (thread-safe).

        Each key has its own lock: two sessions asking for the same value wait
        for one computation, while values under other keys stay available.
        """
        if key in self.cache:
            return self.cache[key]
        with _CACHE_LOCK:
            lock = _KEY_LOCKS.setdefault((id(self), key), threading.RLock())
        with lock:
            if key not in self.cache:
                self.cache[key] = factory()
            return self.cache[key]

    def parent_units(self, parent_code: str) -> list[str]:
        """Arrondissement codes of Paris, Lyon or Marseille (empty for any other code)."""
        sel = self.aliases["parent_code"] == parent_code
        return self.aliases.loc[sel, "unit_code"].tolist()


def _directory(directory: Path | str | None) -> Path:
    return Path(directory) if directory is not None else DEFAULT_REFERENTIAL_DIR


_LOCK = threading.Lock()
_CACHE_LOCK = threading.Lock()
#: One lock per (referential, key) of :meth:`Referential.cached` (a few dozen in all).
_KEY_LOCKS: dict[tuple[int, str], threading.RLock] = {}


@functools.lru_cache(maxsize=4)
def _load_national(directory: Path) -> Referential:
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.exists():
        raise ReferentialMissingError(
            f"Référentiel introuvable dans {directory}. Construisez-le avec `make data` "
            "(ou `python -m diagnosis build-data`)."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    units = gpd.read_parquet(directory / "units.parquet").set_index("code", drop=True)
    tables = {
        name: pd.read_parquet(directory / f"{name}.parquet")
        for name in ("aliases", "former_codes", "epci", "departments", "regions", "adjacency")
    }
    return Referential(
        units=units,
        aliases=tables["aliases"],
        former_codes=tables["former_codes"],
        epci=tables["epci"],
        departments=tables["departments"],
        regions=tables["regions"],
        adjacency=tables["adjacency"],
        manifest=manifest,
        directory=directory,
    )


def _filter(national: Referential, level: str, code: str) -> Referential:
    units = national.units
    if level == "region":
        mask = units["region"] == code
        known = national.regions["region"]
    elif level == "department":
        mask = units["department"] == code
        known = national.departments["department"]
    else:
        mask = units["epci_code"] == code
        known = national.epci["epci_code"]
    if code not in set(known):
        raise ValueError(
            f"Code {_LEVEL_FR[level]} inconnu : {code!r}. Codes possibles : "
            + ", ".join(sorted(known)[:30])
            + ("…" if len(known) > 30 else "")
        )
    sub = units[mask.to_numpy()]
    codes = set(sub.index)
    adjacency = national.adjacency[
        national.adjacency["code_a"].isin(codes) & national.adjacency["code_b"].isin(codes)
    ]
    aliases = national.aliases[national.aliases["unit_code"].isin(codes)]
    former = national.former_codes[
        national.former_codes["current_code"].isin(codes | set(aliases["parent_code"]))
    ]
    deps = set(sub["department"].astype(str))
    regs = set(sub["region"].astype(str))
    epcis = set(sub["epci_code"].dropna())
    return Referential(
        units=sub,
        aliases=aliases.reset_index(drop=True),
        former_codes=former.reset_index(drop=True),
        epci=national.epci[national.epci["epci_code"].isin(epcis)].reset_index(drop=True),
        departments=national.departments[national.departments["department"].isin(deps)].reset_index(
            drop=True
        ),
        regions=national.regions[national.regions["region"].isin(regs)].reset_index(drop=True),
        adjacency=adjacency.reset_index(drop=True),
        manifest=national.manifest,
        scope={"level": level, "code": code},
        directory=national.directory,
        whole=whole_referential(national),
    )


_LEVEL_FR = {"region": "de région", "department": "de département", "epci": "d'EPCI"}


@functools.lru_cache(maxsize=64)
def _load_filtered(directory: Path, level: str, code: str) -> Referential:
    return _filter(_load_national(directory), level, code)


def load_referential(
    *,
    region: str | None = None,
    department: str | None = None,
    epci: str | None = None,
    directory: Path | str | None = None,
) -> Referential:
    """Load the referential for France or for one region, department or EPCI.

    Parameters
    ----------
    region, department, epci
        At most one filter: a region code (``"93"``), a department code
        (``"13"``, ``"2A"``, ``"971"``) or an EPCI SIREN code.
    directory
        Folder of the built referential (default ``data/cache/referential``).

    Returns
    -------
    Referential
        A cached, shared object: treat its tables as read-only and copy them
        before modifying.

    Raises
    ------
    ReferentialMissingError
        When the referential has not been built.
    ValueError
        When more than one filter is given or the code is unknown.

    Examples
    --------
    >>> ref = load_referential(region="93")  # doctest: +SKIP
    >>> ref.units["population"].sum()  # doctest: +SKIP
    """
    filters = {
        k: v for k, v in {"region": region, "department": department, "epci": epci}.items() if v
    }
    if len(filters) > 1:
        raise ValueError(
            "Choisissez un seul filtre parmi région, département et EPCI "
            f"(reçu : {', '.join(filters)})."
        )
    path = _directory(directory).resolve()
    with _LOCK:
        if not filters:
            return _load_national(path)
        ((level, code),) = filters.items()
        return _load_filtered(path, level, str(code).strip().upper())


def clear_cache() -> None:
    """Forget loaded referentials (after a rebuild, or in tests)."""
    _load_national.cache_clear()
    _load_filtered.cache_clear()
    _load_display.cache_clear()
    _load_outlines.cache_clear()


@functools.lru_cache(maxsize=2)
def _load_display(directory: Path) -> gpd.GeoSeries:
    frame = gpd.read_parquet(directory / "units_display.parquet")
    return frame.set_index("code").geometry


def load_display_geometries(
    codes: Iterable[str], *, directory: Path | str | None = None
) -> gpd.GeoSeries:
    """Simplified geometries of units for maps (never for computation)."""
    series = _load_display(_directory(directory).resolve())
    wanted = pd.Index(list(codes))
    return series.reindex(wanted)


@functools.lru_cache(maxsize=2)
def _load_outlines(directory: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(directory / "outlines_display.parquet")


def load_outlines(
    level: str, codes: Iterable[str] | None = None, *, directory: Path | str | None = None
) -> gpd.GeoDataFrame:
    """Simplified department or region outlines (display only)."""
    frame = _load_outlines(_directory(directory).resolve())
    frame = frame[frame["level"] == level]
    if codes is not None:
        frame = frame[frame["code"].isin(list(codes))]
    return frame.reset_index(drop=True)


def population_label(manifest: dict[str, Any], units: pd.DataFrame | None = None) -> str:
    """French label of the population vintage, restricted to ``units`` when given."""
    population = manifest["vintages"]["population"]
    if population.get("outdated") or units is None:
        return str(population["label"])
    years = units["population_year"].value_counts()
    if years.empty:
        return str(population["label"])
    main_year = int(years.index[0])
    label = f"population municipale {main_year}"
    others = units.loc[units["population_year"] != main_year]
    if len(others):
        names = (
            others.groupby(others["population_year"])["department_name"]
            .agg(lambda s: ", ".join(sorted(set(map(str, s)))))
            .to_dict()
        )
        label += " (" + " ; ".join(f"{n} : {y}" for y, n in sorted(names.items())) + ")"
    return label


def main_zones(groups: np.ndarray, zones: np.ndarray, population: np.ndarray) -> dict[int, str]:
    """The zone holding most inhabitants of each group of units.

    Parameters
    ----------
    groups
        Group number of each unit row (a perimeter number, say).
    zones
        Zone code (region or department) of each row.
    population
        Inhabitants of each row.

    Returns
    -------
    dict
        Group number -> its main zone. Ties go to the smallest zone code, so the
        answer never depends on row order.
    """
    if len(groups) == 0:
        return {}
    frame = pd.DataFrame(
        {"group": np.asarray(groups), "zone": np.asarray(zones).astype(str), "pop": population}
    )
    totals = frame.groupby(["group", "zone"], sort=True)["pop"].sum().reset_index()
    totals = totals.sort_values(["group", "pop", "zone"], ascending=[True, False, True])
    first = totals.drop_duplicates("group", keep="first")
    return dict(zip(first["group"].astype(int), first["zone"], strict=True))


def main_zone(units: pd.DataFrame, codes: Iterable[str], *, level: ZoneLevel) -> str | None:
    """The region or department holding most inhabitants of the units ``codes``.

    ``units`` is a referential's unit table (indexed by code, with ``population``
    and the ``level`` column). Codes not in it are ignored; None when none is.
    Ties go to the smallest zone code.
    """
    inside = units.index.intersection(pd.Index(list(codes)))
    if len(inside) == 0:
        return None
    rows = units.loc[inside]
    found = main_zones(
        np.zeros(len(rows), dtype=np.int64),
        rows[level].astype(str).to_numpy(),
        rows["population"].to_numpy(),
    )
    return found[0]


def whole_referential(ref: Referential) -> Referential:
    """The referential perimeters are evaluated against: ``ref``, or the one it was cut from."""
    return ref.whole if ref.whole is not None else ref


def referential_view(
    ref: Referential, *, region: str | None = None, department: str | None = None
) -> Referential:
    """The view of one region or department of ``ref`` (``ref`` itself without a filter).

    Works on any referential (the national one, or a hand-made one in tests);
    a view of the loaded national referential is better obtained with
    :func:`load_referential`, which caches it. The view keeps ``ref`` as its
    :attr:`Referential.whole`.

    Raises
    ------
    ValueError
        When both filters are given or the code is unknown.
    """
    if region and department:
        raise ValueError("Choisissez une région ou un département, pas les deux.")
    whole = whole_referential(ref)
    if not region and not department:
        return whole
    level, code = ("region", region) if region else ("department", department)
    key = f"view:{level}:{str(code).strip().upper()}"
    view: Referential = whole.cached(key, lambda: _filter(whole, level, key.rsplit(":", 1)[1]))
    return view


# --------------------------------------------------------------------------
# Operations on a referential used by the applications: search by name, the
# unit at a point, EPCIs and their members, the build's remarks. (The
# referential of a region or a department is :func:`load_referential`.)
# --------------------------------------------------------------------------


def search_units(ref: Referential, query: str, *, limit: int = 30) -> pd.Index:
    """Codes of the units whose code starts with ``query`` or whose name contains it.

    Names are compared without accents, case, hyphens or apostrophes, "Saint"
    and "St" alike (:func:`diagnosis.core.textnorm.name_key`), so that
    "st remy" finds "Saint-Rémy-de-Provence". Units come in the referential's
    order; an empty query finds nothing.

    Parameters
    ----------
    ref
        Referential to search (a region's or a department's for a scope).
    query
        Text typed by a person: a code or a part of a name.
    limit
        Largest number of codes returned.
    """
    text = query.strip()
    if not text:
        return pd.Index([], dtype=object)
    units = ref.units
    keys: pd.Series = ref.cached("name_keys", lambda: units["name"].map(name_key))
    found = (
        units.index.str.startswith(text.upper())
        | keys.str.contains(name_key(text), regex=False).to_numpy()
    )
    return units.index[found][:limit]


def unit_at(ref: Referential, lon: float, lat: float) -> str | None:
    """Code of the unit whose geometry holds the point (WGS84 degrees), or None.

    A point on a border shared by two units, or outside every unit, finds
    none; the referential's full geometry is used (never a display one).
    """
    point = shapely.Point(float(lon), float(lat))
    hits = np.sort(ref.units.sindex.query(point, predicate="within"))
    return str(ref.units.index[hits[0]]) if len(hits) else None


def epci_names(ref: Referential) -> pd.Series:
    """Name of each EPCI of the referential's units, by EPCI code, sorted by name."""
    units = ref.units.dropna(subset=["epci_code"])
    return units.groupby("epci_code")["epci_name"].first().sort_values()


def epci_members(ref: Referential, epci_code: str) -> list[str]:
    """Codes of the referential's units that belong to an EPCI (empty for an unknown one)."""
    return list(ref.units.index[ref.units["epci_code"] == epci_code])


def manifest_problems(manifest: Mapping[str, Any]) -> list[str]:
    """The data-quality remarks of a build (units without geometry, rebuilt shapes, notes).

    French lines, for the command line and the app's sources panel.
    """
    lines = [
        f"{item['code']} {item['name']} : {item['note']}"
        for item in manifest.get("units_without_geometry", [])
    ]
    lines += [
        f"{item['code']} {item['name']} : contour reconstitué à partir des communes "
        f"déléguées {', '.join(item['delegated_codes'])}"
        for item in manifest.get("geometries_rebuilt", [])
    ]
    return lines + [str(note) for note in manifest.get("notes", [])]
