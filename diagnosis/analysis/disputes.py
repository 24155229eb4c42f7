"""Disputes between perimeters: what is at stake and what each way to settle it gives.

For two perimeters or more claiming the same communes, :func:`compare_parties`
(or :func:`compare_perimeters`, its two-party form) runs four steps:

1. **split** (:func:`~diagnosis.analysis.dispute_split.split_parties`): the
   parties (A, B, C…), the contested communes (claimed by two of them or
   more) and each party's own communes;
2. **assign**: every option of the registry
   (:data:`~diagnosis.analysis.dispute_options.DISPUTE_OPTIONS`) allocates
   the contested communes; shared communes are split in whole inhabitants
   (:func:`~diagnosis.analysis.dispute_shares.whole_parts`);
3. **evaluate**: each side of each option gets its population, size class,
   minimum-population floor, contiguity (number of parts) and maximum ACI
   funding, through :func:`diagnosis.analysis.checks.size_class_table` and
   :func:`diagnosis.core.aci.funding_total`; a side left with no
   inhabitant has no size class and no funding;
4. **table**: the :class:`Dispute` exposes its parties, the contested
   communes (where each option puts them), the options and a typed summary.

Identifiers only: the French labels of the options and columns are in
:mod:`diagnosis.outputs.labels`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from diagnosis.analysis.checks import size_class_table
from diagnosis.analysis.dispute_options import DISPUTE_OPTIONS, Allocation
from diagnosis.analysis.dispute_shares import share_table, whole_parts
from diagnosis.analysis.dispute_split import PartySplit, dispute_groups, split_parties
from diagnosis.analysis.geometry import component_labels
from diagnosis.analysis.membership import Membership
from diagnosis.core.aci import SizeRules, funding_total, size_rules
from diagnosis.core.model import SHARE_COLUMNS
from diagnosis.core.numbers import fr_decimal
from diagnosis.core.referential import Referential, main_zone
from diagnosis.errors import DataError

__all__ = [
    "OPTION_COLUMNS",
    "PARTY_COLUMNS",
    "Dispute",
    "DisputeSummary",
    "compare_parties",
    "compare_perimeters",
    "dispute_groups",
]

#: Columns of :attr:`Dispute.parties`.
PARTY_COLUMNS = [
    "party",
    "perimeter_id",
    "name",
    "n_units",
    "population",
    "n_contested",
    "population_without",
    "townhall_lon",
    "townhall_lat",
]
#: Columns of :attr:`Dispute.options` (one row per option and side).
OPTION_COLUMNS = [
    "option",
    "option_kind",
    "option_party",
    "side",
    "perimeter_id",
    "name",
    "n_units",
    "n_contested_received",
    "population",
    "size_class",
    "size_label",
    "margin_below",
    "margin_above",
    "minimum_population",
    "below_minimum",
    "n_parts",
    "funding_max_eur",
]


@dataclass(frozen=True)
class DisputeSummary:
    """What is at stake in a dispute, in figures.

    Attributes
    ----------
    perimeter_ids, names, parties
        Each party's identifier, name and letter (A, B, C…).
    n_contested
        Communes claimed by two parties or more.
    population_contested
        Their inhabitants.
    population_without
        Each party's inhabitants in the communes no other party claims.
    population_merged
        Inhabitants of the union of the parties (each commune once).
    n_shared
        Contested communes split by shares.
    """

    perimeter_ids: tuple[str, ...]
    names: tuple[str, ...]
    parties: tuple[str, ...]
    n_contested: int
    population_contested: int
    population_without: tuple[int, ...]
    population_merged: int
    n_shared: int

    @property
    def n_parties(self) -> int:
        """Number of parties."""
        return len(self.parties)


@dataclass(frozen=True)
class Dispute:
    """Evidence for a committee: the parties, the contested communes and the options.

    Attributes
    ----------
    parties
        One row per party (:data:`PARTY_COLUMNS`): its letter, identifier,
        name, communes, inhabitants as declared, contested communes it claims,
        inhabitants without them and its main town hall.
    contested
        One row per contested commune: code, name, population, epci_code,
        epci_name, claimants (letters joined by ``+``), ``distance_<x>_km`` to
        each party's main town hall, ``option_<id>`` where each option puts
        it (a letter, or letters joined by ``+`` for a shared commune) and,
        when shares are set, ``share_<x>`` and ``part_<x>`` (the share and the
        inhabitants counted for each party).
    options
        One row per option and side (:data:`OPTION_COLUMNS`); the merge
        option (``reunir``) has one side, ``A+B+…``.
    summary
        The figures at stake (:class:`DisputeSummary`).
    shares
        The shares set for contested communes (:data:`SHARE_COLUMNS`), ready
        for :func:`diagnosis.analysis.dispute_shares.with_shares`; empty when
        none.
    claims
        One row per (code, party) claimed by the parties.
    """

    parties: pd.DataFrame
    contested: pd.DataFrame
    options: pd.DataFrame
    summary: DisputeSummary
    shares: pd.DataFrame
    claims: pd.DataFrame

    @property
    def contested_codes(self) -> tuple[str, ...]:
        """Codes of the contested communes."""
        return tuple(self.contested["code"].astype(str))

    def own_codes(self, party: str) -> tuple[str, ...]:
        """Codes of the communes ``party`` (a letter) alone claims in this dispute."""
        self._check_party(party)
        mine = self.claims.loc[self.claims["party"] == party, "code"]
        return tuple(c for c in mine.astype(str) if c not in set(self.contested_codes))

    def party_codes(self, party: str) -> tuple[str, ...]:
        """Codes of every commune ``party`` (a letter) claims."""
        self._check_party(party)
        return tuple(self.claims.loc[self.claims["party"] == party, "code"].astype(str))

    def totals(self) -> pd.DataFrame:
        """Per option: the number of projects with inhabitants, their inhabitants and funding.

        Compares the merged project with the separate ones: ``n_projects``,
        ``population`` (summed over sides; the declared situation counts the
        contested communes once per claimant) and ``funding_max_eur``.
        """
        frame = self.options.assign(has_people=self.options["population"] > 0)
        totals = (
            frame.groupby("option", sort=False)
            .agg(
                n_projects=("has_people", "sum"),
                population=("population", "sum"),
                funding_max_eur=("funding_max_eur", "sum"),
            )
            .reset_index()
        )
        return totals.astype({"n_projects": np.int64, "population": np.int64})

    def _check_party(self, party: str) -> None:
        if party not in set(self.parties["party"]):
            raise DataError(
                f"Partie inconnue : {party!r} ; parties : {', '.join(self.parties['party'])}."
            )


def compare_parties(
    m: Membership,
    ref: Referential,
    perimeter_ids: Sequence[str],
    *,
    funding_options: Mapping[str, Any] | None = None,
    shares: pd.DataFrame | None = None,
) -> Dispute:
    """Compare two perimeters or more and evaluate the ways to settle their contested communes.

    Parameters
    ----------
    m
        Membership of the perimeters (any status threshold).
    ref
        Referential of the membership's units.
    perimeter_ids
        The parties, in the order of their letters (A, B, C…).
    funding_options
        Options of :func:`diagnosis.core.aci.simulate_funding`.
    shares
        Shares of contested communes (:data:`SHARE_COLUMNS`: perimeter_id,
        code, share from 0 to 1). A commune with shares is split among its
        claimants with a positive share, in whole inhabitants
        (:func:`~diagnosis.analysis.dispute_shares.whole_parts`); a claimant
        without a row gets none of it. Adds the ``partage_population``
        option. Rows of communes that are not contested, or of perimeters
        that do not claim the commune, are not used.

    Returns
    -------
    Dispute
        Parties, contested communes, options (one row per option and side),
        summary and the shares used.

    Raises
    ------
    DataError
        Fewer than two perimeters, an unknown or repeated one, one with no
        commune in the scope, or shares of a commune over 100 %.
    """
    split = split_parties(m, ref, perimeter_ids)
    parts, used = _share_parts(split, m, ref, shares)
    allocations = _assign(split, parts)
    rules = size_rules()
    rows = []
    for option_id, (kind, party, allocation) in allocations.items():
        sides = _evaluate(split, m, ref, allocation, rules=rules, funding_options=funding_options)
        rows += [
            {"option": option_id, "option_kind": kind, "option_party": party} | side
            for side in sides
        ]
    options = pd.DataFrame(rows, columns=OPTION_COLUMNS)
    options["size_class"] = options["size_class"].astype("Int64")
    return Dispute(
        parties=_party_table(split),
        contested=_contested_table(split, m, ref, allocations, parts),
        options=options,
        summary=_summary(split, parts),
        shares=used,
        claims=pd.DataFrame(
            {
                "code": np.concatenate([m.index.codes[u] for u in split.units]),
                "party": np.repeat(split.labels, [len(u) for u in split.units]),
            }
        ),
    )


def compare_perimeters(
    m: Membership,
    ref: Referential,
    perimeter_a: str | Sequence[str],
    perimeter_b: str | None = None,
    *,
    funding_options: Mapping[str, Any] | None = None,
    shared: Mapping[str, float] | None = None,
    shares: pd.DataFrame | None = None,
) -> Dispute:
    """Compare two perimeters (A and B), or the perimeters of a list, and their options.

    Parameters
    ----------
    m, ref, funding_options, shares
        As :func:`compare_parties`.
    perimeter_a, perimeter_b
        Identifiers of the two perimeters; or ``perimeter_a`` a list of two
        perimeters or more and ``perimeter_b`` None.
    shared
        Two perimeters only: contested commune code → share of its
        population counted for A (between 0 and 1; B gets the rest).

    Returns
    -------
    Dispute
        See :func:`compare_parties`.
    """
    if perimeter_b is None:
        if isinstance(perimeter_a, str):
            raise DataError("Choisissez au moins deux périmètres à comparer.")
        ids = [str(p) for p in perimeter_a]
    else:
        ids = [str(perimeter_a), str(perimeter_b)]
    if perimeter_b is not None and perimeter_a == perimeter_b:
        raise DataError("Choisissez deux périmètres différents.")
    if shared:
        if len(ids) != 2:
            raise DataError(
                "Le partage « part de A » vaut pour deux projets ; pour davantage, donnez "
                "la part de chaque projet (tableau perimeter_id, code, share)."
            )
        shares = _two_party_shares(ids[0], ids[1], shared, shares)
    return compare_parties(m, ref, ids, funding_options=funding_options, shares=shares)


def _two_party_shares(
    a: str, b: str, shared: Mapping[str, float], shares: pd.DataFrame | None
) -> pd.DataFrame:
    """A's share of each commune (B the rest) as a table of shares."""
    rows = []
    for code, value in shared.items():
        share = float(value)
        if not 0.0 <= share <= 1.0:
            raise DataError(
                f"Part de la commune {code} attribuée à A : {fr_decimal(share)} ; attendu un "
                "nombre entre 0 et 1."
            )
        rows += [(a, str(code), share), (b, str(code), 1.0 - share)]
    frame = pd.DataFrame(rows, columns=SHARE_COLUMNS)
    return frame if shares is None else pd.concat([shares, frame], ignore_index=True)


def _share_parts(
    split: PartySplit, m: Membership, ref: Referential, shares: pd.DataFrame | None
) -> tuple[np.ndarray | None, pd.DataFrame]:
    """Parts (contested commune × party; -1 where not shared) and the share rows used."""
    empty = pd.DataFrame(
        {c: pd.Series(dtype="float64" if c == "share" else object) for c in SHARE_COLUMNS}
    )
    if shares is None or shares.empty or len(split.contested) == 0:
        return None, empty
    table = share_table(shares, sums=False)  # each shared commune is checked below, by name
    codes = m.index.codes[split.contested].astype(str)
    row_of = {code: i for i, code in enumerate(codes)}
    party_of = {p: k for k, p in enumerate(split.perimeter_ids)}
    table = table[table["code"].isin(row_of) & table["perimeter_id"].isin(party_of)]
    rows = np.array([row_of[c] for c in table["code"]], dtype=np.int64)
    cols = np.array([party_of[p] for p in table["perimeter_id"]], dtype=np.int64)
    claimed = split.claims[rows, cols] if len(rows) else np.zeros(0, dtype=bool)
    table, rows, cols = table[claimed], rows[claimed], cols[claimed]
    if table.empty:
        return None, empty
    values = np.zeros((len(codes), split.n_parties))
    values[rows, cols] = table["share"].to_numpy()
    parts = np.full(values.shape, -1, dtype=np.int64)
    names = ref.units["name"].to_numpy()
    for row in np.unique(rows):
        unit = split.contested[row]
        commune = f"{names[unit]} ({codes[row]})"
        parts[row] = whole_parts(int(split.population[unit]), values[row].tolist(), commune=commune)
    # By commune, then in the order of the parties (A, B, C…).
    used = table.assign(party=cols).sort_values(["code", "party"], ignore_index=True)
    return parts, used.loc[:, SHARE_COLUMNS]


def _assign(
    split: PartySplit, parts: np.ndarray | None
) -> dict[str, tuple[str, str | None, Allocation]]:
    """Every option of the registry: option id → (kind, party letter or None, allocation)."""
    out: dict[str, tuple[str, str | None, Allocation]] = {}
    for option in DISPUTE_OPTIONS:
        parties = range(split.n_parties) if option.per_party else [0]
        for party in parties:
            allocation = option.allocate(split, party, parts)
            if allocation is None:
                continue
            label = split.labels[party] if option.per_party else None
            key = f"{option.option_id}_{label.lower()}" if label else option.option_id
            out[key] = (option.option_id, label, allocation)
    return out


def _evaluate(
    split: PartySplit,
    m: Membership,
    ref: Referential,
    allocation: Allocation,
    *,
    rules: SizeRules,
    funding_options: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """The sides of one option: their communes and inhabitants, then their figures."""
    population = split.population
    if allocation.merged:
        positions = np.unique(np.concatenate(split.units))
        side = {
            "side": "+".join(split.labels),
            "perimeter_id": "+".join(split.perimeter_ids),
            "name": " + ".join(split.names),
            "n_contested_received": len(split.contested),
        }
        return [
            side
            | _figures(
                m,
                ref,
                positions,
                int(population[positions].sum()),
                rules=rules,
                funding_options=funding_options,
            )
        ]
    rows = []
    for k in range(split.n_parties):
        received = split.contested[allocation.receives[:, k]]
        positions = np.sort(np.concatenate([split.own[k], received]))
        inhabitants = int(population[split.own[k]].sum() + allocation.parts[:, k].sum())
        side = {
            "side": split.labels[k],
            "perimeter_id": split.perimeter_ids[k],
            "name": split.names[k],
            "n_contested_received": len(received),
        }
        rows.append(
            side
            | _figures(m, ref, positions, inhabitants, rules=rules, funding_options=funding_options)
        )
    return rows


def _figures(
    m: Membership,
    ref: Referential,
    positions: np.ndarray,
    population: int,
    *,
    rules: SizeRules,
    funding_options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Population, size class, margins, floor, parts and funding of one side.

    A side with no inhabitant is no CPTS: it gets no size class and no funding.
    """
    region = main_zone(ref.units, ref.units.index[positions], level="region")
    size = size_class_table([population], rules=rules, regions=[region]).iloc[0]
    labels = component_labels(m.index, np.zeros(len(positions), dtype=np.int64), positions)
    empty = population == 0
    return {
        "n_units": len(positions),
        "population": population,
        "size_class": pd.NA if empty else int(size["size_class"]),
        "size_label": pd.NA if empty else str(size["size_label"]),
        "margin_below": np.nan if empty else size["margin_below"],
        "margin_above": np.nan if empty else size["margin_above"],
        "minimum_population": size["minimum_population"],
        "below_minimum": bool(size["below_minimum"]),
        "n_parts": len(np.unique(labels)) if len(labels) else 0,
        "funding_max_eur": 0.0
        if empty
        else funding_total(int(size["size_class"]), **dict(funding_options or {})),
    }


def _party_table(split: PartySplit) -> pd.DataFrame:
    population = split.population
    return pd.DataFrame(
        {
            "party": split.labels,
            "perimeter_id": split.perimeter_ids,
            "name": split.names,
            "n_units": [len(u) for u in split.units],
            "population": [int(population[u].sum()) for u in split.units],
            "n_contested": split.claims.sum(axis=0).astype(np.int64),
            "population_without": [int(population[o].sum()) for o in split.own],
            "townhall_lon": [t[0] for t in split.townhalls],
            "townhall_lat": [t[1] for t in split.townhalls],
        },
        columns=PARTY_COLUMNS,
    )


def _contested_table(
    split: PartySplit,
    m: Membership,
    ref: Referential,
    allocations: Mapping[str, tuple[str, str | None, Allocation]],
    parts: np.ndarray | None,
) -> pd.DataFrame:
    contested = split.contested
    units = ref.units
    labels = np.array(split.labels, dtype=object)

    def joined(mask: np.ndarray) -> list[str]:
        return ["+".join(labels[row]) for row in mask]

    frame = pd.DataFrame(
        {
            "code": m.index.codes[contested],
            "name": units["name"].to_numpy()[contested],
            "population": split.population[contested],
            "epci_code": split.epci[contested],
            "epci_name": units["epci_name"].to_numpy()[contested],
            "claimants": joined(split.claims),
        }
    )
    for k, label in enumerate(split.labels):
        frame[f"distance_{label.lower()}_km"] = split.distance_km[:, k]
    for option_id, (kind, _party, allocation) in allocations.items():
        if kind not in {"en_l_etat", "reunir"}:
            frame[f"option_{option_id}"] = joined(allocation.receives)
    if parts is None:
        return frame
    shared = np.asarray((parts >= 0).any(axis=1), dtype=bool)
    population = split.population[contested].astype(np.float64)
    safe = np.where(population > 0, population, 1.0)
    for k, label in enumerate(split.labels):
        part = pd.Series(np.maximum(parts[:, k], 0), dtype="Int64").where(shared, pd.NA)
        frame[f"part_{label.lower()}"] = part
        frame[f"share_{label.lower()}"] = np.where(
            shared & (population > 0), np.maximum(parts[:, k], 0) / safe, np.nan
        )
    return frame


def _summary(split: PartySplit, parts: np.ndarray | None) -> DisputeSummary:
    population = split.population
    return DisputeSummary(
        perimeter_ids=split.perimeter_ids,
        names=split.names,
        parties=split.labels,
        n_contested=len(split.contested),
        population_contested=int(population[split.contested].sum()),
        population_without=tuple(int(population[o].sum()) for o in split.own),
        population_merged=int(population[np.unique(np.concatenate(split.units))].sum()),
        n_shared=0 if parts is None else int((parts >= 0).any(axis=1).sum()),
    )
