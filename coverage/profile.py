"""A Rezone-style profile of every perimeter: indicators compared with department, region, France.

One row per perimeter and indicator, with the value of the perimeter and of
its main department (the one holding most of its inhabitants), its main
region and France, the unit, the source and the vintage of the figure. The
indicators are those of the registry (:func:`coverage.indicator_specs.indicator_specs`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from coverage.care import CareData
from coverage.indicators import IndicatorEvaluator, comparison_scopes
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError

__all__ = ["PROFILE_COLUMNS", "perimeter_profiles"]

PROFILE_COLUMNS = [
    "perimeter_id",
    "name",
    "indicator_id",
    "indicator",
    "value",
    "unit",
    "department",
    "department_value",
    "region",
    "region_value",
    "france_value",
    "source",
    "vintage",
    "loaded",
    "decimals",
]


def perimeter_profiles(
    perimeters: pd.DataFrame,
    ref: Referential,
    care: CareData,
    *,
    indicators: Sequence[str] | None = None,
    id_column: str = "perimeter_id",
    name_column: str = "name",
    units_column: str = "unit_codes",
) -> pd.DataFrame:
    """Profile of each perimeter (one row per perimeter and indicator).

    Parameters
    ----------
    perimeters
        One row per perimeter with its id, its name as imported and its unit
        codes (an iterable of codes per row), e.g. ``PerimeterImport.perimeters``.
        Not modified.
    ref
        National referential (the comparisons need the whole of France).
    care
        Care layers (the embedded APL is added by the caller, see
        :func:`coverage.loaders.embedded.embedded_apl`).
    indicators
        Ids of the indicators (default: the whole registry).
    id_column, name_column, units_column
        Columns of ``perimeters``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PROFILE_COLUMNS`; ``department`` and ``region`` are the
        codes of the comparison scopes. A perimeter with no unit of the
        referential is left out (it has no territory to describe). ``loaded``
        says whether the layer an indicator needs is loaded (a boolean); when it
        is not, the values are NaN and ``source`` names what to load.
    """
    missing = [c for c in (id_column, name_column, units_column) if c not in perimeters.columns]
    if missing:
        raise DataError(
            f"Colonnes absentes du tableau des périmètres : {', '.join(missing)}. Attendu : "
            f"{id_column}, {name_column}, {units_column}."
        )
    evaluator = IndicatorEvaluator(ref, care, indicators=indicators)
    described = evaluator.describe()
    units = ref.units
    memo: dict[tuple[str, str], list[float]] = {}

    def scope_values(level: str, key: str, scope: pd.Index) -> list[float]:
        if (level, key) not in memo:
            memo[(level, key)] = evaluator.values(scope)
        return memo[(level, key)]

    france = scope_values("france", "", units.index)
    pieces = []
    for pid, name, members in zip(
        perimeters[id_column], perimeters[name_column], perimeters[units_column], strict=True
    ):
        codes = [str(c) for c in members]
        if not units.index.intersection(pd.Index(codes)).size:
            continue
        scopes = comparison_scopes(codes, ref)
        first = units.loc[scopes["department"][0]]
        dep, reg = str(first["department"]), str(first["region"])
        piece = described.copy()
        piece.insert(0, "perimeter_id", pid)
        piece.insert(1, "name", name)
        piece["value"] = evaluator.values(scopes["territory"])
        piece["department"] = dep
        piece["department_value"] = scope_values("department", dep, scopes["department"])
        piece["region"] = reg
        piece["region_value"] = scope_values("region", reg, scopes["region"])
        piece["france_value"] = france
        pieces.append(piece)
    if not pieces:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    return pd.concat(pieces, ignore_index=True)[PROFILE_COLUMNS]
