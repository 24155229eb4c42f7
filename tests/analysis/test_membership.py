"""One membership serves every status threshold; out-of-scope members are evidence."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from diagnosis.analysis.membership import membership
from diagnosis.analysis.pipeline import run_diagnosis
from diagnosis.analysis.rates import coverage_rates
from diagnosis.core.model import perimeters_from_members
from diagnosis.core.statuses import STATUS_KEYS
from tests.grid import cell, grid_referential

STATUSES = {"A": "aci_signe", "B": "projet_sante", "C": None, "D": "lettre_intention"}
MEMBERS = {
    "A": [cell(0, 0), cell(1, 0)],
    "B": [cell(1, 0), cell(2, 0)],
    "C": [cell(3, 0)],
    "D": [cell(0, 1), cell(1, 1), "99999"],  # 99999: not in the grid (out of scope)
}


@pytest.fixture(scope="module")
def ref():
    return grid_referential()


@pytest.fixture
def imported():
    return perimeters_from_members(MEMBERS, statuses=STATUSES)


def test_each_claim_carries_its_stage_rank(ref, imported) -> None:
    m = membership(imported, ref)
    ids = m.perimeters["perimeter_id"].to_numpy()[m.member_perimeter]
    expected = {"A": 4, "B": 3, "C": 1, "D": 2}  # no status counts as emergence
    assert m.member_rank.tolist() == [expected[p] for p in ids]


@pytest.mark.parametrize("status", STATUS_KEYS)
def test_threshold_views_equal_a_membership_built_at_that_threshold(ref, imported, status) -> None:
    every = membership(imported, ref)
    direct = membership(imported, ref, status_min=status)
    view = every.at_threshold(status)
    pd.testing.assert_frame_equal(view.perimeters, direct.perimeters)
    for name in ("member_perimeter", "member_unit", "member_rank", "split"):
        np.testing.assert_array_equal(getattr(view, name), getattr(direct, name))
    pd.testing.assert_frame_equal(view.outside, direct.outside)
    assert view.status_min == status
    np.testing.assert_array_equal(every.covered_at(status), direct.covered())


def test_by_hand_coverage_at_each_threshold(ref, imported) -> None:
    every = membership(imported, ref)
    covered = {s: set(every.index.codes[every.covered_at(s)]) for s in STATUS_KEYS}
    assert covered["aci_signe"] == {cell(0, 0), cell(1, 0)}
    assert covered["projet_sante"] == {cell(0, 0), cell(1, 0), cell(2, 0)}
    assert covered["lettre_intention"] == covered["projet_sante"] | {cell(0, 1), cell(1, 1)}
    assert covered["emergence"] == covered["lettre_intention"] | {cell(3, 0)}


def test_coverage_rates_from_one_membership_equal_rates_from_the_import(ref, imported) -> None:
    every = membership(imported, ref)
    pd.testing.assert_frame_equal(coverage_rates(every, ref), coverage_rates(imported, ref))


def test_a_threshold_below_the_membership_is_refused(ref, imported) -> None:
    signed = membership(imported, ref, status_min="aci_signe")
    with pytest.raises(ValueError, match="inférieur"):
        signed.covered_at("emergence")
    with pytest.raises(ValueError, match="inférieur"):
        signed.at_threshold("projet_sante")


def test_members_outside_the_scope_are_evidence_not_a_warning(ref, imported) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails
        m = membership(imported, ref)
        diag = run_diagnosis(imported, ref, status_min="lettre_intention", proposals=False)
    assert m.outside.to_dict("records") == [{"perimeter_id": "D", "code": "99999"}]
    assert diag.outside.to_dict("records") == [{"perimeter_id": "D", "code": "99999"}]
    assert membership(imported, ref, status_min="projet_sante").outside.empty


def test_claims_of_lists_each_claim_in_the_order_of_the_codes_asked() -> None:
    from diagnosis.core.model import perimeters_from_members
    from tests.grid import cell, grid_referential

    ref = grid_referential()
    m = membership(
        perimeters_from_members({"A": [cell(0, 0), cell(0, 1)], "B": [cell(0, 1), cell(1, 1)]}),
        ref,
    )
    claims = m.claims_of([cell(1, 1), cell(0, 1), cell(4, 3), "99999"])
    assert list(zip(claims["code"], claims["perimeter_id"], strict=True)) == [
        (cell(1, 1), "B"),
        (cell(0, 1), "A"),
        (cell(0, 1), "B"),
    ]
    assert m.claims_of([]).empty


# --------------------------------------------------------------------------
# Issue 17: views, whole perimeters and shared communes
# --------------------------------------------------------------------------


def test_a_view_keeps_the_perimeters_with_a_unit_in_it(ref, imported) -> None:
    from diagnosis.core.referential import referential_view, whole_referential

    isere = referential_view(ref, department="38")
    assert whole_referential(isere) is ref
    m = membership(imported, isere)
    # Only C has a unit in the Isère (column 3); A, B and D are not in the view.
    assert m.perimeters["perimeter_id"].tolist() == ["C"]
    assert m.outside.empty
    ain = membership(imported, referential_view(ref, department="01"))
    assert ain.perimeters["perimeter_id"].tolist() == ["A", "B", "D"]
    # D's unknown code is evidence; A and B lie wholly in the Ain.
    assert ain.outside.to_dict("records") == [{"perimeter_id": "D", "code": "99999"}]
    # The whole membership restricted to the view: the same perimeters, all their units.
    whole = membership(imported, ref).in_view(referential_view(ref, department="38"))
    assert whole.perimeters["perimeter_id"].tolist() == ["C"]
    assert whole.index.codes[whole.member_unit].tolist() == [cell(3, 0)]


def test_a_perimeter_across_the_border_is_context_outside_the_view(ref) -> None:
    from diagnosis.core.referential import referential_view

    across = perimeters_from_members({"X": [cell(2, 0), cell(3, 0)], "Y": [cell(4, 0)]})
    ain = membership(across, referential_view(ref, department="01"))
    assert ain.perimeters["perimeter_id"].tolist() == ["X"]
    assert ain.outside.to_dict("records") == [{"perimeter_id": "X", "code": cell(3, 0)}]
    whole = membership(across, ref).in_view(referential_view(ref, department="01"))
    assert sorted(whole.index.codes[whole.member_unit]) == [cell(2, 0), cell(3, 0)]


@pytest.mark.parametrize("status", STATUS_KEYS)
def test_parts_and_shared_flags_do_not_depend_on_the_threshold(ref, status) -> None:
    imported = perimeters_from_members(
        {"A": [cell(0, 0), cell(1, 0)], "B": [cell(1, 0)], "C": [cell(1, 0), cell(2, 0)]},
        statuses={"A": "aci_signe", "B": "projet_sante", "C": None},
        shares={"A": {cell(1, 0): 0.5}, "B": {cell(1, 0): 0.25}},
    )
    every = membership(imported, ref)
    direct = membership(imported, ref, status_min=status)
    view = every.at_threshold(status)
    for name in ("member_part", "shared", "declared"):
        np.testing.assert_array_equal(getattr(view, name), getattr(direct, name))
    pd.testing.assert_frame_equal(view.shared_claims, direct.shared_claims)
    # 1,000 inhabitants: A 500, B 250, C (no share) the rest, 250; every claim counts a part.
    parts = dict(
        zip(
            zip(
                every.perimeters["perimeter_id"].to_numpy()[every.member_perimeter],
                every.index.codes[every.member_unit],
                strict=True,
            ),
            every.member_part.tolist(),
            strict=True,
        )
    )
    assert parts[("A", cell(1, 0))] == 500
    assert parts[("B", cell(1, 0))] == 250
    assert parts[("C", cell(1, 0))] == 250
    assert parts[("A", cell(0, 0))] == 1000
    assert every.shared.sum() == 3 and every.declared.sum() == 3
    assert set(every.shared_claims["perimeter_id"]) == {"A", "B", "C"}
