"""Zones of France and their metric CRS: the vocabulary every module may import.

Geometries are stored in WGS84 (EPSG:4326); areas, lengths and distances are
measured in the metric CRS of each zone: Lambert-93 for mainland France and
Corsica, the official local projection of each overseas department.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

__all__ = [
    "DROM_DEPARTMENTS",
    "PLM_PARENTS",
    "ZONE_CRS",
    "metric_zones",
    "zone_of",
]

#: Communes represented by their municipal arrondissements.
PLM_PARENTS: dict[str, str] = {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}

#: Metric CRS for areas and lengths: Lambert-93 for mainland France and Corsica,
#: the official local projection of each overseas department (arrêté of
#: 5 March 2019 on the national geodetic systems).
ZONE_CRS: dict[str, int] = {
    "metro": 2154,  # RGF93 v1 / Lambert-93
    "971": 5490,  # Guadeloupe, RGAF09 / UTM 20N
    "972": 5490,  # Martinique, RGAF09 / UTM 20N
    "973": 2972,  # Guyane, RGFG95 / UTM 22N
    "974": 2975,  # La Réunion, RGR92 / UTM 40S
    "976": 4471,  # Mayotte, RGM04 / UTM 38S
}
DROM_DEPARTMENTS = ("971", "972", "973", "974", "976")


def zone_of(department: pd.Series) -> pd.Series:
    """Map department codes to a CRS zone: ``metro`` or the overseas department code."""
    return department.where(department.isin(DROM_DEPARTMENTS), "metro")


def metric_zones(zones: pd.Series | np.ndarray) -> Iterator[tuple[int, str, int, np.ndarray]]:
    """The per-zone reprojection loop: which rows go into which metric CRS.

    Parameters
    ----------
    zones
        Zone of each row (from :func:`zone_of`).

    Yields
    ------
    tuple
        ``(position, zone, epsg, mask)`` for each zone present, in the order of
        :data:`ZONE_CRS`: ``position`` is the zone's rank in :data:`ZONE_CRS`,
        ``mask`` a boolean array selecting its rows, to be reprojected to
        ``epsg``. Zones without rows are skipped.

    Examples
    --------
    >>> [(z, e, m.tolist()) for _, z, e, m in metric_zones(pd.Series(["metro", "974"]))]
    [('metro', 2154, [True, False]), ('974', 2975, [False, True])]
    """
    values = zones.to_numpy() if isinstance(zones, pd.Series) else np.asarray(zones)
    for position, (zone, epsg) in enumerate(ZONE_CRS.items()):
        mask = values == zone
        if mask.any():
            yield position, zone, epsg, mask
