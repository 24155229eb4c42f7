"""The registry of territory indicators: one :class:`IndicatorSpec` per stable ``indicator_id``.

Each spec has a stable snake_case ``indicator_id`` (used by exports and
tests), a French label (presentation only), a unit, the layer it needs (its
``loaded`` test) and how to compute it on a set of units. Adding an indicator
is adding one spec to :func:`indicator_specs`; :mod:`coverage.indicators`
evaluates them on a territory and its comparison scopes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from coverage.care import CareData
from coverage.loaders.apl import AplData
from coverage.loaders.finess import finess_categories
from coverage.loaders.supply import AGE_BANDS
from coverage.rules import AplProfession, apl_professions, professions
from diagnosis.core.numbers import fr_decimal
from diagnosis.core.referential import Referential

__all__ = [
    "BROAD_AGE_BANDS",
    "Compute",
    "IndicatorContext",
    "IndicatorSpec",
    "indicator_specs",
    "supply_short_id",
]


@dataclass(frozen=True)
class IndicatorContext:
    """What an indicator's functions read: the referential, the care layers, APL by profession."""

    ref: Referential
    care: CareData
    apl: dict[str, AplData]

    @functools.cached_property
    def population(self) -> pd.Series:
        """Legal population of every unit (float)."""
        return self.ref.units["population"].astype(float)


Compute = Callable[[IndicatorContext, pd.Index], float]


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
    loaded: Callable[[IndicatorContext], bool]
    compute: Compute
    source: Callable[[IndicatorContext], str]
    missing_source: str
    vintage: Callable[[IndicatorContext], str] = lambda _ctx: ""
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
    def compute(ctx: IndicatorContext, scope: pd.Index) -> float:
        assert ctx.care.rpps is not None
        table = ctx.care.rpps.by_unit
        return float(table[key].reindex(scope).sum()) if key in table.columns else 0.0

    return compute


def _rpps_density(key: str) -> Compute:
    count = _rpps_count(key)

    def compute(ctx: IndicatorContext, scope: pd.Index) -> float:
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


def _share_75_plus(ctx: IndicatorContext, scope: pd.Index) -> float:
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
    def compute(ctx: IndicatorContext, scope: pd.Index) -> float:
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
    def compute(ctx: IndicatorContext, scope: pd.Index) -> float:
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


def _apl_table(ctx: IndicatorContext, prof: AplProfession) -> pd.DataFrame:
    return ctx.care.apl_vintage_of(ctx.apl[prof.key]).by_unit


def _apl_mean(prof: AplProfession) -> Compute:
    """Mean APL weighted by the standardised population (DREES rule)."""

    def compute(ctx: IndicatorContext, scope: pd.Index) -> float:
        sub = _apl_table(ctx, prof).reindex(scope)
        weight = sub["population_standardised"].fillna(sub["population"])
        valid = sub["apl"].notna() & weight.notna()
        w = weight[valid]
        return _ratio(float((sub.loc[valid, "apl"] * w).sum()), float(w.sum()))

    return compute


def _apl_share_below(prof: AplProfession, threshold: float) -> Compute:
    """Share of the (total) population living in communes under the threshold (DREES rule)."""

    def compute(ctx: IndicatorContext, scope: pd.Index) -> float:
        sub = _apl_table(ctx, prof).reindex(scope)
        valid = sub["apl"].notna() & sub["population"].notna()
        pop = sub.loc[valid, "population"]
        return _ratio(float(pop[sub.loc[valid, "apl"] < threshold].sum()), float(pop.sum()))

    return compute


def _apl_specs() -> list[IndicatorSpec]:
    specs = []
    for prof in apl_professions().values():

        def loaded(ctx: IndicatorContext, key: str = prof.key) -> bool:
            return key in ctx.apl

        def source(ctx: IndicatorContext, key: str = prof.key) -> str:
            data = ctx.apl[key]
            return data.source_label(ctx.care.apl_vintage_of(data).vintage)

        def vintage(ctx: IndicatorContext, key: str = prof.key) -> str:
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
                    f"({fr_decimal(prof.threshold)})",
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


def _computed_access(ctx: IndicatorContext, scope: pd.Index) -> float:
    assert ctx.care.access is not None
    values = ctx.care.access.reindex(scope)
    w = ctx.population.reindex(scope).where(values.notna())
    return _ratio(float((values * w).sum()), float(w.sum()))


def _bpe_total(ctx: IndicatorContext, scope: pd.Index) -> float:
    assert ctx.care.bpe is not None
    table = ctx.care.bpe.by_unit
    types = [c for c in table.columns if c != "estimated"]
    return float(table[types].reindex(scope).sum().sum())


def _bpe_density(ctx: IndicatorContext, scope: pd.Index) -> float:
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
            missing_source="Annuaire santé (RPPS)",
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
