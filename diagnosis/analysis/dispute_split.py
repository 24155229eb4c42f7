"""First step of a dispute: who claims what (the parties and the contested communes).

:func:`split_parties` reads the claims of two or more perimeters from a
:class:`~diagnosis.analysis.membership.Membership` and returns a
:class:`PartySplit`: each party's communes, the communes claimed by two or
more of them (contested), those each party alone claims, and the crow-fly
distance of every contested commune to each party's main town hall.
:func:`dispute_groups` lists the groups of perimeters that claim the same
communes, for a committee to pick from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from string import ascii_uppercase

import numpy as np
import pandas as pd
import pyproj

from diagnosis.analysis.membership import Membership
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError

__all__ = ["GROUP_COLUMNS", "PartySplit", "dispute_groups", "party_labels", "split_parties"]

_GEOD = pyproj.Geod(ellps="GRS80")

#: Columns of :func:`dispute_groups`.
GROUP_COLUMNS = [
    "perimeter_ids",
    "names",
    "n_parties",
    "n_units_contested",
    "population_contested",
    "codes",
]


def party_labels(n: int) -> tuple[str, ...]:
    """Letters naming the parties of a dispute: A, B, C… then AA, AB and so on.

    >>> party_labels(3)
    ('A', 'B', 'C')
    """
    letters = list(ascii_uppercase)
    labels = letters + [a + b for a in letters for b in letters]
    if n > len(labels):
        raise DataError(f"Au plus {len(labels)} projets peuvent être comparés (reçu {n}).")
    return tuple(labels[:n])


@dataclass(frozen=True)
class PartySplit:
    """The parties of a dispute and the communes they claim (positions in the unit index).

    Attributes
    ----------
    perimeter_ids, names, labels
        Each party's identifier, name and letter (A, B, C…), in the order given.
    units
        Positions of the communes each party claims (sorted).
    contested
        Positions of the communes claimed by two parties or more (sorted).
    claims
        Boolean (contested commune × party): the party claims the commune.
    own
        Positions of the communes each party alone claims.
    population
        Inhabitants of every unit of the index.
    distance_km
        Crow-fly distance (contested commune × party) from the commune's town
        hall to the party's main town hall (that of its most populous commune
        that no other party claims, or of its most populous commune).
    townhalls
        (longitude, latitude) of each party's main town hall.
    epci
        EPCI code of every unit of the index (None when in no EPCI).
    """

    perimeter_ids: tuple[str, ...]
    names: tuple[str, ...]
    labels: tuple[str, ...]
    units: tuple[np.ndarray, ...]
    contested: np.ndarray
    claims: np.ndarray
    own: tuple[np.ndarray, ...]
    population: np.ndarray
    distance_km: np.ndarray
    townhalls: tuple[tuple[float, float], ...]
    epci: np.ndarray

    @property
    def n_parties(self) -> int:
        """Number of parties."""
        return len(self.perimeter_ids)

    def nearest(self) -> np.ndarray:
        """For each contested commune, the claiming party whose main town hall is nearest.

        Ties go to the first party in order.
        """
        distance = np.where(self.claims, self.distance_km, np.inf)
        return np.argmin(distance, axis=1) if len(distance) else np.zeros(0, dtype=np.int64)


def _party_numbers(m: Membership, perimeter_ids: Sequence[str]) -> list[int]:
    ids = m.perimeters["perimeter_id"].astype(str).to_numpy()
    names = dict(zip(ids, m.perimeters["name"], strict=True))
    if len(perimeter_ids) < 2:
        raise DataError("Choisissez au moins deux périmètres à comparer.")
    numbers = []
    for perimeter_id in perimeter_ids:
        matches = np.flatnonzero(ids == str(perimeter_id))
        if len(matches) == 0:
            raise DataError(
                f"Périmètre inconnu : {perimeter_id!r}. Périmètres : "
                + ", ".join(map(str, ids[:20]))
                + ("…" if len(ids) > 20 else "")
            )
        if int(matches[0]) in numbers:
            raise DataError(
                "Choisissez deux périmètres différents au moins : "
                f"« {names[str(perimeter_id)]} » est choisi deux fois."
            )
        numbers.append(int(matches[0]))
    return numbers


def _distance_km(lon: np.ndarray, lat: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    if len(lon) == 0:
        return np.zeros(0)
    _, _, dist = _GEOD.inv(lon, lat, np.full(len(lon), point[0]), np.full(len(lat), point[1]))
    return np.asarray(dist) / 1000.0


def split_parties(m: Membership, ref: Referential, perimeter_ids: Sequence[str]) -> PartySplit:
    """The parties of a dispute, their communes and the contested ones.

    Parameters
    ----------
    m
        Membership of the perimeters (any status threshold).
    ref
        Referential of the membership's units.
    perimeter_ids
        Two perimeters or more, in the order of their letters (A, B, C…).

    Raises
    ------
    DataError
        Fewer than two perimeters, an unknown or repeated one, or one with no
        commune in the referential's scope.
    """
    numbers = _party_numbers(m, perimeter_ids)
    table = m.perimeters
    ids = tuple(str(table["perimeter_id"].iloc[k]) for k in numbers)
    names = tuple(str(table["name"].iloc[k]) for k in numbers)
    units = tuple(np.unique(m.units_of(k)) for k in numbers)
    for name, positions in zip(names, units, strict=True):
        if len(positions) == 0:
            raise DataError(
                f"Le périmètre « {name} » n'a aucune commune dans le périmètre "
                "d'étude : rien à comparer. Choisissez un périmètre qui en a, ou élargissez "
                "le périmètre d'étude."
            )
    counts = np.bincount(np.concatenate(units), minlength=len(m.index.codes))
    contested = np.flatnonzero(counts >= 2)
    claims = np.column_stack([np.isin(contested, u) for u in units]).reshape(
        len(contested), len(units)
    )
    own = tuple(np.setdiff1d(u, contested) for u in units)
    population = m.index.population
    lon_all = ref.units["townhall_lon"].to_numpy(dtype=np.float64)
    lat_all = ref.units["townhall_lat"].to_numpy(dtype=np.float64)
    townhalls = []
    for mine, every in zip(own, units, strict=True):
        pool = mine if len(mine) else every
        best = pool[np.argmax(population[pool])]
        townhalls.append((float(lon_all[best]), float(lat_all[best])))
    distance = np.column_stack(
        [_distance_km(lon_all[contested], lat_all[contested], t) for t in townhalls]
    ).reshape(len(contested), len(townhalls))
    return PartySplit(
        perimeter_ids=ids,
        names=names,
        labels=party_labels(len(ids)),
        units=units,
        contested=contested,
        claims=claims,
        own=own,
        population=population,
        distance_km=distance,
        townhalls=tuple(townhalls),
        epci=ref.units["epci_code"].to_numpy(dtype=object),
    )


def dispute_groups(m: Membership) -> pd.DataFrame:
    """Groups of perimeters claiming the same communes, most inhabitants at stake first.

    A group is the set of perimeters claiming one commune (declared
    infra-communal splits apart); a group contained in a larger one (two of
    the three CPTS claiming a city, say) is not listed apart: its communes are
    contested in the larger group too. A group's contested communes are those
    claimed by two of its perimeters or more.

    Returns
    -------
    pandas.DataFrame
        perimeter_ids and names (tuples, in the perimeter table's order),
        n_parties, n_units_contested, population_contested, codes (tuple);
        sorted by population at stake, then by number of parties (larger
        first), then by names. Empty with these columns when no commune is
        claimed twice.
    """
    keep = ~m.split
    claims = pd.DataFrame({"unit": m.member_unit[keep], "perimeter": m.member_perimeter[keep]})
    by_unit: dict[int, set[int]] = {}
    for unit, perimeter in zip(claims["unit"].tolist(), claims["perimeter"].tolist(), strict=True):
        by_unit.setdefault(int(unit), set()).add(int(perimeter))
    candidates = {frozenset(s) for s in by_unit.values() if len(s) >= 2}
    groups = sorted(
        (sorted(g) for g in candidates if not any(g < other for other in candidates)),
    )
    ids = m.perimeters["perimeter_id"].astype(str).to_numpy()
    names = m.perimeters["name"].astype(str).to_numpy()
    rows = []
    for group in groups:
        members = set(group)
        units = np.array(
            sorted(u for u, s in by_unit.items() if len(members & s) >= 2), dtype=np.int64
        )
        rows.append(
            {
                "perimeter_ids": tuple(ids[list(group)]),
                "names": tuple(names[list(group)]),
                "n_parties": len(group),
                "n_units_contested": len(units),
                "population_contested": int(m.index.population[units].sum()),
                "codes": tuple(sorted(m.index.codes[units])),
            }
        )
    if not rows:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    frame = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    return frame.sort_values(
        ["population_contested", "n_parties", "names"], ascending=[False, False, True]
    ).reset_index(drop=True)
