"""A sparse two-step floating catchment area (2SFCA) engine, with the DREES APL method as data.

Accessibility of demand location *i* (Luo & Qi 2009, step-weighted E2SFCA as
used by DREES for the APL)::

    R_j = S_j / Σ_i W(t_ij) · P_i          (step 1, each supply location j)
    A_i = Σ_j W(t_ij) · R_j                (step 2, each demand location i)

where S_j is the supply (e.g. capped yearly consultations of the GPs of j),
P_i the (age-standardised) demand, t_ij the travel time and W a step decay
(1, 2/3, 1/3 up to 10, 15, 20 minutes by default, ``data/rules/apl.toml``).

Only pairs within the largest band are ever built: a k-d tree finds them on a
crow-fly proxy (distance × detour / speed), or they come from a user's
commune-to-commune travel table. No dense N×N matrix is created, and inputs
are never modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from coverage.rules import apl_parameters
from diagnosis.core.numbers import fr_decimal, fr_number
from diagnosis.core.referential import Referential
from diagnosis.core.zones import metric_zones, zone_of

__all__ = [
    "AccessResult",
    "Decay",
    "TravelPairs",
    "age_weights",
    "cap_gp_activity",
    "crow_fly_pairs",
    "describe",
    "pairs_from_table",
    "referential_pairs",
    "two_step_fca",
]


@dataclass(frozen=True)
class Decay:
    """A step distance decay: weight of each band of travel time (upper bounds included)."""

    upper_minutes: tuple[float, ...]
    weights: tuple[float, ...]

    @classmethod
    def drees(cls) -> Decay:
        """The DREES APL decay: 1 up to 10 min, 2/3 up to 15, 1/3 up to 20, 0 beyond."""
        decay = apl_parameters()["decay"]
        return cls(tuple(decay["upper_minutes"]), tuple(decay["weights"]))

    def __post_init__(self) -> None:
        if len(self.upper_minutes) != len(self.weights) or not self.upper_minutes:
            raise ValueError("Décroissance : autant de bornes que de poids, au moins une.")
        if list(self.upper_minutes) != sorted(self.upper_minutes):
            raise ValueError("Décroissance : les bornes doivent être croissantes.")

    @property
    def max_minutes(self) -> float:
        """Largest travel time with a non-zero weight."""
        return float(self.upper_minutes[-1])

    def band(self, minutes: np.ndarray) -> np.ndarray:
        """Band index of each travel time (``len(weights)`` beyond the last bound)."""
        return np.searchsorted(np.asarray(self.upper_minutes), minutes, side="left")

    def weight(self, minutes: np.ndarray) -> np.ndarray:
        """Weight of each travel time."""
        table = np.append(np.asarray(self.weights, dtype=np.float64), 0.0)
        return table[self.band(np.asarray(minutes, dtype=np.float64))]


@dataclass(frozen=True)
class TravelPairs:
    """Travel times between demand and supply locations within reach (sparse).

    ``demand`` and ``supply`` are integer positions into ``demand_codes`` and
    ``supply_codes``; ``minutes`` the travel time of each pair; ``method``
    says how times were obtained (stated wherever a result is shown).
    """

    demand_codes: np.ndarray
    supply_codes: np.ndarray
    demand: np.ndarray  # int32
    supply: np.ndarray  # int32
    minutes: np.ndarray  # float32
    method: str

    def __len__(self) -> int:
        return len(self.demand)


def _metric_coordinates(lon: np.ndarray, lat: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Metric x, y per zone CRS; zones are shifted far apart so they never meet."""
    xy = np.empty((len(lon), 2), dtype=np.float64)
    for k, _zone, epsg, sel in metric_zones(zones):
        transformer = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
        x, y = transformer.transform(lon[sel], lat[sel])
        xy[sel, 0] = np.asarray(x) + k * 1e8
        xy[sel, 1] = np.asarray(y)
    return xy


def crow_fly_pairs(
    demand_xy: np.ndarray,
    supply_xy: np.ndarray,
    *,
    demand_codes: Sequence[str] | np.ndarray | None = None,
    supply_codes: Sequence[str] | np.ndarray | None = None,
    max_minutes: float = 20.0,
    speed_kmh: float | None = None,
    detour: float | None = None,
    block_size: int = 50_000,
    workers: int = -1,
) -> TravelPairs:
    """Pairs within reach on the crow-fly proxy of car travel time.

    Parameters
    ----------
    demand_xy, supply_xy
        Metric coordinates (metres), shape (n, 2).
    demand_codes, supply_codes
        Labels of the locations (default: positions).
    max_minutes
        Largest travel time kept.
    speed_kmh, detour
        Proxy parameters: minutes = distance × detour / speed × 60 (defaults
        from ``data/rules/apl.toml``).
    block_size
        Demand locations processed per block (bounds the memory of the search).
    workers
        Threads of the k-d tree search (-1: all cores).

    Notes
    -----
    Pairs are stored compactly (two int32 and one float32, 12 bytes a pair).
    """
    params = apl_parameters()["crow_fly"]
    speed = float(speed_kmh if speed_kmh is not None else params["speed_kmh"])
    detour_f = float(detour if detour is not None else params["detour"])
    if speed <= 0 or detour_f <= 0:
        raise ValueError("La vitesse et le coefficient de détour doivent être positifs.")
    radius_m = max_minutes / 60.0 * speed / detour_f * 1000.0
    tree = cKDTree(supply_xy)
    demands, supplies, minutes = [], [], []
    for start in range(0, len(demand_xy), block_size):
        block = demand_xy[start : start + block_size]
        hits = tree.query_ball_point(block, radius_m, workers=workers, return_sorted=False)
        lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        if lengths.sum() == 0:
            continue
        j = np.concatenate([np.asarray(h, dtype=np.int32) for h in hits if len(h)])
        i = np.repeat(np.arange(start, start + len(block), dtype=np.int32), lengths)
        dist = np.hypot(*(demand_xy[i] - supply_xy[j]).T)
        demands.append(i)
        supplies.append(j)
        minutes.append((dist / 1000.0 * detour_f / speed * 60.0).astype(np.float32))
    empty = np.zeros(0, dtype=np.int32)
    return TravelPairs(
        demand_codes=np.asarray(
            demand_codes if demand_codes is not None else np.arange(len(demand_xy))
        ),
        supply_codes=np.asarray(
            supply_codes if supply_codes is not None else np.arange(len(supply_xy))
        ),
        demand=np.concatenate(demands) if demands else empty,
        supply=np.concatenate(supplies) if supplies else empty,
        minutes=np.concatenate(minutes) if minutes else empty.astype(np.float32),
        method=(
            f"proxy à vol d'oiseau entre mairies : vitesse {fr_decimal(speed)} km/h, "
            f"coefficient de détour {fr_decimal(detour_f)} (pas un distancier routier)"
        ),
    )


def referential_pairs(
    ref: Referential,
    *,
    max_minutes: float = 20.0,
    speed_kmh: float | None = None,
    detour: float | None = None,
) -> TravelPairs:
    """Crow-fly pairs between the town halls of every unit of a referential."""
    units = ref.units
    has_point = units["townhall_lon"].notna() & units["townhall_lat"].notna()
    units = units[has_point]
    xy = _metric_coordinates(
        units["townhall_lon"].to_numpy(dtype=float),
        units["townhall_lat"].to_numpy(dtype=float),
        zone_of(units["department"].astype(str)).to_numpy(),
    )
    codes = units.index.to_numpy()
    return crow_fly_pairs(
        xy,
        xy,
        demand_codes=codes,
        supply_codes=codes,
        max_minutes=max_minutes,
        speed_kmh=speed_kmh,
        detour=detour,
    )


def pairs_from_table(
    table: pd.DataFrame,
    *,
    demand_codes: Sequence[str],
    supply_codes: Sequence[str],
    origin: str = "origin",
    destination: str = "destination",
    minutes: str = "minutes",
    max_minutes: float = 20.0,
    add_self_pairs: bool = True,
) -> TravelPairs:
    """Pairs from a user's commune-to-commune travel table (origin, destination, minutes).

    Pairs beyond ``max_minutes`` or between unknown codes are ignored. When
    the table lacks a location's time to itself, a zero-minute pair is added
    (``add_self_pairs``), as the method counts local supply fully.
    """
    for col in (origin, destination, minutes):
        if col not in table.columns:
            raise ValueError(
                f"Table des temps de trajet : colonne {col!r} absente (attendu : origine, "
                f"destination, minutes ; colonnes présentes : {list(table.columns)})."
            )
    d_pos = pd.Series(np.arange(len(demand_codes)), index=pd.Index(demand_codes))
    s_pos = pd.Series(np.arange(len(supply_codes)), index=pd.Index(supply_codes))
    t = pd.to_numeric(table[minutes], errors="coerce")
    i = table[origin].astype(str).map(d_pos)
    j = table[destination].astype(str).map(s_pos)
    keep = i.notna() & j.notna() & t.notna() & (t <= max_minutes) & (t >= 0)
    di = i[keep].to_numpy(dtype=np.int32)
    sj = j[keep].to_numpy(dtype=np.int32)
    mins = t[keep].to_numpy(dtype=np.float32)
    if add_self_pairs:
        common = pd.Index(demand_codes).intersection(pd.Index(supply_codes))
        have = set(zip(di.tolist(), sj.tolist(), strict=True))
        extra = [(d_pos[c], s_pos[c]) for c in common if (int(d_pos[c]), int(s_pos[c])) not in have]
        if extra:
            di = np.concatenate([di, np.array([e[0] for e in extra], dtype=np.int32)])
            sj = np.concatenate([sj, np.array([e[1] for e in extra], dtype=np.int32)])
            mins = np.concatenate([mins, np.zeros(len(extra), dtype=np.float32)])
    return TravelPairs(
        demand_codes=np.asarray(demand_codes),
        supply_codes=np.asarray(supply_codes),
        demand=di,
        supply=sj,
        minutes=mins,
        method="table de temps de trajet fournie par l'utilisateur",
    )


@dataclass
class AccessResult:
    """Accessibility of each demand location, with the step-1 ratios and the method."""

    accessibility: pd.Series  # indexed by demand code
    ratio: pd.Series  # R_j, indexed by supply code (NaN when no demand in reach)
    demand_in_reach: pd.Series  # Σ_i W P_i, by supply code
    method: str
    decay: Decay
    n_pairs: int


def two_step_fca(
    supply: pd.Series,
    demand: pd.Series,
    pairs: TravelPairs,
    *,
    decay: Decay | None = None,
) -> AccessResult:
    """Two-step floating catchment accessibility (DREES APL family).

    Parameters
    ----------
    supply
        Supply at each supply location, indexed like ``pairs.supply_codes``
        (missing locations count 0).
    demand
        Demand (e.g. standardised population) at each demand location,
        indexed like ``pairs.demand_codes``.
    pairs
        Travel times within reach (:func:`crow_fly_pairs`,
        :func:`pairs_from_table`).
    decay
        Step decay (default: DREES, 1 / 2/3 / 1/3 up to 10 / 15 / 20 min).

    Returns
    -------
    AccessResult
        ``accessibility`` indexed by demand code (0 where no supply is in
        reach), ``ratio`` by supply code.

    Notes
    -----
    R_j = S_j / Σ_i W(t_ij) P_i and A_i = Σ_j W(t_ij) R_j (Luo & Qi 2009).
    Σ_i A_i P_i equals the total supply of the locations that have some
    demand in reach.
    """
    decay = decay or Decay.drees()
    s = supply.reindex(pairs.supply_codes).fillna(0.0).to_numpy(dtype=np.float64)
    p = demand.reindex(pairs.demand_codes).fillna(0.0).to_numpy(dtype=np.float64)
    w = decay.weight(pairs.minutes)
    active = w > 0
    di, sj, w = pairs.demand[active], pairs.supply[active], w[active]
    demand_in_reach = np.bincount(sj, weights=w * p[di], minlength=len(s))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand_in_reach > 0, s / demand_in_reach, np.nan)
    contrib = w * np.nan_to_num(ratio[sj])
    access = np.bincount(di, weights=contrib, minlength=len(p))
    return AccessResult(
        accessibility=pd.Series(
            access, index=pd.Index(pairs.demand_codes, name="code"), name="accessibility"
        ),
        ratio=pd.Series(ratio, index=pd.Index(pairs.supply_codes, name="code"), name="ratio"),
        demand_in_reach=pd.Series(demand_in_reach, index=pd.Index(pairs.supply_codes, name="code")),
        method=pairs.method,
        decay=decay,
        n_pairs=int(active.sum()),
    )


def cap_gp_activity(
    activity: pd.Series,
    *,
    salaried: pd.Series | None = None,
    new_practitioner: pd.Series | None = None,
) -> pd.Series:
    """Yearly activity of each GP as counted by the APL (DREES caps, ``data/rules/apl.toml``).

    Fewer than 250 acts count 0; 250 to 3,600 count 3,600; 3,601 to 6,000 as
    is; more than 6,000 count 6,000; a new liberal GP with no activity the
    previous year counts 5,400; salaried GPs in health centres are not capped.
    """
    caps = apl_parameters()["gp_activity"]
    values = activity.astype(float)
    capped = values.copy()
    capped[values < caps["zero_below"]] = 0.0
    mid = (values >= caps["zero_below"]) & (values <= caps["floor_value"])
    capped[mid] = float(caps["floor_value"])
    capped[values > caps["ceiling"]] = float(caps["ceiling"])
    if new_practitioner is not None:
        capped[new_practitioner.reindex(values.index).fillna(False).astype(bool)] = float(
            caps["new_practitioner"]
        )
    if salaried is not None and not caps["salaried_capped"]:
        mask = salaried.reindex(values.index).fillna(False).astype(bool)
        capped[mask] = values[mask]
    return capped


def age_weights(vintage: int) -> dict[str, float]:
    """Age weights of a vintage of the APL method."""
    weights = apl_parameters()["age_weights"]
    if str(vintage) not in weights:
        raise ValueError(
            f"Pas de poids d'âge pour le millésime {vintage} (disponibles : {', '.join(weights)})."
        )
    return {band: float(v) for band, v in weights[str(vintage)].items()}


def describe(result: AccessResult) -> str:
    """French sentence describing how an accessibility result was computed."""
    bands = ", ".join(
        f"{fr_decimal(w, '.2g')} jusqu'à {fr_decimal(m)} min"
        for m, w in zip(result.decay.upper_minutes, result.decay.weights, strict=True)
    )
    return f"2SFCA ({bands}) ; temps : {result.method} ; {fr_number(result.n_pairs)} paires."
