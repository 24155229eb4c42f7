"""GP what-if: hand-computed cases, a full 2SFCA recomputation, supply conservation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.access import crow_fly_pairs, pairs_from_table, referential_pairs, two_step_fca
from coverage.care import computed_gp_access
from coverage.loaders.supply import SupplyTable
from coverage.whatif import ESTIMATE_LABEL, WHATIF_COLUMNS, gp_whatif_model, whatif_model
from diagnosis.core.referential import Referential
from diagnosis.errors import AtlasError, DataError
from tests.grid import cell, grid_referential

CODES = ["A", "B", "C", "D"]


def line_pairs():
    """A–B 5 min (weight 1), B–C 12 min (weight 2/3), A–C 25 min (out of reach); D alone."""
    table = pd.DataFrame(
        [
            ("A", "B", 5.0),
            ("B", "A", 5.0),
            ("B", "C", 12.0),
            ("C", "B", 12.0),
            ("A", "C", 25.0),
            ("C", "A", 25.0),
        ],
        columns=["origin", "destination", "minutes"],
    )
    return pairs_from_table(table, demand_codes=CODES, supply_codes=CODES)


DEMAND = pd.Series({"A": 1000.0, "B": 2000.0, "C": 3000.0, "D": 0.0})


def test_one_fte_by_hand_without_baseline() -> None:
    # D_B = 1·1000 + 1·2000 + 2/3·3000 = 5000; R_B = 1/5000; per 10,000: A = B = 2, C = 4/3.
    model = whatif_model(DEMAND, line_pairs())
    assert not model.has_baseline
    result = model.simulate({"B": 1.0}, territory=["A"])
    table = result.table.set_index("code")
    assert list(result.table.columns) == WHATIF_COLUMNS
    assert sorted(table.index) == ["A", "B", "C"]
    assert table.loc["A", "change"] == pytest.approx(2.0)
    assert table.loc["B", "change"] == pytest.approx(2.0)
    assert table.loc["C", "change"] == pytest.approx(4 / 3)
    # Without a baseline, no level is shown: only the change.
    assert table["accessibility_before"].isna().all()
    assert table["accessibility_after"].isna().all()
    assert bool(table.loc["A", "in_territory"]) and not bool(table.loc["C", "in_territory"])
    summary = result.summary().set_index("scope")
    assert summary.loc["territory", "change"] == pytest.approx(2.0)
    # Neighbours B and C, weighted by demand: (2·2000 + 4/3·3000) / 5000 = 1.6.
    assert summary.loc["neighbours", "change"] == pytest.approx(1.6)
    assert result.supply_change_fte == 1.0
    assert result.unreached == []


def test_levels_with_a_baseline_and_removal() -> None:
    supply = pd.Series({"A": 1.0})
    model = whatif_model(DEMAND, line_pairs(), supply=supply)
    # Baseline: D_A = 1000 + 2000 = 3000, A_A = A_B = 10,000 / 3000.
    result = model.simulate({"A": -1.0}, territory=["A", "B"])
    table = result.table.set_index("code")
    assert table.loc["A", "accessibility_before"] == pytest.approx(10_000 / 3000)
    assert table.loc["A", "accessibility_after"] == pytest.approx(0.0)
    assert table.loc["B", "change"] == pytest.approx(-10_000 / 3000)
    assert "C" not in table.index  # C is out of A's reach: untouched
    with pytest.raises(DataError, match="retirer plus d'ETP"):
        model.simulate({"A": -1.5})


def test_change_is_independent_of_the_baseline() -> None:
    # The 2SFCA is linear in supply: the change of ±k FTE does not depend on existing supply.
    without = whatif_model(DEMAND, line_pairs()).simulate({"B": 2.5})
    with_base = whatif_model(
        DEMAND, line_pairs(), supply=pd.Series({"A": 3.0, "B": 1.0, "C": 7.0})
    ).simulate({"B": 2.5})
    np.testing.assert_allclose(
        without.table.set_index("code")["change"],
        with_base.table.set_index("code").loc[without.table["code"], "change"],
        rtol=0,
        atol=1e-12,
    )


def test_no_population_in_reach_moves_nothing() -> None:
    model = whatif_model(DEMAND, line_pairs())
    result = model.simulate({"D": 4.0})
    assert result.unreached == ["D"]
    assert result.supply_change_reaching_fte == 0.0
    assert (result.table["change"] == 0).all()


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"Z": 1.0}, "inconnue"), ({"A": float("nan")}, "nombre fini")],
)
def test_bad_changes_are_refused(changes: dict[str, float], message: str) -> None:
    model = whatif_model(DEMAND, line_pairs())
    with pytest.raises(AtlasError, match=message):
        model.simulate(changes)


def random_case(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 60_000, (n, 2))
    codes = np.array([f"C{i:04d}" for i in range(n)])
    demand = pd.Series(rng.uniform(0, 5000, n), index=codes)
    demand.iloc[::37] = 0.0
    supply = pd.Series(rng.poisson(0.6, n).astype(float), index=codes)
    pairs = crow_fly_pairs(xy, xy, demand_codes=codes, supply_codes=codes)
    return codes, demand, supply, pairs


@pytest.mark.parametrize("seed", range(4))
def test_matches_a_full_recomputation(seed: int) -> None:
    codes, demand, supply, pairs = random_case(seed)
    demand_before, supply_before = demand.copy(), supply.copy()
    model = whatif_model(demand, pairs, supply=supply)
    np.testing.assert_allclose(
        model.baseline,
        two_step_fca(supply, demand, pairs).accessibility.to_numpy() * 10_000,
        rtol=0,
        atol=1e-9,
    )
    rng = np.random.default_rng(seed + 100)
    changes = {
        str(c): float(rng.choice([-1.0, 0.5, 2.0, 3.25]))
        for c in rng.choice(codes, 5, replace=False)
    }
    changes = {c: max(v, -float(supply[c])) for c, v in changes.items()}
    result = model.simulate(changes)
    changed = supply.copy()
    for c, v in changes.items():
        changed[c] += v
    full = two_step_fca(changed, demand, pairs).accessibility * 10_000
    table = result.table.set_index("code")
    np.testing.assert_allclose(
        table["accessibility_after"], full.reindex(table.index), rtol=0, atol=1e-9
    )
    # Every commune outside the table is untouched.
    base = pd.Series(model.baseline, index=model.codes)
    outside = full.index.difference(table.index)
    np.testing.assert_allclose(full[outside], base[outside], rtol=0, atol=1e-9)
    # Supply conservation: Σ ΔA·P equals the FTE added where some demand is in reach.
    assert float((table["change"] * table["demand"]).sum()) / 10_000 == pytest.approx(
        result.supply_change_reaching_fte, abs=1e-9
    )
    # The model is read-only (it may be shared by sessions); inputs untouched.
    assert not model.pair_weight.flags.writeable and not model.demand_in_reach.flags.writeable
    pd.testing.assert_series_equal(demand, demand_before)
    pd.testing.assert_series_equal(supply, supply_before)


def test_gp_model_matches_the_computed_indicator() -> None:
    ref = grid_referential()
    gps = pd.DataFrame({"medecin_generaliste": [2.0, 1.0]}, index=[cell(0, 0), cell(4, 3)])
    rpps = SupplyTable(
        by_unit=gps, report=pd.DataFrame(), source="Annuaire santé (test)", rows_read=3, rows_used=3
    )
    model = gp_whatif_model(ref, rpps=rpps, pairs=referential_pairs(ref))
    indicator, _ = computed_gp_access(ref, rpps)
    np.testing.assert_allclose(
        model.baseline, indicator.reindex(model.codes).to_numpy(), rtol=0, atol=1e-9
    )
    assert ESTIMATE_LABEL in model.method
    assert "1 médecin = 1 ETP" in model.method
    without = gp_whatif_model(ref)
    assert not without.has_baseline
    assert "seule la variation" in without.method


def test_reach_lists_supply_locations_that_touch_the_territory() -> None:
    model = whatif_model(DEMAND, line_pairs())
    assert sorted(model.reach(["A"])) == ["A", "B"]
    assert sorted(model.reach(["C"])) == ["B", "C"]


def test_on_a_real_department_against_a_full_recomputation(real_referential: Referential) -> None:
    from diagnosis.core.referential import load_referential

    ref = load_referential(department="13")
    pairs = referential_pairs(ref)
    model = gp_whatif_model(ref, pairs=pairs)
    result = model.simulate({"13004": 3.0}, territory=["13004", "13097"])
    supply = pd.Series({"13004": 3.0})
    demand = ref.units["population"].astype(float)
    full = two_step_fca(supply, demand, pairs).accessibility * 10_000
    table = result.table.set_index("code")
    np.testing.assert_allclose(table["change"], full.reindex(table.index), rtol=0, atol=1e-9)
    assert (full.drop(table.index) == 0).all()
    assert float((table["change"] * table["demand"]).sum()) / 10_000 == pytest.approx(3.0)
