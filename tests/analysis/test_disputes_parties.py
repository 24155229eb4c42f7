"""Disputes between three parties on the hand grid: options, shares, merge, groups, registry.

The case (populations by hand, every other commune 1,000)::

    row 3:  .      C 3000  C 9000  C 3000  .
    row 2:  .      C 3000  C 3000  C 3000  .
    row 1:  A 10k  A 10k   X       B 5000  B 12k
    row 0:  A 12k  A 10k   .       B 5000  B 5000

X = (2, 1), 100,001 inhabitants, is claimed by A, B and C. A's own communes
hold 42,000 inhabitants (main town hall at (0, 0)), B's 27,000 (main town hall
at (4, 1)), C's 24,000 (main town hall at (2, 3)). Cells are 0.01° wide: 0.79
km east-west and 1.11 km north-south at 45° N, so from X's town hall B's main
town hall is 1.58 km away (two cells east), A's 1.93 km (two cells west, one
south) and C's 2.22 km (two cells north). X is in EPCI E2 (column 2), of which
only C holds other communes ((2, 2) and (2, 3)).
"""

from __future__ import annotations

import pandas as pd
import pytest

from diagnosis.analysis.dispute_options import DISPUTE_OPTIONS, option_ids
from diagnosis.analysis.dispute_shares import merge_shares, whole_parts, with_shares
from diagnosis.analysis.disputes import compare_parties, compare_perimeters, dispute_groups
from diagnosis.analysis.membership import membership
from diagnosis.core.aci import funding_total
from diagnosis.core.model import SHARE_COLUMNS, perimeters_from_members
from diagnosis.errors import DataError
from diagnosis.outputs.disputes import dispute_tables
from diagnosis.outputs.labels import DISPUTE_OPTION_LABELS
from tests.grid import cell, grid_referential

X = cell(2, 1)
A = [cell(0, 0), cell(0, 1), cell(1, 0), cell(1, 1), X]
B = [cell(3, 0), cell(3, 1), cell(4, 0), cell(4, 1), X]
C = [cell(c, r) for c in (1, 2, 3) for r in (2, 3)] + [X]
POPULATIONS = (
    {X: 100_001, cell(0, 0): 12_000, cell(0, 1): 10_000, cell(1, 0): 10_000, cell(1, 1): 10_000}
    | {cell(3, 0): 5_000, cell(3, 1): 5_000, cell(4, 0): 5_000, cell(4, 1): 12_000}
    | {cell(c, r): 3_000 for c in (1, 2, 3) for r in (2, 3)}
    | {cell(2, 3): 9_000}
)


@pytest.fixture(scope="module")
def ref():
    return grid_referential(POPULATIONS)


@pytest.fixture(scope="module")
def three(ref):
    return membership(perimeters_from_members({"A": A, "B": B, "C": C}), ref)


def shares(**by_party: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"perimeter_id": list(by_party), "code": X, "share": list(by_party.values())}
    )


def sides(dispute, option: str) -> dict[str, int]:
    rows = dispute.options[dispute.options["option"] == option]
    return dict(zip(rows["side"], rows["population"], strict=True))


def test_three_parties_claiming_one_city(ref, three) -> None:
    dispute = compare_parties(three, ref, ["A", "B", "C"])
    s = dispute.summary
    assert s.parties == ("A", "B", "C") and s.perimeter_ids == ("A", "B", "C")
    assert dispute.contested_codes == (X,)
    assert s.population_contested == 100_001
    assert s.population_without == (42_000, 27_000, 24_000)
    assert dispute.contested.loc[0, "claimants"] == "A+B+C"
    # The dispute exposes its sides: the UI does not rebuild them from the membership.
    assert dispute.own_codes("A") == tuple(sorted(A[:4]))
    assert set(dispute.party_codes("C")) == set(C)
    assert list(dispute.parties["population"]) == [142_001, 127_001, 124_001]
    # As declared, the city counts whole for each of the three.
    assert sides(dispute, "en_l_etat") == {"A": 142_001, "B": 127_001, "C": 124_001}
    # Everything to one party: one option per party.
    assert sides(dispute, "tout_a") == {"A": 142_001, "B": 27_000, "C": 24_000}
    assert sides(dispute, "tout_b") == {"A": 42_000, "B": 127_001, "C": 24_000}
    assert sides(dispute, "tout_c") == {"A": 42_000, "B": 27_000, "C": 124_001}
    # B's main town hall is the nearest (1.58 km against 1.93 and 2.22).
    distances = dispute.contested.loc[0, ["distance_a_km", "distance_b_km", "distance_c_km"]]
    assert list(distances.round(2)) == [1.93, 1.58, 2.22]
    assert dispute.contested.loc[0, "option_mairie_la_plus_proche"] == "B"
    assert sides(dispute, "mairie_la_plus_proche") == {"A": 42_000, "B": 127_001, "C": 24_000}
    # Whole EPCIs: C alone holds other communes of E2.
    assert dispute.contested.loc[0, "option_epci_entiers"] == "C"
    assert sides(dispute, "epci_entiers") == sides(dispute, "tout_c")
    options = dispute.options.set_index(["option", "side"])
    assert options.loc[("tout_a", "A"), "size_class"] == 3
    assert options.loc[("tout_a", "B"), "size_class"] == 1
    assert options.loc[("tout_b", "A"), "size_class"] == 2
    assert (dispute.options["n_parts"] == 1).all()
    assert "partage_population" not in set(dispute.options["option"])


def test_merge_option_against_the_separate_projects(ref, three) -> None:
    dispute = compare_parties(three, ref, ["A", "B", "C"])
    merged = dispute.options[dispute.options["option"] == "reunir"]
    assert len(merged) == 1
    row = merged.iloc[0]
    # 42,000 + 27,000 + 24,000 + 100,001: the city once.
    assert row["side"] == "A+B+C" and row["population"] == 193_001
    assert dispute.summary.population_merged == 193_001
    assert row["size_class"] == 4 and row["n_units"] == 15 and row["n_parts"] == 1
    assert row["funding_max_eur"] == funding_total(4)
    totals = dispute.totals().set_index("option")
    assert list(totals.index) == option_ids(("A", "B", "C"))  # in the registry's order
    assert totals.loc["reunir", "n_projects"] == 1
    # Separately, by nearest town hall: tailles 2, 3 and 1.
    assert totals.loc["mairie_la_plus_proche", "funding_max_eur"] == (
        funding_total(2) + funding_total(3) + funding_total(1)
    )
    assert totals.loc["mairie_la_plus_proche", "population"] == 193_001
    # As declared, the city is counted three times.
    assert totals.loc["en_l_etat", "population"] == 193_001 + 2 * 100_001


def test_three_parties_share_the_city_in_whole_inhabitants(ref, three) -> None:
    # 50 %, 30 %, 20 % of 100,001: 50,000.5 (rounded to 50,000, half to even), 30,000.3
    # and 20,000.2; the one inhabitant left goes to the largest part, A's.
    dispute = compare_parties(three, ref, ["A", "B", "C"], shares=shares(A=0.5, B=0.3, C=0.2))
    row = dispute.contested.iloc[0]
    assert (row["part_a"], row["part_b"], row["part_c"]) == (50_001, 30_000, 20_000)
    assert row["option_partage_population"] == "A+B+C"
    assert sides(dispute, "partage_population") == {
        "A": 42_000 + 50_001,
        "B": 27_000 + 30_000,
        "C": 24_000 + 20_000,
    }
    assert sum(sides(dispute, "partage_population").values()) == 193_001
    options = dispute.options.set_index(["option", "side"])
    assert options.loc[("partage_population", "B"), "size_class"] == 2
    assert dispute.summary.n_shared == 1
    assert dispute.shares[SHARE_COLUMNS].to_dict("list") == {
        "perimeter_id": ["A", "B", "C"],
        "code": [X, X, X],
        "share": [0.5, 0.3, 0.2],
    }
    # The shares used are listed in the order of the parties.
    reordered = compare_parties(three, ref, ["C", "B", "A"], shares=shares(A=0.5, B=0.3, C=0.2))
    assert reordered.shares["perimeter_id"].tolist() == ["C", "B", "A"]
    shown = dispute_tables(dispute)["Communes disputées"]
    assert shown.loc[0, "partage"] == "A 50\u202f% · B 30\u202f% · C 20\u202f%"


def test_a_party_without_a_share_gets_none_of_the_city(ref, three) -> None:
    # A 40 %, B 40 %, nothing for C: 40,000.4 each, rounded to 40,000; the 20,001
    # inhabitants left go to the largest part (the last of the equal largest: B).
    dispute = compare_parties(three, ref, ["A", "B", "C"], shares=shares(A=0.4, B=0.4))
    assert sides(dispute, "partage_population") == {
        "A": 42_000 + 40_000,
        "B": 27_000 + 60_001,
        "C": 24_000,
    }
    options = dispute.options.set_index(["option", "side"])
    assert options.loc[("partage_population", "C"), "n_contested_received"] == 0


def test_shares_over_100_percent_are_refused_in_french(ref, three) -> None:
    over = r"parts de Commune 01010 \(01010\) dépassent 100 % \(110,0\u202f%\).*n'est pas appliqué"
    with pytest.raises(DataError, match=over):
        compare_parties(three, ref, ["A", "B", "C"], shares=shares(A=0.6, B=0.5))
    with pytest.raises(DataError, match=r"entre 0 et 1 .* reçu 120,0\u202f%"):
        compare_parties(three, ref, ["A", "B", "C"], shares=shares(A=1.2))


@pytest.mark.parametrize(
    ("population", "shares_", "parts"),
    [
        (100, [1 / 3, 1 / 3, 1 / 3], (33, 33, 34)),
        (100_001, [0.5, 0.3, 0.2], (50_001, 30_000, 20_000)),
        (1001, [0.3, 0.7], (300, 701)),
        # Two parties: A's share rounded (half to even), B the rest, as before.
        (149_695, [0.5, 0.5], (74_848, 74_847)),
        (1000, [0.3, 0.7], (300, 700)),
        (7, [0.25, 0.25, 0.25, 0.25], (2, 2, 2, 1)),
        (10, [0.2, 0.2], (2, 8)),
        (0, [0.5, 0.5], (0, 0)),
    ],
)
def test_whole_parts_sum_exactly_to_the_population(
    population: int, shares_: list[float], parts: tuple[int, ...]
) -> None:
    assert whole_parts(population, shares_) == parts
    assert sum(parts) == population


@pytest.mark.parametrize("share", [0.05 * k for k in range(21)] + [1 / 3, 0.9995, 0.0005])
def test_two_parties_keep_the_former_split(share: float) -> None:
    """A gets round(share × population), B the rest (the former two-party rule)."""
    for population in (149_695, 51_811, 1_000, 999):
        a = round(share * population)
        exact_a, exact_b = share * population, (1 - share) * population
        if exact_a > exact_b and (exact_a % 1) == 0.5:
            continue  # both parts end in a half: the half goes to A, the largest part
        assert whole_parts(population, [share, 1 - share]) == (a, population - a)


def test_with_shares_returns_a_new_import(ref, three) -> None:
    imported = perimeters_from_members({"A": A, "B": B, "C": C})
    dispute = compare_parties(three, ref, ["A", "B", "C"], shares=shares(A=0.5, B=0.3, C=0.2))
    applied = with_shares(imported, dispute.shares)
    assert imported.shares.empty  # the input is not modified
    assert applied is not imported and applied.members is imported.members
    assert list(applied.shares.columns) == SHARE_COLUMNS
    assert applied.shares["share"].tolist() == [0.5, 0.3, 0.2]
    # A second choice replaces the same (perimeter, commune) rows and keeps the others.
    again = with_shares(applied, shares(A=0.4, B=0.4))
    assert again.shares.set_index("perimeter_id")["share"].to_dict() == {
        "A": 0.4,
        "B": 0.4,
        "C": 0.2,
    }
    assert applied.shares["share"].tolist() == [0.5, 0.3, 0.2]
    with pytest.raises(DataError, match="dépassent 100 %"):
        with_shares(applied, shares(A=0.9))
    with pytest.raises(DataError, match="colonnes attendues"):
        with_shares(applied, pd.DataFrame({"code": [X]}))
    assert merge_shares(applied.shares.iloc[:0], applied.shares).equals(applied.shares)


def test_two_party_form_and_list_form_agree(ref) -> None:
    m = membership(perimeters_from_members({"A": A, "B": B}), ref)
    legacy = compare_perimeters(m, ref, "A", "B", shared={X: 0.3})
    listed = compare_perimeters(m, ref, ["A", "B"], shares=shares(A=0.3, B=0.7))
    pd.testing.assert_frame_equal(legacy.options, listed.options)
    assert sides(legacy, "partage_population") == {"A": 42_000 + 30_000, "B": 27_000 + 70_001}
    with pytest.raises(DataError, match="au moins deux"):
        compare_parties(m, ref, ["A"])
    with pytest.raises(DataError, match="deux fois"):
        compare_parties(m, ref, ["A", "B", "A"])


def test_groups_of_perimeters_sharing_communes(ref) -> None:
    # A, B and C claim X; A and B also claim (2, 0): {A, B} is inside {A, B, C}, not apart.
    # D and E share (0, 3); E and C share (1, 3).
    members = {
        "A": [*A, cell(2, 0)],
        "B": [*B, cell(2, 0)],
        "C": C,
        "D": [cell(0, 2), cell(0, 3)],
        "E": [cell(0, 3), cell(1, 3)],
    }
    groups = dispute_groups(membership(perimeters_from_members(members), ref))
    assert groups["perimeter_ids"].tolist() == [("A", "B", "C"), ("C", "E"), ("D", "E")]
    assert groups["n_parties"].tolist() == [3, 2, 2]
    assert groups["codes"].tolist() == [(cell(2, 0), X), (cell(1, 3),), (cell(0, 3),)]
    assert groups["population_contested"].tolist() == [101_001, 3_000, 1_000]
    empty = dispute_groups(membership(perimeters_from_members({"A": A[:4]}), ref))
    assert empty.empty and "perimeter_ids" in empty.columns


def test_option_registry_ids_are_stable() -> None:
    assert [o.option_id for o in DISPUTE_OPTIONS] == [
        "en_l_etat",
        "tout",
        "mairie_la_plus_proche",
        "epci_entiers",
        "partage_population",
        "reunir",
    ]
    assert option_ids(("A", "B", "C"), shares=True) == [
        "en_l_etat",
        "tout_a",
        "tout_b",
        "tout_c",
        "mairie_la_plus_proche",
        "epci_entiers",
        "partage_population",
        "reunir",
    ]
    # Every option has its French label in the outputs layer.
    assert {o.option_id for o in DISPUTE_OPTIONS} <= set(DISPUTE_OPTION_LABELS)


def test_compare_does_not_modify_its_inputs(ref, three) -> None:
    given = shares(A=0.5, B=0.3, C=0.2)
    before = given.copy()
    units = ref.units.copy()
    claims = three.member_unit.copy()
    compare_parties(three, ref, ["A", "B", "C"], shares=given)
    pd.testing.assert_frame_equal(given, before)
    pd.testing.assert_frame_equal(ref.units, units)
    assert (three.member_unit == claims).all()


def test_people_tables_name_every_party(ref, three) -> None:
    names = {"A": "CPTS Alpha", "B": "CPTS Bêta", "C": "CPTS Gamma"}
    m = membership(perimeters_from_members({"A": A, "B": B, "C": C}, names=names), ref)
    dispute = compare_parties(m, ref, ["A", "B", "C"], shares=shares(A=0.5, B=0.3, C=0.2))
    tables = dispute_tables(dispute)
    parties = tables["Parties"]
    assert parties["projet"].tolist() == list(names.values())
    assert parties["identifiant"].tolist() == list(names)
    options = tables["Options de partage"]
    assert set(options["projet"]) == {*names.values(), "CPTS Alpha + CPTS Bêta + CPTS Gamma"}
    assert "Taille 4" in set(options["taille ACI"])
    assert options["option"].iloc[-1] == "Projets réunis : un seul périmètre, union des communes"
    parts = tables["Parts des communes partagées"]
    assert parts["projet"].tolist() == list(names.values())
    assert parts["habitants comptés"].tolist() == ["50\u202f001", "30\u202f000", "20\u202f000"]
