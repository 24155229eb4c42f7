"""Zones and their metric CRS: one per-zone reprojection loop for every module."""

from __future__ import annotations

import numpy as np
import pandas as pd

from diagnosis.core.zones import ZONE_CRS, metric_zones, zone_of


def test_zone_of_maps_overseas_departments_and_mainland() -> None:
    departments = pd.Series(["13", "2A", "971", "974", "976", "75"])
    assert zone_of(departments).tolist() == ["metro", "metro", "971", "974", "976", "metro"]


def test_metric_zones_yields_present_zones_in_order_with_their_rank() -> None:
    zones = np.array(["974", "metro", "974", "971"])
    got = [(k, z, e, m.tolist()) for k, z, e, m in metric_zones(zones)]
    assert got == [
        (0, "metro", 2154, [False, True, False, False]),
        (1, "971", 5490, [False, False, False, True]),
        (4, "974", 2975, [True, False, True, False]),
    ]
    assert list(ZONE_CRS)[4] == "974"
    # Every row lands in exactly one zone.
    assert sum(m.astype(int) for *_, m in metric_zones(zones)).tolist() == [1, 1, 1, 1]


def test_metric_zones_accepts_a_series_and_skips_empty_input() -> None:
    assert [z for _, z, _, _ in metric_zones(pd.Series(["973"]))] == ["973"]
    assert list(metric_zones(np.array([], dtype=object))) == []
