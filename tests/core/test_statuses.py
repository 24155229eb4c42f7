"""Real stage wordings (issue 10 item 12): brackets, dates, synonyms with their reasons."""

from __future__ import annotations

import tomllib

import pytest

from diagnosis.core.referential import Referential
from diagnosis.core.rules import (
    _status_spec_of,
    parse_status,
    status_from_label,
    status_reason,
    status_specs,
)
from diagnosis.core.textnorm import label_key
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.paths import RULES_DIR


@pytest.mark.parametrize(
    ("label", "stage", "date"),
    [
        # The labels of the Île-de-France listing of issue 10 item 12.
        ("en activité (avril 2025)", "aci_signe", "avril 2025"),
        ("en fonctionnement (15/09/2021)", "aci_signe", "15/09/2021"),
        ("lettre d'intention déposée (15/09/2021)", "emergence", "15/09/2021"),
        ("début de formalisation", "emergence", None),
        ("déclaration d'intérêt sans formalisation", "emergence", None),
        # Other wordings of ARS, CPAM and the CPTS federation.
        ("Déclaration d'intérêt (sans formalisation)", "emergence", None),
        ("Pré-projet", "emergence", None),
        ("Projet de santé déposé (03/2023)", "lettre_intention", "03/2023"),
        ("projet de santé en cours de validation", "lettre_intention", None),
        ("Projet de santé validé (2022)", "projet_sante", "2022"),
        ("ACI signé le 12/03/2022", "aci_signe", "12/03/2022"),
        ("ACI signé - 2022-03-12", "aci_signe", "2022-03-12"),
        ("En fonctionnement [voir convention]", "aci_signe", None),
        ("EN ACTIVITÉ", "aci_signe", None),
        ("Lettre d'intention validée (1er avril 2024)", "lettre_intention", "1er avril 2024"),
        # Stage numbers are not dates.
        ("stade 2", "lettre_intention", None),
        ("4", "aci_signe", None),
        # Unknown wordings are never guessed, with or without a date.
        ("en réflexion (2024)", None, "2024"),
        ("en projet", None, None),
        ("(avril 2025)", None, "avril 2025"),
        ("", None, None),
        (None, None, None),
        (float("nan"), None, None),
    ],
)
def test_parse_status(label: object, stage: str | None, date: str | None) -> None:
    assert parse_status(label) == (stage, date)
    assert status_from_label(label) == stage


def test_every_synonym_group_gives_its_reason() -> None:
    with (RULES_DIR / "statuses.toml").open("rb") as fh:
        data = tomllib.load(fh)
    for item in data["stage"]:
        assert item["group"], item["key"]
        for group in item["group"]:
            assert len(group["reason"]) > 40, group
            assert group["labels"]
    assert "ARS" in str(status_reason("lettre d'intention déposée (15/09/2021)"))
    assert "ACI" in str(status_reason("en activité (avril 2025)"))
    assert "stade 2" in str(status_reason("Projet de santé déposé"))
    assert status_reason("en réflexion") is None


def test_a_group_without_reason_is_refused() -> None:
    item = {
        "key": "emergence",
        "rank": 1,
        "label_fr": "x",
        "colour": "#000000",
        "group": [{"reason": " ", "labels": ["idee"]}],
    }
    with pytest.raises(ValueError, match="reason"):
        _status_spec_of(item)


def test_no_synonym_maps_to_two_stages_and_none_looks_like_a_date() -> None:
    seen: dict[str, str] = {}
    for spec in status_specs():
        for synonym in spec.synonyms:
            assert seen.setdefault(synonym, spec.key) == spec.key
    assert label_key("15/09/2021") not in seen


@pytest.mark.referential
def test_import_takes_the_stage_date_from_the_brackets(real_referential: Referential) -> None:
    data = (
        "Nom CPTS;Code INSEE;Statut\n"
        "A;13004;en activité (avril 2025)\n"
        "B;13108;lettre d'intention déposée (15/09/2021)\n"
        "C;13097;début de formalisation\n"
    ).encode()
    result = import_perimeters(
        data, filename="x.csv", referential=real_referential, columns={"status": "Statut"}
    )
    per = result.perimeters.set_index("name")
    assert per.loc["A", "status"] == "aci_signe"
    assert per.loc["A", "date"] == "avril 2025"
    assert per.loc["B", "status"] == "emergence"
    assert per.loc["B", "date"] == "15/09/2021"
    assert per.loc["C", "status"] == "emergence"
    assert per.loc["C", "date"] is None
    kinds = set(result.report["kind"]) if len(result.report) else set()
    assert "unknown_status" not in kinds


@pytest.mark.referential
def test_a_date_column_wins_over_the_brackets(real_referential: Referential) -> None:
    data = "Nom CPTS;Code INSEE;Statut;Date\nA;13004;en activité (avril 2025);2025-05-01\n"
    result = import_perimeters(
        data.encode(),
        filename="x.csv",
        referential=real_referential,
        columns={"status": "Statut", "date": "Date"},
    )
    assert result.perimeters.iloc[0]["date"] == "2025-05-01"
