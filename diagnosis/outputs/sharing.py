"""French wording of whole perimeters and shared communes, for people (issue 17 §1 and §2).

A perimeter is shown whole in every view: its inhabitants in the view apart,
the departments it overflows to named ("déborde sur …"); a commune claimed by
several perimeters without declared shares is counted whole for each, which
these sentences say, with the size class as a range ("Taille 3 à 4").
Column headers stay in :data:`diagnosis.outputs.labels.COLUMN_LABELS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from diagnosis.core.numbers import fr_count, fr_number

__all__ = [
    "outside_label",
    "perimeter_remarks",
    "shared_sentences",
    "size_range_label",
    "size_range_reason",
]


def outside_label(codes: Sequence[str], names: Mapping[str, str]) -> str:
    """The "déborde sur …" marker of a perimeter reaching other departments ("" when none).

    >>> outside_label(("13",), {"13": "Bouches-du-Rhône"})
    'déborde sur Bouches-du-Rhône (13)'
    """
    if not codes:
        return ""
    return "déborde sur " + ", ".join(f"{names.get(c, c)} ({c})" for c in codes)


def size_range_label(size_class: int, size_class_without_shared: int) -> str:
    """The size class, or the range it spans with and without its shared communes.

    >>> size_range_label(4, 1), size_range_label(2, 2)
    ('Taille 1 à 4', 'Taille 2')
    """
    low, high = sorted((int(size_class), int(size_class_without_shared)))
    return f"Taille {low}" if low == high else f"Taille {low} à {high}"


def size_range_reason(population: int, population_low: int, shared: pd.DataFrame) -> str:
    """Why a perimeter's size class is a range: its shared communes counted whole.

    ``shared`` holds the perimeter's rows of
    :attr:`diagnosis.analysis.checks.PerimeterDiagnosis.shared`; only the
    communes counted whole (no declared share) make the range.
    """
    whole = shared[~shared["declared"].astype(bool)]
    if whole.empty or population == population_low:
        return ""
    communes = ", ".join(f"{r.name} ({r.code})" for r in whole.itertuples())
    return (
        f"{fr_count(population, 'habitant', 'habitants')} en comptant entière"
        f"{'s' if len(whole) > 1 else ''} {communes}, revendiquée"
        f"{'s' if len(whole) > 1 else ''} aussi par d'autres CPTS ; "
        f"{fr_count(population_low, 'habitant', 'habitants')} sans "
        f"{'elles' if len(whole) > 1 else 'elle'} (parts non déclarées)."
    )


def shared_sentences(shared: pd.DataFrame) -> list[str]:
    """One French sentence per shared commune of a perimeter: with whom, and how it is counted.

    ``shared`` holds the perimeter's rows of
    :attr:`diagnosis.analysis.checks.PerimeterDiagnosis.shared`.
    """
    sentences = []
    for r in shared.itertuples():
        others = str(r.with_names).replace(" | ", ", ")
        part = fr_count(r.population_counted, "habitant", "habitants")
        counted = (
            f"comptée pour sa part déclarée, {part} sur {fr_number(r.population)}"
            if bool(r.declared)
            else f"comptée entière ({fr_count(r.population, 'habitant', 'habitants')}) pour "
            "chaque CPTS, faute de parts déclarées"
        )
        sentences.append(f"{r.name} ({r.code}) partagée avec {others} : {counted}.")
    return sentences


def perimeter_remarks(
    row: pd.Series, shared: pd.DataFrame, *, names: Mapping[str, str], view: str
) -> list[str]:
    """French remarks on a perimeter seen in a view: what lies outside it, what is shared.

    ``row`` is the perimeter's row of the diagnosis summary, ``shared`` its rows
    of :attr:`diagnosis.analysis.checks.PerimeterDiagnosis.shared`, ``names``
    department code → name, ``view`` the view's French name.
    """
    remarks = []
    population = int(row["population"])
    outside: tuple[str, ...] = tuple(row["outside_departments"] or ())
    if outside:
        remarks.append(
            f"Périmètre entier : {fr_count(population, 'habitant', 'habitants')}, "
            f"dont {fr_number(row['population_in_scope'])} dans la vue ({view}) ; il "
            f"{outside_label(outside, names)}."
        )
    counted_whole = shared.loc[~shared["declared"].astype(bool), "population_counted"]
    reason = size_range_reason(population, population - int(counted_whole.sum()), shared)
    if reason and row["size_class"] != row["size_class_without_shared"]:
        label = size_range_label(int(row["size_class"]), int(row["size_class_without_shared"]))
        remarks.append(f"{label} : {reason}")
    remarks += [f"Commune partagée : {s}" for s in shared_sentences(shared)]
    return remarks
