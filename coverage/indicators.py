"""Care supply and access indicators of a territory and of its department, region, France.

The indicators are the entries of the registry
(:func:`coverage.indicator_specs.indicator_specs`); this module evaluates them
on a territory and on its comparison scopes (its main department and region,
and France). When a layer is not loaded, its indicators say so (``loaded`` is
false and the value is NaN): they are never shown as zeros.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from coverage.care import CareData
from coverage.indicator_specs import IndicatorContext, indicator_specs
from diagnosis.core.referential import Referential, main_zone
from diagnosis.errors import DataError

__all__ = [
    "INDICATOR_COLUMNS",
    "SCOPES",
    "IndicatorEvaluator",
    "comparison_scopes",
    "scope_names",
    "territory_indicators",
]

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
    "loaded",
    "decimals",
]


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
        French label, unit, the four values, source, vintage and ``loaded``
        (whether the layer the indicator needs is loaded; values are NaN when
        it is not, and ``source`` then names what to load).

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
        self.ctx = IndicatorContext(ref=ref, care=care, apl=care.apl_by_profession())
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
        """One row per indicator: id, label, unit, source, vintage, ``loaded`` (a boolean)."""
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
                "loaded": [bool(ok) for ok in self.loaded],
                "decimals": [s.decimals for s in self.specs],
            }
        )

    def values(self, scope: pd.Index) -> list[float]:
        """The value of each indicator on a set of unit codes (NaN when not loaded)."""
        return [
            spec.compute(self.ctx, scope) if ok else math.nan
            for spec, ok in zip(self.specs, self.loaded, strict=True)
        ]
