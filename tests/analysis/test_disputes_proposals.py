"""Disputes and proposals for white zones, on the hand-made grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diagnosis.analysis.disputes import compare_perimeters
from diagnosis.analysis.membership import membership
from diagnosis.analysis.proposals import partition_cluster, propose_for_white_zones
from diagnosis.analysis.white_zones import white_zones
from diagnosis.core.model import perimeters_from_members
from tests.grid import ISLAND, cell, grid_referential


@pytest.fixture(scope="module")
def ref():
    # Column 0 is dense (A's core), column 4 too (B's core).
    pops = {cell(0, r): 10_000 for r in range(4)}
    pops |= {cell(4, r): 9_000 for r in range(4)}
    return grid_referential(populations=pops)


def test_dispute_options_by_hand(ref) -> None:
    # A = columns 0-2, B = columns 2-4: column 2 (E2, 4,000 inhabitants) is contested.
    a = [cell(c, r) for c in range(3) for r in range(4)]
    b = [cell(c, r) for c in range(2, 5) for r in range(4)]
    m = membership(perimeters_from_members({"A": a, "B": b}), ref)
    dispute = compare_perimeters(m, ref, "A", "B")
    assert sorted(dispute.contested["code"]) == [cell(2, r) for r in range(4)]
    assert dispute.summary.population_contested == 4000
    assert dispute.summary.population_without[0] == 40_000 + 4000
    assert dispute.summary.population_without[1] == 36_000 + 4000
    opts = dispute.options.set_index(["option", "side"])
    assert opts.loc[("tout_a", "A"), "population"] == 48_000
    assert opts.loc[("tout_a", "B"), "population"] == 40_000
    assert opts.loc[("tout_b", "A"), "population"] == 44_000
    assert opts.loc[("tout_b", "B"), "population"] == 44_000
    assert opts.loc[("tout_a", "A"), "size_class"] == 2
    assert opts.loc[("tout_b", "A"), "size_class"] == 2
    # Main town halls: A's most populous uncontested unit is in column 0, B's in column 4;
    # column 2 is equidistant: ties go to A.
    nearest = dispute.contested.set_index("code")["option_mairie_la_plus_proche"]
    assert set(nearest) <= {"A", "B"}
    # Whole EPCI: column 2 is E2, held by neither side outside the contested units (tie),
    # so the group goes, whole, to one side.
    epci_sides = set(dispute.contested["option_epci_entiers"])
    assert len(epci_sides) == 1
    # Contiguity of every option: each side stays in one piece.
    assert (dispute.options["n_parts"] == 1).all()
    assert opts.loc[("en_l_etat", "A"), "n_contested_received"] == 4
    assert set(dispute.options["option"]) == {
        "en_l_etat",
        "tout_a",
        "tout_b",
        "mairie_la_plus_proche",
        "epci_entiers",
        "reunir",  # the merge option (issue 20 §4)
    }


def test_dispute_shared_city_split_by_share(ref) -> None:
    # Same layout as above; the committee declares (2, 0) shared, 30 % of it counted for A.
    a = [cell(c, r) for c in range(3) for r in range(4)]
    b = [cell(c, r) for c in range(2, 5) for r in range(4)]
    m = membership(perimeters_from_members({"A": a, "B": b}), ref)
    dispute = compare_perimeters(m, ref, "A", "B", shared={cell(2, 0): 0.3})
    opts = dispute.options.set_index(["option", "side"])
    nearest = dispute.contested.set_index("code")["option_mairie_la_plus_proche"]
    others_to_a = sum(1000 for r in range(1, 4) if nearest[cell(2, r)] == "A")
    # A: its 44,000 uncontested inhabitants, 300 of the shared city and the other contested
    # communes nearer to A; B: its 40,000, 700 of the shared city and the rest.
    assert opts.loc[("partage_population", "A"), "population"] == 44_000 + 300 + others_to_a
    assert opts.loc[("partage_population", "B"), "population"] == 40_000 + 700 + (
        3000 - others_to_a
    )
    # The total is conserved: nobody counted twice, nobody lost.
    total = opts.loc["partage_population", "population"].sum()
    assert total == ref.units.loc[sorted(set(a) | set(b)), "population"].sum()
    shared_row = dispute.contested.set_index("code").loc[cell(2, 0)]
    # The French cell ("partagée : A 30 %, B 70 %") is written by the outputs layer now.
    assert shared_row["option_partage_population"] == "A+B"
    assert shared_row["share_a"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="entre 0 et 1"):
        compare_perimeters(m, ref, "A", "B", shared={cell(2, 0): 1.5})


@pytest.mark.parametrize("share", [0.5, 1 / 3, 0.9995, 0.0005])
def test_dispute_shared_city_with_an_odd_population_conserves_every_inhabitant(
    share: float,
) -> None:
    """A's part of a shared city is whole inhabitants and B gets the rest: none counted twice."""
    city = cell(2, 0)
    ref = grid_referential({city: 149_695})
    a = [cell(c, r) for c in range(3) for r in range(4)]
    b = [cell(c, r) for c in range(2, 5) for r in range(4)]
    m = membership(perimeters_from_members({"A": a, "B": b}), ref)
    dispute = compare_perimeters(m, ref, "A", "B", shared={city: share})
    sides = dispute.options.set_index(["option", "side"]).loc["partage_population", "population"]
    assert sides.sum() == ref.units.loc[sorted(set(a) | set(b)), "population"].sum()


def test_dispute_side_left_empty_has_no_size_class_nor_funding(ref) -> None:
    # B claims only communes that A claims too: "all to A" leaves B with nobody.
    a = [cell(c, r) for c in range(3) for r in range(4)]
    b = [cell(2, r) for r in range(4)]
    m = membership(perimeters_from_members({"A": a, "B": b}), ref)
    opts = compare_perimeters(m, ref, "A", "B").options.set_index(["option", "side"])
    empty = opts.loc[("tout_a", "B")]
    assert empty["population"] == 0
    assert pd.isna(empty["size_class"])
    assert empty["funding_max_eur"] == 0
    assert opts.loc[("tout_a", "A"), "funding_max_eur"] > 0


def test_dispute_nearest_town_hall_and_epci() -> None:
    # A's main town hall is (1, 0) (20,000 inhabitants), B's is (4, 0) (9,000, first of
    # its most populous units). A = columns 0-1 plus the contested (2,0) and (3,0);
    # B = columns 3-4 plus the same two.
    pops = {cell(0, r): 10_000 for r in range(4)} | {cell(4, r): 9_000 for r in range(4)}
    ref = grid_referential(populations=pops | {cell(1, 0): 20_000})
    contested = [cell(2, 0), cell(3, 0)]
    a = [cell(c, r) for c in range(2) for r in range(4)] + contested
    b = [cell(c, r) for c in range(3, 5) for r in range(1, 4)] + [cell(4, 0)] + contested
    m = membership(perimeters_from_members({"A": a, "B": b}), ref)
    dispute = compare_perimeters(m, ref, "A", "B")
    sides = dispute.contested.set_index("code")
    # (2, 0) is nearer to column 0, (3, 0) nearer to column 4.
    assert sides.loc[cell(2, 0), "option_mairie_la_plus_proche"] == "A"
    assert sides.loc[cell(3, 0), "option_mairie_la_plus_proche"] == "B"
    assert sides.loc[cell(2, 0), "distance_a_km"] < sides.loc[cell(2, 0), "distance_b_km"]
    # (3, 0) belongs to E3, of which B holds the rest: it goes to B with whole EPCIs;
    # (2, 0) belongs to E2, held by nobody else: tie, nearest town hall (A).
    assert sides.loc[cell(3, 0), "option_epci_entiers"] == "B"
    assert sides.loc[cell(2, 0), "option_epci_entiers"] == "A"
    opts = dispute.options.set_index(["option", "side"])
    # All to B cuts A's access? No: A stays contiguous; B gets (2,0) through (3,0).
    assert opts.loc[("tout_b", "B"), "n_parts"] == 1


def test_dispute_errors(ref) -> None:
    m = membership(perimeters_from_members({"A": [cell(0, 0)], "B": [cell(1, 0)]}), ref)
    with pytest.raises(ValueError, match="Périmètre inconnu"):
        compare_perimeters(m, ref, "A", "Z")
    with pytest.raises(ValueError, match="deux périmètres différents"):
        compare_perimeters(m, ref, "A", "A")
    no_conflict = compare_perimeters(m, ref, "A", "B")
    assert no_conflict.contested.empty
    assert "code" in no_conflict.contested.columns


def test_partition_cluster_reaches_minimum_and_stays_connected() -> None:
    # A line of 6 units, populations 5, 5, 5, 5, 5, 5: minimum 10 → three pairs.
    positions = np.arange(6)
    population = np.full(6, 5.0)
    border = {(i, i + 1): 1.0 for i in range(5)}
    groups = partition_cluster(
        positions, population=population, border=border, blocks=positions, minimum=10
    )
    assert all(population[g].sum() >= 10 for g in groups)
    assert sorted(int(x) for g in groups for x in g) == list(range(6))
    for g in groups:  # contiguous along the line
        assert list(g) == list(range(g.min(), g.max() + 1))
    # Blocks are kept whole: two blocks of 3 units (15 inhabitants each).
    blocks = np.array([0, 0, 0, 1, 1, 1])
    groups = partition_cluster(
        positions, population=population, border=border, blocks=blocks, minimum=10
    )
    assert sorted(map(tuple, groups)) == [(0, 1, 2), (3, 4, 5)]


def test_proposals_on_the_grid(ref) -> None:
    # P covers column 4; everything else is white: one cluster of columns 0-3 (56,000
    # inhabitants) and the island (1,000, no neighbour).
    m = membership(perimeters_from_members({"P": [cell(4, r) for r in range(4)]}), ref)
    wz = white_zones(m, ref)
    props = propose_for_white_zones(m, ref, wz, minimum_population=20_000)
    table = props.proposals.set_index("proposal_id")
    new = table[table["kind"] == "nouveau_perimetre"]
    assert (new["population"] >= 20_000).all()
    # Every white unit of the big cluster is in exactly one proposal.
    big = [cell(c, r) for c in range(4) for r in range(4)]
    assigned = [c for codes in new["codes"] for c in codes]
    assert sorted(assigned) == sorted(big)
    # E1 (columns 0-1, 44,000) is whole in one proposal.
    e1 = {cell(c, r) for c in range(2) for r in range(4)}
    assert any(e1 <= set(codes) for codes in new["codes"])
    island = table[table["kind"] == "a_examiner"]
    assert island["codes"].tolist() == [(ISLAND,)]
    assert props.units.groupby("proposal_id").size().to_dict() == table["n_units"].to_dict()
    assert all(g is not None for g in props.geometries)


def test_small_cluster_is_attached_to_the_longest_border(ref) -> None:
    # White: (2, 1) and (2, 2) only (2,000 inhabitants). A holds columns 0-1 and the rest
    # of column 2 (borders of 2 km with the cluster on the left, 2 km above/below);
    # B holds columns 3-4 (2 km on the right). A shares 4 km, B 2 km.
    # The island belongs to A too, so that the only white cluster is (2, 1)-(2, 2).
    a = [cell(c, r) for c in range(2) for r in range(4)] + [cell(2, 0), cell(2, 3), ISLAND]
    b = [cell(c, r) for c in range(3, 5) for r in range(4)]
    m = membership(perimeters_from_members({"A": a, "B": b}), ref)
    wz = white_zones(m, ref)
    assert wz.clusters["codes"].tolist() == [(cell(2, 1), cell(2, 2))]
    props = propose_for_white_zones(m, ref, wz)
    row = props.proposals.iloc[0]
    assert row["kind"] == "rattachement"
    assert row["target_perimeter_id"] == "A"
    assert row["border_m"] == 4000.0
    assert row["target_population_before"] == 40_000 + 4_000 + 2_000 + 1_000
    assert row["population_after"] == 47_000 + 2_000
    assert "rattachement proposé à A" in row["evidence"]


def test_empty_white_zones_give_empty_proposals(ref) -> None:
    everything = list(ref.units.index)
    m = membership(perimeters_from_members({"P": everything}), ref)
    wz = white_zones(m, ref)
    assert wz.units.empty and wz.clusters.empty
    props = propose_for_white_zones(m, ref, wz)
    assert props.proposals.empty
    assert "evidence" in props.proposals.columns
    assert isinstance(props.units, pd.DataFrame)


def test_dispute_with_a_perimeter_outside_the_scope_is_refused_in_french(ref) -> None:
    from diagnosis.errors import DataError

    m = membership(perimeters_from_members({"A": [cell(0, 0)], "B": ["99999"]}), ref)
    with pytest.raises(DataError, match="aucune commune dans le périmètre d'étude"):
        compare_perimeters(m, ref, "A", "B")
