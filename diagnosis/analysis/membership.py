"""Membership of units in perimeters, as integer arrays for fast diagnosis.

Overlaps, white zones, coverage and contiguity are questions about the
membership table (perimeter, unit), not about geometry: codes are mapped to
positions in the referential once, and counts are made with ``np.bincount``
and sparse graphs. Each claim carries the status rank of its perimeter, so one
membership serves every status threshold (:meth:`Membership.covered_at`,
:meth:`Membership.at_threshold`).

Each claim also carries the inhabitants it counts (:attr:`Membership.member_part`):
a commune claimed by several perimeters with declared shares counts its part
for each, whole inhabitants summing to the commune's population; without
declared shares it counts whole, and :attr:`Membership.shared` says so.

A membership built on a view of a referential (a region, a department: see
:func:`diagnosis.core.referential.referential_view`) holds the perimeters with
at least one unit in the view; their other units are in ``outside``. Their
size is a property of the whole perimeter: build the membership on
:func:`diagnosis.core.referential.whole_referential` and keep the view's
perimeters with :meth:`Membership.in_view`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from diagnosis.analysis.dispute_shares import whole_parts
from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential
from diagnosis.core.statuses import STATUS_KEYS, StatusKey, status_rank

__all__ = [
    "Membership",
    "UnitIndex",
    "membership",
    "perimeter_ranks",
    "unit_index",
]


@dataclass(frozen=True)
class UnitIndex:
    """Units of a referential as arrays, with their adjacency graph."""

    codes: np.ndarray  # unit codes (object array), in the referential's order
    position: pd.Series  # code -> position
    population: np.ndarray  # int64
    area_km2: np.ndarray  # float64 (NaN when no geometry)
    adjacency: sp.csr_matrix  # symmetric, 1 where two units share a border
    border_m: sp.csr_matrix  # shared border length in metres

    def positions(self, codes: pd.Series | list[str] | np.ndarray) -> np.ndarray:
        """Positions of codes (-1 for codes not in the referential)."""
        return self.position.reindex(list(codes)).fillna(-1).to_numpy(dtype=np.int64)

    def mask(self, view: Referential) -> np.ndarray:
        """Whether each unit is in ``view`` (a view of this index's referential)."""
        inside = self.position.reindex(view.units.index).dropna().to_numpy(dtype=np.int64)
        mask = np.zeros(len(self.codes), dtype=bool)
        mask[inside] = True
        return mask


def unit_index(ref: Referential) -> UnitIndex:
    """The :class:`UnitIndex` of a referential (computed once per referential)."""

    def make() -> UnitIndex:
        units = ref.units
        codes = units.index.to_numpy(dtype=object)
        position = pd.Series(np.arange(len(codes)), index=units.index)
        adj = ref.adjacency
        a = position.reindex(adj["code_a"]).to_numpy()
        b = position.reindex(adj["code_b"]).to_numpy()
        keep = ~(np.isnan(a) | np.isnan(b))
        a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
        n = len(codes)
        rows = np.concatenate([a, b])
        cols = np.concatenate([b, a])
        border = np.concatenate([adj["border_m"].to_numpy()[keep]] * 2)
        adjacency = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
        border_m = sp.csr_matrix((border, (rows, cols)), shape=(n, n))
        return UnitIndex(
            codes=codes,
            position=position,
            population=units["population"].to_numpy(dtype=np.int64),
            area_km2=units["area_km2"].to_numpy(dtype=np.float64),
            adjacency=adjacency,
            border_m=border_m,
        )

    index: UnitIndex = ref.cached("unit_index", make)
    return index


def _threshold_rank(status_min: StatusKey) -> int:
    if status_min not in STATUS_KEYS:
        raise ValueError(
            f"Stade inconnu : {status_min!r}. Stades possibles : {', '.join(STATUS_KEYS)}."
        )
    return status_rank(status_min)


def perimeter_ranks(statuses: pd.Series) -> np.ndarray:
    """Status rank (1 to 4) of each perimeter; a perimeter without a known status ranks 1.

    A perimeter without a known status counts as ``emergence`` (the file
    declares it, so it is at least an emerging project).
    """
    return np.array(
        [max(status_rank(s if isinstance(s, str) else None), 1) for s in statuses], dtype=np.int8
    )


def _no_shared_claims() -> pd.DataFrame:
    """An empty table of claims on shared units (code, perimeter_id, name, part)."""
    return pd.DataFrame(
        {
            "code": pd.Series(dtype=object),
            "perimeter_id": pd.Series(dtype=object),
            "name": pd.Series(dtype=object),
            "part": pd.Series(dtype="int64"),
        }
    )


@dataclass(frozen=True)
class Membership:
    """Perimeters and their units as integer arrays.

    ``perimeters`` is the perimeter table restricted to the status threshold
    (index 0..n-1 is the perimeter number used in ``member_perimeter``).
    """

    perimeters: pd.DataFrame  # perimeter_id, name, status (threshold applied)
    member_perimeter: np.ndarray  # perimeter number of each membership row
    member_unit: np.ndarray  # unit position of each membership row
    member_rank: np.ndarray  # int8: status rank (1 to 4) of the perimeter of each row
    split: np.ndarray  # bool: membership under a declared infra-communal split
    #: Evidence, not a warning: members whose unit is not in the referential
    #: (perimeter_id, code): outside a view, context of whole perimeters; outside
    #: the whole referential, unknown codes. Kept aside, not counted here.
    outside: pd.DataFrame
    index: UnitIndex
    status_min: StatusKey
    #: int64: inhabitants each row counts (a declared part, else the unit's population).
    member_part: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: bool: the row's unit is claimed by another perimeter of the import, at any
    #: stage (declared infra-communal splits apart).
    shared: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: bool: the row counts a part from declared shares.
    declared: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: Every claim of the import on a shared unit, at any stage and wherever the
    #: perimeter lies (code, perimeter_id, name, part): who shares what with whom.
    shared_claims: pd.DataFrame = field(default_factory=_no_shared_claims)

    @property
    def n_perimeters(self) -> int:
        """Number of perimeters at the threshold."""
        return len(self.perimeters)

    def claims_per_unit(self, *, count_splits: bool = True) -> np.ndarray:
        """Number of perimeters claiming each unit (optionally not counting declared splits)."""
        units = self.member_unit if count_splits else self.member_unit[~self.split]
        return np.bincount(units, minlength=len(self.index.codes))

    def covered(self) -> np.ndarray:
        """Whether each unit is in at least one perimeter."""
        return self.claims_per_unit() > 0

    def covered_at(self, status_min: StatusKey) -> np.ndarray:
        """Whether each unit is in at least one perimeter reaching ``status_min``.

        ``status_min`` must not be below the membership's own threshold.
        """
        rank = self._rank_at_least_own(status_min)
        units = self.member_unit[self.member_rank >= rank]
        return np.bincount(units, minlength=len(self.index.codes)) > 0

    def at_threshold(self, status_min: StatusKey) -> Membership:
        """The same membership restricted to perimeters reaching ``status_min``.

        Perimeters keep their order and are renumbered from 0; nothing is
        recomputed from the import.
        """
        rank = self._rank_at_least_own(status_min)
        kept = perimeter_ranks(self.perimeters["status"]) >= rank
        return self._subset(kept, status_min=status_min)

    def in_view(self, view: Referential) -> Membership:
        """The perimeters with at least one unit in ``view``, whole (all their units kept).

        ``view`` is a view of this membership's referential (see
        :func:`diagnosis.core.referential.referential_view`); a perimeter with
        no unit in it is not in the view, even with no unit at all.
        """
        mask = self.index.mask(view)
        kept = np.zeros(self.n_perimeters, dtype=bool)
        kept[self.member_perimeter[mask[self.member_unit]]] = True
        return self._subset(kept, status_min=self.status_min)

    def _subset(self, kept: np.ndarray, *, status_min: StatusKey) -> Membership:
        """The perimeters where ``kept`` is True, renumbered from 0 in their order."""
        number = np.cumsum(kept) - 1
        rows = kept[self.member_perimeter]
        ids = self.perimeters["perimeter_id"][kept]
        return Membership(
            perimeters=self.perimeters.loc[kept].reset_index(drop=True),
            member_perimeter=number[self.member_perimeter[rows]].astype(np.int64),
            member_unit=self.member_unit[rows],
            member_rank=self.member_rank[rows],
            split=self.split[rows],
            outside=self.outside[self.outside["perimeter_id"].isin(ids)].reset_index(drop=True),
            index=self.index,
            status_min=status_min,
            member_part=self.member_part[rows],
            shared=self.shared[rows],
            declared=self.declared[rows],
            shared_claims=self.shared_claims,
        )

    def _rank_at_least_own(self, status_min: StatusKey) -> int:
        rank = _threshold_rank(status_min)
        if rank < status_rank(self.status_min):
            raise ValueError(
                f"Stade {status_min!r} inférieur au seuil de cette appartenance "
                f"({self.status_min!r}) : construisez-la avec status_min={status_min!r}."
            )
        return rank

    def claims_of(self, codes: Sequence[str]) -> pd.DataFrame:
        """Perimeters claiming each of ``codes``: one row per (code, perimeter), in code order.

        Columns: code, perimeter_id, name, status. Codes outside the scope or
        claimed by no perimeter have no row.
        """
        wanted = self.index.positions(list(codes))
        order = {int(p): i for i, p in enumerate(wanted) if p >= 0}
        rows = np.flatnonzero(np.isin(self.member_unit, list(order)))
        rows = rows[np.argsort([order[int(u)] for u in self.member_unit[rows]], kind="stable")]
        perimeters = self.perimeters.iloc[self.member_perimeter[rows]]
        return pd.DataFrame(
            {
                "code": self.index.codes[self.member_unit[rows]],
                "perimeter_id": perimeters["perimeter_id"].to_numpy(),
                "name": perimeters["name"].to_numpy(),
                "status": perimeters["status"].to_numpy(),
            }
        ).drop_duplicates(["code", "perimeter_id"], ignore_index=True)

    def units_of(self, perimeter: int) -> np.ndarray:
        """Unit positions of one perimeter."""
        return self.member_unit[self.member_perimeter == perimeter]

    def incidence(self) -> sp.csr_matrix:
        """Perimeter × unit incidence matrix (1 where the unit belongs to the perimeter)."""
        n_units = len(self.index.codes)
        return sp.csr_matrix(
            (
                np.ones(len(self.member_unit), dtype=np.int32),
                (self.member_perimeter, self.member_unit),
            ),
            shape=(self.n_perimeters, n_units),
        )


def membership(
    perimeters: PerimeterImport,
    referential: Referential,
    *,
    status_min: StatusKey = "emergence",
) -> Membership:
    """Map an import's members onto the referential's units.

    Members whose unit is not in the referential are kept aside as evidence in
    ``outside`` (perimeter_id, code); they are not counted. On a view (a
    referential with :attr:`~diagnosis.core.referential.Referential.whole`),
    only the perimeters with at least one unit in it are kept: the others are
    not in the view. Build it once at the lowest threshold you need: every
    higher one is read from the claims' status ranks.

    Shared communes and declared shares (``perimeters.shares``) are read over
    every perimeter of the import, whatever ``status_min``: a perimeter's size
    does not depend on the threshold a reader chose.

    Raises
    ------
    diagnosis.errors.DataError
        When the declared shares of a commune sum above 100 %.
    """
    index = unit_index(referential)
    members = perimeters.members
    pos = index.positions(members["code"].to_numpy())
    inside = pos >= 0
    split_all = _split_flags(perimeters, members)
    counted = _counted_claims(perimeters, members, pos, split_all, index)
    ranks = perimeter_ranks(perimeters.perimeters["status"])
    reached = ranks >= _threshold_rank(status_min)
    if referential.whole is not None:  # a view: the perimeters with a unit in it
        in_view = set(members.loc[inside, "perimeter_id"].tolist())
        reached &= perimeters.perimeters["perimeter_id"].isin(in_view).to_numpy()
    table = perimeters.perimeters.loc[reached, ["perimeter_id", "name", "status"]].reset_index(
        drop=True
    )
    number = pd.Series(np.arange(len(table)), index=table["perimeter_id"].to_numpy())
    kept = members["perimeter_id"].isin(number.index).to_numpy()
    outside = members.loc[kept & ~inside, ["perimeter_id", "code"]].reset_index(drop=True)
    rows = kept & inside
    member_perimeter = number.reindex(members.loc[rows, "perimeter_id"]).to_numpy(dtype=np.int64)
    part, shared, declared = counted
    claims = perimeters.members.loc[shared, ["code", "perimeter_id"]].assign(part=part[shared])
    names = perimeters.perimeters.set_index("perimeter_id")["name"]
    claims.insert(2, "name", claims["perimeter_id"].map(names).to_numpy())
    return Membership(
        perimeters=table,
        member_perimeter=member_perimeter,
        member_unit=pos[rows],
        member_rank=ranks[reached][member_perimeter],
        split=split_all[rows],
        outside=outside,
        index=index,
        status_min=status_min,
        member_part=part[rows],
        shared=shared[rows],
        declared=declared[rows],
        shared_claims=claims.sort_values(["code", "perimeter_id"], kind="stable").reset_index(
            drop=True
        ),
    )


def _split_flags(perimeters: PerimeterImport, members: pd.DataFrame) -> np.ndarray:
    """Whether each member row is under a declared infra-communal split."""
    split_keys = set(
        zip(
            perimeters.splits["perimeter_id"].tolist(),
            perimeters.splits["code"].tolist(),
            strict=True,
        )
    )
    if not split_keys:
        return np.zeros(len(members), dtype=bool)
    return np.array(
        [
            (p, c) in split_keys
            for p, c in zip(members["perimeter_id"].tolist(), members["code"].tolist(), strict=True)
        ],
        dtype=bool,
    )


def _counted_claims(
    perimeters: PerimeterImport,
    members: pd.DataFrame,
    pos: np.ndarray,
    split: np.ndarray,
    index: UnitIndex,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inhabitants counted by each member row, whether its unit is shared, whether by shares.

    Over every member of the import (all stages): a unit claimed by two or more
    perimeters (declared splits apart) is shared; with declared shares, each
    claim counts its part in whole inhabitants, as Arbitrage counts it
    (:func:`diagnosis.analysis.dispute_shares.whole_parts`).
    """
    inside = pos >= 0
    population = np.where(inside, index.population[np.where(inside, pos, 0)], 0).astype(np.int64)
    claims = np.bincount(pos[inside & ~split], minlength=len(index.codes))
    shared = inside & ~split & (claims[np.where(inside, pos, 0)] >= 2)
    declared = np.zeros(len(members), dtype=bool)
    shares = perimeters.shares
    if shares.empty or not inside.any():
        return population, shared, declared
    part = population.copy()
    share_of = {
        (p, c): float(v)
        for p, c, v in zip(
            shares["perimeter_id"].tolist(),
            shares["code"].tolist(),
            shares["share"].tolist(),
            strict=True,
        )
    }
    frame = pd.DataFrame(
        {"perimeter_id": members["perimeter_id"].to_numpy(), "code": members["code"].to_numpy()}
    )
    with_share = frame["code"].isin(set(shares["code"])).to_numpy() & inside
    for code, rows in frame[with_share].groupby("code", sort=True).groups.items():
        where = np.asarray(rows, dtype=np.int64)  # a RangeIndex: labels are positions
        given = [share_of.get((p, code)) for p in frame["perimeter_id"].to_numpy()[where]]
        if all(g is None for g in given):
            continue
        part[where] = whole_parts(
            int(population[where[0]]), _completed(given), commune=f"la commune {code}"
        )
        declared[where] = True
    return part, shared, declared


def _completed(shares: list[float | None]) -> list[float]:
    """Every claimant's share of a commune with declared shares.

    Claimants without a declared share divide the rest equally; when every
    claimant declared one and they sum below 100 %, they are scaled to 100 %
    (a listing writing 33 % three times means thirds). Shares above 100 % are
    left for :func:`~diagnosis.analysis.dispute_shares.whole_parts` to refuse.
    """
    declared = [s for s in shares if s is not None]
    total = float(sum(declared))
    free = len(shares) - len(declared)
    if free:
        rest = max(1.0 - total, 0.0) / free
        return [rest if s is None else float(s) for s in shares]
    if 0 < total < 1:
        return [float(s) / total for s in declared]
    return [float(s) for s in declared]
