"""Real stage wordings (issue 10 item 12, issue 20 item 1): brackets, dates, reasons, sources.

Also the deemed validation of a filed health project (two months, seed 003).
"""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from diagnosis.core.referential import Referential
from diagnosis.core.statuses import (
    _status_spec_of,
    parse_status,
    read_status,
    status_from_label,
    status_reason,
    status_source,
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
        # Filed without a date: never deemed validated (see the tests below for dates).
        ("Projet de santé déposé", "lettre_intention", None),
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


# ---------------------------------------------------------------------------
# Issue 20 item 1: the categories of national reporting and URPS maps
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "stage", "date", "seed", "why"),
    [
        # National deployment figures (seed 004, 30 October 2023).
        ("CPTS signataire de l'ACI", "aci_signe", None, "004_", "a signé son contrat"),
        ("Signataires ACI (mars 2021)", "aci_signe", "mars 2021", "004_", "signé"),
        ("signataire de l'ACI depuis le 12/03/2022", "aci_signe", "12/03/2022", "004_", "signé"),
        (
            "CPTS avec un projet de santé",
            "projet_sante",
            None,
            "004_",
            "projet de santé est validé",
        ),
        ("Avec un projet de santé (2023)", "projet_sante", "2023", "004_", "validé"),
        ("En construction du projet de santé", "lettre_intention", None, "004_", "lettre"),
        (
            "CPTS en construction du projet de santé (sept. 2023)",
            "lettre_intention",
            None,
            "004_",
            "lettre",
        ),
        ("projet de santé en construction", "lettre_intention", None, "004_", "lettre"),
        ("En début de projet", "emergence", None, "004_", "sans lettre d'intention validée"),
        ("CPTS en début de projet (01/10/2023)", "emergence", "01/10/2023", "004_", "sans lettre"),
        # URPS maps (seed 000).
        ("Opérationnelle", "aci_signe", None, "000_", "ACI"),
        ("CPTS opérationnelles", "aci_signe", None, "000_", "ACI"),
        (
            "En cours de constitution (lettre d'intention validée)",
            "lettre_intention",
            None,
            "000_",
            "lettre d'intention validée",
        ),
        ("CPTS en cours de constitution", "lettre_intention", None, "000_", "lettre d'intention"),
        ("en cours de constitution - 2020", "lettre_intention", "2020", "000_", "lettre"),
        # Start-up funding follows a validated letter of intent (seed 003, I.4).
        ("Amorçage", "lettre_intention", None, "003_", "suit la validation de la lettre"),
        ("en phase d'amorçage (2022)", "lettre_intention", "2022", "003_", "amorçage"),
        ("Financement d'amorçage", "lettre_intention", None, "003_", "amorçage"),
        # A health project "réputé validé" in the listing itself.
        ("Projet de santé réputé validé", "projet_sante", None, "003_", "réputé validé"),
    ],
)
def test_text_categories_map_with_reason_and_source(
    label: str, stage: str, date: str | None, seed: str, why: str
) -> None:
    # The date in brackets is dropped when it is not a date the parser reads ("sept. 2023").
    reading = read_status(label, reference_date=dt.date(2025, 1, 1))
    assert reading.status == stage
    if date is not None:
        assert reading.date == date
    assert why in str(status_reason(label))
    assert str(status_source(label)).startswith(seed)


def test_amorcage_is_no_longer_emergence() -> None:
    # The 2019 instruction: amorçage comes after a validated letter of intent.
    assert status_from_label("amorçage") == "lettre_intention"
    assert status_from_label("en amorçage") == "lettre_intention"


def test_unproven_wordings_stay_unknown() -> None:
    for label in ("en construction", "en projet", "en réflexion", "en attente"):
        assert status_from_label(label) is None, label


# ---------------------------------------------------------------------------
# Deemed validation: two months after the filing (seed 003, I.6)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "reference", "stage", "deemed", "due"),
    [
        # Filed 15 January 2025: the ARS has until 15 March 2025.
        (
            "projet de santé déposé (15/01/2025)",
            dt.date(2025, 3, 16),
            "projet_sante",
            True,
            dt.date(2025, 3, 15),
        ),
        (
            "projet de santé déposé (15/01/2025)",
            dt.date(2025, 3, 15),
            "lettre_intention",
            False,
            dt.date(2025, 3, 15),
        ),
        (
            "projet de santé déposé (15/01/2025)",
            dt.date(2025, 2, 1),
            "lettre_intention",
            False,
            dt.date(2025, 3, 15),
        ),
        # Filed 31 December 2024: two months end on 28 February 2025.
        (
            "Projet de santé déposé le 31/12/2024",
            dt.date(2025, 3, 1),
            "projet_sante",
            True,
            dt.date(2025, 2, 28),
        ),
        (
            "Projet de santé déposé le 31/12/2024",
            dt.date(2025, 2, 28),
            "lettre_intention",
            False,
            dt.date(2025, 2, 28),
        ),
        # A month counts from its last day: filed "janvier 2025" → 31 March 2025.
        (
            "Projet de santé déposé (janvier 2025)",
            dt.date(2025, 3, 31),
            "lettre_intention",
            False,
            dt.date(2025, 3, 31),
        ),
        (
            "Projet de santé déposé (janvier 2025)",
            dt.date(2025, 4, 1),
            "projet_sante",
            True,
            dt.date(2025, 3, 31),
        ),
        # A year counts from 31 December.
        ("PS déposé - 2024", dt.date(2025, 2, 28), "lettre_intention", False, dt.date(2025, 2, 28)),
        ("PS déposé - 2024", dt.date(2025, 3, 1), "projet_sante", True, dt.date(2025, 2, 28)),
        (
            "projet de santé en cours d'instruction (2024-11-02)",
            dt.date(2025, 1, 3),
            "projet_sante",
            True,
            dt.date(2025, 1, 2),
        ),
        # No filing date: the two months cannot be counted.
        ("projet de santé déposé", dt.date(2030, 1, 1), "lettre_intention", False, None),
    ],
)
def test_deemed_validation_on_both_sides_of_two_months(
    label: str, reference: dt.date, stage: str, deemed: bool, due: dt.date | None
) -> None:
    reading = read_status(label, reference_date=reference)
    assert (reading.status, reading.deemed_validated, reading.validation_due) == (
        stage,
        deemed,
        due,
    )
    assert reading.filed
    assert parse_status(label, reference_date=reference)[0] == stage
    if deemed:
        assert "réputé validé" in str(status_reason(label, reference_date=reference))


def test_only_a_filed_health_project_is_deemed() -> None:
    old = dt.date(2030, 1, 1)
    for label in (
        "projet de santé en cours de rédaction (2020)",
        "lettre d'intention déposée (2020)",
    ):
        reading = read_status(label, reference_date=old)
        assert not reading.deemed_validated and not reading.filed, label
    assert (
        read_status("lettre d'intention déposée (2020)", reference_date=old).status == "emergence"
    )


def test_the_date_column_is_the_filing_date_when_the_label_has_none() -> None:
    reading = read_status(
        "projet de santé déposé", reference_date=dt.date(2025, 3, 16), filing_date="15/01/2025"
    )
    assert reading.deemed_validated and reading.status == "projet_sante"
    later = read_status(
        "projet de santé déposé", reference_date=dt.date(2025, 3, 16), filing_date="2025-02-01"
    )
    assert not later.deemed_validated and later.validation_due == dt.date(2025, 4, 1)


def test_import_flags_deemed_validation_and_says_when_the_two_months_end() -> None:
    from tests.grid import cell, grid_referential

    data = (
        "Nom;Code;Statut\n"
        f"A;{cell(0, 0)};projet de santé déposé (15/01/2025)\n"
        f"B;{cell(1, 0)};projet de santé déposé (01/02/2025)\n"
        f"C;{cell(2, 0)};en construction du projet de santé\n"
    ).encode()
    result = import_perimeters(
        data, filename="x.csv", referential=grid_referential(), reference_date=dt.date(2025, 3, 16)
    )
    per = result.perimeters.set_index("name")
    assert per["status"].to_dict() == {
        "A": "projet_sante",
        "B": "lettre_intention",
        "C": "lettre_intention",
    }
    assert per["deemed_validated"].to_dict() == {"A": True, "B": False, "C": False}
    assert per.loc["A", "date"] == "15/01/2025"  # the date as written
    report = result.report.set_index("perimeter")
    assert report.loc["A", "kind"] == "deemed_validated"
    assert "15 mars 2025" in report.loc["A", "message"]
    assert report.loc["B", "kind"] == "validation_pending"
    assert "1er avril 2025" in report.loc["B", "message"]
    assert "unknown_status" not in set(result.report["kind"])
