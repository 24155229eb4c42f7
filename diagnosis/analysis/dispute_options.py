"""The ways to settle a dispute: a registry of options, each allocating the contested communes.

Each :class:`DisputeOption` has a stable snake_case id (used in code,
exports and tests; its French label is in :mod:`diagnosis.outputs.labels`)
and an allocation function: where the contested communes go and how many
inhabitants of each are counted for each party. Adding an option is one
entry of :data:`DISPUTE_OPTIONS`.

- ``en_l_etat``: as declared, every party keeps every commune it claims
  (contested communes counted in full for each);
- ``tout`` (one option per party, ``tout_a``, ``tout_b``…): every contested
  commune the party claims goes to it; the others go to the nearest main
  town hall among their claimants;
- ``mairie_la_plus_proche``: each contested commune to the claimant whose
  main town hall is the nearest, crow-fly (ties: first party);
- ``epci_entiers``: the contested communes of an EPCI together, to the
  claimant that already holds most of that EPCI's inhabitants (ties: the
  party nearest to the EPCI's most populous contested commune); a commune in
  no EPCI goes to the nearest main town hall;
- ``partage_population`` (when shares are set): each shared commune is
  counted in every claimant with a positive share, for its part in whole
  inhabitants; the other contested communes go to the nearest main town hall;
- ``reunir``: the projects unite in one perimeter, the union of their communes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from diagnosis.analysis.dispute_split import PartySplit

__all__ = [
    "DISPUTE_OPTIONS",
    "Allocation",
    "DisputeOption",
    "option_ids",
]


@dataclass(frozen=True)
class Allocation:
    """Where an option puts the contested communes.

    Attributes
    ----------
    receives
        Boolean (contested commune × party): the commune is in the party's
        perimeter under this option.
    parts
        Inhabitants of each contested commune counted for each party.
    merged
        The parties unite in one perimeter (``receives`` and ``parts`` then
        say what each brings).
    """

    receives: np.ndarray
    parts: np.ndarray
    merged: bool = False


#: Allocation function: the split, the party the option is about (options per party),
#: and the parts of the shared communes (contested commune × party; -1 where not shared).
Allocate = Callable[[PartySplit, int, np.ndarray | None], Allocation | None]


@dataclass(frozen=True)
class DisputeOption:
    """One way to settle a dispute.

    Attributes
    ----------
    option_id
        Stable snake_case id; an option per party gets one id per party
        (``tout_a``, ``tout_b``…).
    allocate
        The allocation of the contested communes (None: not applicable).
    per_party
        One option for each party (everything to that party).
    needs_shares
        Offered only when shares of some contested commune are set.
    """

    option_id: str
    allocate: Allocate
    per_party: bool = False
    needs_shares: bool = False


def _whole(split: PartySplit, receiver: np.ndarray) -> Allocation:
    """Each contested commune wholly to one party (``receiver``: the party of each)."""
    n = len(split.contested)
    receives = np.zeros((n, split.n_parties), dtype=bool)
    receives[np.arange(n), receiver] = True
    parts = np.where(receives, split.population[split.contested][:, None], 0)
    return Allocation(receives=receives, parts=parts.astype(np.int64))


def _as_declared(split: PartySplit, _party: int, _shares: np.ndarray | None) -> Allocation:
    parts = np.where(split.claims, split.population[split.contested][:, None], 0)
    return Allocation(receives=split.claims.copy(), parts=parts.astype(np.int64))


def _all_to_party(split: PartySplit, party: int, _shares: np.ndarray | None) -> Allocation:
    return _whole(split, np.where(split.claims[:, party], party, split.nearest()))


def _nearest_townhall(split: PartySplit, _party: int, _shares: np.ndarray | None) -> Allocation:
    return _whole(split, split.nearest())


def _whole_epcis(split: PartySplit, _party: int, _shares: np.ndarray | None) -> Allocation:
    contested = split.contested
    epci = split.epci[contested]
    receiver = split.nearest()
    population = split.population
    for code in pd.unique(epci):
        if code is None or (isinstance(code, float) and np.isnan(code)):
            continue
        in_epci = epci == code
        held = np.array(
            [population[own][split.epci[own] == code].sum() for own in split.own],
            dtype=np.int64,
        )
        # Tie on the inhabitants held: the party nearer to the EPCI's most populous
        # contested commune, then the first party.
        lead = int(np.argmax(np.where(in_epci, population[contested], -1)))
        rank = np.lexsort((np.arange(split.n_parties), split.distance_km[lead], -held))
        for row in np.flatnonzero(in_epci):
            receiver[row] = next(p for p in rank if split.claims[row, p])
    return _whole(split, receiver)


def _shared_by_shares(
    split: PartySplit, _party: int, shares: np.ndarray | None
) -> Allocation | None:
    if shares is None:
        return None
    shared = np.asarray((shares >= 0).any(axis=1), dtype=bool)[:, None]
    if not shared.any():
        return None
    whole = _whole(split, split.nearest())
    parts = np.where(shared, np.maximum(shares, 0), whole.parts)
    receives = np.where(shared, shares > 0, whole.receives)
    return Allocation(receives=receives, parts=parts.astype(np.int64))


def _merged(split: PartySplit, _party: int, _shares: np.ndarray | None) -> Allocation:
    whole = _as_declared(split, 0, None)
    return Allocation(receives=whole.receives, parts=whole.parts, merged=True)


#: The registry of dispute options, in the order they are shown.
DISPUTE_OPTIONS: tuple[DisputeOption, ...] = (
    DisputeOption("en_l_etat", _as_declared),
    DisputeOption("tout", _all_to_party, per_party=True),
    DisputeOption("mairie_la_plus_proche", _nearest_townhall),
    DisputeOption("epci_entiers", _whole_epcis),
    DisputeOption("partage_population", _shared_by_shares, needs_shares=True),
    DisputeOption("reunir", _merged),
)


def option_ids(labels: tuple[str, ...], *, shares: bool = False) -> list[str]:
    """The option ids a dispute between parties ``labels`` offers, in order.

    >>> option_ids(("A", "B"))
    ['en_l_etat', 'tout_a', 'tout_b', 'mairie_la_plus_proche', 'epci_entiers', 'reunir']
    """
    out = []
    for option in DISPUTE_OPTIONS:
        if option.needs_shares and not shares:
            continue
        if option.per_party:
            out += [f"{option.option_id}_{label.lower()}" for label in labels]
        else:
            out.append(option.option_id)
    return out
