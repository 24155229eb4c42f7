"""Care supply and access indicators of a territory and of its department, region, France.

When a layer is not loaded, its indicators say so ("non chargé"): they are
never shown as zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.access import (
    age_weights,
    describe,
    pairs_from_table,
    referential_pairs,
    two_step_fca,
)
from coverage.apl import AplData
from coverage.supply import AGE_BANDS, SupplyTable, professions, standardised_population
from diagnosis.referential import Referential

__all__ = [
    "INDICATOR_COLUMNS",
    "CareData",
    "computed_gp_access",
    "scope_names",
    "territory_indicators",
]

NOT_LOADED = "non chargé"
INDICATOR_COLUMNS = [
    "indicator",
    "unit",
    "territory",
    "department",
    "region",
    "france",
    "source",
    "status",
]


@dataclass
class CareData:
    """Care layers loaded by the user (any may be missing)."""

    apl: AplData | None = None
    apl_vintage: int | None = None
    rpps: SupplyTable | None = None
    bpe: SupplyTable | None = None
    ages: SupplyTable | None = None
    #: Accessibility computed by the project's 2SFCA engine (see :func:`computed_gp_access`).
    access: pd.Series | None = None
    access_method: str = ""


def _scopes(codes: Sequence[str], ref: Referential) -> dict[str, pd.Index]:
    units = ref.units
    inside = units.index.intersection(pd.Index(codes))
    if len(inside) == 0:
        raise ValueError("Territoire vide : aucune commune du référentiel.")
    dep = (
        units.loc[inside]
        .groupby(units.loc[inside, "department"].astype(str))["population"]
        .sum()
        .idxmax()
    )
    reg = (
        units.loc[inside]
        .groupby(units.loc[inside, "region"].astype(str))["population"]
        .sum()
        .idxmax()
    )
    return {
        "territory": inside,
        "department": units.index[units["department"].astype(str) == dep],
        "region": units.index[units["region"].astype(str) == reg],
        "france": units.index,
    }


def scope_names(codes: Sequence[str], ref: Referential) -> dict[str, str]:
    """Names of the comparison scopes of a territory (its main department and region)."""
    scopes = _scopes(codes, ref)
    units = ref.units
    dep = units.loc[scopes["department"][0]]
    return {
        "territory": "Territoire",
        "department": f"{dep['department_name']} ({dep['department']})",
        "region": str(dep["region_name"]),
        "france": "France",
    }


def _sum(table: pd.DataFrame, column: str, scope: pd.Index) -> float:
    return float(table[column].reindex(scope).sum())


def territory_indicators(
    codes: Sequence[str],
    ref: Referential,
    care: CareData,
    *,
    apl_threshold: float = 2.5,
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
    apl_threshold
        Under-service threshold of the APL (2.5 consultations a year per
        standardised inhabitant for GPs).

    Returns
    -------
    pandas.DataFrame
        One row per indicator: indicator, unit, territory, department, region,
        france, source, status (``chargé`` or ``non chargé``; values are NaN
        when not loaded).

    Notes
    -----
    Densities are practitioners per 10,000 inhabitants of the referential's
    legal population. A territory's APL is the mean of its communes' APL
    weighted by their population in the APL file; the share below the
    threshold counts that population (DREES method).
    """
    scopes = _scopes(codes, ref)
    population = ref.units["population"]
    rows: list[dict[str, object]] = []

    def add(
        indicator: str, unit: str, values: dict[str, float], source: str, loaded: bool = True
    ) -> None:
        rows.append(
            {
                "indicator": indicator,
                "unit": unit,
                **{k: (values.get(k, np.nan) if loaded else np.nan) for k in scopes},
                "source": source,
                "status": "chargé" if loaded else NOT_LOADED,
            }
        )

    pops = {k: float(population.reindex(v).sum()) for k, v in scopes.items()}
    add("Population", "habitants", pops, f"INSEE, {ref.population_label}")

    labels = {p["key"]: p["label"] for p in professions()}
    if care.rpps is not None:
        table = care.rpps.by_unit
        for key, label in labels.items():
            if key not in table.columns:
                counts = dict.fromkeys(scopes, 0.0)
            else:
                counts = {k: _sum(table, key, v) for k, v in scopes.items()}
            add(f"{label} : effectif", "professionnels", counts, care.rpps.source)
            density = {k: counts[k] / pops[k] * 10_000 if pops[k] else np.nan for k in scopes}
            add(f"{label} : densité", "pour 10 000 habitants", density, care.rpps.source)
    else:
        for label in labels.values():
            add(f"{label} : effectif", "professionnels", {}, "Annuaire santé (RPPS)", loaded=False)
            add(
                f"{label} : densité",
                "pour 10 000 habitants",
                {},
                "Annuaire santé (RPPS)",
                loaded=False,
            )

    if care.ages is not None:
        ages = care.ages.by_unit
        share = {}
        for k, v in scopes.items():
            sub = ages.reindex(v)
            old = sub[["75-79", "80-84", "85-89", "90+"]].sum().sum()
            total = sub[AGE_BANDS].sum().sum()
            share[k] = float(old / total) if total else np.nan
        add("Part des 75 ans et plus", "part de la population", share, care.ages.source)
    else:
        add(
            "Part des 75 ans et plus",
            "part de la population",
            {},
            "INSEE, population par âge",
            loaded=False,
        )

    if care.apl is not None:
        vintage = care.apl_vintage or max(care.apl.vintages)
        table = care.apl.vintages[vintage].by_unit
        source = care.apl.source_label(vintage)
        means, below = {}, {}
        for k, v in scopes.items():
            sub = table.reindex(v)
            valid = sub["apl"].notna() & sub["population"].notna()
            w = sub.loc[valid, "population"]
            means[k] = float((sub.loc[valid, "apl"] * w).sum() / w.sum()) if w.sum() else np.nan
            below[k] = (
                float(w[sub.loc[valid, "apl"] < apl_threshold].sum() / w.sum())
                if w.sum()
                else np.nan
            )
        add("APL (moyenne pondérée par la population)", care.apl.profession_label, means, source)
        add(
            f"Part de la population sous le seuil d'APL ({apl_threshold:g})",
            "part de la population",
            below,
            source,
        )
    else:
        add("APL (moyenne pondérée par la population)", "", {}, "DREES, APL", loaded=False)
        add(
            f"Part de la population sous le seuil d'APL ({apl_threshold:g})",
            "part de la population",
            {},
            "DREES, APL",
            loaded=False,
        )

    if care.access is not None:
        acc = care.access
        means = {}
        for k, v in scopes.items():
            values = acc.reindex(v)
            w = population.reindex(v).where(values.notna())
            means[k] = float((values * w).sum() / w.sum()) if w.sum() else np.nan
        add(
            "Accessibilité potentielle calculée aux médecins généralistes (2SFCA)",
            "médecins pour 10 000 habitants standardisés",
            means,
            care.access_method,
        )
    else:
        add(
            "Accessibilité potentielle calculée aux médecins généralistes (2SFCA)",
            "médecins pour 10 000 habitants standardisés",
            {},
            "Annuaire santé (RPPS) requis",
            loaded=False,
        )

    if care.bpe is not None:
        table = care.bpe.by_unit
        types = [c for c in table.columns if c != "estimated"]
        totals = {k: float(table[types].reindex(v).sum().sum()) for k, v in scopes.items()}
        add(
            "Équipements de santé libéraux (BPE, domaine D2)",
            "équipements",
            totals,
            care.bpe.source,
        )
        per = {k: totals[k] / pops[k] * 10_000 if pops[k] else np.nan for k in scopes}
        add(
            "Équipements de santé libéraux (BPE, domaine D2)",
            "pour 10 000 habitants",
            per,
            care.bpe.source,
        )
    else:
        add(
            "Équipements de santé libéraux (BPE, domaine D2)",
            "équipements",
            {},
            "INSEE, BPE",
            loaded=False,
        )
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS)


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
