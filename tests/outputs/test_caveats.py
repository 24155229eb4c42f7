"""Proposals' caveats and the words for uncovered communes (issue 20 item 5)."""

from __future__ import annotations

import pandas as pd

from diagnosis.outputs.export import people_tables
from diagnosis.outputs.labels import PROPOSAL_CAVEAT, proposal_caveat, uncovered_wording


def test_proposals_are_indicative_and_subject_to_the_actors_agreement() -> None:
    # Seed 003, I.6.1: "à valeur indicative, et non un document de planification des CPTS";
    # seed 004: extensions "sous réserve de l'accord des acteurs".
    for kind in ("nouveau_perimetre", "a_examiner", None):
        text = proposal_caveat(kind)
        assert "valeur indicative" in text and "non un document de planification" in text
        assert "sous réserve de l'accord des acteurs" in text
    assert proposal_caveat("nouveau_perimetre") == PROPOSAL_CAVEAT
    assert proposal_caveat("rattachement").startswith("Extension d'une CPTS existante")


def test_people_proposal_tables_carry_the_caveat() -> None:
    proposals = pd.DataFrame(
        {"proposal_id": ["P1", "P2"], "kind": ["nouveau_perimetre", "rattachement"]}
    )
    table = people_tables({"proposals.csv": proposals})["proposals.csv"]
    assert "réserve" in table.columns
    assert table["réserve"].tolist() == [
        proposal_caveat("nouveau_perimetre"),
        proposal_caveat("rattachement"),
    ]
    assert "caveat" not in proposals.columns  # the input is not changed


def test_white_zone_is_kept_for_communes_in_no_project() -> None:
    assert uncovered_wording("emergence") == "zone blanche"
    assert uncovered_wording(None) == "zone blanche"
    assert uncovered_wording("projet_sante") == (
        "non couverts par une CPTS au stade « Projet de santé validé » ou au-delà"
    )
    assert "zone blanche" not in uncovered_wording("aci_signe")
