"""Care supply and access indicators of a territory and of its department, region, France.

Indicators are entries of a registry (:func:`indicator_specs`): each is a small
:class:`IndicatorSpec` with a stable snake_case ``indicator_id`` (used by
exports and tests), a French label (presentation only), a unit, the layer it
needs and how to compute it on a set of units. Adding an indicator is adding
one spec. When a layer is not loaded, its indicators say so ("non chargé"):
they are never shown as zeros.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from coverage.access import (
    age_weights,
    describe,
    pairs_from_table,
    referential_pairs,
    two_step_fca,
)
from coverage.loaders.apl import AplData, AplVintage
from coverage.loaders.finess import FinessTable, finess_categories
from coverage.loaders.supply import AGE_BANDS, SupplyTable, standardised_population
from coverage.rules import AplProfession, apl_professions, professions
from diagnosis.core.referential import Referential, main_zone
from diagnosis.errors import DataError

__all__ = [
    "INDICATOR_COLUMNS",
    "NOT_LOADED",
    "CareData",
    "IndicatorEvaluator",
    "IndicatorSpec",
    "comparison_scopes",
    "computed_gp_access",
    "indicator_specs",
    "merge_apl",
    "scope_names",
    "supply_short_id",
    "territory_indicators",
]

NOT_LOADED = "non chargé"
LOADED = "chargé"
SCOPES = ("territory", "department", "region", "france")
INDICATOR_COLUMNS = [
    "indicator_id",
    "indicator",
    "unit",
    "territory",
    "department",
    "region",
    "france",
    "source",
    "vintage",
    "status",
    "decimals",
]


def merge_apl(layers: Iterable[AplData | None]) -> dict[str, AplData]:
    """APL layers by profession; a later layer adds vintages or replaces the same vintage.

    Used to put a user's DREES workbooks over the embedded ones.
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
    ``apl_layers``.
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


def comparison_scopes(codes: Sequence[str], ref: Referential) -> dict[str, pd.Index]:
    """Units of a territory, of its main department and region (most inhabitants), of France."""
    units = ref.units
    inside = units.index.intersection(pd.Index(codes))
    if len(inside) == 0:
        raise DataError("Territoire vide : aucune commune du référentiel.")
    dep = main_zone(units, inside, level="department")
    reg = main_zone(units, inside, level="region")
    return {
        "territory": inside,
        "department": units.index[units["department"].astype(str) == dep],
        "region": units.index[units["region"].astype(str) == reg],
        "france": units.index,
    }


def scope_names(codes: Sequence[str], ref: Referential) -> dict[str, str]:
    """Names of the comparison scopes of a territory (its main department and region)."""
    scopes = comparison_scopes(codes, ref)
    units = ref.units
    dep = units.loc[scopes["department"][0]]
    return {
        "territory": "Territoire",
        "department": f"{dep['department_name']} ({dep['department']})",
        "region": str(dep["region_name"]),
        "france": "France",
    }


@dataclass(frozen=True)
class _Context:
    ref: Referential
    care: CareData
    apl: dict[str, AplData]

    @functools.cached_property
    def population(self) -> pd.Series:
        return self.ref.units["population"].astype(float)


Compute = Callable[[_Context, pd.Index], float]


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator: a stable id, a French label, a unit, its layer and its formula.

    Attributes
    ----------
    indicator_id
        Stable snake_case id (``population``, ``apl_mg``, ``density_mg_10k``).
    label
        French label, for presentation only.
    unit
        French unit.
    loaded
        Whether the layer the indicator needs is loaded.
    compute
        Value on a set of unit codes (a scope).
    source
        Citation of the figure (called only when loaded).
    missing_source
        What to load, shown when the layer is missing.
    vintage
        Vintage of the figure (called only when loaded; "" when not applicable).
    decimals
        Digits to show (shares: digits of the fraction, i.e. 3 for "16.6 %").
    """

    indicator_id: str
    label: str
    unit: str
    loaded: Callable[[_Context], bool]
    compute: Compute
    source: Callable[[_Context], str]
    missing_source: str
    vintage: Callable[[_Context], str] = lambda _ctx: ""
    decimals: int = 0


def supply_short_id(key: str) -> str:
    """Short id of a profession in indicator ids: ``mg`` for ``medecin_generaliste``.

    The five DREES professions use the short ids of ``data/rules/apl.toml``;
    any other profession of the Annuaire santé keeps its key.
    """
    prof = apl_professions().get(key)
    return prof.short if prof is not None else key


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _population_spec() -> IndicatorSpec:
    return IndicatorSpec(
        indicator_id="population",
        label="Population",
        unit="habitants",
        loaded=lambda _ctx: True,
        compute=lambda ctx, scope: float(ctx.population.reindex(scope).sum()),
        source=lambda ctx: f"INSEE, {ctx.ref.population_label}",
        missing_source="INSEE",
        vintage=lambda ctx: str(ctx.ref.manifest["vintages"]["population"].get("year", "")),
    )


def _rpps_count(key: str) -> Compute:
    def compute(ctx: _Context, scope: pd.Index) -> float:
        assert ctx.care.rpps is not None
        table = ctx.care.rpps.by_unit
        return float(table[key].reindex(scope).sum()) if key in table.columns else 0.0

    return compute


def _rpps_density(key: str) -> Compute:
    count = _rpps_count(key)

    def compute(ctx: _Context, scope: pd.Index) -> float:
        return _ratio(count(ctx, scope), float(ctx.population.reindex(scope).sum())) * 10_000

    return compute


def _rpps_specs() -> list[IndicatorSpec]:
    specs = []
    for prof in professions():
        short = supply_short_id(prof["key"])
        common = {
            "loaded": lambda ctx: ctx.care.rpps is not None,
            "source": lambda ctx: ctx.care.rpps.source,
            "missing_source": "Annuaire santé (RPPS)",
        }
        specs.append(
            IndicatorSpec(
                indicator_id=f"count_{short}",
                label=f"{prof['label']} : effectif",
                unit="professionnels",
                compute=_rpps_count(prof["key"]),
                **common,  # type: ignore[arg-type]
            )
        )
        specs.append(
            IndicatorSpec(
                indicator_id=f"density_{short}_10k",
                label=f"{prof['label']} : densité",
                unit="pour 10 000 habitants",
                compute=_rpps_density(prof["key"]),
                decimals=2,
                **common,  # type: ignore[arg-type]
            )
        )
    return specs


def _share_75_plus(ctx: _Context, scope: pd.Index) -> float:
    assert ctx.care.ages is not None
    sub = ctx.care.ages.by_unit.reindex(scope)
    old = float(sub[["75-79", "80-84", "85-89", "90+"]].sum().sum())
    return _ratio(old, float(sub[AGE_BANDS].sum().sum()))


#: Broad age bands of the profile: stable id suffix, French label, 5-year bands.
#: 75+ is ``share_75_plus`` (defined above).
BROAD_AGE_BANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("00_14", "0-14 ans", ("0-4", "5-9", "10-14")),
    ("15_29", "15-29 ans", ("15-19", "20-24", "25-29")),
    ("30_44", "30-44 ans", ("30-34", "35-39", "40-44")),
    ("45_59", "45-59 ans", ("45-49", "50-54", "55-59")),
    ("60_74", "60-74 ans", ("60-64", "65-69", "70-74")),
)


def _age_share(bands: tuple[str, ...]) -> Compute:
    def compute(ctx: _Context, scope: pd.Index) -> float:
        assert ctx.care.ages is not None
        sub = ctx.care.ages.by_unit.reindex(scope)
        return _ratio(float(sub[list(bands)].sum().sum()), float(sub[AGE_BANDS].sum().sum()))

    return compute


def _age_band_specs() -> list[IndicatorSpec]:
    return [
        IndicatorSpec(
            indicator_id=f"share_{suffix}",
            label=f"Part des {label}",
            unit="part de la population",
            loaded=lambda ctx: ctx.care.ages is not None,
            compute=_age_share(bands),
            decimals=3,
            source=lambda ctx: ctx.care.ages.source,  # type: ignore[union-attr]
            missing_source="INSEE, population par âge",
        )
        for suffix, label, bands in BROAD_AGE_BANDS
    ]


def _finess_count(key: str) -> Compute:
    def compute(ctx: _Context, scope: pd.Index) -> float:
        assert ctx.care.finess is not None
        table = ctx.care.finess.by_unit
        return float(table[key].reindex(scope).sum()) if key in table.columns else 0.0

    return compute


def _finess_specs() -> list[IndicatorSpec]:
    return [
        IndicatorSpec(
            indicator_id=f"finess_{cat['key']}_count",
            label=f"{cat['label']} (FINESS)",
            unit="établissements",
            loaded=lambda ctx: ctx.care.finess is not None,
            compute=_finess_count(cat["key"]),
            source=lambda ctx: ctx.care.finess.source,  # type: ignore[union-attr]
            missing_source="FINESS, extraction du fichier des établissements",
        )
        for cat in finess_categories()
    ]


def _apl_table(ctx: _Context, prof: AplProfession) -> pd.DataFrame:
    return ctx.care.apl_vintage_of(ctx.apl[prof.key]).by_unit


def _apl_mean(prof: AplProfession) -> Compute:
    """Mean APL weighted by the standardised population (DREES rule)."""

    def compute(ctx: _Context, scope: pd.Index) -> float:
        sub = _apl_table(ctx, prof).reindex(scope)
        weight = sub["population_standardised"].fillna(sub["population"])
        valid = sub["apl"].notna() & weight.notna()
        w = weight[valid]
        return _ratio(float((sub.loc[valid, "apl"] * w).sum()), float(w.sum()))

    return compute


def _apl_share_below(prof: AplProfession, threshold: float) -> Compute:
    """Share of the (total) population living in communes under the threshold (DREES rule)."""

    def compute(ctx: _Context, scope: pd.Index) -> float:
        sub = _apl_table(ctx, prof).reindex(scope)
        valid = sub["apl"].notna() & sub["population"].notna()
        pop = sub.loc[valid, "population"]
        return _ratio(float(pop[sub.loc[valid, "apl"] < threshold].sum()), float(pop.sum()))

    return compute


def _apl_specs() -> list[IndicatorSpec]:
    specs = []
    for prof in apl_professions().values():

        def loaded(ctx: _Context, key: str = prof.key) -> bool:
            return key in ctx.apl

        def source(ctx: _Context, key: str = prof.key) -> str:
            data = ctx.apl[key]
            return data.source_label(ctx.care.apl_vintage_of(data).vintage)

        def vintage(ctx: _Context, key: str = prof.key) -> str:
            return str(ctx.care.apl_vintage_of(ctx.apl[key]).vintage)

        specs.append(
            IndicatorSpec(
                indicator_id=f"apl_{prof.short}",
                label=f"APL aux {prof.label} (moyenne pondérée par la population standardisée)",
                unit=prof.unit,
                loaded=loaded,
                compute=_apl_mean(prof),
                decimals=prof.decimals,
                source=source,
                missing_source=f"DREES, APL aux {prof.label}",
                vintage=vintage,
            )
        )
        if prof.threshold is not None:
            specs.append(
                IndicatorSpec(
                    indicator_id=f"apl_{prof.short}_share_below",
                    label=f"Part de la population sous le seuil d'APL aux {prof.label} "
                    f"({f'{prof.threshold:g}'.replace('.', ',')})",
                    unit="part de la population",
                    loaded=loaded,
                    compute=_apl_share_below(prof, prof.threshold),
                    decimals=3,
                    source=source,
                    missing_source=f"DREES, APL aux {prof.label}",
                    vintage=vintage,
                )
            )
    return specs


def _computed_access(ctx: _Context, scope: pd.Index) -> float:
    assert ctx.care.access is not None
    values = ctx.care.access.reindex(scope)
    w = ctx.population.reindex(scope).where(values.notna())
    return _ratio(float((values * w).sum()), float(w.sum()))


def _bpe_total(ctx: _Context, scope: pd.Index) -> float:
    assert ctx.care.bpe is not None
    table = ctx.care.bpe.by_unit
    types = [c for c in table.columns if c != "estimated"]
    return float(table[types].reindex(scope).sum().sum())


def _bpe_density(ctx: _Context, scope: pd.Index) -> float:
    return _ratio(_bpe_total(ctx, scope), float(ctx.population.reindex(scope).sum())) * 10_000


@functools.lru_cache(maxsize=1)
def indicator_specs() -> tuple[IndicatorSpec, ...]:
    """The registry of territory indicators, in display order.

    Built from the rules files: one count and one density per profession of
    ``professions.toml``, one APL (and a share below the threshold where
    ``apl.toml`` defines one) per DREES profession.
    """
    bpe_label = "Équipements de santé libéraux (BPE, domaine D2)"
    return (
        _population_spec(),
        *_rpps_specs(),
        *_age_band_specs(),
        IndicatorSpec(
            indicator_id="share_75_plus",
            label="Part des 75 ans et plus",
            unit="part de la population",
            loaded=lambda ctx: ctx.care.ages is not None,
            compute=_share_75_plus,
            decimals=3,
            source=lambda ctx: ctx.care.ages.source,  # type: ignore[union-attr]
            missing_source="INSEE, population par âge",
        ),
        *_apl_specs(),
        IndicatorSpec(
            indicator_id="access_mg_2sfca",
            label="Accessibilité potentielle calculée aux médecins généralistes (2SFCA)",
            unit="médecins pour 10 000 habitants standardisés",
            loaded=lambda ctx: ctx.care.access is not None,
            compute=_computed_access,
            decimals=2,
            source=lambda ctx: ctx.care.access_method,
            missing_source="Annuaire santé (RPPS) requis",
        ),
        IndicatorSpec(
            indicator_id="bpe_d2_count",
            label=bpe_label,
            unit="équipements",
            loaded=lambda ctx: ctx.care.bpe is not None,
            compute=_bpe_total,
            source=lambda ctx: ctx.care.bpe.source,  # type: ignore[union-attr]
            missing_source="INSEE, BPE",
        ),
        IndicatorSpec(
            indicator_id="bpe_d2_10k",
            label=f"{bpe_label} : densité",
            unit="pour 10 000 habitants",
            loaded=lambda ctx: ctx.care.bpe is not None,
            compute=_bpe_density,
            decimals=2,
            source=lambda ctx: ctx.care.bpe.source,  # type: ignore[union-attr]
            missing_source="INSEE, BPE",
        ),
        *_finess_specs(),
    )


def territory_indicators(
    codes: Sequence[str],
    ref: Referential,
    care: CareData,
    *,
    indicators: Sequence[str] | None = None,
    scopes: dict[str, pd.Index] | None = None,
) -> pd.DataFrame:
    """Indicators of a territory (unit codes) and of its department, region and France.

    Parameters
    ----------
    codes
        Unit codes of the territory.
    ref
        National referential (comparisons need the whole of France).
    care
        Loaded care layers.
    indicators
        Ids of the indicators to compute (default: the whole registry).
    scopes
        Precomputed comparison scopes (as returned by :func:`comparison_scopes`);
        computed from ``codes`` when not given.

    Returns
    -------
    pandas.DataFrame
        One row per indicator (columns :data:`INDICATOR_COLUMNS`): its id,
        French label, unit, the four values, source, vintage and status
        (``chargé`` or ``non chargé``; values are NaN when not loaded).

    Notes
    -----
    Densities are practitioners per 10,000 inhabitants of the referential's
    legal population. A territory's APL is the mean of its communes' APL
    weighted by their standardised population; the share below the threshold
    (GPs only: DREES defines none for the other professions) counts the total
    population of communes under it (DREES method, stated in every sheet of
    its workbooks). Thresholds and units come from ``data/rules/apl.toml``.
    """
    scopes = scopes if scopes is not None else comparison_scopes(codes, ref)
    evaluator = IndicatorEvaluator(ref, care, indicators=indicators)
    table = evaluator.describe()
    for k in SCOPES:
        table[k] = evaluator.values(scopes[k])
    return table[INDICATOR_COLUMNS]


class IndicatorEvaluator:
    """The registry's indicators for given care layers, evaluated on any set of units.

    Parameters
    ----------
    ref
        National referential.
    care
        Loaded care layers.
    indicators
        Ids to evaluate (default: the whole registry); an unknown id is refused.
    """

    def __init__(
        self, ref: Referential, care: CareData, *, indicators: Sequence[str] | None = None
    ) -> None:
        self.ctx = _Context(ref=ref, care=care, apl=care.apl_by_profession())
        specs = indicator_specs()
        if indicators is not None:
            wanted = set(indicators)
            unknown = wanted - {s.indicator_id for s in specs}
            if unknown:
                raise DataError(
                    f"Indicateur(s) inconnu(s) : {', '.join(sorted(unknown))}. Attendu : "
                    + ", ".join(s.indicator_id for s in specs)
                    + "."
                )
            specs = tuple(s for s in specs if s.indicator_id in wanted)
        self.specs = specs
        self.loaded = [spec.loaded(self.ctx) for spec in specs]

    def describe(self) -> pd.DataFrame:
        """One row per indicator: id, label, unit, source, vintage, status."""
        return pd.DataFrame(
            {
                "indicator_id": [s.indicator_id for s in self.specs],
                "indicator": [s.label for s in self.specs],
                "unit": [s.unit for s in self.specs],
                "source": [
                    s.source(self.ctx) if ok else s.missing_source
                    for s, ok in zip(self.specs, self.loaded, strict=True)
                ],
                "vintage": [
                    s.vintage(self.ctx) if ok else ""
                    for s, ok in zip(self.specs, self.loaded, strict=True)
                ],
                "status": [LOADED if ok else NOT_LOADED for ok in self.loaded],
                "decimals": [s.decimals for s in self.specs],
            }
        )

    def values(self, scope: pd.Index) -> list[float]:
        """The value of each indicator on a set of unit codes (NaN when not loaded)."""
        return [
            spec.compute(self.ctx, scope) if ok else math.nan
            for spec, ok in zip(self.specs, self.loaded, strict=True)
        ]


def computed_gp_access(
    ref: Referential,
    rpps: SupplyTable,
    *,
    ages: SupplyTable | None = None,
    travel: pd.DataFrame | None = None,
    vintage: int = 2023,
) -> tuple[pd.Series, str]:
    """Accessibility to general practitioners computed with the 2SFCA engine.

    Supply is the number of GPs of each commune (each counts one: activity is
    not public), demand the population standardised by age with the DREES
    weights of ``vintage`` when ages are loaded (else the legal population),
    travel times the user's table when given, else the crow-fly proxy.

    Returns
    -------
    tuple
        Accessibility per unit (GPs per 10,000 standardised inhabitants) and a
        French description of the method, to show next to any figure.
    """
    units = ref.units
    supply = (
        rpps.by_unit.get("medecin_generaliste", pd.Series(dtype=float))
        .reindex(units.index)
        .fillna(0.0)
    )
    if ages is not None:
        demand = standardised_population(
            ages.by_unit.reindex(units.index).fillna(0.0), age_weights(vintage)
        )
        demand_note = f"population standardisée par âge (poids DREES {vintage}, {ages.source})"
    else:
        demand = units["population"].astype(float)
        demand_note = f"population légale non standardisée ({ref.population_label})"
    if travel is not None:
        columns = list(travel.columns[:3])
        table = travel.rename(
            columns=dict(zip(columns, ["origin", "destination", "minutes"], strict=True))
        )
        codes = list(units.index)
        pairs = pairs_from_table(table, demand_codes=codes, supply_codes=codes)
    else:
        pairs = referential_pairs(ref)
    result = two_step_fca(supply, demand, pairs)
    method = (
        f"Calcul Atlas CPTS : {describe(result)} Offre : médecins généralistes de l'{rpps.source} "
        f"(1 médecin = 1) ; demande : {demand_note}."
    )
    return result.accessibility * 10_000, method
