"""What-if on GP supply: add or remove full-time equivalents in a commune, see accessibility change.

This is the **project's estimate**, computed with the project's 2SFCA engine
(:mod:`coverage.access`), **not the official APL** of the DREES: the DREES
counts each GP's capped yearly activity and uses a road distancier, neither
of which is public here.

The honest approach, decided once
---------------------------------
The DREES APL gives no supply: it cannot be turned back into GPs per commune.
The what-if therefore works on the project's own 2SFCA:

- **with the Annuaire santé (RPPS) loaded**, the baseline supply is the
  number of GPs of each commune (one registered GP counts one full-time
  equivalent, FTE: activity is not public); the what-if shows the
  accessibility of each commune before and after the change;
- **without it**, the baseline supply is unknown. The 2SFCA is linear in the
  supply (A = M·S, where M depends only on demand and travel times), so the
  *change* of accessibility caused by ±k FTE in a commune does not depend on
  the existing supply: the what-if shows that change only, never a level.

Speed: travel pairs and step-1 denominators (demand in reach of each supply
location, Σ_i W(t_ij) P_i) do not depend on supply; they are computed once per
scope by :func:`whatif_model`. A change recomputes only the step-1 ratios and
the step-2 sum (two vectorised passes over the pairs).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from coverage.access import Decay, TravelPairs, referential_pairs
from coverage.care import gp_demand, gp_supply
from coverage.loaders.supply import SupplyTable
from diagnosis.core.numbers import fr_decimal
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError

__all__ = [
    "ESTIMATE_LABEL",
    "WHATIF_COLUMNS",
    "WhatIfModel",
    "WhatIfResult",
    "gp_whatif_model",
    "project_gp_whatif_model",
    "referential_whatif_pairs",
    "whatif_model",
]

#: Shown next to every what-if figure.
ESTIMATE_LABEL = "Estimation du projet (2SFCA Atlas CPTS), pas l'APL officielle de la DREES"
WHATIF_COLUMNS = [
    "code",
    "in_territory",
    "demand",
    "accessibility_before",
    "accessibility_after",
    "change",
]


@dataclass(frozen=True)
class WhatIfModel:
    """Everything of a 2SFCA that does not depend on supply, computed once per scope.

    Build it with :func:`whatif_model` or :func:`gp_whatif_model`.

    Attributes
    ----------
    codes
        Codes of the locations (demand and supply locations are the same).
    demand
        Demand of each location (standardised population, or legal population).
    supply
        Baseline supply (FTE) of each location, or ``None`` when unknown (then
        only changes are shown).
    demand_in_reach
        Σ_i W(t_ij) P_i of each supply location j (step-1 denominator).
    per_inhabitants
        Accessibility is in FTE per this many inhabitants (10,000).
    method
        French description of supply, demand and travel times.
    """

    codes: pd.Index
    demand: np.ndarray
    supply: np.ndarray | None
    demand_in_reach: np.ndarray
    per_inhabitants: float
    method: str
    decay: Decay
    # Active pairs (weight > 0), sorted by supply location, and the CSR pointer.
    pair_demand: np.ndarray = field(repr=False)
    pair_supply: np.ndarray = field(repr=False)
    pair_weight: np.ndarray = field(repr=False)
    supply_ptr: np.ndarray = field(repr=False)

    @functools.cached_property
    def baseline(self) -> np.ndarray:
        """Accessibility of the baseline supply (zeros when the baseline is unknown)."""
        if self.supply is None:
            return np.zeros(len(self.codes))
        return self.accessibility(self.supply)

    @property
    def has_baseline(self) -> bool:
        """Whether the baseline supply is known (accessibility levels can be shown)."""
        return self.supply is not None

    def positions(self, codes: Sequence[str]) -> np.ndarray:
        """Positions of codes; a French error lists the unknown ones."""
        pos = self.codes.get_indexer(pd.Index(codes, dtype=object))
        unknown = [c for c, p in zip(codes, pos, strict=True) if p < 0]
        if unknown:
            raise DataError(
                "Simulation : commune(s) inconnue(s) ou sans mairie localisée : "
                + ", ".join(map(str, unknown[:20]))
                + ". Attendu : des codes INSEE du référentiel."
            )
        return pos

    def reach(self, codes: Sequence[str]) -> pd.Index:
        """Supply locations whose change would reach at least one of ``codes``."""
        mask = np.zeros(len(self.codes), dtype=bool)
        mask[self.positions(codes)] = True
        hit = mask[self.pair_demand]
        return self.codes[np.unique(self.pair_supply[hit])]

    def accessibility(self, supply: np.ndarray) -> np.ndarray:
        """Step 1 (ratios with cached denominators) and step 2 for a full supply vector."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.demand_in_reach > 0, supply / self.demand_in_reach, 0.0)
        access = np.bincount(
            self.pair_demand,
            weights=self.pair_weight * ratio[self.pair_supply],
            minlength=len(self.codes),
        )
        return access * self.per_inhabitants

    def simulate(
        self, changes: Mapping[str, float], *, territory: Sequence[str] = ()
    ) -> WhatIfResult:
        """Accessibility before and after adding (> 0) or removing (< 0) FTE in communes.

        Parameters
        ----------
        changes
            FTE added (positive) or removed (negative), by commune code.
        territory
            Codes of the user's territory (flagged in the result and summarised).

        Returns
        -------
        WhatIfResult
            The communes whose accessibility changes and the territory, with
            before, after and change (before and after are NaN when the
            baseline supply is unknown).

        Raises
        ------
        DataError
            Unknown commune, non-finite change, or removal of more FTE than
            the commune has (when the baseline is known).
        """
        codes = list(changes)
        delta = np.array([float(changes[c]) for c in codes], dtype=np.float64)
        if not np.isfinite(delta).all():
            raise DataError("Simulation : la variation d'ETP doit être un nombre fini.")
        pos = self.positions(codes)
        base = self.supply if self.supply is not None else np.zeros(len(self.codes))
        after_supply = base.copy()
        np.add.at(after_supply, pos, delta)
        if self.supply is not None:
            negative = [
                (codes[k], float(base[p])) for k, p in enumerate(pos) if after_supply[p] < -1e-9
            ]
            if negative:
                raise DataError(
                    "Simulation : on ne peut pas retirer plus d'ETP qu'une commune n'en compte ("
                    + "; ".join(f"{c} : {fr_decimal(v)} ETP" for c, v in negative)
                    + ")."
                )
        after = self.accessibility(after_supply)
        territory_pos = self.positions(list(territory)) if len(territory) else np.zeros(0, int)
        affected = np.zeros(len(self.codes), dtype=bool)
        for p in np.unique(pos[delta != 0]):
            affected[self.pair_demand[self.supply_ptr[p] : self.supply_ptr[p + 1]]] = True
        affected[territory_pos] = True
        rows = np.flatnonzero(affected)
        known = self.supply is not None
        before_rows = self.baseline[rows] if known else np.full(len(rows), np.nan)
        change = after[rows] - self.baseline[rows]
        in_territory = np.zeros(len(self.codes), dtype=bool)
        in_territory[territory_pos] = True
        table = pd.DataFrame(
            {
                "code": np.asarray(self.codes[rows], dtype=object),
                "in_territory": in_territory[rows],
                "demand": self.demand[rows],
                "accessibility_before": before_rows,
                "accessibility_after": after[rows] if known else np.full(len(rows), np.nan),
                "change": change,
            }
        )
        unreached = [codes[k] for k, p in enumerate(pos) if self.demand_in_reach[p] <= 0]
        reached = self.demand_in_reach[pos] > 0
        return WhatIfResult(
            table=table[WHATIF_COLUMNS],
            supply_change_fte=float(delta.sum()),
            supply_change_reaching_fte=float(delta[reached].sum()),
            unreached=unreached,
            has_baseline=known,
            per_inhabitants=self.per_inhabitants,
            method=self.method,
        )


@dataclass
class WhatIfResult:
    """The communes touched by a what-if, and what was changed.

    ``table`` (columns :data:`WHATIF_COLUMNS`) holds the territory's communes
    and every commune whose accessibility changes; ``unreached`` the changed
    communes with no population in reach (their change moves nothing).
    """

    table: pd.DataFrame
    supply_change_fte: float
    supply_change_reaching_fte: float
    unreached: list[str]
    has_baseline: bool
    per_inhabitants: float
    method: str

    def summary(self) -> pd.DataFrame:
        """Territory and touched neighbours: demand-weighted mean before, after, change.

        Rows ``territory`` (the territory's communes) and ``neighbours``
        (touched communes outside it); the mean is weighted by the demand
        (the standardised population when ages are loaded: DREES rule).
        """
        rows = []
        for scope, mask in (
            ("territory", self.table["in_territory"]),
            ("neighbours", ~self.table["in_territory"]),
        ):
            part = self.table[mask.astype(bool)]
            rows.append(
                {
                    "scope": scope,
                    "n_units": len(part),
                    "demand": float(part["demand"].sum()),
                    **{
                        col: _weighted_mean(part[col], part["demand"])
                        for col in ("accessibility_before", "accessibility_after", "change")
                    },
                }
            )
        return pd.DataFrame(rows)


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    total = float(weights.sum())
    if not total:
        return math.nan
    return float(
        (values.to_numpy(dtype=np.float64) * weights.to_numpy(dtype=np.float64)).sum() / total
    )


def whatif_model(
    demand: pd.Series,
    pairs: TravelPairs,
    *,
    supply: pd.Series | None = None,
    decay: Decay | None = None,
    per_inhabitants: float = 10_000.0,
    method: str = "",
) -> WhatIfModel:
    """Precompute the supply-independent part of a 2SFCA for fast what-ifs.

    Parameters
    ----------
    demand
        Demand at each location, indexed like ``pairs.demand_codes``.
    pairs
        Travel pairs whose demand and supply codes are the same locations
        (:func:`coverage.access.referential_pairs`).
    supply
        Baseline supply in FTE by code (missing codes count 0), or ``None``
        when unknown: results then give changes only.
    decay
        Step decay (default: DREES).
    per_inhabitants
        Accessibility unit: FTE per this many inhabitants.
    method
        French description of the inputs, shown with any result.

    Returns
    -------
    WhatIfModel

    Notes
    -----
    With D_j = Σ_i W(t_ij) P_i cached, the accessibility of any supply S is
    A_i = Σ_j W(t_ij) S_j / D_j (Luo & Qi 2009), identical to
    :func:`coverage.access.two_step_fca`; Σ_i A_i P_i equals the supply of the
    locations with some demand in reach.
    """
    if not np.array_equal(np.asarray(pairs.demand_codes), np.asarray(pairs.supply_codes)):
        raise DataError(
            "Simulation : les lieux d'offre et de demande doivent être les mêmes communes."
        )
    decay = decay or Decay.drees()
    codes = pd.Index(np.asarray(pairs.demand_codes), dtype=object)
    p = demand.reindex(codes).fillna(0.0).to_numpy(dtype=np.float64)
    w = decay.weight(pairs.minutes)
    active = w > 0
    order = np.argsort(pairs.supply[active], kind="stable")
    # int32 positions: 8 bytes a pair instead of 16 (1.4 million pairs at national scale).
    di = pairs.demand[active][order].astype(np.int32)
    sj = pairs.supply[active][order].astype(np.int32)
    w = w[active][order]
    demand_in_reach = np.bincount(sj, weights=w * p[di], minlength=len(codes))
    supply_ptr = np.searchsorted(sj, np.arange(len(codes) + 1))
    s = None
    if supply is not None:
        s = supply.reindex(codes).fillna(0.0).to_numpy(dtype=np.float64)
        if (s < 0).any() or not np.isfinite(s).all():
            raise DataError("Simulation : l'offre de base doit être positive ou nulle.")
    # A model may be shared by sessions (project data only): its arrays are read-only.
    for array in (p, s, di, sj, w, demand_in_reach, supply_ptr):
        if array is not None:
            array.flags.writeable = False
    return WhatIfModel(
        codes=codes,
        demand=p,
        supply=s,
        demand_in_reach=demand_in_reach,
        per_inhabitants=float(per_inhabitants),
        method=method or pairs.method,
        decay=decay,
        pair_demand=di,
        pair_supply=sj,
        pair_weight=w,
        supply_ptr=supply_ptr,
    )


def gp_whatif_model(
    ref: Referential,
    *,
    rpps: SupplyTable | None = None,
    ages: SupplyTable | None = None,
    vintage: int = 2023,
    pairs: TravelPairs | None = None,
) -> WhatIfModel:
    """The project's GP what-if on a referential (see the module notes).

    Parameters
    ----------
    ref
        Referential (its town halls are the locations).
    rpps
        Annuaire santé by commune: baseline supply = GPs (1 GP = 1 FTE).
        Without it, only changes are computed.
    ages
        Population by age: demand standardised with the DREES weights of
        ``vintage``; else the legal population.
    pairs
        Precomputed pairs of ``ref`` (default: crow-fly proxy, 20 minutes).

    Returns
    -------
    WhatIfModel
        In GP FTE per 10,000 inhabitants (standardised when ages are given),
        as the ``access_mg_2sfca`` indicator.
    """
    pairs = pairs if pairs is not None else referential_pairs(ref)
    demand, demand_note = gp_demand(ref, ages=ages, vintage=vintage)
    supply = None
    supply_note = (
        "offre existante inconnue (Annuaire santé non chargé) : seule la variation est calculée"
    )
    if rpps is not None:
        supply = gp_supply(ref, rpps)
        supply_note = f"médecins généralistes de l'{rpps.source} (1 médecin = 1 ETP)"
    method = (
        f"{ESTIMATE_LABEL}. 2SFCA ; temps : {pairs.method} ; offre : {supply_note} ; "
        f"demande : {demand_note}."
    )
    return whatif_model(demand, pairs, supply=supply, method=method)


def referential_whatif_pairs(ref: Referential) -> TravelPairs:
    """Crow-fly pairs between the town halls of ``ref``, computed once per referential.

    Project data only: kept with the referential (:meth:`Referential.cached`)
    and shared by every caller, read-only.
    """
    pairs: TravelPairs = ref.cached("whatif_pairs", lambda: referential_pairs(ref))
    return pairs


def project_gp_whatif_model(ref: Referential) -> WhatIfModel:
    """The GP what-if of ``ref`` from project data only, computed once per referential.

    No Annuaire santé (changes only) and the legal population as demand: it
    depends on the referential alone, so it is kept with it (its arrays are
    read-only) and shared by every session.
    """
    pairs = referential_whatif_pairs(ref)
    model: WhatIfModel = ref.cached("whatif_model_legal", lambda: gp_whatif_model(ref, pairs=pairs))
    return model
