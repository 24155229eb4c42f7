"""Hand-made histories on the grid: every answer below is counted by hand.

The grid (tests/grid.py): 20 square communes of 1,000 inhabitants, 12 in
department 01 (columns 0-2) and 8 in department 38 (columns 3-4), all in
region 84, plus an island (2A999, region 94): France holds 21,000 people.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from diagnosis.analysis.pipeline import run_diagnosis
from diagnosis.core.model import perimeters_from_members
from diagnosis.core.referential import Referential
from diagnosis.registry import (
    ListingRefusedError,
    Registry,
    RegistryConflictError,
    audit_trail,
    changes_between,
    check_registry,
    commit_listing,
    coverage_history,
    dump_registry,
    import_listing,
    perimeter_history,
    preview_listing,
    restore_registry,
    state_at,
)
from diagnosis.registry.database import read
from diagnosis.registry.schema import SOURCES, VERSIONS
from tests.grid import cell
from tests.registry.conftest import Databases, grid, listing

JAN, FEB, MAR, APR, MAY = (dt.date(2025, m, 1) for m in (1, 2, 3, 4, 5))
A1, A2, A3 = cell(0, 0), cell(0, 1), cell(0, 2)  # 01001 01002 01003
B1, B2 = cell(1, 0), cell(1, 1)  # 01005 01006
C1, C2 = cell(3, 0), cell(3, 1)  # 38013 38014


def members_of(state, name: str) -> tuple[str, ...]:
    row = state.perimeters.set_index("name").loc[name]
    return tuple(row["unit_codes"])


def covered(history: pd.DataFrame, day: dt.date, scope: str, status: str) -> int:
    row = history[(history["date"] == day) & (history["scope"] == scope)]
    return int(row.loc[row["status_min"] == status, "population_covered"].iloc[0])


def n_sources(registry: Registry) -> int:
    with read(registry) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(SOURCES)).scalar_one())


def test_two_listings_state_history_and_changes(registry: Registry, ref: Referential) -> None:
    jan = listing({"A": [A1, A2], "B": [B1, B2]}, statuses={"A": "ACI signé", "B": "émergence"})
    mar = listing(
        {"A": [A1, A2, A3], "C": [C1]},
        statuses={"A": "ACI signé", "C": "lettre d'intention validée"},
    )
    first = import_listing(registry, jan, as_of=JAN, referential=ref, actor="alice")
    second = import_listing(registry, mar, as_of=MAR, referential=ref, actor="bob")
    assert first.committed and second.committed
    assert first.plan.counts() == {"new": 2, "changed": 0, "removed": 0, "unchanged": 0}
    assert second.plan.counts() == {"new": 1, "changed": 1, "removed": 1, "unchanged": 0}
    assert second.plan.matches.set_index("listing_name").at["A", "reason"] == "nom"

    feb = state_at(registry, FEB, referential=ref)
    assert sorted(feb.perimeters["name"]) == ["A", "B"]
    assert members_of(feb, "A") == (A1, A2)
    assert members_of(state_at(registry, MAR, referential=ref), "A") == (A1, A2, A3)
    assert state_at(registry, dt.date(2024, 12, 31), referential=ref).perimeters.empty

    history = coverage_history(registry, [dt.date(2024, 12, 1), JAN, FEB, MAR], referential=ref)
    assert covered(history, dt.date(2024, 12, 1), "FR", "emergence") == 0
    assert covered(history, JAN, "FR", "emergence") == 4000  # A + B
    assert covered(history, JAN, "FR", "aci_signe") == 2000  # A only
    assert covered(history, FEB, "FR", "emergence") == 4000
    assert covered(history, MAR, "FR", "emergence") == 4000  # A (3) + C (1)
    assert covered(history, MAR, "FR", "lettre_intention") == 4000
    assert covered(history, MAR, "FR", "aci_signe") == 3000
    assert covered(history, MAR, "DEP-38", "emergence") == 1000
    row = history[(history["date"] == MAR) & (history["scope"] == "FR")].iloc[0]
    assert row["population_total"] == 21_000
    assert row["n_perimeters"] == 2

    changes = changes_between(registry, JAN, MAR, referential=ref)
    kinds = dict(
        zip(changes["name_before"].fillna(changes["name_after"]), changes["change"], strict=True)
    )
    assert kinds == {"C": "new", "B": "removed", "A": "members"}
    a_row = changes[changes["change"] == "members"].iloc[0]
    assert a_row["codes_added"] == A3 and a_row["codes_removed"] == ""


def test_reimporting_the_same_file_changes_nothing(registry: Registry, ref: Referential) -> None:
    jan = listing({"A": [A1, A2]})
    import_listing(registry, jan, as_of=JAN, referential=ref)
    before = dump_registry(registry)
    again = import_listing(registry, jan, as_of=JAN, referential=ref)
    assert not again.committed and again.plan.already_imported
    assert dump_registry(registry) == before


def test_a_listing_inserted_back_in_history(registry: Registry, ref: Referential) -> None:
    import_listing(
        registry, listing({"A": [A1, A2]}, statuses={"A": "émergence"}), as_of=JAN, referential=ref
    )
    import_listing(
        registry, listing({"A": [A1, A2]}, statuses={"A": "émergence"}), as_of=MAR, referential=ref
    )  # unchanged: A's version goes on
    feb = listing({"A": [A1, A2, A3]}, statuses={"A": "ACI signé"})
    outcome = import_listing(registry, feb, as_of=FEB, referential=ref)
    assert outcome.plan.counts()["changed"] == 1
    assert members_of(state_at(registry, JAN, referential=ref), "A") == (A1, A2)
    assert members_of(state_at(registry, FEB, referential=ref), "A") == (A1, A2, A3)
    # March's listing said A was {A1, A2}: that resumes on its date.
    march = state_at(registry, MAR, referential=ref)
    assert members_of(march, "A") == (A1, A2)
    assert march.perimeters["status"].tolist() == ["emergence"]
    versions = perimeter_history(registry, march.perimeters["perimeter_id"].iloc[0])
    assert [(v.valid_from, v.valid_to) for v in versions.itertuples()] == [
        (JAN, FEB),
        (FEB, MAR),
        (MAR, None),
    ]
    assert check_registry(registry, referential=ref).empty


def test_a_second_file_on_the_same_date_replaces_the_first(
    registry: Registry, ref: Referential
) -> None:
    import_listing(registry, listing({"A": [A1, A2]}), as_of=JAN, referential=ref)
    import_listing(registry, listing({"A": [A1, A2, A3]}), as_of=JAN, referential=ref)
    assert members_of(state_at(registry, JAN, referential=ref), "A") == (A1, A2, A3)
    with read(registry) as conn:
        spans = conn.execute(sa.select(VERSIONS.c.valid_from, VERSIONS.c.valid_to)).all()
    assert sorted(spans, key=str) == [(JAN, None), (JAN, JAN)]  # kept, never deleted
    assert check_registry(registry, referential=ref).empty


def test_a_department_listing_leaves_the_rest_untouched(
    registry: Registry, ref: Referential
) -> None:
    border = [cell(2, 0), C1, C2]  # 1,000 people in 01, 2,000 in 38: it belongs to 38
    import_listing(
        registry,
        listing({"A": [A1, A2], "D": [cell(4, 0)], "X": border}),
        as_of=JAN,
        referential=ref,
    )
    # Department 01's listing without X: X touches 01 but belongs to 38, it stays.
    import_listing(registry, listing({"A": [A1, A2]}), as_of=FEB, department="01", referential=ref)
    assert sorted(state_at(registry, FEB, referential=ref).perimeters["name"]) == ["A", "D", "X"]
    # Department 38's listing without D nor X: both end; A (department 01) stays.
    out = import_listing(
        registry, listing({"E": [cell(4, 3)]}), as_of=MAR, department="38", referential=ref
    )
    assert out.plan.counts() == {"new": 1, "changed": 0, "removed": 2, "unchanged": 0}
    assert sorted(state_at(registry, MAR, referential=ref).perimeters["name"]) == ["A", "E"]
    scoped = state_at(registry, FEB, department="38", referential=ref)
    assert sorted(scoped.perimeters["name"]) == ["D", "X"]
    assert members_of(scoped, "X") == tuple(sorted(border))  # whole, not cut at the border


def test_matches_by_identifier_name_and_communes(registry: Registry, ref: Referential) -> None:
    jan = listing(
        {"P1": [A1, A2], "P2": [B1, B2], "P3": [C1, C2]},
        ids=True,
        names={"P1": "Alpha", "P2": "Beta", "P3": "Gamma"},
    )
    import_listing(registry, jan, as_of=JAN, referential=ref)
    feb = listing(
        {"P1": [A1, A2], "X": [B1, B2, cell(1, 2)], "Y": [C1, C2]},
        ids=True,
        names={"P1": "Alpha renommée", "X": "Beta", "Y": "Gamma-Sud"},
    )
    plan = preview_listing(registry, feb, as_of=FEB, referential=ref)
    reasons = plan.matches.set_index("listing_id")["reason"].to_dict()
    assert reasons == {"P1": "identifiant", "X": "nom", "Y": "communes"}
    kinds = sorted(plan.changes["change"])
    assert kinds == ["members", "renamed", "renamed"]


def test_an_ambiguous_listing_is_refused_and_nothing_is_written(
    registry: Registry, ref: Referential
) -> None:
    import_listing(
        registry, listing({"P": [A1, A2], "Q": [A3, cell(0, 3)]}), as_of=JAN, referential=ref
    )
    before = dump_registry(registry)
    both = listing({"Nouveau": [A1, A2, A3, cell(0, 3)]})  # Jaccard 0.5 with P and with Q
    plan = preview_listing(registry, both, as_of=FEB, referential=ref)
    assert plan.refused
    assert plan.ambiguities.iloc[0]["candidates"] == "p q"
    with pytest.raises(ListingRefusedError, match="rien n'est deviné"):
        import_listing(registry, both, as_of=FEB, referential=ref)
    shared = listing({"R1": [A1, A2, cell(1, 0)], "R2": [A1, A2, cell(1, 1)]})
    with pytest.raises(ListingRefusedError, match="plusieurs lignes"):
        import_listing(registry, shared, as_of=FEB, referential=ref)
    assert dump_registry(registry) == before


def test_a_stage_dated_after_a_day_does_not_count_that_day(
    registry: Registry, ref: Referential
) -> None:
    jan = listing(
        {"A": [A1, A2], "B": [B1]},
        statuses={"A": "ACI signé (avril 2025)", "B": "ACI signé (2021)"},
    )
    import_listing(registry, jan, as_of=JAN, referential=ref)
    state = state_at(registry, FEB, referential=ref).perimeters.set_index("name")
    assert state.at["A", "date"] == "avril 2025" and state.at["B", "date"] == "2021"
    history = coverage_history(registry, [dt.date(2024, 6, 1), FEB, MAY], referential=ref)
    # B's stage was reached in 2021, but B is in the registry from January 2025 only.
    assert covered(history, dt.date(2024, 6, 1), "FR", "aci_signe") == 0
    # A is signed in April 2025 (declared): not yet in February.
    assert covered(history, FEB, "FR", "aci_signe") == 1000
    assert covered(history, FEB, "FR", "emergence") == 3000
    assert covered(history, MAY, "FR", "aci_signe") == 3000


def test_a_newer_referential_maps_merged_communes_without_rewriting_history(
    registry: Registry, ref: Referential
) -> None:
    import_listing(registry, listing({"A": [A1, A2]}), as_of=JAN, referential=ref)
    old = grid_referential_merged()
    state = state_at(registry, FEB, referential=old)
    assert members_of(state, "A") == (A1,)
    events = state.report[state.report["kind"] == "former_code"]
    assert events["code"].tolist() == [A2]
    assert "COG test" in events["message"].iloc[0] and "COG nouveau" in events["message"].iloc[0]
    assert (
        covered(coverage_history(registry, [FEB], referential=old), FEB, "FR", "emergence") == 2000
    )
    with read(registry) as conn:
        stored = sorted(conn.execute(sa.text("SELECT code FROM version_members")).scalars())
    assert stored == [A1, A2]  # history keeps the codes of its vintage
    assert check_registry(registry, referential=old).empty


def grid_referential_merged() -> Referential:
    """The grid after A2 (01002) merged into A1 (01001): a newer vintage."""
    ref = grid()
    units = ref.units.drop(index=A2)
    units.loc[A1, "population"] = 2000
    former = pd.DataFrame(
        [
            {
                "former_code": A2,
                "former_name": "Commune 01002",
                "former_kind": "COMD",
                "current_code": A1,
            }
        ]
    )
    vintages = ref.manifest["vintages"] | {"codes": "COG nouveau"}
    return grid(units=units, former_codes=former, manifest=ref.manifest | {"vintages": vintages})


def test_check_finds_what_breaks_the_rules(registry: Registry, ref: Referential) -> None:
    import_listing(registry, listing({"A": [A1, A2]}), as_of=JAN, referential=ref)
    assert check_registry(registry, referential=ref).empty
    with registry.engine.begin() as conn:
        version = conn.execute(sa.select(VERSIONS)).mappings().one()
        row = {k: v for k, v in version.items() if k != "id"} | {"valid_from": FEB}
        new_id = conn.execute(VERSIONS.insert().values(**row).returning(VERSIONS.c.id)).scalar()
        conn.execute(sa.text("INSERT INTO version_members VALUES (:v, '99999')"), {"v": new_id})
    problems = check_registry(registry, referential=ref)
    assert sorted(problems["problem"]) == ["overlap", "unknown_unit"]


def test_dump_restore_round_trip(databases: Databases, ref: Referential) -> None:
    source = databases.new()
    import_listing(source, listing({"A": [A1, A2], "B": [B1]}), as_of=JAN, referential=ref)
    import_listing(
        source,
        listing({"A": [A1]}, statuses={"A": "ACI signé (mars 2025)"}),
        as_of=MAR,
        referential=ref,
    )
    dump = json.loads(json.dumps(dump_registry(source)))
    target = databases.new()
    restore_registry(target, dump, actor="carole")
    again = dump_registry(target)
    for table, rows in dump["tables"].items():
        if table != "audit":
            assert again["tables"][table] == rows, table
    assert again["tables"]["audit"][:-1] == dump["tables"]["audit"]
    assert again["tables"]["audit"][-1]["action"] == "restore"
    assert again["tables"]["audit"][-1]["actor"] == "carole"
    # The restored registry goes on: ids continue after the restored ones.
    import_listing(target, listing({"A": [A1, A2]}), as_of=MAY, referential=ref)
    assert members_of(state_at(target, MAY, referential=ref), "A") == (A1, A2)
    with pytest.raises(Exception, match="pas vide"):
        restore_registry(target, dump)


def test_every_write_is_audited_with_its_actor(registry: Registry, ref: Referential) -> None:
    import_listing(registry, listing({"A": [A1, A2]}), as_of=JAN, referential=ref, actor="alice")
    import_listing(registry, listing({"A": [A1]}), as_of=FEB, referential=ref, actor="bob")
    audit = audit_trail(registry)
    assert audit["action"].tolist() == [
        "import_listing",
        "perimeter_new",
        "import_listing",
        "perimeter_changed",
    ]
    assert audit["actor"].tolist() == ["alice", "alice", "bob", "bob"]
    changed = audit.iloc[-1]
    assert json.loads(changed["before"])["codes"] == [A1, A2]
    assert json.loads(changed["after"])["codes"] == [A1]
    with read(registry) as conn:
        actors = conn.execute(sa.select(SOURCES.c.actor).order_by(SOURCES.c.id)).scalars().all()
    assert actors == ["alice", "bob"]


def test_a_preview_overtaken_by_another_import_is_refused(
    registry: Registry, ref: Referential
) -> None:
    import_listing(registry, listing({"A": [A1, A2]}), as_of=JAN, referential=ref)
    plan = preview_listing(registry, listing({"A": [A1, A2, A3]}), as_of=FEB, referential=ref)
    import_listing(registry, listing({"A": [A1]}), as_of=JAN, referential=ref, actor="other")
    with pytest.raises(RegistryConflictError, match="a changé depuis l'aperçu"):
        commit_listing(registry, plan, referential=ref, expected=plan.fingerprint)
    assert n_sources(registry) == 2


def test_the_diagnosis_of_the_registry_is_that_of_the_listing(
    registry: Registry, ref: Referential
) -> None:
    jan = listing(
        {"A": [A1, A2, B1], "B": [B1, B2], "C": [C1]},
        statuses={"A": "ACI signé", "B": "émergence", "C": "projet de santé validé"},
    )
    import_listing(registry, jan, as_of=JAN, referential=ref)
    from_file = run_diagnosis(jan, ref)
    from_registry = run_diagnosis(state_at(registry, JAN, referential=ref), ref)
    pd.testing.assert_frame_equal(from_registry.coverage, from_file.coverage)
    columns = ["name", "population", "size_class"]
    summary = from_registry.perimeters.summary
    assert set(columns) <= set(summary.columns)
    pd.testing.assert_frame_equal(
        summary[columns].sort_values("name", ignore_index=True),
        from_file.perimeters.summary[columns].sort_values("name", ignore_index=True),
    )
    assert sorted(from_registry.overlaps["code"]) == sorted(from_file.overlaps["code"]) == [B1]


def test_declared_splits_and_shares_are_kept(registry: Registry, ref: Referential) -> None:
    shared = perimeters_from_members({"p": [A1, A2], "q": [A2, A3]}, names={"p": "P", "q": "Q"})
    shared.splits = pd.DataFrame(
        {"perimeter_id": ["p", "q"], "code": [A2, A2], "declared_code": [A2, A2]}
    )
    shared.shares = pd.DataFrame(
        {"perimeter_id": ["p", "q"], "code": [A2, A2], "share": [0.25, 0.75]}
    )
    import_listing(registry, shared, as_of=JAN, referential=ref)
    state = state_at(registry, JAN, referential=ref)
    ids = dict(zip(state.perimeters["name"], state.perimeters["perimeter_id"], strict=True))
    assert sorted(zip(state.splits["perimeter_id"], state.splits["code"], strict=True)) == [
        (ids["P"], A2),
        (ids["Q"], A2),
    ]
    assert dict(zip(state.shares["perimeter_id"], state.shares["share"], strict=True)) == {
        ids["P"]: 0.25,
        ids["Q"]: 0.75,
    }
    assert run_diagnosis(state, ref).overlaps.empty  # a declared split is not an overlap


def test_a_listing_older_than_a_perimeter_continues_it(
    registry: Registry, ref: Referential
) -> None:
    import_listing(registry, listing({"A": [A1, A2, A3]}), as_of=MAR, referential=ref)
    older = import_listing(
        registry, listing({"A": [A1, A2], "B": [B1]}), as_of=JAN, referential=ref
    )
    assert older.plan.counts() == {"new": 2, "changed": 0, "removed": 0, "unchanged": 0}
    jan = state_at(registry, JAN, referential=ref).perimeters.set_index("name")
    mar = state_at(registry, MAR, referential=ref).perimeters.set_index("name")
    assert jan.at["A", "perimeter_id"] == mar.at["A", "perimeter_id"]  # the same perimeter
    assert sorted(mar.index) == ["A"]  # B ends where March's listing left it out
    changes = changes_between(registry, JAN, MAR, referential=ref)
    assert sorted(changes["change"]) == ["members", "removed"]
    assert check_registry(registry, referential=ref).empty


def test_the_state_says_deemed_validation_as_the_listing_did(registry: Registry, ref) -> None:
    """A health project filed more than two months before the listing is deemed validated."""
    data = listing(
        {"Filed": [A1], "Signed": [B1], "Emerging": [C1]},
        statuses={
            "Filed": "projet de santé déposé (15/09/2024)",
            "Signed": "ACI signé",
            "Emerging": "en émergence",
        },
    )
    import_listing(registry, data, as_of=JAN, referential=ref)
    state = state_at(registry, MAR, referential=ref).perimeters.set_index("name")
    assert state["deemed_validated"].to_dict() == {
        "Filed": True,
        "Signed": False,
        "Emerging": False,
    }
    assert state.loc["Filed", "status"] == "projet_sante"
