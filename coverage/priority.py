"""Priority white zones: white-zone groups ranked by access to general practitioners (DREES APL).

A white-zone group (a cluster of :func:`diagnosis.analysis.white_zones.white_zones`) is
the more urgent for an ARS the more of its inhabitants live in communes where
the DREES APL to general practitioners is under the under-service threshold
(2.5 consultations a year per standardised inhabitant, ``data/rules/apl.toml``).

DREES rules, as stated in every sheet of its workbooks: a territory's mean APL
is weighted by the **standardised** population; the population living under a
threshold is counted with the **total** (non-standardised) population. Here
the total population is the referential's legal population (the one of the
white-zone tables), so that a group's inhabitants and its inhabitants under
the threshold are counted alike.

The same module gives the data of an APL map layer: each commune's APL class
around the threshold, its colour and a French legend label.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.loaders.apl import AplData, AplVintage
from diagnosis.core.numbers import fr_decimal
from diagnosis.errors import DataError

__all__ = [
    "APL_CLASS_COLUMNS",
    "NO_APL_COLOR",
    "PRIORITY_COLUMNS",
    "AplClass",
    "apl_classes",
    "apl_map_classes",
    "priority_white_zones",
]

GP_KEY = "medecin_generaliste"

PRIORITY_COLUMNS = [
    "rank",
    "cluster_id",
    "n_units",
    "population",
    "population_under_threshold",
    "share_under_threshold",
    "n_units_under_threshold",
    "n_units_without_apl",
    "apl_mg_mean",
    "threshold",
    "source",
    "vintage",
]
APL_CLASS_COLUMNS = ["code", "apl", "apl_class", "colour", "label"]

#: Upper bounds of the map classes above the threshold (consultations per standardised inhabitant).
UPPER_BREAKS = (3.0, 4.0, 5.0)
#: From brown (under-served) to teal (well served); ColorBrewer BrBG, 5 classes, safe for
#: colour-blind readers. Not the stages' red-yellow-green, nor the red of overlaps and
#: disputes: both are drawn on the same maps, and one colour must not mean two things.
CLASS_COLOURS = ("#8c510a", "#d8b365", "#f6e8c3", "#5ab4ac", "#01665e")
NO_APL_COLOR = "#d9d9d9"
NO_APL_LABEL = "APL non disponible"


@dataclass(frozen=True)
class AplClass:
    """One class of the APL map: its number, colour and French label."""

    apl_class: int
    colour: str
    label: str


def _gp_vintage(apl: AplData, vintage: int | None) -> AplVintage:
    if apl.profession != GP_KEY:
        raise DataError(
            f"Zones blanches prioritaires : APL aux médecins généralistes attendue, reçu l'APL "
            f"aux {apl.profession_label}."
        )
    if vintage is None:
        return apl.latest
    if vintage not in apl.vintages:
        raise DataError(
            f"Millésime d'APL {vintage} absent (disponibles : "
            + ", ".join(str(v) for v in sorted(apl.vintages))
            + ")."
        )
    return apl.vintages[vintage]


def _threshold(apl: AplData, threshold: float | None) -> float:
    value = threshold if threshold is not None else apl.rules.threshold
    if value is None or not np.isfinite(value) or value <= 0:
        raise DataError(
            f"Seuil d'APL attendu : un nombre positif (reçu {value!r}). La DREES fixe 2,5 "
            "consultations par an et par habitant standardisé pour les médecins généralistes."
        )
    return float(value)


def apl_classes(threshold: float = 2.5) -> tuple[AplClass, ...]:
    """The classes of the APL map around the threshold, in order (French labels).

    Parameters
    ----------
    threshold
        Under-service threshold (the first bound).

    Examples
    --------
    >>> [c.label for c in apl_classes()]  # doctest: +NORMALIZE_WHITESPACE
    ['moins de 2,5 (sous le seuil)', '2,5 à moins de 3', '3 à moins de 4',
     '4 à moins de 5', '5 ou plus']
    """
    bounds = (threshold, *(b for b in UPPER_BREAKS if b > threshold))
    labels = [f"moins de {fr_decimal(bounds[0])} (sous le seuil)"]
    labels += [
        f"{fr_decimal(low)} à moins de {fr_decimal(high)}"
        for low, high in itertools.pairwise(bounds)
    ]
    labels.append(f"{fr_decimal(bounds[-1])} ou plus")
    # The last colour is always the best served class, whatever the threshold.
    colours = (*CLASS_COLOURS[: len(labels) - 1], CLASS_COLOURS[-1])
    pairs = zip(colours, labels, strict=True)
    return tuple(AplClass(k, colour, label) for k, (colour, label) in enumerate(pairs))


def apl_map_classes(
    apl: AplData,
    codes: pd.Index | list[str] | None = None,
    *,
    vintage: int | None = None,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Each commune's GP APL, its class around the threshold, colour and French label.

    Parameters
    ----------
    apl
        The DREES APL to general practitioners (embedded or a user's workbook).
    codes
        Unit codes to classify (default: every unit with an APL).
    vintage
        Vintage (default: the latest of ``apl``).
    threshold
        First class bound (default: the DREES threshold, 2.5).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`APL_CLASS_COLUMNS`, one row per code in the given
        order; ``apl_class`` is -1, with a grey colour, where the commune has
        no APL.
    """
    table = _gp_vintage(apl, vintage).by_unit
    bound = _threshold(apl, threshold)
    classes = apl_classes(bound)
    index = pd.Index(codes if codes is not None else table.index, dtype=object)
    values = table["apl"].reindex(index).to_numpy(dtype=np.float64)
    bounds = np.asarray((bound, *(b for b in UPPER_BREAKS if b > bound)), dtype=np.float64)
    # A commune exactly at a bound belongs to the class above it ("2,5 à moins de 3").
    klass = np.searchsorted(bounds, values, side="right").astype(np.int64)
    klass[np.isnan(values)] = -1
    colours = np.array([c.colour for c in classes] + [NO_APL_COLOR], dtype=object)
    labels = np.array([c.label for c in classes] + [NO_APL_LABEL], dtype=object)
    return pd.DataFrame(
        {
            "code": np.asarray(index, dtype=object),
            "apl": values,
            "apl_class": klass,
            "colour": colours[klass],
            "label": labels[klass],
        }
    )[APL_CLASS_COLUMNS]


def priority_white_zones(
    units: pd.DataFrame,
    apl: AplData,
    *,
    vintage: int | None = None,
    threshold: float | None = None,
    code: str = "code",
    cluster: str = "cluster_id",
    population: str = "population",
) -> pd.DataFrame:
    """White-zone groups ranked by inhabitants under the GP APL threshold, then by mean APL.

    Parameters
    ----------
    units
        White units with their group (``WhiteZones.units``: code, cluster_id,
        population).
    apl
        The DREES APL to general practitioners.
    vintage
        APL vintage (default: the latest of ``apl``).
    threshold
        Under-service threshold (default: the DREES one, 2.5).
    code, cluster, population
        Column names in ``units``.

    Returns
    -------
    pandas.DataFrame
        One row per group (columns :data:`PRIORITY_COLUMNS`), rank 1 first:
        inhabitants, inhabitants living in communes under the threshold and
        their share, communes under the threshold and without APL, the mean
        APL weighted by the DREES standardised population, the threshold,
        the source and the vintage. Empty (same columns) when there is no
        white unit.

    Notes
    -----
    Rank: most inhabitants under the threshold first; ties by lower mean APL,
    then by group number. A commune without APL counts in the group's
    inhabitants, never under the threshold, and is listed in
    ``n_units_without_apl``. The mean APL is Σ APL_c · Pstd_c / Σ Pstd_c over
    the group's communes with an APL (DREES rule).
    """
    missing = [c for c in (code, cluster, population) if c not in units.columns]
    if missing:
        raise DataError(
            "Zones blanches prioritaires : colonnes absentes du tableau des communes blanches : "
            + ", ".join(missing)
            + f" (colonnes présentes : {', '.join(map(str, units.columns))})."
        )
    chosen = _gp_vintage(apl, vintage)
    bound = _threshold(apl, threshold)
    if units.empty:
        return pd.DataFrame(columns=PRIORITY_COLUMNS)
    table = chosen.by_unit
    codes = units[code].astype(str)
    values = table["apl"].reindex(codes).to_numpy(dtype=np.float64)
    weight = table["population_standardised"].reindex(codes).to_numpy(dtype=np.float64)
    pop = pd.to_numeric(units[population], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    has_apl = ~np.isnan(values)
    has_weight = has_apl & ~np.isnan(weight)
    under = has_apl & (values < bound)
    work = pd.DataFrame(
        {
            "cluster_id": units[cluster].to_numpy(),
            "population": pop,
            "population_under_threshold": np.where(under, pop, 0.0),
            "n_units_under_threshold": under.astype(np.int64),
            "n_units_without_apl": (~has_apl).astype(np.int64),
            "_weighted": np.where(has_weight, values * np.nan_to_num(weight), 0.0),
            "_weight": np.where(has_weight, np.nan_to_num(weight), 0.0),
            "n_units": np.ones(len(units), dtype=np.int64),
        }
    )
    out = work.groupby("cluster_id", sort=True).sum().reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["apl_mg_mean"] = np.where(out["_weight"] > 0, out["_weighted"] / out["_weight"], np.nan)
        out["share_under_threshold"] = np.where(
            out["population"] > 0, out["population_under_threshold"] / out["population"], np.nan
        )
    # Groups without any APL go last among equals (their mean is unknown, not low).
    mean_key = out["apl_mg_mean"].fillna(np.inf)
    order = np.lexsort(
        (
            out["cluster_id"].to_numpy(),
            mean_key.to_numpy(),
            -out["population_under_threshold"].to_numpy(),
        )
    )
    out = out.iloc[order].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    out["threshold"] = bound
    out["source"] = apl.source_label(chosen.vintage)
    out["vintage"] = chosen.vintage
    return out[PRIORITY_COLUMNS]
