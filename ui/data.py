"""Cached data access for the dashboard: referential, imports, diagnosis, care layers, map data.

Shared caches (``st.cache_resource``/``st.cache_data``) hold only the
project's own data: the referential, display geometries and the fictitious
examples. Whatever comes from a user's file (imports, diagnoses, care layers)
is kept in that browser session only (:func:`session_memo`), keyed by
everything that changes the result (content, file name, scope, columns,
threshold), with a bounded number of entries per session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from coverage import (
    AplData,
    CareData,
    SupplyTable,
    computed_gp_access,
    embedded_apl,
    load_care_file,
)
from coverage import care_data as build_care_data
from diagnosis import (
    AtlasError,
    Diagnosis,
    PerimeterImport,
    Referential,
    StatusKey,
    import_perimeters,
    load_referential,
    run_diagnosis,
)
from diagnosis.core.referential import load_display_geometries, load_outlines
from diagnosis.paths import EXAMPLES_DIR
from diagnosis.registry import Registry, open_registry, state_at, state_revision
from ui import clickmap, fmt, maps

#: Example files made by the project, by workflow ("exemple fictif").
EXAMPLES = {
    "couverture": (
        "exemple_fictif_paca_couverture.csv",
        "Exemple fictif : CPTS de Provence-Alpes-Côte d'Azur",
    ),
    "territoire": (
        "exemple_fictif_mon_territoire.csv",
        "Exemple fictif : un territoire des Alpilles",
    ),
    "arbitrage": (
        "exemple_fictif_arbitrage.csv",
        "Exemple fictif : deux projets concurrents (Bouches-du-Rhône)",
    ),
}


logger = logging.getLogger(__name__)
T = TypeVar("T")


@st.cache_resource(show_spinner="Chargement du référentiel des communes…")
def national() -> Referential:
    """The national referential (loaded once per server process, read-only)."""
    return load_referential()


def scoped(region: str | None, department: str | None) -> Referential:
    """The referential of the chosen scope."""
    if department:
        return load_referential(department=department)
    if region:
        return load_referential(region=region)
    return national()


def digest(data: bytes) -> str:
    """Content key of an uploaded file."""
    return hashlib.sha256(data).hexdigest()[:20]


def import_key(
    data: bytes,
    filename: str,
    *,
    region: str | None,
    department: str | None,
    columns: dict[str, str] | None = None,
) -> str:
    """A key covering everything that changes an import: content, name, scope, columns."""
    parts = [
        digest(data),
        filename,
        region or "",
        department or "",
        repr(sorted((columns or {}).items())),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


#: Memory a browser session may keep for results computed from its files (bytes).
SESSION_MEMORY_BUDGET = 768 * 1024 * 1024


def approx_nbytes(value: object, *, _depth: int = 0) -> int:
    """A fast estimate of the memory held by ``value`` (frames, arrays, strings, containers).

    Frames count their columns' buffers (``memory_usage(deep=False)``) plus a
    flat estimate for object columns, so that the estimate stays cheap on large
    imports; it is meant to bound caches, not to account for every byte.
    """
    if _depth > 4 or value is None:
        return 0
    if isinstance(value, pd.DataFrame):
        objects = sum(
            pd.api.types.is_object_dtype(t) or pd.api.types.is_string_dtype(t) for t in value.dtypes
        )
        return int(value.memory_usage(index=True, deep=False).sum()) + objects * len(value) * 64
    if isinstance(value, (pd.Series, pd.Index)):
        return int(value.memory_usage(deep=False)) + (
            len(value) * 64 if value.dtype == object else 0
        )
    if hasattr(value, "nbytes") and isinstance(getattr(value, "nbytes", None), int):
        return int(value.nbytes)  # numpy arrays
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, dict):
        return sum(approx_nbytes(v, _depth=_depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(approx_nbytes(v, _depth=_depth + 1) for v in value[:10_000])
    fields = getattr(value, "__dataclass_fields__", None)
    if fields:
        return sum(approx_nbytes(getattr(value, f, None), _depth=_depth + 1) for f in fields)
    return 64


def session_memo(slot: str, key: str, compute: Callable[[], T], *, keep: int = 1) -> T:
    """``compute()``, remembered in this browser session only, under ``slot``.

    User files and what is computed from them never enter a cache shared by
    sessions: another session can neither see them nor be served them. Each
    slot keeps its ``keep`` latest results, and the whole session keeps at most
    :data:`SESSION_MEMORY_BUDGET` bytes (estimated): beyond it, the oldest
    results of every slot are dropped (and recomputed if asked for again).
    """
    memo: dict[str, OrderedDict[str, Any]] = st.session_state.setdefault("_atlas_memo", {})
    sizes: dict[tuple[str, str], int] = st.session_state.setdefault("_atlas_memo_sizes", {})
    entries = memo.setdefault(slot, OrderedDict())
    if key in entries:
        entries.move_to_end(key)
        return cast(T, entries[key])
    value = compute()
    entries[key] = value
    sizes[(slot, key)] = approx_nbytes(value)
    while len(entries) > keep:
        old, _ = entries.popitem(last=False)
        sizes.pop((slot, old), None)
    _within_budget(memo, sizes, newest=(slot, key))
    return value


def _within_budget(
    memo: dict[str, OrderedDict[str, Any]],
    sizes: dict[tuple[str, str], int],
    *,
    newest: tuple[str, str],
) -> None:
    """Drop the oldest entries (never the newest) until the session fits its budget."""
    while sum(sizes.values()) > SESSION_MEMORY_BUDGET:
        victims = [k for k in sizes if k != newest]
        if not victims:
            return
        slot, key = victims[0]
        memo.get(slot, OrderedDict()).pop(key, None)
        sizes.pop((slot, key), None)


@dataclass(frozen=True)
class ImportAttempt:
    """An import, or the French error that prevented it (the file could not be read)."""

    result: PerimeterImport | None
    error: str | None


def _run_import(
    data: bytes,
    filename: str,
    region: str | None,
    department: str | None,
    columns: tuple[tuple[str, str], ...],
) -> ImportAttempt:
    try:
        result = import_perimeters(
            data,
            filename=filename,
            referential=national(),
            # A department is a scope of its own: the importer takes one or the other.
            region=None if department else region,
            department=department,
            columns=dict(columns) or None,
        )
    except AtlasError as exc:
        return ImportAttempt(None, str(exc))
    except Exception:
        logger.exception("perimeter import failed")
        return ImportAttempt(
            None,
            "Le fichier n'a pas pu être lu. Formats attendus : tableau CSV ou Excel "
            "(une ligne par commune et par périmètre, ou une ligne par périmètre avec la liste "
            "des codes), GeoJSON, GeoPackage ou Shapefile zippé.",
        )
    return ImportAttempt(result, None)


@st.cache_resource(max_entries=8, show_spinner="Import de l'exemple…")
def _import_example(
    filename: str,
    region: str | None,
    department: str | None,
) -> ImportAttempt:
    return _run_import((EXAMPLES_DIR / filename).read_bytes(), filename, region, department, ())


def import_file(
    data: bytes,
    filename: str,
    *,
    region: str | None,
    department: str | None,
    columns: dict[str, str] | None = None,
    is_example: bool = False,
) -> ImportAttempt:
    """Import a perimeter file: the project's examples are shared, uploads stay in the session."""
    if is_example:
        return _import_example(filename, region, department)
    cols = tuple(sorted((columns or {}).items()))
    key = import_key(data, filename, region=region, department=department, columns=columns)
    with st.spinner("Import du fichier de périmètres…"):
        return session_memo(
            "import", key, lambda: _run_import(data, filename, region, department, cols), keep=2
        )


def example_bytes(kind: str) -> tuple[bytes, str]:
    """Bytes and file name of an example file."""
    name, _ = EXAMPLES[kind]
    return (EXAMPLES_DIR / name).read_bytes(), name


def _run_diagnosis(
    imported: PerimeterImport, region: str | None, department: str | None, status_min: StatusKey
) -> Diagnosis:
    return run_diagnosis(imported, scoped(region, department), status_min=status_min)


@st.cache_resource(max_entries=8, show_spinner=False)
def _example_diagnosis(full_key: str, _imported: PerimeterImport, *args: Any) -> Diagnosis:
    """The diagnosis of a project's example, shared by sessions (read-only).

    ``full_key`` holds everything the result depends on (the example's import
    key, the scope and the threshold, also passed in ``args``).
    """
    return _run_diagnosis(_imported, *args)


def diagnosis_for(
    key: str,
    imported: PerimeterImport,
    *,
    region: str | None,
    department: str | None,
    status_min: StatusKey,
    example: bool = False,
) -> Diagnosis:
    """The diagnosis of an import, kept in the session for each threshold.

    ``key`` is :func:`import_key` of the import (content, name, scope, columns).
    The diagnosis of a project's example (``example``: no user data in it) is
    computed once for every session.
    """
    full_key = f"{key}|{region}|{department}|{status_min}"
    with st.spinner("Diagnostic en cours…"):
        if example:
            return _example_diagnosis(full_key, imported, region, department, status_min)
        return session_memo(
            "diagnosis",
            full_key,
            lambda: _run_diagnosis(imported, region, department, status_min),
            keep=4,
        )


@st.cache_resource(max_entries=16, show_spinner=False)
def _example_map_html(
    key: str, tiles: bool, height_px: int, _make_spec: Callable[[], maps.MapSpec]
) -> str:
    """A map of a project's example, rendered once for every session (``key`` names it)."""
    return maps.map_html(maps.build_map(_make_spec(), tiles=tiles, height_px=height_px - 10))


def show_map(
    key: str,
    make_spec: Callable[[], maps.MapSpec],
    *,
    tiles: bool,
    height_px: int = 600,
    example: bool = False,
) -> None:
    """Show a map that returns nothing to the app, from HTML rendered once per session.

    The coverage and dispute maps need no click back: their standalone HTML
    (Leaflet served by the app) is rendered once for a given ``key`` and shown
    in a component frame, which costs a fraction of a folium component that is
    re-rendered and scanned on every rerun. A map made from a project's example
    and project data only (``example``) is rendered once for every session.
    """
    if example:
        html = _example_map_html(key, tiles, height_px, make_spec)
    else:
        html = session_memo(
            "map-html",
            f"{key}|{tiles}",
            lambda: maps.map_html(
                maps.build_map(make_spec(), tiles=tiles, height_px=height_px - 10)
            ),
            keep=3,
        )
    st.iframe(html, height=height_px)


@st.cache_resource(max_entries=16, show_spinner=False)
def clickable_base(
    key: str, codes: tuple[str, ...], tiles: bool, _make_map: Callable[[], folium.Map]
) -> clickmap.RenderedBase:
    """The base of the clickable map ``key`` over the communes ``codes``, rendered once.

    Project data only (the scope's communes and outlines), so shared by every
    session; ``key`` names the map (and its widget), ``codes`` and ``tiles`` are
    everything ``_make_map`` depends on.
    """
    return clickmap.render_base(_make_map(), key=key)


# The referential's display frames are shared read-only by every session (callers
# derive new frames with ``assign``, never modify them): cache_resource avoids
# copying ~1,000 geometries on every run, as cache_data would.
@st.cache_resource(max_entries=32, show_spinner=False)
def unit_display(codes: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Display geometries, names and populations of units (for maps; read-only)."""
    ref = national()
    units = ref.units.reindex(list(codes))
    return gpd.GeoDataFrame(
        {
            "code": pd.Series(list(codes), dtype=object),
            "name": units["name"].to_numpy(),
            "population": units["population"].to_numpy(),
        },
        geometry=load_display_geometries(codes).to_numpy(),
        crs=4326,
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def clickable_units(codes: tuple[str, ...], tolerance_deg: float = 0.002) -> gpd.GeoDataFrame:
    """Display geometries of a scope's communes, lighter still, for the clickable map.

    Only drawn: the commune clicked is found on the full geometry.
    """
    frame = unit_display(codes)
    return frame.assign(
        geometry=maps.simplify_for_display(frame.geometry, tolerance_deg=tolerance_deg)
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def outlines(level: str, codes: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Department or region outlines for the map background."""
    return load_outlines(level, codes)


@dataclass(frozen=True)
class LayerOutcome:
    """A care layer, or the French error that prevented loading it."""

    value: Any
    error: str | None


def _load_care(kind: str, data: bytes, filename: str) -> LayerOutcome:
    try:
        value = load_care_file(kind, data, referential=national(), filename=filename)
    except AtlasError as exc:
        return LayerOutcome(None, str(exc))
    except Exception:
        logger.exception("care layer %s failed", kind)
        return LayerOutcome(
            None, "Fichier illisible : ce n'est pas le fichier officiel attendu pour cette donnée."
        )
    return LayerOutcome(value, None)


def care_layer(kind: str, data: bytes, filename: str) -> LayerOutcome:
    """Load a care layer (kept in the session, keyed by kind, content and name)."""
    key = f"{kind}|{digest(data)}|{filename}"
    with st.spinner("Lecture du fichier…"):
        return session_memo(f"care-{kind}", key, lambda: _load_care(kind, data, filename))


@st.cache_resource(show_spinner="Chargement de l'APL de la DREES…")
def embedded_apl_layers() -> tuple[AplData, ...]:
    """The DREES APL shipped with the project (GPs and nurses), attached to the referential."""
    return tuple(embedded_apl(national()).values())


def care_data(layers: dict[str, Any], keys: dict[str, str] | None = None) -> CareData:
    """The loaded layers as :class:`CareData` (:func:`coverage.care_data`), in this session.

    The embedded DREES APL is always there; an uploaded workbook replaces it for
    its profession and vintage. The GP accessibility computed from the user's
    Annuaire santé stays in the browser session, keyed by the files it uses.
    """
    keys = keys or {}
    key = "|".join(f"{k}={keys.get(k, '')}" for k in ("rpps", "ages", "travel"))

    def gp_access(ref: Referential, rpps: SupplyTable, **options: Any) -> tuple[pd.Series, str]:
        with st.spinner("Calcul de l'accessibilité (2SFCA)…"):
            return session_memo("gp-access", key, lambda: computed_gp_access(ref, rpps, **options))

    return build_care_data(
        layers, referential=national(), apl_layers=embedded_apl_layers(), gp_access=gp_access
    )


#: Import keys of perimeters read from the registry start with this.
REGISTRY_KEY_PREFIX = "registry:"


def registry_or_none() -> Registry | None:
    """The registry of the dashboard, or None when its database cannot be reached.

    File-based views keep working without it; the pages that need it say why.
    """
    try:
        return open_registry()
    except AtlasError:
        return None


@dataclass(frozen=True)
class RegistryState:
    """The registry's perimeters on a date, for the page: the import, its label and cache key."""

    imported: PerimeterImport
    label: str
    key: str


def registry_state(day: dt.date, *, region: str | None, department: str | None) -> RegistryState:
    """The perimeters of the registry valid on ``day`` in the view, kept for the session.

    Keyed on the registry's address, its revision (every write changes it),
    the date and the view: a listing imported in Suivi, by another user or by
    the command line, is seen at the next rerun.
    """
    registry = open_registry()
    revision = state_revision(registry)
    key = f"{REGISTRY_KEY_PREFIX}{registry.url}:{revision}:{day.isoformat()}:{region or ''}:{department or ''}"
    imported = session_memo(
        "registry_state",
        key,
        lambda: state_at(
            registry, day, region=region, department=department, referential=load_referential()
        ),
        keep=2,
    )
    return RegistryState(imported, f"registre au {fmt.date(day)}", key)
