"""Diagnosis on a grid of square communes where every answer is computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis.analysis.checks import diagnose_perimeters, size_class_table
from diagnosis.analysis.dispute_shares import whole_parts
from diagnosis.analysis.membership import membership
from diagnosis.analysis.overlaps import declared_splits, overlap_pairs, overlaps
from diagnosis.analysis.pipeline import run_diagnosis
from diagnosis.analysis.rates import coverage_rates
from diagnosis.analysis.white_zones import white_zones
from diagnosis.core.aci import funding_total, simulate_funding
from diagnosis.core.model import PerimeterImport, perimeters_from_members
from diagnosis.core.referential import referential_view
from diagnosis.errors import DataError
from tests.grid import (
    CITY,
    CROSSING,
    ISLAND,
    SHARING,
    WHOLE_POPULATIONS,
    all_codes,
    cell,
    grid_referential,
)


@pytest.fixture(scope="module")
def ref():
    return grid_referential(populations={cell(0, 0): 5000, cell(4, 3): 30000})


def make(members, statuses=None, splits=()):
    result = perimeters_from_members(members, statuses=statuses or {})
    result.splits = pd.DataFrame(
        [(p, c, c) for p, c in splits], columns=["perimeter_id", "code", "declared_code"]
    )
    return result


# A = bottom row of columns 0-2; B = column 2 row 0 and column 3 row 0; C = column 2 row 0.
A = [cell(0, 0), cell(1, 0), cell(2, 0)]
B = [cell(2, 0), cell(3, 0)]
C = [cell(2, 0)]


def test_overlaps_by_hand(ref) -> None:
    m = membership(make({"A": A, "B": B, "C": C}), ref)
    units = overlaps(m, ref)
    assert units["code"].tolist() == [cell(2, 0), cell(3, 0)][:1]
    row = units.iloc[0]
    assert row["n_perimeters"] == 3
    assert row["perimeters"] == "A | B | C"
    assert row["population"] == 1000
    pairs = overlap_pairs(m)
    got = {
        (a, b): (n, p)
        for a, b, n, p in pairs[
            ["perimeter_a", "perimeter_b", "n_units_shared", "population_shared"]
        ].itertuples(index=False)
    }
    assert got == {("A", "B"): (1, 1000), ("A", "C"): (1, 1000), ("B", "C"): (1, 1000)}
    assert pairs["codes"].tolist() == [(cell(2, 0),)] * 3


def test_no_overlap_gives_empty_tables_with_columns(ref) -> None:
    m = membership(make({"A": [cell(0, 0)], "B": [cell(1, 0)]}), ref)
    assert overlaps(m, ref).empty
    assert list(overlaps(m, ref).columns)[:5] == [
        "code",
        "name",
        "population",
        "n_perimeters",
        "perimeters",
    ]
    assert overlap_pairs(m).empty
    assert "population_shared" in overlap_pairs(m).columns


def test_declared_split_is_not_an_overlap(ref) -> None:
    shared = cell(2, 0)
    m = membership(make({"A": A, "B": B}, splits=[("A", shared), ("B", shared)]), ref)
    assert overlaps(m, ref).empty
    assert overlap_pairs(m).empty
    splits = declared_splits(m, ref)
    assert splits["code"].tolist() == [shared]
    assert splits["perimeters"].tolist() == ["A | B"]
    # The split unit is still covered.
    assert m.covered()[m.index.position[shared]]


def test_white_zones_and_clusters_by_hand(ref) -> None:
    # Cover everything except column 0 (4 units, one cluster), the unit (4, 3)
    # (a corner, its own cluster) and the island.
    covered = [cell(c, r) for c in range(1, 5) for r in range(4) if (c, r) != (4, 3)]
    m = membership(
        make({"P": covered[:7], "Q": covered[7:]}, statuses={"P": "aci_signe", "Q": "emergence"}),
        ref,
    )
    wz = white_zones(m, ref)
    assert sorted(wz.units["code"]) == sorted([cell(0, r) for r in range(4)] + [cell(4, 3), ISLAND])
    clusters = wz.clusters.set_index("cluster_id")
    # Largest population first: (4,3) has 30,000 inhabitants.
    assert clusters.loc[1, "codes"] == (cell(4, 3),)
    assert clusters.loc[2, "codes"] == tuple(sorted(cell(0, r) for r in range(4)))
    assert clusters.loc[2, "population"] == 5000 + 3 * 1000
    assert clusters.loc[3, "codes"] == (ISLAND,)
    assert bool(clusters.loc[3, "is_island"])
    assert not bool(clusters.loc[2, "is_island"])
    # Column 0 borders P (column 1 rows 0-3) on 4 sides of 1,000 m.
    nb = wz.neighbours.set_index(["cluster_id", "perimeter_id"])
    assert nb.loc[(2, "P"), "border_m"] == 4000.0
    assert (3, "P") not in nb.index  # the island has no neighbour
    assert clusters.loc[3, "n_neighbour_perimeters"] == 0
    # Each unit is in exactly one cluster or covered.
    assert wz.units["code"].is_unique
    assert set(wz.units["code"]).isdisjoint(covered)


def test_white_zones_depend_on_the_status_threshold(ref) -> None:
    imported = make(
        {"P": [cell(0, 0)], "Q": [cell(1, 0)]}, statuses={"P": "aci_signe", "Q": "emergence"}
    )
    any_status = white_zones(membership(imported, ref), ref)
    signed = white_zones(membership(imported, ref, status_min="aci_signe"), ref)
    assert cell(1, 0) not in set(any_status.units["code"])
    assert cell(1, 0) in set(signed.units["code"])


def test_contiguity_enclaves_and_islands(ref) -> None:
    ring = [cell(c, r) for c in range(3) for r in range(3) if (c, r) != (1, 1)]
    split = [cell(0, 3), cell(2, 3)]  # not touching
    with_island = [cell(4, 0), ISLAND]
    diag = diagnose_perimeters(
        membership(make({"R": ring, "S": split, "I": with_island}), ref), ref
    )
    summary = diag.summary.set_index("perimeter_id")
    assert summary.loc["R", "n_parts"] == 1
    assert summary.loc["S", "n_parts"] == 2
    assert summary.loc["I", "n_parts"] == 2
    assert diag.enclaves["perimeter_id"].tolist() == ["R"]
    assert diag.enclaves["code"].tolist() == [cell(1, 1)]
    assert summary.loc["R", "n_enclaves"] == 1
    assert summary.loc["S", "n_enclaves"] == 0
    parts = diag.parts[diag.parts["perimeter_id"] == "I"]
    assert dict(zip(parts["codes"], parts["is_island"], strict=True)) == {
        (cell(4, 0),): False,
        (ISLAND,): True,
    }
    # Population, area, density: ring = 8 units, one with 5,000 inhabitants.
    assert summary.loc["R", "population"] == 5000 + 7 * 1000
    assert summary.loc["R", "area_km2"] == 8.0
    assert summary.loc["R", "density_per_km2"] == pytest.approx(12000 / 8)
    # Geometries are dissolved perimeters.
    geoms = diag.geometries.set_index("perimeter_id")
    assert geoms.loc["R", "geometry"].geom_type == "Polygon"
    assert len(geoms.loc["R", "geometry"].interiors) == 1


def test_epci_cuts(ref) -> None:
    # Columns 0-1 are E1 (8 units); take 3 of them plus all of E2 (column 2).
    codes = [cell(0, 0), cell(0, 1), cell(1, 0)] + [cell(2, r) for r in range(4)]
    diag = diagnose_perimeters(membership(make({"P": codes}), ref), ref, geometry=False)
    epcis = diag.epcis.set_index("epci_code")
    assert epcis.loc["E1", "n_units_included"] == 3
    assert epcis.loc["E1", "population_included"] == 5000 + 2000
    assert epcis.loc["E1", "epci_population"] == 5000 + 7000
    assert epcis.loc["E1", "share_included"] == pytest.approx(7000 / 12000)
    assert bool(epcis.loc["E1", "cut"])
    assert not bool(epcis.loc["E2", "cut"])
    assert epcis.loc["E2", "share_included"] == 1.0
    summary = diag.summary.iloc[0]
    assert (summary["n_epci"], summary["n_epci_cut"]) == (2, 1)
    assert summary["departments"] == "01"


@pytest.mark.parametrize(
    ("population", "cls", "below", "above", "nearest"),
    [
        (19_000, 1, np.nan, 21_000, 40_000),
        (38_500, 1, np.nan, 1_500, 40_000),
        (40_000, 2, 0, 40_000, 40_000),
        (41_000, 2, 1_000, 39_000, 40_000),
        (79_999, 2, 39_999, 1, 80_000),
        (100_000, 3, 20_000, 75_000, 80_000),
        (175_000, 4, 0, np.nan, 175_000),
        (400_000, 4, 225_000, np.nan, 175_000),
    ],
)
def test_size_class_and_margins(population, cls, below, above, nearest) -> None:
    row = size_class_table([population]).iloc[0]
    assert row["size_class"] == cls
    assert row["margin_below"] == pytest.approx(below, nan_ok=True)
    assert row["margin_above"] == pytest.approx(above, nan_ok=True)
    assert row["nearest_bound"] == nearest
    assert bool(row["below_minimum"]) is (population < 20_000)


def test_minimum_population_is_region_configurable() -> None:
    from dataclasses import replace

    from diagnosis.core.aci import size_rules

    rules = replace(size_rules(), minimum_by_region={"84": 15_000})
    table = size_class_table([16_000, 16_000], rules=rules, regions=["84", "93"])
    assert table["minimum_population"].tolist() == [15_000, 20_000]
    assert table["below_minimum"].tolist() == [False, True]
    assert table["missing_to_minimum"].tolist() == [0, 4_000]


def test_funding_table_matches_domain_amounts() -> None:
    # domain.md: totals with both optional missions, first crisis year and a crisis.
    for cls, total in zip((1, 2, 3, 4), (287_500, 382_500, 487_500, 580_000), strict=True):
        assert funding_total(cls, crisis_activated=True) == total
    t1 = simulate_funding(1).set_index("key")
    assert t1.loc["fonctionnement", "total_eur"] == 50_000
    assert (t1.loc["acces_aux_soins", "fixed_eur"], t1.loc["acces_aux_soins", "variable_eur"]) == (
        55_000,
        25_000,
    )
    assert "crises_declenchement" not in t1.index
    later = simulate_funding(2, crisis_year="annees_suivantes").set_index("key")
    assert later.loc["crises_mise_a_jour", "total_eur"] == 17_500
    assert "crises_plan_annee_1" not in later.index
    no_options = funding_total(3, optional_missions=())
    assert no_options == 487_500 - 67_500 - 30_000 - 20_000
    # Issue 20: the +10 % is an option ("pourrait", seed 002), off unless chosen.
    big = simulate_funding(
        4, members=100, crisis_activated=True, large_community_bonus=True
    ).set_index("key")
    assert big.loc["bonus_taille_4", "total_eur"] == pytest.approx(0.10 * (580_000 - 90_000))
    small = simulate_funding(4, members=99).set_index("key")
    assert "bonus_taille_4" not in small.index
    with pytest.raises(ValueError, match="Taille ACI"):
        simulate_funding(5)


def test_coverage_rates_by_hand(ref) -> None:
    # P (signed) covers column 0 (8,000 inhabitants), Q (emergence) column 4 (33,000).
    imported = make(
        {"P": [cell(0, r) for r in range(4)], "Q": [cell(4, r) for r in range(4)]},
        statuses={"P": "aci_signe", "Q": "emergence"},
    )
    rates = coverage_rates(imported, ref).set_index(["scope", "status_min"])
    total = 8000 + 4 * 1000 * 3 + 33000 + 1000  # columns 0-4 and the island
    fr_any = rates.loc[("FR", "emergence")]
    assert fr_any["population_total"] == total
    assert fr_any["population_covered"] == 8000 + 33000
    assert fr_any["share_covered"] == pytest.approx(41000 / total)
    assert fr_any["units_covered"] == 8
    fr_signed = rates.loc[("FR", "aci_signe")]
    assert fr_signed["population_covered"] == 8000
    dep38 = rates.loc[("DEP-38", "emergence")]
    assert dep38["population_total"] == 4000 + 33000
    assert dep38["population_covered"] == 33000
    corsica = rates.loc[("REG-94", "emergence")]
    assert corsica["population_covered"] == 0
    assert (
        rates["population_covered"] + rates["population_white"] == rates["population_total"]
    ).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(all_codes()), min_size=0, max_size=12),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["emergence", "aci_signe"]),
)
def test_invariants(perimeter_codes, status_min) -> None:
    ref = grid_referential(populations={cell(0, 0): 5000, cell(4, 3): 30000})
    statuses = {f"P{i}": ("aci_signe" if i % 2 else None) for i in range(len(perimeter_codes))}
    imported: PerimeterImport = make(
        {f"P{i}": codes for i, codes in enumerate(perimeter_codes)}, statuses=statuses
    )
    m = membership(imported, ref, status_min=status_min)
    units = overlaps(m, ref)
    pairs = overlap_pairs(m)
    wz = white_zones(m, ref)
    # Overlaps are symmetric: each unordered pair once, and every unit claimed twice
    # or more appears in the pairs of its perimeters.
    keys = [tuple(sorted(p)) for p in zip(pairs["perimeter_a"], pairs["perimeter_b"], strict=True)]
    assert len(keys) == len(set(keys))
    shared_units = {c for codes in pairs["codes"] for c in codes}
    assert shared_units == set(units["code"])
    # covered + white = total population, and each unit is covered or in exactly one cluster.
    covered = m.covered()
    total = ref.units["population"].sum()
    assert ref.units["population"].to_numpy()[covered].sum() + wz.units["population"].sum() == total
    assert set(wz.units["code"]) == set(ref.units.index[~covered])
    assert wz.units["code"].is_unique
    assert wz.clusters["population"].sum() == wz.units["population"].sum()
    rates = coverage_rates(imported, ref, statuses=[status_min], levels=["france"])
    assert rates["population_white"].iloc[0] == wz.units["population"].sum()


def test_inputs_are_not_mutated(ref) -> None:
    imported = make({"A": A, "B": B})
    before = (
        imported.perimeters.copy(),
        imported.members.copy(),
        ref.units.drop(columns="geometry").copy(),
    )
    m = membership(imported, ref)
    diagnose_perimeters(m, ref)
    overlaps(m, ref)
    white_zones(m, ref)
    coverage_rates(imported, ref)
    pd.testing.assert_frame_equal(before[0], imported.perimeters)
    pd.testing.assert_frame_equal(before[1], imported.members)
    pd.testing.assert_frame_equal(before[2], ref.units.drop(columns="geometry"))


# --------------------------------------------------------------------------
# Issue 17: a perimeter is whole in every view; shared cities counted honestly
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whole_grid():
    return grid_referential(populations=WHOLE_POPULATIONS)


def _summary(diag):
    return diag.perimeters.summary.set_index("perimeter_id")


def test_a_department_view_shows_each_perimeter_whole(whole_grid) -> None:
    imported = perimeters_from_members({**CROSSING, **SHARING})
    ain = referential_view(whole_grid, department="01")
    diag = run_diagnosis(imported, ain, proposals=False)
    summary = _summary(diag)
    # X: 2,000 inhabitants in the Ain, 46,000 in the Isère; whole 48,000, Taille 2.
    assert summary.loc["X", "population"] == 48_000
    assert summary.loc["X", "population_in_scope"] == 2_000
    assert summary.loc["X", "size_class"] == 2
    assert not summary.loc["X", "below_minimum"]
    assert summary.loc["X", "n_units"] == 4
    assert summary.loc["X", "n_parts"] == 1
    assert summary.loc["X", "outside_departments"] == ("38",)
    assert summary.loc["X", "departments"] == "01,38"
    assert summary.loc["X", "funding_max_eur"] == funding_total(2)
    # X takes E1 and E2 partly, and one unit of E3 (column 3) and one of column 4.
    epcis = diag.perimeters.epcis[diag.perimeters.epcis["perimeter_id"] == "X"]
    assert epcis["epci_code"].tolist() == ["E1", "E2", "E3"]
    # Y reaches Corsica (region 94): whole 2,000, 1,000 in the Ain.
    assert (summary.loc["Y", "population"], summary.loc["Y", "population_in_scope"]) == (2000, 1000)
    assert summary.loc["Y", "outside_departments"] == ("2A",)
    # P3's own commune is in the Isère: 91,001 whole, 90,001 (the city) in the Ain.
    assert summary.loc["P3", "population_in_scope"] == 90_001
    # The Isère view: only X and P3 have a commune there, both whole.
    isere = _summary(run_diagnosis(imported, referential_view(whole_grid, department="38")))
    assert isere.index.tolist() == ["X", "P3"]
    assert isere.loc["X", "population"] == 48_000
    assert isere.loc["X", "population_in_scope"] == 46_000
    assert isere.loc["X", "outside_departments"] == ("01",)
    assert isere.loc["P3", "population"] == 91_001
    assert isere.loc["P3", "population_in_scope"] == 1_000


def test_a_region_view_shows_a_perimeter_crossing_the_regional_border_whole(whole_grid) -> None:
    imported = perimeters_from_members(CROSSING)
    diag = run_diagnosis(imported, referential_view(whole_grid, region="84"), proposals=False)
    summary = _summary(diag)
    assert (summary.loc["Y", "population"], summary.loc["Y", "population_in_scope"]) == (2000, 1000)
    assert summary.loc["Y", "regions"] == "84,94"
    assert summary.loc["Y", "n_parts"] == 2  # the island is a part of its own
    assert summary.loc["Y", "outside_departments"] == ("2A",)
    # The members outside the view are context: the island, not counted in the view.
    assert diag.outside.to_dict("records") == [{"perimeter_id": "Y", "code": ISLAND}]
    corsica = run_diagnosis(imported, referential_view(whole_grid, region="94"), proposals=False)
    assert _summary(corsica).index.tolist() == ["Y"]


def test_department_rates_are_the_same_from_a_department_and_a_region_run(whole_grid) -> None:
    imported = perimeters_from_members({**CROSSING, **SHARING})
    by_region = run_diagnosis(imported, referential_view(whole_grid, region="84"))
    for department in ("01", "38"):
        alone = run_diagnosis(imported, referential_view(whole_grid, department=department))
        scope = f"DEP-{department}"
        pd.testing.assert_frame_equal(
            alone.coverage.reset_index(drop=True),
            by_region.coverage[by_region.coverage["scope"] == scope].reset_index(drop=True),
        )
    # By hand, at the Ain: 5 communes of 1,000 and the city are covered.
    ain = by_region.coverage.set_index(["scope", "status_min"]).loc[("DEP-01", "emergence")]
    assert ain["population_covered"] == 5 * 1000 + 90_001
    assert ain["population_total"] == 11 * 1000 + 90_001


def test_a_city_shared_by_three_without_shares_is_said_and_gives_a_range(whole_grid) -> None:
    summary = _summary(run_diagnosis(perimeters_from_members(SHARING), whole_grid))
    for pid in SHARING:
        assert summary.loc[pid, "population"] == 91_001  # counted whole, as the contract says
        assert summary.loc[pid, "population_without_shared"] == 1_000
        assert summary.loc[pid, "shared_units"] == (CITY,)
        assert summary.loc[pid, "size_class"] == 3
        assert summary.loc[pid, "size_class_without_shared"] == 1
    shared = run_diagnosis(perimeters_from_members(SHARING), whole_grid).perimeters.shared
    p1 = shared[shared["perimeter_id"] == "P1"].iloc[0]
    assert (p1["code"], p1["population"], p1["population_counted"]) == (CITY, 90_001, 90_001)
    assert not p1["declared"]
    assert p1["n_perimeters"] == 3
    assert p1["with_ids"] == ("P2", "P3")


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        # 45,000.5 / 27,000.3 / 18,000.2: rounded (half to even) they sum to 90,000; the 1
        # left goes to the largest part, P1.
        ({"P1": 0.5, "P2": 0.3, "P3": 0.2}, {"P1": 46_001, "P2": 28_000, "P3": 19_000}),
        # P3 declares nothing: it gets the rest, 20 %.
        ({"P1": 0.5, "P2": 0.3}, {"P1": 46_001, "P2": 28_000, "P3": 19_000}),
        # Thirds: 30,000.33 each; the 1 left goes to the last of the largest (as Arbitrage).
        ({"P1": 1 / 3, "P2": 1 / 3, "P3": 1 / 3}, {"P1": 31_000, "P2": 31_000, "P3": 31_001}),
        # 33 % three times means thirds: scaled to 100 %.
        ({"P1": 0.33, "P2": 0.33, "P3": 0.33}, {"P1": 31_000, "P2": 31_000, "P3": 31_001}),
    ],
)
def test_declared_shares_give_whole_parts_summing_to_the_city(whole_grid, shares, expected) -> None:
    imported = perimeters_from_members(
        SHARING, shares={pid: {CITY: share} for pid, share in shares.items()}
    )
    diag = run_diagnosis(imported, whole_grid, proposals=False)
    summary = _summary(diag)
    assert summary["population"].to_dict() == expected
    parts = diag.perimeters.shared.set_index("perimeter_id")["population_counted"]
    assert int(parts.sum()) == 90_001
    assert diag.perimeters.shared["declared"].all()
    # Size and funding use the parts: no range left.
    assert (summary["size_class"] == summary["size_class_without_shared"]).all()
    if expected["P1"] == 46_001:
        assert summary.loc["P1", "size_class"] == 2
        assert summary.loc["P3", "below_minimum"]
        assert summary.loc["P3", "missing_to_minimum"] == 1_000
        assert summary.loc["P1", "funding_max_eur"] == funding_total(2)


def test_shares_keep_their_parts_at_a_higher_threshold(whole_grid) -> None:
    """At "ACI signé" only P1 is shown; it still counts its declared part, not the city."""
    imported = perimeters_from_members(
        SHARING,
        statuses={"P1": "aci_signe", "P2": "emergence", "P3": "emergence"},
        shares={"P1": {CITY: 0.5}, "P2": {CITY: 0.3}, "P3": {CITY: 0.2}},
    )
    signed = _summary(run_diagnosis(imported, whole_grid, status_min="aci_signe"))
    assert signed.index.tolist() == ["P1"]
    assert signed.loc["P1", "population"] == 46_001
    assert signed.loc["P1", "shared_units"] == (CITY,)


def test_shares_over_100_percent_are_refused(whole_grid) -> None:
    imported = perimeters_from_members(SHARING, shares={pid: {CITY: 0.4} for pid in SHARING})
    with pytest.raises(DataError, match="dépassent 100"):
        membership(imported, whole_grid)


def test_parts_are_those_arbitrage_gives() -> None:
    """Couverture and Arbitrage count a shared city alike (one rounding: whole_parts)."""
    imported = perimeters_from_members(
        {"A": [CITY], "B": [CITY]}, shares={"A": {CITY: 0.3}, "B": {CITY: 0.7}}
    )
    ref = grid_referential(populations={CITY: 1001})
    m = membership(imported, ref)
    assert m.member_part.tolist() == list(whole_parts(1001, [0.3, 0.7])) == [300, 701]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(all_codes()), min_size=1, max_size=8),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.integers(min_value=1, max_value=100), min_size=5, max_size=5),
    st.sampled_from(
        [("france", None), ("region", "84"), ("department", "01"), ("department", "38")]
    ),
    st.booleans(),
)
def test_a_view_never_counts_more_inhabitants_than_it_has(
    perimeter_codes, weights, view, with_shares
) -> None:
    """Sum of the perimeters' inhabitants in the view, each shared commune once, <= the view.

    Each shared commune counted whole is counted once for all its perimeters; with
    declared shares, by its parts. The sum is then exactly the covered population.
    """
    ref = grid_referential(populations={**WHOLE_POPULATIONS, cell(0, 0): 5000})
    members = {f"P{i}": codes for i, codes in enumerate(perimeter_codes)}
    shares: dict[str, dict[str, float]] = {}
    if with_shares:
        total = sum(weights[: len(members)])
        shares = {
            pid: dict.fromkeys(codes, weights[i] / total)
            for i, (pid, codes) in enumerate(members.items())
        }
    imported = perimeters_from_members(members, shares=shares)
    level, code = view
    shown = ref if level == "france" else referential_view(ref, **{level: code})
    diag = run_diagnosis(imported, shown, geometry=False, proposals=False)
    summary = diag.perimeters.summary
    shared = diag.perimeters.shared
    in_view = shared[shared["code"].isin(shown.units.index) & ~shared["declared"]]
    extra = in_view.groupby("code")["population"].agg(lambda s: s.iloc[0] * (len(s) - 1)).sum()
    counted_once = int(summary["population_in_scope"].sum() - extra)
    rates = diag.coverage.set_index("status_min").loc["emergence"]
    first = rates.iloc[0] if isinstance(rates, pd.DataFrame) else rates
    assert counted_once <= int(shown.units["population"].sum())
    assert counted_once == int(first["population_covered"])
    # The view shows exactly the perimeters with a commune in it.
    expected = [p for p, codes in members.items() if set(codes) & set(shown.units.index)]
    assert summary["perimeter_id"].tolist() == expected
