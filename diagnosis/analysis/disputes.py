"""Disputes between two perimeters: what is at stake and what each split gives.

For two perimeters A and B claiming the same units, :func:`compare_perimeters`
lists the contested units and evaluates four split options:

- ``tout_a``: every contested unit to A;
- ``tout_b``: every contested unit to B;
- ``mairie_la_plus_proche``: each unit to the project whose main town hall
  (town hall of its most populous uncontested unit) is the nearest, crow-fly;
- ``epci_entiers``: each EPCI's contested units together, to the project
  that already holds more of that EPCI's population (ties: nearest town hall);
- ``partage_population`` (when ``shared`` is given): the communes the
  committee declares shared (a city too big to give wholly to one side) stay
  in both projects and their population is split by the share it sets; the
  other contested communes go to the nearest main town hall.

Each option is evaluated for population, size class, the minimum-population
floor, contiguity (number of parts) and maximum ACI funding of both sides. A
side left with no inhabitant has no size class and no funding.

The declared situation (``en_l_etat``) counts every contested commune in full
on both sides, as the two files do: the option says so in its label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from diagnosis.analysis.checks import size_class_table
from diagnosis.analysis.geometry import component_labels
from diagnosis.analysis.membership import Membership
from diagnosis.core.aci import SizeRules, funding_total, size_rules
from diagnosis.core.referential import Referential, main_zone
from diagnosis.errors import DataError

__all__ = ["Dispute", "compare_perimeters"]

OPTION_LABELS = {
    "en_l_etat": "Situation déclarée (communes disputées comptées en entier des deux côtés)",
    "tout_a": "Toutes les communes disputées à A",
    "tout_b": "Toutes les communes disputées à B",
    "mairie_la_plus_proche": (
        "Chaque commune au projet dont la mairie principale est la plus proche"
    ),
    "epci_entiers": "EPCI entiers (au projet qui en détient déjà le plus d'habitants)",
    "partage_population": (
        "Communes partagées : population répartie selon la part fixée, "
        "autres communes à la mairie principale la plus proche"
    ),
}

_GEOD = pyproj.Geod(ellps="GRS80")


@dataclass
class Dispute:
    """Evidence for a committee: contested units and the split options."""

    contested: pd.DataFrame  # code, name, population, epci, distances, assignment per option
    options: (
        pd.DataFrame
    )  # option, side, perimeter_id, population, size class, floor, parts, funding
    summary: dict[str, Any]


def _positions(m: Membership, perimeter_id: str) -> np.ndarray:
    ids = m.perimeters["perimeter_id"].to_numpy()
    matches = np.flatnonzero(ids == perimeter_id)
    if len(matches) == 0:
        raise ValueError(
            f"Périmètre inconnu : {perimeter_id!r}. Périmètres : "
            + ", ".join(map(str, ids[:20]))
            + ("…" if len(ids) > 20 else "")
        )
    return m.units_of(int(matches[0]))


def _main_townhall(
    ref: Referential, positions: np.ndarray, index_pop: np.ndarray
) -> tuple[float, float]:
    units = ref.units
    best = positions[np.argmax(index_pop[positions])]
    return float(units["townhall_lon"].to_numpy()[best]), float(
        units["townhall_lat"].to_numpy()[best]
    )


def _distance_km(lon: np.ndarray, lat: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    _, _, dist = _GEOD.inv(lon, lat, np.full(len(lon), point[0]), np.full(len(lat), point[1]))
    return np.asarray(dist) / 1000.0


def compare_perimeters(
    m: Membership,
    ref: Referential,
    perimeter_a: str,
    perimeter_b: str,
    *,
    funding_options: Mapping[str, Any] | None = None,
    shared: Mapping[str, float] | None = None,
) -> Dispute:
    """Compare two perimeters and evaluate the ways to split their contested units.

    Parameters
    ----------
    m
        Membership of the perimeters (any status threshold).
    ref
        Referential.
    perimeter_a, perimeter_b
        Identifiers of the two perimeters.
    funding_options
        Options of :func:`diagnosis.core.aci.simulate_funding`.
    shared
        Contested commune code → share of its population counted for A
        (between 0 and 1; B gets the rest). Adds the ``partage_population``
        option. Codes that are not contested are ignored.

    Returns
    -------
    Dispute
        ``contested`` (one row per contested unit, with its distance to each
        main town hall and where each option puts it), ``options`` (two rows
        per option, one per side) and a ``summary``.
    """
    if perimeter_a == perimeter_b:
        raise DataError("Choisissez deux périmètres différents.")
    index = m.index
    a_units = _positions(m, perimeter_a)
    b_units = _positions(m, perimeter_b)
    names = dict(zip(m.perimeters["perimeter_id"], m.perimeters["name"], strict=True))
    for perimeter, units in ((perimeter_a, a_units), (perimeter_b, b_units)):
        if len(units) == 0:
            raise DataError(
                f"Le périmètre « {names[perimeter]} » n'a aucune commune dans le périmètre "
                "d'étude : rien à comparer. Choisissez un périmètre qui en a, ou élargissez "
                "le périmètre d'étude."
            )
    contested = np.intersect1d(a_units, b_units)
    only_a = np.setdiff1d(a_units, contested)
    only_b = np.setdiff1d(b_units, contested)
    pop = index.population
    units = ref.units
    town_a = _main_townhall(ref, only_a if len(only_a) else a_units, pop)
    town_b = _main_townhall(ref, only_b if len(only_b) else b_units, pop)
    lon = units["townhall_lon"].to_numpy()[contested]
    lat = units["townhall_lat"].to_numpy()[contested]
    dist_a = _distance_km(lon, lat, town_a) if len(contested) else np.zeros(0)
    dist_b = _distance_km(lon, lat, town_b) if len(contested) else np.zeros(0)
    nearest_to_a = dist_a <= dist_b

    epci = units["epci_code"].to_numpy(dtype=object)
    epci_of_contested = epci[contested]
    epci_choice = _whole_epci_choice(epci, contested, only_a, only_b, pop, nearest_to_a)

    assignments = {
        "tout_a": np.ones(len(contested), dtype=bool),
        "tout_b": np.zeros(len(contested), dtype=bool),
        "mairie_la_plus_proche": nearest_to_a,
        "epci_entiers": epci_choice,
    }
    rules = size_rules()
    options_rows = []

    def evaluate(
        option: str,
        side: str,
        positions: np.ndarray,
        n_contested: int,
        population_weights: np.ndarray | None = None,
    ) -> None:
        perimeter_id = perimeter_a if side == "A" else perimeter_b
        row = _side_row(
            m,
            ref,
            positions,
            rules=rules,
            funding_options=funding_options,
            population_weights=population_weights,
        )
        options_rows.append(
            {
                "option": option,
                "option_label": OPTION_LABELS[option],
                "side": side,
                "perimeter_id": perimeter_id,
                "name": names[perimeter_id],
                "n_units": len(positions),
                "n_contested_received": n_contested,
                **row,
            }
        )

    evaluate("en_l_etat", "A", a_units, len(contested))
    evaluate("en_l_etat", "B", b_units, len(contested))
    for option, to_a in assignments.items():
        side_a = np.concatenate([only_a, contested[to_a]])
        side_b = np.concatenate([only_b, contested[~to_a]])
        evaluate(option, "A", np.sort(side_a), int(to_a.sum()))
        evaluate(option, "B", np.sort(side_b), int((~to_a).sum()))
    share_a = _whole_inhabitants(_shares(index.codes[contested], shared), pop[contested])
    if np.isfinite(share_a).any():
        assignments["partage_population"] = _shared_option(
            evaluate, share_a, contested, only_a, only_b, nearest_to_a
        )
    contested_table = pd.DataFrame(
        {
            "code": index.codes[contested],
            "name": units["name"].to_numpy()[contested],
            "population": pop[contested],
            "epci_code": epci_of_contested,
            "epci_name": units["epci_name"].to_numpy()[contested],
            "distance_a_km": dist_a,
            "distance_b_km": dist_b,
            **{f"option_{k}": np.where(v, "A", "B") for k, v in assignments.items()},
        }
    )
    if "partage_population" in assignments:
        contested_table["option_partage_population"] = np.where(
            np.isfinite(share_a),
            [f"partagée ({round(100 * s)} % A)" if np.isfinite(s) else "" for s in share_a],
            contested_table["option_partage_population"],
        )
        contested_table["share_a"] = share_a
    summary = {
        "perimeter_a": perimeter_a,
        "perimeter_b": perimeter_b,
        "name_a": names[perimeter_a],
        "name_b": names[perimeter_b],
        "n_contested": len(contested),
        "population_contested": int(pop[contested].sum()),
        "population_a_without": int(pop[only_a].sum()),
        "population_b_without": int(pop[only_b].sum()),
        "main_townhall_a": town_a,
        "main_townhall_b": town_b,
        "distance_note": (
            "distances à vol d'oiseau entre mairies (approximation, pas de temps de trajet)"
        ),
    }
    return Dispute(contested=contested_table, options=pd.DataFrame(options_rows), summary=summary)


def _shared_option(  # noqa: PLR0917 - private step of compare_perimeters
    evaluate: Any,
    share_a: np.ndarray,
    contested: np.ndarray,
    only_a: np.ndarray,
    only_b: np.ndarray,
    nearest_to_a: np.ndarray,
) -> np.ndarray:
    """Option "shared population": shared communes in both sides, weighted by their share.

    The other contested communes go to the nearest main town hall. Returns the
    side of each contested commune (shared ones counted on A's side).
    """
    split = np.isfinite(share_a)
    to_a = ~split & nearest_to_a
    to_b = ~split & ~nearest_to_a
    for side, own, to_side, weights in (
        ("A", only_a, to_a, share_a[split]),
        ("B", only_b, to_b, 1 - share_a[split]),
    ):
        positions = np.concatenate([own, contested[to_side], contested[split]])
        weight = np.concatenate([np.ones(len(own) + int(to_side.sum())), weights])
        order = np.argsort(positions)
        evaluate(
            "partage_population",
            side,
            positions[order],
            int(to_side.sum() + split.sum()),
            weight[order],
        )
    return np.where(split, True, nearest_to_a)


def _whole_inhabitants(share_a: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Shares rounded so that A's part of each shared commune is a whole number of inhabitants.

    B gets the rest, so that the two parts add up to the commune's population
    (rounding each side on its own could count one inhabitant twice).
    """
    population = population.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = np.round(population * share_a) / population
    return np.where(np.isfinite(share_a) & (population > 0), whole, share_a)


def _shares(codes: np.ndarray, shared: Mapping[str, float] | None) -> np.ndarray:
    """Share of population counted for A of each contested code (NaN: not shared)."""
    out = np.full(len(codes), np.nan)
    if not shared:
        return out
    for i, code in enumerate(codes.tolist()):
        if code in shared:
            share = float(shared[code])
            if not 0.0 <= share <= 1.0:
                raise ValueError(
                    f"Part de la commune {code} attribuée à A : {share} ; attendu un nombre "
                    "entre 0 et 1."
                )
            out[i] = share
    return out


def _whole_epci_choice(  # noqa: PLR0917 - private step of compare_perimeters
    epci: np.ndarray,
    contested: np.ndarray,
    only_a: np.ndarray,
    only_b: np.ndarray,
    pop: np.ndarray,
    nearest_to_a: np.ndarray,
) -> np.ndarray:
    """Option "whole EPCI": each EPCI's contested units go to the side holding more of it."""
    epci_of_contested = epci[contested]
    epci_choice = np.empty(len(contested), dtype=bool)
    for code in pd.unique(epci_of_contested):
        sel = epci_of_contested == code if code is not None else pd.isna(epci_of_contested)
        if code is None or (isinstance(code, float) and np.isnan(code)):
            epci_choice[sel] = nearest_to_a[sel]
            continue
        held_a = pop[only_a][epci[only_a] == code].sum()
        held_b = pop[only_b][epci[only_b] == code].sum()
        if held_a != held_b:
            epci_choice[sel] = held_a > held_b
        else:
            # Tie: the side nearer to the group's most populous contested unit.
            lead = np.argmax(np.where(sel, pop[contested], -1))
            epci_choice[sel] = nearest_to_a[lead]
    return epci_choice


def _side_row(
    m: Membership,
    ref: Referential,
    positions: np.ndarray,
    *,
    rules: SizeRules,
    funding_options: Mapping[str, Any] | None,
    population_weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """Population, size class, margins, parts and funding of one side of an option.

    ``population_weights`` counts a share of some units (a shared city); a side
    with no inhabitant is no CPTS: it gets no size class and no funding.
    """
    weights = np.ones(len(positions)) if population_weights is None else population_weights
    population = round(float((m.index.population[positions] * weights).sum()))
    size = size_class_table([population], rules=rules, regions=_main_region(ref, positions)).iloc[0]
    labels = component_labels(m.index, np.zeros(len(positions), dtype=np.int64), positions)
    empty = population == 0
    return {
        "population": population,
        "size_class": pd.NA if empty else int(size["size_class"]),
        "margin_below": np.nan if empty else size["margin_below"],
        "margin_above": np.nan if empty else size["margin_above"],
        "minimum_population": size["minimum_population"],
        "below_minimum": bool(size["below_minimum"]),
        "n_parts": len(np.unique(labels)) if len(labels) else 0,
        "funding_max_eur": 0.0
        if empty
        else funding_total(int(size["size_class"]), **dict(funding_options or {})),
    }


def _main_region(ref: Referential, positions: np.ndarray) -> list[str | None]:
    return [main_zone(ref.units, ref.units.index[positions], level="region")]
