"""The care data of a territory: the loaded layers, and the one factory that assembles them.

:class:`CareData` holds what the indicators read (APL workbooks, Annuaire
santé, BPE, ages, FINESS, and the accessibility computed by the project's
2SFCA engine). :func:`care_data` builds it from the files a user loaded
(:func:`coverage.loaders.registry.load_care_file` gives each layer): the
command line, the dashboard and the notebooks call it, so that the layers are
put together, and the GP accessibility computed, the same way everywhere.

GP demand (the population standardised by age with the DREES weights, or the
legal population) is prepared once, by :func:`gp_demand`, for the computed
accessibility and for the what-if (:mod:`coverage.whatif`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from coverage.access import age_weights, describe, pairs_from_table, referential_pairs, two_step_fca
from coverage.loaders.apl import AplData, AplVintage
from coverage.loaders.finess import FinessTable
from coverage.loaders.registry import care_loaders
from coverage.loaders.supply import SupplyTable, standardised_population
from coverage.loaders.travel import TRAVEL_COLUMNS, TravelTable
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError

__all__ = [
    "GP_KEY",
    "CareData",
    "GpAccess",
    "care_data",
    "computed_gp_access",
    "gp_demand",
    "gp_supply",
    "merge_apl",
]

#: Key of general practitioners in the Annuaire santé table and the APL layers.
GP_KEY = "medecin_generaliste"


def merge_apl(layers: Iterable[AplData | None]) -> dict[str, AplData]:
    """APL layers by profession; a later layer adds vintages or replaces the same vintage.

    Used to put a user's DREES workbooks over the embedded ones. Missing
    layers (``None``) are skipped; the layers given are not modified.
    """
    merged: dict[str, AplData] = {}
    for layer in layers:
        if layer is None:
            continue
        current = merged.get(layer.profession)
        if current is None:
            merged[layer.profession] = replace(layer, vintages=dict(layer.vintages))
        else:
            current.vintages.update(layer.vintages)
            current.filename = layer.filename or current.filename
    return merged


@dataclass
class CareData:
    """Care layers loaded by the user (any may be missing).

    ``apl`` is one workbook (an upload); ``apl_layers`` more of them (the
    embedded data first, see :func:`coverage.loaders.embedded.embedded_apl`); for a
    profession and vintage given twice, ``apl`` wins, then the last of
    ``apl_layers``. Build it with :func:`care_data`.
    """

    apl: AplData | None = None
    apl_vintage: int | None = None
    rpps: SupplyTable | None = None
    bpe: SupplyTable | None = None
    ages: SupplyTable | None = None
    #: Points of care from FINESS (see :func:`coverage.loaders.finess.load_finess`).
    finess: FinessTable | None = None
    #: Accessibility computed by the project's 2SFCA engine (see :func:`computed_gp_access`).
    access: pd.Series | None = None
    access_method: str = ""
    apl_layers: Sequence[AplData] = field(default_factory=tuple)

    def apl_by_profession(self) -> dict[str, AplData]:
        """Every APL layer, by profession key, user workbooks over the embedded data."""
        return merge_apl([*self.apl_layers, self.apl])

    def apl_vintage_of(self, data: AplData) -> AplVintage:
        """The vintage asked for (``apl_vintage``) when the layer has it, else its latest."""
        if self.apl_vintage is not None and self.apl_vintage in data.vintages:
            return data.vintages[self.apl_vintage]
        return data.latest


def gp_demand(
    ref: Referential, *, ages: SupplyTable | None = None, vintage: int = 2023
) -> tuple[pd.Series, str]:
    """GP demand of every unit of ``ref``, and its French description.

    The population standardised by age with the DREES weights of ``vintage``
    when ages are loaded (DREES APL method), else the legal population.
    """
    units = ref.units
    if ages is not None:
        demand = standardised_population(
            ages.by_unit.reindex(units.index).fillna(0.0), age_weights(vintage)
        )
        return demand, f"population standardisée par âge (poids DREES {vintage}, {ages.source})"
    return (
        units["population"].astype(float),
        f"population légale non standardisée ({ref.population_label})",
    )


def gp_supply(ref: Referential, rpps: SupplyTable) -> pd.Series:
    """General practitioners of every unit of ``ref`` (one registered GP counts one)."""
    return (
        rpps.by_unit.get(GP_KEY, pd.Series(dtype=float))
        .reindex(ref.units.index)
        .fillna(0.0)
        .astype(float)
    )


def _travel_frame(travel: TravelTable | pd.DataFrame) -> pd.DataFrame:
    """Origin, destination and minutes of a travel table (a loaded one, or its first columns)."""
    if isinstance(travel, TravelTable):
        return travel.pairs
    columns = list(travel.columns[:3])
    return travel.rename(columns=dict(zip(columns, TRAVEL_COLUMNS, strict=True)))


def computed_gp_access(
    ref: Referential,
    rpps: SupplyTable,
    *,
    ages: SupplyTable | None = None,
    travel: TravelTable | pd.DataFrame | None = None,
    vintage: int = 2023,
) -> tuple[pd.Series, str]:
    """Accessibility to general practitioners computed with the 2SFCA engine.

    Supply is the number of GPs of each commune (each counts one: activity is
    not public), demand the population standardised by age with the DREES
    weights of ``vintage`` when ages are loaded (else the legal population),
    travel times the user's table when given (a
    :class:`~coverage.loaders.travel.TravelTable`, or a frame whose first
    three columns are origin, destination and minutes), else the crow-fly proxy.

    Returns
    -------
    tuple
        Accessibility per unit (GPs per 10,000 standardised inhabitants) and a
        French description of the method, to show next to any figure.
    """
    demand, demand_note = gp_demand(ref, ages=ages, vintage=vintage)
    if travel is not None:
        codes = list(ref.units.index)
        pairs = pairs_from_table(_travel_frame(travel), demand_codes=codes, supply_codes=codes)
    else:
        pairs = referential_pairs(ref)
    result = two_step_fca(gp_supply(ref, rpps), demand, pairs)
    method = (
        f"Calcul Atlas CPTS : {describe(result)} Offre : médecins généralistes de l'{rpps.source} "
        f"(1 médecin = 1) ; demande : {demand_note}."
    )
    return result.accessibility * 10_000, method


#: How the GP accessibility is computed from (referential, rpps, ages, travel): a caller may
#: pass a memoised version (the dashboard keeps it in the browser session).
GpAccess = Callable[..., tuple[pd.Series, str]]


def _one(layers: Mapping[str, Any], kind: str, expected: type) -> Any:
    value = layers.get(kind)
    if value is not None and not isinstance(value, expected):
        raise DataError(
            f"Données de soins : la couche « {kind} » n'est pas du type attendu "
            f"({expected.__name__}, reçu {type(value).__name__})."
        )
    return value


def care_data(
    layers: Mapping[str, Any],
    *,
    referential: Referential,
    apl_layers: Sequence[AplData] = (),
    apl_vintage: int | None = None,
    gp_access: GpAccess | None = computed_gp_access,
) -> CareData:
    """The care data of loaded files: the one place where :class:`CareData` is assembled.

    Parameters
    ----------
    layers
        Loaded layers by kind of care file (the ids of
        :func:`coverage.loaders.registry.care_loaders`: ``apl``, ``rpps``,
        ``bpe``, ``ages``, ``finess``, ``travel``), as returned by
        :func:`coverage.loaders.registry.load_care_file`. Missing kinds are
        simply not loaded. ``apl`` may be one workbook or a sequence of them.
    referential
        National referential (the computed accessibility covers all of it).
    apl_layers
        APL layers under the loaded workbooks, usually the embedded DREES data
        (:func:`coverage.loaders.embedded.embedded_apl`).
    apl_vintage
        Vintage of the APL to show (default: the latest of each profession).
    gp_access
        How the GP accessibility is computed when the Annuaire santé is
        loaded (default :func:`computed_gp_access`; the dashboard passes a
        memoised one); ``None`` leaves it out.

    Returns
    -------
    CareData
        The layers, with ``access`` and ``access_method`` when the Annuaire
        santé is loaded. The layers given are not modified.

    Raises
    ------
    DataError
        A kind that the registry does not know, a layer of the wrong type, or
        an ``apl_vintage`` that no APL layer has.

    Notes
    -----
    Every kind of the registry whose id is also a field of :class:`CareData`
    fills that field: a new kind of care file is one spec in the registry and
    one field here.
    """
    apl = layers.get("apl")
    uploads: tuple[AplData, ...] = (
        tuple(apl) if isinstance(apl, (list, tuple)) else (() if apl is None else (apl,))
    )
    for upload in uploads:
        if not isinstance(upload, AplData):
            raise DataError("Données de soins : la couche « apl » n'est pas un classeur APL.")
    every = (*apl_layers, *uploads)
    if apl_vintage is not None and not any(apl_vintage in a.vintages for a in every):
        available = sorted({v for a in every for v in a.vintages})
        raise DataError(
            f"Millésime {apl_vintage} absent des données APL. Attendu : l'un de "
            f"{', '.join(map(str, available))}, ou un classeur DREES de ce millésime."
        )
    specs = {spec.kind: spec for spec in care_loaders()}
    unknown = sorted(set(layers) - set(specs))
    if unknown:
        raise DataError(
            f"Données de soins : type(s) inconnu(s) : {', '.join(unknown)}. Attendu : "
            + ", ".join(specs)
            + "."
        )
    # Every kind of the registry named like a field of CareData fills that field.
    fields = {f.name for f in dataclasses.fields(CareData)} - {"apl"}
    care = CareData(
        apl_layers=every,
        apl_vintage=apl_vintage,
        **{kind: _one(layers, kind, spec.yields) for kind, spec in specs.items() if kind in fields},
    )
    travel = _one(layers, "travel", TravelTable)
    if care.rpps is not None and gp_access is not None:
        care.access, care.access_method = gp_access(
            referential, care.rpps, ages=care.ages, travel=travel
        )
    return care
