"""Cached data access for the dashboard: referential, imports, diagnosis, care layers, map data.

Streamlit caches are keyed by the content of the uploaded files, so that one
session's uploads never leak into another session's state; per-session state
(the territory being built, the chosen files) lives in ``st.session_state``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from coverage.apl import AplData, AplFileError, load_drees_apl
from coverage.indicators import CareData, computed_gp_access
from coverage.supply import SupplyFileError, SupplyTable, load_bpe, load_population_ages, load_rpps
from diagnosis.model import PerimeterImport
from diagnosis.paths import EXAMPLES_DIR
from diagnosis.perimeters import import_perimeters
from diagnosis.pipeline import Diagnosis, run_diagnosis
from diagnosis.reading import PerimeterFileError
from diagnosis.referential import (
    Referential,
    load_display_geometries,
    load_outlines,
    load_referential,
)
from diagnosis.rules import StageKey

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


@dataclass(frozen=True)
class ImportOutcome:
    """An import, or the French error that prevented it."""

    result: PerimeterImport | None
    error: str | None


@st.cache_resource(max_entries=16, show_spinner="Import du fichier de périmètres…")
def _import(  # noqa: PLR0917 - positional for Streamlit's cache key
    key: str,
    data: bytes,
    filename: str,
    region: str | None,
    department: str | None,
    columns: tuple[tuple[str, str], ...],
) -> ImportOutcome:
    del key  # part of the cache key only
    try:
        result = import_perimeters(
            data,
            filename=filename,
            referential=national(),
            region=region,
            department=department,
            columns=dict(columns) or None,
        )
    except PerimeterFileError as exc:
        return ImportOutcome(None, str(exc))
    except Exception as exc:
        return ImportOutcome(None, f"Le fichier n'a pas pu être lu ({type(exc).__name__} : {exc}).")
    return ImportOutcome(result, None)


def import_file(
    data: bytes,
    filename: str,
    *,
    region: str | None,
    department: str | None,
    columns: dict[str, str] | None = None,
) -> ImportOutcome:
    """Import a perimeter file (cached by content and options)."""
    cols = tuple(sorted((columns or {}).items()))
    return _import(digest(data), data, filename, region, department, cols)


def example_bytes(kind: str) -> tuple[bytes, str]:
    """Bytes and file name of an example file."""
    name, _ = EXAMPLES[kind]
    return (EXAMPLES_DIR / name).read_bytes(), name


@st.cache_resource(max_entries=16, show_spinner="Diagnostic en cours…")
def _diagnosis(
    key: str,
    region: str | None,
    department: str | None,
    status_min: StageKey,
    _imported: PerimeterImport,
) -> Diagnosis:
    del key
    return run_diagnosis(_imported, scoped(region, department), status_min=status_min)


def diagnosis_for(
    key: str,
    imported: PerimeterImport,
    *,
    region: str | None,
    department: str | None,
    status_min: StageKey,
) -> Diagnosis:
    """The diagnosis of an import (cached: panning and zooming never re-run it)."""
    return _diagnosis(key, region, department, status_min, imported)


@st.cache_data(max_entries=32, show_spinner=False)
def unit_display(codes: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Display geometries, names and populations of units (for maps)."""
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


@st.cache_data(max_entries=32, show_spinner=False)
def outlines(level: str, codes: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Department or region outlines for the map background."""
    return load_outlines(level, codes)


@dataclass(frozen=True)
class LayerOutcome:
    """A care layer, or the French error that prevented loading it."""

    value: Any
    error: str | None


@st.cache_resource(max_entries=8, show_spinner="Lecture du fichier…")
def _care(kind: str, key: str, data: bytes, filename: str) -> LayerOutcome:
    del key
    ref = national()
    try:
        if kind == "apl":
            value: AplData | SupplyTable | pd.DataFrame = load_drees_apl(
                data, referential=ref, filename=filename
            )
        elif kind == "rpps":
            value = load_rpps(io.BytesIO(data), referential=ref)
        elif kind == "bpe":
            value = load_bpe(io.BytesIO(data), referential=ref)
        elif kind == "ages":
            value = load_population_ages(io.BytesIO(data), referential=ref)
        else:
            value = pd.read_csv(io.BytesIO(data), sep=None, engine="python", dtype={0: str, 1: str})
    except (AplFileError, SupplyFileError, ValueError) as exc:
        return LayerOutcome(None, str(exc))
    except Exception as exc:
        return LayerOutcome(None, f"Fichier illisible ({type(exc).__name__} : {exc}).")
    return LayerOutcome(value, None)


def care_layer(kind: str, data: bytes, filename: str) -> LayerOutcome:
    """Load a care layer (cached by content)."""
    return _care(kind, digest(data), data, filename)


@st.cache_resource(max_entries=4, show_spinner="Calcul de l'accessibilité (2SFCA)…")
def _gp_access(
    key: str, _rpps: SupplyTable, _ages: SupplyTable | None, _travel: pd.DataFrame | None
) -> tuple[pd.Series, str]:
    del key
    return computed_gp_access(national(), _rpps, ages=_ages, travel=_travel)


def care_data(layers: dict[str, Any], keys: dict[str, str] | None = None) -> CareData:
    """The loaded layers as :class:`CareData`, with the computed accessibility when possible."""
    care = CareData(
        apl=layers.get("apl"),
        rpps=layers.get("rpps"),
        bpe=layers.get("bpe"),
        ages=layers.get("ages"),
    )
    if care.rpps is not None:
        keys = keys or {}
        key = "|".join(f"{k}={keys.get(k, '')}" for k in ("rpps", "ages", "travel"))
        care.access, care.access_method = _gp_access(
            key, care.rpps, care.ages, layers.get("travel")
        )
    return care
