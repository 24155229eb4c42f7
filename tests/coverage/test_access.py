"""The 2SFCA engine: a naive reference, PySAL access, invariants."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from coverage.access import Decay, cap_gp_activity, crow_fly_pairs, pairs_from_table, two_step_fca

SPEED, DETOUR = 50.0, 1.3


def naive_2sfca(xy, supply, demand, *, max_minutes=20.0, speed=SPEED, detour=DETOUR):
    """Deliberately naive: every pair, explicit loops, the DREES step weights."""
    n = len(xy)

    def weight(minutes):
        if minutes <= 10:
            return 1.0
        if minutes <= 15:
            return 2 / 3
        if minutes <= 20:
            return 1 / 3
        return 0.0

    minutes = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            d_km = ((xy[i][0] - xy[j][0]) ** 2 + (xy[i][1] - xy[j][1]) ** 2) ** 0.5 / 1000
            minutes[i][j] = d_km * detour / speed * 60
    ratio = [0.0] * n
    for j in range(n):
        total = sum(
            weight(minutes[i][j]) * demand[i] for i in range(n) if minutes[i][j] <= max_minutes
        )
        ratio[j] = supply[j] / total if total > 0 else 0.0
    return [
        sum(weight(minutes[i][j]) * ratio[j] for j in range(n) if minutes[i][j] <= max_minutes)
        for i in range(n)
    ]


def random_case(seed, n, extent_m=40_000):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, extent_m, (n, 2))
    codes = np.array([f"C{i:04d}" for i in range(n)])
    demand = pd.Series(rng.uniform(50, 5000, n), index=codes)
    supply = pd.Series(rng.poisson(0.7, n) * rng.uniform(2000, 6000, n), index=codes)
    return xy, codes, supply, demand


@pytest.mark.parametrize("seed", range(6))
def test_equals_naive_reference(seed: int) -> None:
    xy, codes, supply, demand = random_case(seed, 60)
    pairs = crow_fly_pairs(
        xy, xy, demand_codes=codes, supply_codes=codes, speed_kmh=SPEED, detour=DETOUR
    )
    got = two_step_fca(supply, demand, pairs).accessibility
    expected = naive_2sfca(xy.tolist(), supply.tolist(), demand.tolist())
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-9)


def test_equals_pysal_access_on_a_medium_case() -> None:
    access = pytest.importorskip("access")
    xy, codes, supply, demand = random_case(42, 2500, extent_m=150_000)
    pairs = crow_fly_pairs(
        xy, xy, demand_codes=codes, supply_codes=codes, speed_kmh=SPEED, detour=DETOUR
    )
    ours = two_step_fca(supply, demand, pairs).accessibility
    cost = pd.DataFrame(
        {
            "origin": codes[pairs.demand],
            "dest": codes[pairs.supply],
            "minutes": pairs.minutes.astype(float),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # access's own deprecation warnings
        model = access.Access(
            demand_df=demand.rename("pop").rename_axis("code").reset_index(),
            demand_index="code",
            demand_value="pop",
            supply_df=supply.rename("s").rename_axis("code").reset_index(),
            supply_index="code",
            supply_value="s",
            cost_df=cost,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="minutes",
        )
        model.two_stage_fca(
            name="fca", max_cost=20, weight_fn=access.weights.step_fn({10: 1, 15: 2 / 3, 20: 1 / 3})
        )
    theirs = model.access_df["fca_s"].reindex(codes).fillna(0.0)
    assert len(pairs) > 50_000
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-9)


def test_single_supply_point_gives_supply_over_demand_in_catchment() -> None:
    # Everything within 10 minutes of the supply point at the origin: weight 1.
    xy = np.array([[0, 0], [1000, 0], [0, 2000], [3000, 0], [200_000, 0]], dtype=float)
    codes = np.array(["S", "a", "b", "c", "far"])
    demand = pd.Series([100.0, 200.0, 300.0, 400.0, 999.0], index=codes)
    supply = pd.Series({"S": 5000.0})
    pairs = crow_fly_pairs(
        xy, xy, demand_codes=codes, supply_codes=codes, speed_kmh=SPEED, detour=DETOUR
    )
    acc = two_step_fca(supply, demand, pairs).accessibility
    inside = demand[["S", "a", "b", "c"]].sum()
    assert acc[["S", "a", "b", "c"]].tolist() == pytest.approx([5000 / inside] * 4, abs=1e-12)
    assert acc["far"] == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_supply_is_conserved(seed: int) -> None:
    xy, codes, supply, demand = random_case(seed, 400, extent_m=120_000)
    pairs = crow_fly_pairs(
        xy, xy, demand_codes=codes, supply_codes=codes, speed_kmh=SPEED, detour=DETOUR
    )
    result = two_step_fca(supply, demand, pairs)
    reached = result.demand_in_reach > 0
    total_reached = supply.reindex(result.ratio.index)[reached.to_numpy()].sum()
    assert (result.accessibility * demand).sum() == pytest.approx(total_reached, rel=1e-12)


def test_decay_bounds_are_included() -> None:
    decay = Decay.drees()
    minutes = np.array([0, 9.99, 10.0, 10.01, 15.0, 15.01, 20.0, 20.01])
    np.testing.assert_allclose(decay.weight(minutes), [1, 1, 1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0])
    other = Decay(upper_minutes=(30.0,), weights=(1.0,))  # another profession's catchment
    assert other.weight(np.array([29.0, 31.0])).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="croissantes"):
        Decay(upper_minutes=(15.0, 10.0), weights=(1.0, 0.5))


def test_crow_fly_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 50_000, (300, 2))
    pairs = crow_fly_pairs(xy, xy, max_minutes=20, speed_kmh=SPEED, detour=DETOUR, block_size=37)
    radius = 20 / 60 * SPEED / DETOUR * 1000
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    expected = set(zip(*np.nonzero(d <= radius), strict=True))
    got = set(zip(pairs.demand.tolist(), pairs.supply.tolist(), strict=True))
    assert got == {(int(i), int(j)) for i, j in expected}
    assert "vol d'oiseau" in pairs.method and "50 km/h" in pairs.method


def test_pairs_from_a_travel_table() -> None:
    table = pd.DataFrame(
        {
            "origin": ["A", "A", "B", "B", "C", "X"],
            "destination": ["B", "C", "A", "C", "A", "A"],
            "minutes": [5, 25, 5, 12, 18, 1],
        }
    )
    pairs = pairs_from_table(table, demand_codes=["A", "B", "C"], supply_codes=["A", "B", "C"])
    got = {
        (pairs.demand_codes[i], pairs.supply_codes[j], float(t))
        for i, j, t in zip(pairs.demand, pairs.supply, pairs.minutes, strict=True)
    }
    # A→C (25 min) is beyond reach, X is unknown; self pairs are added at 0 minutes.
    assert got == {
        ("A", "B", 5.0),
        ("B", "A", 5.0),
        ("B", "C", 12.0),
        ("C", "A", 18.0),
        ("A", "A", 0.0),
        ("B", "B", 0.0),
        ("C", "C", 0.0),
    }
    with pytest.raises(ValueError, match="colonne 'minutes' absente"):
        pairs_from_table(table.drop(columns="minutes"), demand_codes=["A"], supply_codes=["A"])


def test_inputs_are_not_mutated() -> None:
    xy, codes, supply, demand = random_case(1, 50)
    pairs = crow_fly_pairs(xy, xy, demand_codes=codes, supply_codes=codes)
    before = (supply.copy(), demand.copy(), pairs.minutes.copy(), pairs.demand.copy())
    two_step_fca(supply, demand, pairs)
    pd.testing.assert_series_equal(before[0], supply)
    pd.testing.assert_series_equal(before[1], demand)
    np.testing.assert_array_equal(before[2], pairs.minutes)
    np.testing.assert_array_equal(before[3], pairs.demand)


def test_gp_activity_caps() -> None:
    activity = pd.Series(
        {"a": 100, "b": 250, "c": 2000, "d": 3600, "e": 4500, "f": 8000, "g": 0, "h": 9000}
    )
    new = pd.Series({"g": True})
    salaried = pd.Series({"h": True})
    capped = cap_gp_activity(activity, new_practitioner=new, salaried=salaried)
    assert capped.to_dict() == {
        "a": 0.0,
        "b": 3600.0,
        "c": 3600.0,
        "d": 3600.0,
        "e": 4500.0,
        "f": 6000.0,
        "g": 5400.0,
        "h": 9000.0,
    }
