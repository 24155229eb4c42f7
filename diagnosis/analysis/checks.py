"""Per-perimeter diagnosis: size, viability, EPCI cuts, contiguity, enclaves, funding.

Every function returns evidence tables (which units, which EPCI, how many
inhabitants), never bare booleans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from diagnosis.analysis.geometry import component_labels, dissolve_perimeters, enclaves
from diagnosis.analysis.membership import Membership, membership
from diagnosis.core.aci import SizeRules, funding_total, size_rules
from diagnosis.core.model import perimeters_from_members
from diagnosis.core.referential import Referential, main_zones, population_label

__all__ = [
    "SHARED_COLUMNS",
    "SUMMARY_COLUMNS",
    "PerimeterDiagnosis",
    "diagnose_perimeters",
    "minimum_citation",
    "size_class_table",
    "territory_summary",
]

SUMMARY_COLUMNS = [
    "perimeter_id",
    "name",
    "status",
    "population",
    "population_label",
    "n_units",
    "area_km2",
    "density_per_km2",
    "departments",
    "regions",
    "n_epci",
    "n_epci_cut",
    "size_class",
    "size_label",
    "size_lower_bound",
    "size_upper_bound",
    "margin_below",
    "margin_above",
    "nearest_bound",
    "margin_to_nearest_bound",
    "minimum_population",
    "below_minimum",
    "missing_to_minimum",
    "n_parts",
    "n_enclaves",
    "funding_max_eur",
    "population_in_scope",
    "population_without_shared",
    "shared_units",
    "outside_departments",
    "size_class_without_shared",
]


#: Columns of :attr:`PerimeterDiagnosis.shared`.
SHARED_COLUMNS = [
    "perimeter_id",
    "code",
    "name",
    "population",
    "population_counted",
    "declared",
    "n_perimeters",
    "with_ids",
    "with_names",
]


@dataclass
class PerimeterDiagnosis:
    """Evidence about each perimeter.

    Attributes
    ----------
    summary
        One row per perimeter (see ``SUMMARY_COLUMNS``).
    epcis
        One row per (perimeter, EPCI spanned): population of the EPCI, part
        included, share, ``cut`` when the perimeter takes only part of it.
    parts
        One row per connected part of each perimeter: units, population.
    enclaves
        Units surrounded by a perimeter but not in it.
    geometries
        Dissolved perimeters (WGS84), or None when not computed.
    notes
        Citations of the rules and the population vintage.
    shared
        One row per (perimeter, commune claimed by another perimeter too, see
        :data:`SHARED_COLUMNS`): the commune's inhabitants, those counted for
        the perimeter, whether from declared shares, and the other perimeters
        claiming it (ids, and names joined by " | "), at any stage.
    """

    summary: pd.DataFrame
    epcis: pd.DataFrame
    parts: pd.DataFrame
    enclaves: pd.DataFrame
    geometries: gpd.GeoDataFrame | None = None
    notes: dict[str, str] = field(default_factory=dict)
    shared: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SHARED_COLUMNS))

    def of(self, perimeter_id: str) -> PerimeterDiagnosis:
        """The diagnosis of one perimeter (every table restricted to it)."""

        def rows(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["perimeter_id"] == perimeter_id].reset_index(drop=True)

        geometries = self.geometries
        return PerimeterDiagnosis(
            summary=rows(self.summary),
            epcis=rows(self.epcis),
            parts=rows(self.parts),
            enclaves=rows(self.enclaves),
            geometries=None
            if geometries is None
            else geometries[geometries["perimeter_id"] == perimeter_id].reset_index(drop=True),
            notes=dict(self.notes),
            shared=rows(self.shared),
        )


def size_class_table(
    population: pd.Series | np.ndarray | Sequence[float],
    *,
    rules: SizeRules | None = None,
    regions: pd.Series | np.ndarray | Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Size class, margins to the class bounds and the minimum-population check.

    Parameters
    ----------
    population
        Population of each territory.
    rules
        Size rules (default: ``data/rules/aci.toml``).
    regions
        Main region of each territory, for region-specific minimum populations.

    Returns
    -------
    pandas.DataFrame
        size_class, size_label, size_lower_bound, size_upper_bound (missing
        for taille 4), margin_below (inhabitants that can be lost before
        falling a class; missing for taille 1), margin_above (inhabitants to
        gain to reach the next class; missing for taille 4), nearest_bound,
        margin_to_nearest_bound, minimum_population, below_minimum,
        missing_to_minimum.
    """
    rules = rules or size_rules()
    pop = np.asarray(population, dtype=np.float64)
    classes = np.array([rules.size_class(p) for p in pop], dtype=np.int64)
    bounds = np.asarray(rules.lower_bounds, dtype=np.float64)
    lower = bounds[classes - 1]
    upper = np.where(classes < len(bounds), bounds[np.minimum(classes, len(bounds) - 1)], np.nan)
    margin_below = np.where(classes > 1, pop - lower, np.nan)
    margin_above = np.where(np.isnan(upper), np.nan, upper - pop)
    below_is_nearest = np.nan_to_num(margin_below, nan=np.inf) <= np.nan_to_num(
        margin_above, nan=np.inf
    )
    nearest = np.where(below_is_nearest, lower, upper)
    nearest = np.where(
        np.isinf(
            np.minimum(
                np.nan_to_num(margin_below, nan=np.inf), np.nan_to_num(margin_above, nan=np.inf)
            )
        ),
        np.nan,
        nearest,
    )
    margin_nearest = np.where(below_is_nearest, margin_below, margin_above)
    region_list = list(regions) if regions is not None else [None] * len(pop)
    minimum = np.array([rules.minimum_for(r) for r in region_list], dtype=np.float64)
    return pd.DataFrame(
        {
            "size_class": classes,
            "size_label": [rules.labels[c - 1] for c in classes],
            "size_lower_bound": lower,
            "size_upper_bound": upper,
            "margin_below": margin_below,
            "margin_above": margin_above,
            "nearest_bound": nearest,
            "margin_to_nearest_bound": margin_nearest,
            "minimum_population": minimum,
            "below_minimum": pop < minimum,
            "missing_to_minimum": np.maximum(minimum - pop, 0),
        }
    )


def _epci_table(m: Membership, ref: Referential) -> pd.DataFrame:
    units = ref.units
    epci_codes = units["epci_code"].to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "perimeter": m.member_perimeter,
            "epci_code": epci_codes[m.member_unit],
            "population": m.index.population[m.member_unit],
        }
    )
    frame = frame[frame["epci_code"].notna()]
    inc = (
        frame.groupby(["perimeter", "epci_code"], sort=True)
        .agg(population_included=("population", "sum"), n_units_included=("population", "size"))
        .reset_index()
    )
    epci = ref.epci.set_index("epci_code")
    # EPCI totals over the whole national referential are in the EPCI table;
    # units outside a regional scope still count in the EPCI's population.
    inc["epci_name"] = inc["epci_code"].map(epci["epci_name"])
    inc["epci_population"] = inc["epci_code"].map(epci["population"]).astype("float64")
    inc["epci_n_units"] = inc["epci_code"].map(epci["n_units"]).astype("float64")
    inc["share_included"] = inc["population_included"] / inc["epci_population"].where(
        inc["epci_population"] > 0
    )
    inc["cut"] = inc["n_units_included"] < inc["epci_n_units"]
    inc["perimeter_id"] = m.perimeters["perimeter_id"].to_numpy()[inc["perimeter"].to_numpy()]
    return inc[
        [
            "perimeter_id",
            "epci_code",
            "epci_name",
            "epci_population",
            "population_included",
            "share_included",
            "epci_n_units",
            "n_units_included",
            "cut",
        ]
    ].reset_index(drop=True)


def _parts_table(m: Membership) -> pd.DataFrame:
    labels = component_labels(m.index, m.member_perimeter, m.member_unit)
    frame = pd.DataFrame(
        {
            "perimeter": m.member_perimeter,
            "label": labels,
            "code": m.index.codes[m.member_unit],
            "population": m.index.population[m.member_unit],
        }
    )
    parts = (
        frame.groupby(["perimeter", "label"], sort=False)
        .agg(
            n_units=("code", "size"),
            population=("population", "sum"),
            codes=("code", lambda s: tuple(sorted(s))),
        )
        .reset_index()
    )
    parts["first_code"] = [codes[0] for codes in parts["codes"].tolist()]
    parts = parts.sort_values(
        ["perimeter", "population", "first_code"], ascending=[True, False, True], kind="stable"
    )
    parts["part"] = parts.groupby("perimeter").cumcount() + 1
    parts["perimeter_id"] = m.perimeters["perimeter_id"].to_numpy()[parts["perimeter"].to_numpy()]
    isolated = np.diff(m.index.adjacency.indptr) == 0
    island_codes = set(m.index.codes[isolated])
    parts["is_island"] = [
        len(codes) == 1 and codes[0] in island_codes for codes in parts["codes"].tolist()
    ]
    return parts[
        ["perimeter_id", "part", "n_units", "population", "codes", "is_island"]
    ].reset_index(drop=True)


def diagnose_perimeters(
    m: Membership,
    ref: Referential,
    *,
    view: Referential | None = None,
    geometry: bool = True,
    funding_options: Mapping[str, Any] | None = None,
    rules: SizeRules | None = None,
) -> PerimeterDiagnosis:
    """Diagnose every perimeter of a membership, whole.

    Parameters
    ----------
    m
        Perimeters and their units (see :func:`diagnosis.analysis.membership.membership`),
        built on ``ref``.
    ref
        The referential the membership was built on: the whole one (see
        :func:`diagnosis.core.referential.whole_referential`), so that sizes,
        funding, contiguity and EPCIs are those of whole perimeters.
    view
        The view shown (a region, a department: a view of ``ref``). Only the
        perimeters with at least one unit in it are diagnosed; their
        inhabitants in it are ``population_in_scope`` and the other
        departments they reach ``outside_departments``. Default: ``ref``.
    geometry
        Dissolve perimeters and look for enclaves (needs the geometries).
    funding_options
        Options of :func:`diagnosis.core.aci.simulate_funding` for the funding column.
    rules
        Size rules (default: ``data/rules/aci.toml``).

    Returns
    -------
    PerimeterDiagnosis
        Summary and evidence tables.

    Notes
    -----
    ``population`` counts the declared part of a shared commune (a share of the
    file or set by a user), the whole commune otherwise, as the ACI does with
    a perimeter's declared communes; ``population_without_shared`` counts only
    the communes no other perimeter claims, and ``size_class_without_shared``
    is the class without the shared communes counted whole: when it differs
    from ``size_class``, the class is a range.
    """
    rules = rules or size_rules()
    if view is not None:
        m = m.in_view(view)
    figures = _population_figures(m, ref, view if view is not None else ref)
    main_regions = _main_regions(m, ref.units)
    sizes = size_class_table(figures["population"], rules=rules, regions=main_regions)
    low = size_class_table(figures["population_low"], rules=rules, regions=main_regions)
    epcis = _epci_table(m, ref)
    parts = _parts_table(m)
    dissolved = None
    enclave_table = pd.DataFrame(columns=["perimeter_id", "code", "name", "population"])
    if geometry:
        dissolved = dissolve_perimeters(m, ref)
        enclave_table = enclaves(m, ref, dissolved)
    label = population_label(
        ref.manifest, ref.units.iloc[np.unique(m.member_unit)] if len(m.member_unit) else ref.units
    )
    summary = _summary(
        m,
        figures,
        counts={
            "n_epci": epcis.groupby("perimeter_id")["epci_code"].size(),
            "n_epci_cut": epcis.groupby("perimeter_id")["cut"].sum(),
            "n_parts": parts.groupby("perimeter_id")["part"].max(),
            "n_enclaves": enclave_table.groupby("perimeter_id").size(),
        },
        label=label,
    )
    summary = pd.concat([summary, sizes], axis=1)
    summary["size_class_without_shared"] = low["size_class"].to_numpy()
    options = dict(funding_options or {})
    funding = {c: funding_total(c, **options) for c in (1, 2, 3, 4)}
    summary["funding_max_eur"] = summary["size_class"].map(funding)
    return PerimeterDiagnosis(
        summary=summary[SUMMARY_COLUMNS],
        epcis=epcis,
        parts=parts,
        enclaves=enclave_table,
        geometries=dissolved,
        shared=_shared_table(m, ref),
        notes={
            "size_classes": rules.source,
            "minimum_population": minimum_citation(main_regions, ref, rules=rules),
            "population": label,
        },
    )


def _population_figures(m: Membership, ref: Referential, view: Referential) -> pd.DataFrame:
    """Per perimeter: inhabitants (whole, in the view, without shared), area, zones, shared units.

    Inhabitants count each claim's part (:attr:`Membership.member_part`).
    """
    n = m.n_perimeters
    part = m.member_part.astype(np.float64)
    whole_shared = m.shared & ~m.declared
    in_view = m.index.mask(view)

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(m.member_perimeter, weights=weights, minlength=n)

    population = total(part)
    units = ref.units
    view_departments = set(view.units["department"].astype(str))
    departments = _joined(m, units["department"].astype(str).to_numpy())
    return pd.DataFrame(
        {
            "population": population.astype(np.int64),
            "population_in_scope": total(part * in_view[m.member_unit]).astype(np.int64),
            "population_without_shared": total(part * ~m.shared).astype(np.int64),
            "population_low": (population - total(part * whole_shared)).astype(np.int64),
            "n_units": np.bincount(m.member_perimeter, minlength=n),
            "area_km2": total(np.nan_to_num(m.index.area_km2[m.member_unit])),
            "departments": [",".join(d) for d in departments],
            "regions": [",".join(r) for r in _joined(m, units["region"].astype(str).to_numpy())],
            "shared_units": _joined(m, m.index.codes, rows=m.shared),
            "outside_departments": [
                tuple(d for d in deps if d not in view_departments) for deps in departments
            ],
        }
    )


def _joined(
    m: Membership, values: np.ndarray, *, rows: np.ndarray | None = None
) -> list[tuple[str, ...]]:
    """The distinct values (sorted) of each perimeter's units, optionally of some rows only."""
    keep = np.ones(len(m.member_unit), dtype=bool) if rows is None else rows
    frame = pd.DataFrame(
        {"p": m.member_perimeter[keep], "v": values[m.member_unit[keep]].astype(str)}
    ).drop_duplicates()
    frame = frame.sort_values(["p", "v"], kind="stable")
    grouped: list[list[str]] = [[] for _ in range(m.n_perimeters)]
    for perimeter, value in zip(frame["p"].tolist(), frame["v"].tolist(), strict=True):
        grouped[perimeter].append(value)
    return [tuple(values) for values in grouped]


def _summary(
    m: Membership, figures: pd.DataFrame, *, counts: Mapping[str, pd.Series], label: str
) -> pd.DataFrame:
    """The summary's identity, inhabitants, area and evidence counts (sizes come after)."""
    ids = m.perimeters["perimeter_id"]
    population = figures["population"].to_numpy()
    area = figures["area_km2"].to_numpy()
    summary = pd.DataFrame(
        {
            "perimeter_id": ids.to_numpy(),
            "name": m.perimeters["name"].to_numpy(),
            "status": m.perimeters["status"].to_numpy(),
            "population": population,
            "population_label": label,
            "density_per_km2": np.divide(
                population, area, out=np.full(len(ids), np.nan), where=area > 0
            ),
        }
    )
    for column in (
        "n_units",
        "area_km2",
        "departments",
        "regions",
        "population_in_scope",
        "population_without_shared",
        "shared_units",
        "outside_departments",
    ):
        summary[column] = figures[column].to_numpy()
    for column, series in counts.items():
        summary[column] = ids.map(series).fillna(0).astype(np.int64).to_numpy()
    return summary


def _shared_table(m: Membership, ref: Referential) -> pd.DataFrame:
    """One row per (perimeter, shared commune): what it counts, and who else claims it."""
    rows = np.flatnonzero(m.shared)
    if not len(rows):
        return pd.DataFrame(columns=SHARED_COLUMNS)
    codes = m.index.codes[m.member_unit[rows]]
    ids = m.perimeters["perimeter_id"].to_numpy()[m.member_perimeter[rows]]
    by_code: dict[str, list[tuple[str, str]]] = {}
    claims = m.shared_claims
    for code, pid, name in zip(
        claims["code"].tolist(),
        claims["perimeter_id"].tolist(),
        claims["name"].tolist(),
        strict=True,
    ):
        by_code.setdefault(code, []).append((pid, name))
    others = [
        [(p, n) for p, n in by_code.get(code, []) if p != pid]
        for code, pid in zip(codes, ids, strict=True)
    ]
    table = pd.DataFrame(
        {
            "perimeter_id": ids,
            "code": codes,
            "name": ref.units["name"].reindex(codes).to_numpy(),
            "population": m.index.population[m.member_unit[rows]],
            "population_counted": m.member_part[rows],
            "declared": m.declared[rows],
            "n_perimeters": [len(o) + 1 for o in others],
            "with_ids": [tuple(p for p, _ in o) for o in others],
            "with_names": [" | ".join(str(n) for _, n in o) for o in others],
        }
    )
    return table.sort_values(["perimeter_id", "code"], kind="stable").reset_index(drop=True)


def minimum_citation(
    regions: Sequence[str | None], ref: Referential, *, rules: SizeRules | None = None
) -> str:
    """Citation of the floor that applies to perimeters whose main regions are given.

    One citation when every region has the same source (the usual case: one
    region, or regions without a doctrine of their own); otherwise each
    region's own doctrine, then the national wording for the others.

    Notes
    -----
    A perimeter of Pays de la Loire cites its regional doctrine; one of
    Provence-Alpes-Côte d'Azur the national wording (issue 10 item 10).
    """
    rules = rules or size_rules()
    present = sorted({r for r in regions if r is not None and r != "nan"})
    if not present:
        return rules.minimum_source
    citations = {r: rules.minimum_citation(r) for r in present}
    if len(set(citations.values())) == 1:
        return next(iter(citations.values()))
    names = dict(zip(ref.regions["region"], ref.regions["region_name"], strict=True))
    own = [r for r in present if citations[r] != rules.minimum_source]
    parts = [f"{names.get(r, r)} : {citations[r]}" for r in own]
    if len(own) < len(present):
        parts.append(f"autres régions : {rules.minimum_source}")
    return " ; ".join(parts)


def _main_regions(m: Membership, units: pd.DataFrame) -> list[str | None]:
    """Main region (most inhabitants) of each perimeter, for regional minimum rules."""
    main = main_zones(
        m.member_perimeter,
        units["region"].astype(str).to_numpy()[m.member_unit],
        m.index.population[m.member_unit],
    )
    return [main.get(i) for i in range(m.n_perimeters)]


def territory_summary(
    codes: list[str] | pd.Index,
    ref: Referential,
    *,
    name: str = "Mon territoire",
    geometry: bool = True,
    funding_options: Mapping[str, Any] | None = None,
    rules: SizeRules | None = None,
) -> PerimeterDiagnosis:
    """Diagnosis of one territory given as unit codes (the app's "Mon territoire").

    Its floor and the citation in ``notes["minimum_population"]`` are those of
    the territory's main region (the one with most of its inhabitants).
    """
    imported = perimeters_from_members({"territoire": list(codes)}, names={"territoire": name})
    return diagnose_perimeters(
        membership(imported, ref),
        ref,
        geometry=geometry,
        funding_options=funding_options,
        rules=rules,
    )
