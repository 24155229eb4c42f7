"""Who may see and change what, checked by the library on SQLite and PostgreSQL.

The grid (tests/grid.py): departments 01 and 38 in region 84, the island
2A999 in region 94. Users below hold one role each; the matrix says, for each
action and target, who may and who may not, and the writes that follow check
that a refusal writes nothing (not even an audit row).
"""

from __future__ import annotations

import datetime as dt

import pytest

from diagnosis.core.referential import Referential
from diagnosis.registry import (
    AccessDeniedError,
    Actor,
    Decision,
    DraftConflictError,
    PerimeterChangedError,
    Registry,
    Target,
    audit_trail,
    current_versions,
    decisions_of,
    edit_perimeter,
    get_draft,
    grant_role,
    import_listing,
    is_open,
    list_drafts,
    local_actor,
    perimeter_history,
    record_decision,
    restore_registry,
    review_of,
    review_submission,
    revoke_role,
    save_draft,
    state_at,
    submit_draft,
)
from diagnosis.registry.access import may
from diagnosis.registry.database import read
from tests.grid import ISLAND, cell
from tests.registry.conftest import listing

JAN, MAR = dt.date(2025, 1, 1), dt.date(2025, 3, 1)
A1, A2, A3 = cell(0, 0), cell(0, 1), cell(0, 2)  # 01001 01002 01003 (dept 01)
C1, C2 = cell(3, 0), cell(3, 1)  # 38013 38014 (dept 38)

LOCAL = local_actor("poste-local")
ADMIN = Actor("admin@ars.fr", "Admin national")
ANALYST_84 = Actor("analyste84@ars.fr", "Analyste ARS 84")
ANALYST_01 = Actor("analyste01@cpam.fr", "Analyste CPAM 01")
ANALYST_94 = Actor("analyste94@ars.fr", "Analyste ARS 94")
COMMITTEE_84 = Actor("comite84@ars.fr", "Comité 84")
COMMITTEE_94 = Actor("comite94@ars.fr", "Comité 94")
LEADER = Actor("porteur@cpts.fr", "Porteur de CPTS")
LEADER_2 = Actor("autre.porteur@cpts.fr", "Autre porteur")
READER = Actor("lecteur@ars.fr", "Lecteur")

GRANTS = [
    (ADMIN, "admin", {}),
    (ANALYST_84, "analyst", {"region": "84"}),
    (ANALYST_01, "analyst", {"department": "01"}),
    (ANALYST_94, "analyst", {"region": "94"}),
    (COMMITTEE_84, "committee", {"region": "84"}),
    (COMMITTEE_94, "committee", {"region": "94"}),
    (LEADER, "leader", {}),
    (LEADER_2, "leader", {}),
    (READER, "reader", {}),
]

IN_01, IN_38, IN_94, FRANCE = Target("84", "01"), Target("84", "38"), Target("94", "2A"), Target()

#: (action, target) -> the users allowed; every other user of GRANTS (and the local
#: user, once an administrator exists) is refused.
MATRIX = {
    ("import_listing", IN_01): {ADMIN, ANALYST_84, ANALYST_01},
    ("import_listing", IN_38): {ADMIN, ANALYST_84},
    ("import_listing", IN_94): {ADMIN, ANALYST_94},
    ("import_listing", FRANCE): {ADMIN},
    ("edit_perimeter", IN_01): {ADMIN, ANALYST_84, ANALYST_01},
    ("edit_perimeter", IN_38): {ADMIN, ANALYST_84},
    ("review_submission", IN_38): {ADMIN, ANALYST_84},
    ("review_submission", IN_94): {ADMIN, ANALYST_94},
    ("record_decision", IN_01): {ADMIN, ANALYST_84, ANALYST_01, COMMITTEE_84},
    ("record_decision", IN_94): {ADMIN, ANALYST_94, COMMITTEE_94},
    ("save_draft", IN_01): {ADMIN, LEADER, LEADER_2},
    ("submit_draft", IN_94): {ADMIN, LEADER, LEADER_2},
    ("grant", FRANCE): {ADMIN},
    ("restore", FRANCE): {ADMIN},
}


def with_users(registry: Registry) -> Registry:
    for who, role, scope in GRANTS:  # the first (admin) by the local user, then by the admin
        assert grant_role(registry, ADMIN if who != ADMIN else LOCAL, who.user_id, role, **scope)
    return registry


@pytest.fixture
def users(registry: Registry) -> Registry:
    return with_users(registry)


def n_audit(registry: Registry) -> int:
    return len(audit_trail(registry))


def test_the_role_matrix(users: Registry) -> None:
    wrong = []
    with read(users) as conn:
        for (action, target), allowed in MATRIX.items():
            for who in [LOCAL, *(g[0] for g in GRANTS)]:
                if may(conn, who, action, target) != (who in allowed):
                    wrong.append((action, target.label, who.user_id, who in allowed))
    assert wrong == []


def test_an_open_registry_lets_the_local_user_do_everything_until_an_admin_exists(
    registry: Registry, ref: Referential
) -> None:
    assert is_open(registry)
    with read(registry) as conn:
        assert all(may(conn, LOCAL, action, target) for action, target in MATRIX)
        assert not may(conn, ADMIN, "import_listing", IN_01)  # signed in: by grants only
    import_listing(registry, listing({"CPTS A": [A1, A2]}), as_of=JAN, referential=ref, actor=LOCAL)
    grant_role(registry, LOCAL, ADMIN.user_id, "admin")
    assert not is_open(registry)
    before = n_audit(registry)
    with pytest.raises(AccessDeniedError, match="Aucun rôle"):
        import_listing(registry, listing({"CPTS A": [A1]}), as_of=MAR, referential=ref, actor=LOCAL)
    assert n_audit(registry) == before
    with pytest.raises(AccessDeniedError):
        grant_role(registry, LOCAL, "quelquun", "admin")


def test_imports_by_scope_and_refusals_write_nothing(users: Registry, ref: Referential) -> None:
    data = listing({"CPTS A": [A1, A2]})
    before = n_audit(users)
    for who in (ANALYST_94, COMMITTEE_84, LEADER, READER):
        with pytest.raises(AccessDeniedError, match="importer une liste"):
            import_listing(users, data, as_of=JAN, department="01", referential=ref, actor=who)
    with pytest.raises(AccessDeniedError, match="département 38"):
        import_listing(
            users, listing({"CPTS C": [C1]}), as_of=JAN, department="38", referential=ref,
            actor=ANALYST_01,
        )  # fmt: skip
    assert n_audit(users) == before
    assert len(state_at(users, JAN, referential=ref).perimeters) == 0
    outcome = import_listing(
        users, data, as_of=JAN, department="01", referential=ref, actor=ANALYST_01
    )
    assert outcome.committed
    trail = audit_trail(users)
    assert trail["actor"].iloc[-1] == "Analyste CPAM 01"


def test_grants_and_revocation_are_audited_and_end_the_right(users: Registry) -> None:
    assert not grant_role(users, ADMIN, ANALYST_84.user_id, "analyst", region="84")  # held
    with pytest.raises(AccessDeniedError):
        grant_role(users, ANALYST_84, "nouveau@ars.fr", "analyst", region="84")
    assert revoke_role(users, ADMIN, ANALYST_84.user_id, "analyst", region="84") == 1
    with read(users) as conn:
        assert not may(conn, ANALYST_84, "import_listing", IN_38)
    trail = audit_trail(users)
    assert list(trail["action"].iloc[-1:]) == ["revoke"]
    assert trail["target"].iloc[-1] == ANALYST_84.user_id


def test_a_draft_is_private_until_submitted_then_seen_by_its_ars(
    users: Registry, ref: Referential
) -> None:
    draft = save_draft(users, LEADER, name="CPTS du Plateau", codes=[C1, C2], referential=ref)
    assert (draft.region, draft.department, draft.revision) == ("84", "38", 1)
    assert get_draft(users, LEADER, draft.id).codes == (C1, C2)
    # Nobody else sees it, whatever id they type: the same message for a missing draft.
    for who in (LEADER_2, ANALYST_84, COMMITTEE_84, READER):
        with pytest.raises(AccessDeniedError, match=f"n° {draft.id} introuvable ou non visible"):
            get_draft(users, who, draft.id)
        assert draft.id not in set(list_drafts(users, who)["id"])
    with pytest.raises(AccessDeniedError, match="n° 999 introuvable ou non visible"):
        get_draft(users, LEADER, 999)
    # Another leader may not save over it nor submit it.
    with pytest.raises(AccessDeniedError):
        save_draft(users, LEADER_2, name="x", codes=[C1], draft_id=draft.id, referential=ref)
    with pytest.raises(AccessDeniedError):
        submit_draft(users, LEADER_2, draft.id, expected_revision=1)
    submitted = submit_draft(users, LEADER, draft.id, expected_revision=1)
    assert submitted.state == "submitted"
    assert get_draft(users, ANALYST_84, draft.id).name == "CPTS du Plateau"
    for who in (ANALYST_01, ANALYST_94, LEADER_2, READER, COMMITTEE_84):
        with pytest.raises(AccessDeniedError):
            get_draft(users, who, draft.id)
    assert list(list_drafts(users, ANALYST_84)["state"]) == ["submitted"]


def test_a_returned_draft_comes_back_with_its_comment_and_an_accepted_one_is_a_perimeter(
    users: Registry, ref: Referential
) -> None:
    draft = save_draft(users, LEADER, name="CPTS du Plateau", codes=[C1], referential=ref)
    submit_draft(users, LEADER, draft.id, expected_revision=1)
    with pytest.raises(AccessDeniedError, match="valider ou renvoyer"):
        review_submission(users, ANALYST_01, draft.id, accept=True, referential=ref)
    returned = review_submission(
        users, ANALYST_84, draft.id, accept=False, comment="Ajoutez 38014.", referential=ref
    )
    assert returned.state == "returned"
    seen = get_draft(users, LEADER, draft.id)
    assert (seen.comment, seen.reviewed_by) == ("Ajoutez 38014.", "Analyste ARS 84")
    again = save_draft(
        users,
        LEADER,
        name="CPTS du Plateau",
        codes=[C1, C2],
        draft_id=draft.id,
        expected_revision=1,
        referential=ref,
    )
    assert (again.revision, again.state) == (2, "draft")
    submit_draft(users, LEADER, draft.id, expected_revision=2)
    accepted = review_submission(
        users, ANALYST_84, draft.id, accept=True, as_of=MAR, referential=ref
    )
    assert accepted.state == "accepted"
    state = state_at(users, MAR, referential=ref)
    row = state.perimeters.set_index("perimeter_id").loc[accepted.perimeter_id]
    assert (row["name"], row["status"], tuple(row["unit_codes"])) == (
        "CPTS du Plateau",
        "lettre_intention",
        (C1, C2),
    )
    assert len(state_at(users, JAN, referential=ref).perimeters) == 0
    history = perimeter_history(users, str(accepted.perimeter_id))
    assert history["actor"].tolist() == ["Analyste ARS 84"]


def test_a_stale_save_of_a_draft_is_refused_with_what_changed(
    users: Registry, ref: Referential
) -> None:
    draft = save_draft(users, LEADER, name="CPTS", codes=[A1], referential=ref)
    save_draft(
        users, LEADER, name="CPTS", codes=[A1, A2], draft_id=draft.id, expected_revision=1,
        referential=ref,
    )  # fmt: skip
    before = n_audit(users)
    with pytest.raises(DraftConflictError, match=f"communes ajoutées : {A2}"):
        save_draft(
            users, LEADER, name="CPTS", codes=[A1, A3], draft_id=draft.id, expected_revision=1,
            referential=ref,
        )  # fmt: skip
    assert n_audit(users) == before
    assert get_draft(users, LEADER, draft.id).codes == (A1, A2)


def _two_parties(registry: Registry, ref: Referential) -> dict[str, str]:
    import_listing(
        registry,
        listing({"CPTS Nord": [A1, A2], "CPTS Sud": [A2, A3]}),
        as_of=JAN,
        region="84",
        referential=ref,
        actor=ANALYST_84,
    )
    state = state_at(registry, JAN, referential=ref).perimeters
    return dict(zip(state["name"], state["perimeter_id"], strict=True))


def test_a_committee_decision_opens_versions_and_stays_on_record(
    users: Registry, ref: Referential
) -> None:
    ids = _two_parties(users, ref)
    nord, sud = ids["CPTS Nord"], ids["CPTS Sud"]
    seen = current_versions(users, [nord, sud])
    decision = Decision(
        title="Commune 01002 disputée",
        option="to_a",
        reasons="Bassin de vie tourné vers le nord.",
        outcome={nord: [A1, A2], sud: [A3]},
        options=[{"option": "to_a", "population_a": 2000}, {"option": "to_b"}],
    )
    with pytest.raises(AccessDeniedError, match="enregistrer une décision"):
        record_decision(
            users, COMMITTEE_94, decision, effective_on=MAR, referential=ref, expected_versions=seen
        )
    decision_id = record_decision(
        users, COMMITTEE_84, decision, effective_on=MAR, expected_versions=seen, referential=ref
    )
    after = state_at(users, MAR, referential=ref).perimeters.set_index("perimeter_id")
    assert tuple(after.loc[sud, "unit_codes"]) == (A3,)
    before = state_at(users, JAN, referential=ref).perimeters.set_index("perimeter_id")
    assert tuple(before.loc[sud, "unit_codes"]) == (A2, A3)  # history kept
    record = decisions_of(users, perimeter_id=sud)
    assert record["decision_id"].tolist() == [decision_id]
    assert record["decided_by"].iloc[0] == "Comité 84"
    assert record["options"].iloc[0][0]["population_a"] == 2000
    assert perimeter_history(users, sud)["actor"].tolist() == ["Analyste ARS 84", "Comité 84"]
    # The committee may not edit a perimeter alone; an analyst may.
    with pytest.raises(AccessDeniedError, match="modifier un périmètre"):
        edit_perimeter(
            users, COMMITTEE_84, nord, codes=[A1], reasons="x", effective_on=MAR,
            expected_version=None, referential=ref,
        )  # fmt: skip


def test_two_users_editing_one_perimeter_the_second_is_refused_with_the_change(
    users: Registry, ref: Referential
) -> None:
    ids = _two_parties(users, ref)
    nord = ids["CPTS Nord"]
    seen = current_versions(users, [nord])[nord]  # both users open the same version
    edit_perimeter(
        users, ANALYST_84, nord, codes=[A1, A2, A3], reasons="Extension validée.",
        effective_on=MAR, expected_version=seen, referential=ref,
    )  # fmt: skip
    before = n_audit(users)
    with pytest.raises(PerimeterChangedError, match=f"communes ajoutées : {A3}") as refused:
        edit_perimeter(
            users, ANALYST_01, nord, codes=[A1], reasons="Réduction.", effective_on=MAR,
            expected_version=seen, referential=ref,
        )  # fmt: skip
    assert "Analyste ARS 84" in str(refused.value)
    assert n_audit(users) == before
    state = state_at(users, MAR, referential=ref).perimeters.set_index("perimeter_id")
    assert tuple(state.loc[nord, "unit_codes"]) == (A1, A2, A3)


def test_a_merger_ends_the_absorbed_perimeter(users: Registry, ref: Referential) -> None:
    ids = _two_parties(users, ref)
    nord, sud = ids["CPTS Nord"], ids["CPTS Sud"]
    record_decision(
        users,
        COMMITTEE_84,
        Decision(
            title="Réunion des projets",
            option="merge",
            reasons="Un seul projet de santé.",
            outcome={nord: [A1, A2, A3], sud: []},
            names={nord: "CPTS Nord-Sud"},
        ),
        effective_on=MAR,
        referential=ref,
    )
    state = state_at(users, MAR, referential=ref).perimeters
    assert state["name"].tolist() == ["CPTS Nord-Sud"]
    assert tuple(state["unit_codes"].iloc[0]) == (A1, A2, A3)


def test_restore_is_for_administrators(users: Registry, databases, ref: Referential) -> None:
    from diagnosis.registry import dump_registry

    fresh = databases.new()
    with_users_dump = dump_registry(users)
    restore_registry(fresh, with_users_dump, actor=LOCAL)  # an empty registry is open
    with pytest.raises(AccessDeniedError, match="restaurer"):
        restore_registry(databases.new(), with_users_dump, actor=ANALYST_84)
    assert ISLAND  # the island's region (94) is covered by the matrix above


def test_an_analyst_reviews_a_submission_with_its_size_and_overlaps(
    users: Registry, ref: Referential
) -> None:
    ids = _two_parties(users, ref)  # Nord: 01001 01002, Sud: 01002 01003 (from January)
    draft = save_draft(
        users, LEADER, name="CPTS Ouest", codes=[A2, A3, cell(1, 0)], referential=ref
    )
    with pytest.raises(AccessDeniedError):
        review_of(users, ANALYST_84, draft.id, day=MAR, referential=ref)  # not submitted yet
    submit_draft(users, LEADER, draft.id, expected_revision=1)
    review = review_of(users, ANALYST_84, draft.id, day=MAR, referential=ref)
    assert (review.population, review.size_class) == (3000, 1)
    overlaps = review.overlaps.set_index("perimeter_id")
    assert overlaps.loc[ids["CPTS Sud"], "shared_codes"] == [A2, A3]
    assert overlaps.loc[ids["CPTS Sud"], "shared_population"] == 2000
    assert overlaps.loc[ids["CPTS Nord"], "shared_codes"] == [A2]
    assert list(review.overlaps["perimeter_id"]) == [ids["CPTS Sud"], ids["CPTS Nord"]]


@pytest.mark.parametrize(
    ("option", "nord", "sud"),
    [
        ("tout_b", (A1,), (A2, A3)),
        ("tout_a", (A1, A2), (A3,)),
        ("en_l_etat", (A1, A2), (A2, A3)),
        ("reunir", (A1, A2, A3), None),
    ],
)
def test_an_arbitration_option_becomes_the_parties_new_versions(
    users: Registry, ref: Referential, option: str, nord: tuple, sud: tuple | None
) -> None:
    from diagnosis.analysis.disputes import compare_parties
    from diagnosis.analysis.pipeline import run_diagnosis
    from diagnosis.registry import decision_from_dispute

    ids = _two_parties(users, ref)
    diag = run_diagnosis(state_at(users, JAN, referential=ref), ref)
    dispute = compare_parties(
        diag.membership, diag.referential, [ids["CPTS Nord"], ids["CPTS Sud"]]
    )
    decision = decision_from_dispute(dispute, option, reasons="Avis du comité.")
    assert {r["option"] for r in decision.options} >= {"en_l_etat", "reunir"}
    record_decision(users, COMMITTEE_84, decision, effective_on=MAR, referential=ref)
    after = state_at(users, MAR, referential=ref).perimeters.set_index("perimeter_id")
    assert tuple(after.loc[ids["CPTS Nord"], "unit_codes"]) == nord
    if sud is None:
        assert ids["CPTS Sud"] not in after.index
        assert after.loc[ids["CPTS Nord"], "name"] == "CPTS Nord – CPTS Sud"
    else:
        assert tuple(after.loc[ids["CPTS Sud"], "unit_codes"]) == sud
    assert decisions_of(users)["option"].tolist() == [option]
