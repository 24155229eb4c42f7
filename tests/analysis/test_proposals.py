"""White-zone proposals: big blocks split, small enclosed clusters attached (issue 10 item 13)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from diagnosis.analysis.membership import membership
from diagnosis.analysis.proposals import partition_cluster, propose_for_white_zones
from diagnosis.analysis.white_zones import white_zones
from diagnosis.core.aci import ProposalRules, proposal_rules
from diagnosis.core.model import perimeters_from_members
from diagnosis.core.referential import Referential, load_referential
from tests.grid import ISLAND, cell, grid_referential

NNBSP = "\u202f"


def _settings(**changes: float) -> ProposalRules:
    return replace(proposal_rules(), **changes)  # type: ignore[arg-type]


def _connected(ref: Referential, codes: tuple[str, ...]) -> bool:
    m = membership(perimeters_from_members({"x": list(codes)}), ref)
    positions = m.index.positions(list(codes))
    sub = m.index.adjacency[positions][:, positions]
    return connected_components(sub, directed=False)[0] == 1


def test_default_settings_and_their_reasons() -> None:
    rules = proposal_rules()
    assert rules.max_population == 350_000  # twice the lower bound of taille 4
    assert rules.split_target_population == 80_000  # lower bound of taille 3
    assert rules.attach_enclosed_below == 80_000
    assert 0 < rules.enclosed_border_share <= 1
    assert "hors ACI" in rules.source


def test_partition_with_a_cap_and_a_target() -> None:
    # A line of 6 units of 5: floor 10, target 15, cap 20. Pairs first (10 each), then
    # the first pair joins the second (20); the last pair cannot grow without crossing
    # the cap and stays at the floor.
    positions = np.arange(6)
    population = np.full(6, 5.0)
    border = {(i, i + 1): 1.0 for i in range(5)}
    groups = partition_cluster(
        positions,
        population=population,
        border=border,
        blocks=positions,
        minimum=10,
        maximum=20,
        target=15,
    )
    assert sorted(map(tuple, groups)) == [(0, 1, 2, 3), (4, 5)]
    # Without cap nor target: pairs, as before.
    groups = partition_cluster(
        positions, population=population, border=border, blocks=positions, minimum=10
    )
    assert sorted(map(tuple, groups)) == [(0, 1), (2, 3), (4, 5)]


def test_partition_under_the_floor_may_cross_the_cap() -> None:
    # 3 units: 9, 2, 9; floor 5, cap 10: the middle unit must join a side (11 > 10).
    positions = np.arange(3)
    population = np.array([9.0, 2.0, 9.0])
    border = {(0, 1): 1.0, (1, 2): 2.0}
    groups = partition_cluster(
        positions,
        population=population,
        border=border,
        blocks=positions,
        minimum=5,
        maximum=10,
        target=5,
    )
    assert sorted(map(tuple, groups)) == [(0,), (1, 2)]


def test_a_block_above_the_maximum_is_split_by_whole_epcis() -> None:
    # Every unit 1,000. P covers column 4 and the island; white: columns 0-3 (16,000),
    # above a maximum of 10,000. EPCI pieces: E1 (columns 0-1, 8,000), E2 (column 2,
    # 4,000), E3's piece (column 3, 4,000): all within the cap and at the target,
    # so the proposals are exactly these three whole pieces.
    ref = grid_referential()
    p = [cell(4, r) for r in range(4)] + [ISLAND]
    m = membership(perimeters_from_members({"P": p}), ref)
    wz = white_zones(m, ref)
    settings = _settings(max_population=10_000, split_target_population=4_000)
    props = propose_for_white_zones(m, ref, wz, minimum_population=2_000, settings=settings)
    table = props.proposals
    assert (table["kind"] == "nouveau_perimetre").all()
    got = sorted(tuple(sorted(c)) for c in table["codes"])
    want = sorted(
        [
            tuple(sorted(cell(c, r) for c in range(2) for r in range(4))),
            tuple(sorted(cell(2, r) for r in range(4))),
            tuple(sorted(cell(3, r) for r in range(4))),
        ]
    )
    assert got == want
    assert table["population"].tolist() == [8_000, 4_000, 4_000]
    assert all(f"16{NNBSP}000 habitants" in e for e in table["evidence"])
    # The same block under the default maximum stays one proposal (no split).
    props = propose_for_white_zones(m, ref, wz, minimum_population=20_000)
    assert props.proposals["population"].tolist() == [16_000]


def test_an_epci_above_the_maximum_is_cut_into_communes() -> None:
    # Maximum 6,000: E1's piece (8,000) alone exceeds it and is cut into communes,
    # regrouped into connected groups of at least the target (3,000) and at most the
    # maximum; E2 and E3's piece stay whole.
    ref = grid_referential()
    p = [cell(4, r) for r in range(4)] + [ISLAND]
    m = membership(perimeters_from_members({"P": p}), ref)
    wz = white_zones(m, ref)
    settings = _settings(max_population=6_000, split_target_population=3_000)
    props = propose_for_white_zones(m, ref, wz, minimum_population=2_000, settings=settings)
    groups = [set(c) for c in props.proposals["codes"]]
    assert {cell(2, r) for r in range(4)} in groups
    assert {cell(3, r) for r in range(4)} in groups
    e1 = {cell(c, r) for c in range(2) for r in range(4)}
    e1_groups = [g for g in groups if g <= e1]
    assert set().union(*e1_groups) == e1
    assert len(e1_groups) >= 2
    assert all(3_000 <= 1_000 * len(g) <= 6_000 for g in e1_groups)
    assert all(_connected(ref, tuple(g)) for g in e1_groups)
    assert sum(len(g) for g in groups) == 16  # every white unit once


def _two_neighbours() -> tuple[Referential, dict[str, list[str]]]:
    # White: (2, 1) and (2, 2), 2,000 inhabitants. A holds columns 0-1, (2, 0), (2, 3)
    # and the island (11,000, 4 km of border with the cluster); B columns 3-4 (8,000, 2 km).
    ref = grid_referential()
    a = [cell(c, r) for c in range(2) for r in range(4)] + [cell(2, 0), cell(2, 3), ISLAND]
    b = [cell(c, r) for c in range(3, 5) for r in range(4)]
    return ref, {"A": a, "B": b}


def test_a_small_enclosed_cluster_is_attached_to_its_neighbour() -> None:
    ref, members = _two_neighbours()
    m = membership(perimeters_from_members(members), ref)
    wz = white_zones(m, ref)
    settings = _settings(attach_enclosed_below=5_000)
    props = propose_for_white_zones(m, ref, wz, minimum_population=2_000, settings=settings)
    row = props.proposals.iloc[0]
    assert len(props.proposals) == 1
    assert row["kind"] == "rattachement"
    assert row["reaches_minimum"]
    assert row["target_perimeter_id"] == "A"
    assert row["population_after"] == 11_000 + 2_000
    assert "enclavée" in row["evidence"]
    # From attach_enclosed_below up, it is proposed alone.
    settings = _settings(attach_enclosed_below=2_000)
    props = propose_for_white_zones(m, ref, wz, minimum_population=2_000, settings=settings)
    assert props.proposals["kind"].tolist() == ["nouveau_perimetre"]


def test_an_enclosed_cluster_goes_to_a_neighbour_that_stays_under_the_maximum() -> None:
    ref, members = _two_neighbours()
    m = membership(perimeters_from_members(members), ref)
    wz = white_zones(m, ref)
    settings = _settings(attach_enclosed_below=5_000, max_population=12_000)
    props = propose_for_white_zones(m, ref, wz, minimum_population=2_000, settings=settings)
    row = props.proposals.iloc[0]
    assert row["kind"] == "rattachement"
    assert row["target_perimeter_id"] == "B"  # A would reach 13,000 > 12,000
    settings = _settings(attach_enclosed_below=5_000, max_population=9_000)
    props = propose_for_white_zones(m, ref, wz, minimum_population=2_000, settings=settings)
    assert props.proposals["kind"].tolist() == ["nouveau_perimetre"]


def test_a_cluster_open_on_the_edge_is_not_enclosed() -> None:
    # White: column 0 (4,000). Its outline is about 10.5 km, of which 4 km shared with P.
    ref = grid_referential()
    p = [cell(c, r) for c in range(1, 5) for r in range(4)] + [ISLAND]
    m = membership(perimeters_from_members({"P": p}), ref)
    wz = white_zones(m, ref)
    settings = _settings(attach_enclosed_below=5_000)
    props = propose_for_white_zones(m, ref, wz, minimum_population=2_000, settings=settings)
    assert props.proposals["kind"].tolist() == ["nouveau_perimetre"]


@pytest.mark.referential
def test_bouches_du_rhone_metropolis_is_split(real_referential: Referential) -> None:
    ref = load_referential(department="13")
    units = ref.units
    arles = units[units["epci_code"] == "241300417"].index.tolist()
    m = membership(perimeters_from_members({"ARLES": arles}), ref)
    wz = white_zones(m, ref)
    props = propose_for_white_zones(m, ref, wz)
    table = props.proposals
    assert len(table) > 5
    assert (table["kind"] == "nouveau_perimetre").all()
    assert (table["population"] >= 20_000).all()
    assert ((table["population"] <= 350_000) | (table["n_units"] == 1)).all()
    white = {c for codes in wz.clusters["codes"] for c in codes}
    assigned = [c for codes in table["codes"] for c in codes]
    assert sorted(assigned) == sorted(white)


@pytest.mark.referential
def test_an_enclosed_marseille_arrondissement_is_attached(real_referential: Referential) -> None:
    ref = load_referential(department="13")
    # The 4th arrondissement (49,363 inhabitants, inland) is the only white unit; each
    # other arrondissement is a CPTS of its own, the rest of the department one more.
    arrondissements = ref.units[ref.units["parent_code"] == "13055"].index.tolist()
    members = {code: [code] for code in arrondissements if code != "13204"}
    members["RESTE"] = [c for c in ref.units.index if c not in arrondissements]
    m = membership(perimeters_from_members(members), ref)
    wz = white_zones(m, ref)
    props = propose_for_white_zones(m, ref, wz)
    row = props.proposals.iloc[0]
    assert len(props.proposals) == 1
    assert row["codes"] == ("13204",)
    assert row["kind"] == "rattachement"
    assert row["target_perimeter_id"] in set(arrondissements) - {"13204"}
    assert "enclavée" in row["evidence"]
