"""Reading contracts files: French column names, every problem reported, French errors."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from diagnosis.contracts import ContractFileError, ContractsImport, read_contracts
from diagnosis.contracts.columns import role_of

HEADER = (
    "CPTS;Date de signature;Début accès aux soins;Début parcours;Début prévention;"
    "Début crises sanitaires;Début qualité et pertinence;Début accompagnement des professionnels;"
    "Crise déclenchée (années);Adhérents;Atteinte accès aux soins (%)\n"
)


def read_text(text: str) -> ContractsImport:
    return read_contracts(text.encode("utf-8"), filename="contrats.csv")


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("CPTS", "perimeter"),
        ("Nom de la CPTS", "perimeter"),
        ("Identifiant", "perimeter_id"),
        ("DATE DE SIGNATURE", "signature"),
        ("date de signature du contrat", "signature"),
        ("Début accès aux soins", "start:acces_aux_soins"),
        ("debut acces aux soins", "start:acces_aux_soins"),
        ("Début - parcours", "start:parcours"),
        ("Date de début prévention", "start:prevention"),
        ("début crises sanitaires", "start:crises_sanitaires"),
        ("Début qualité et pertinence", "start:qualite_pertinence"),
        ("Début accompagnement des professionnels", "start:accompagnement"),
        ("Crise déclenchée (années)", "crises"),
        ("adhérents", "members"),
        ("Atteinte accès aux soins (%)", "rate:acces_aux_soins"),
        ("Taux d'atteinte parcours", "rate:parcours"),
        ("Aide lettre d'intention (€)", "letter_of_intent_aid"),
        ("Validation lettre d'intention", "letter_of_intent"),
        ("Remarques", None),
    ],
)
def test_columns_are_recognised_by_french_names(header: str, role: str | None) -> None:
    assert role_of(header) == role


def test_a_complete_row() -> None:
    result = read_text(
        HEADER + "CPTS du Plateau;01/01/2023;2023-01-01;01/03/2023;;01/01/2023;;01/06/2024;"
        '2023, 2025;120;"80 ; 90"\n'
    )
    (contract,) = result.contracts
    assert contract.perimeter == "CPTS du Plateau"
    assert contract.signature == dt.date(2023, 1, 1)
    assert contract.mission_starts == {
        "acces_aux_soins": dt.date(2023, 1, 1),
        "parcours": dt.date(2023, 3, 1),
        "crises_sanitaires": dt.date(2023, 1, 1),
        "accompagnement": dt.date(2024, 6, 1),
    }
    assert contract.crises == (dt.date(2023, 1, 1), dt.date(2025, 1, 1))
    assert contract.members == 120
    assert contract.attainment == {"acces_aux_soins": (0.8, 0.9)}
    assert contract.rate("acces_aux_soins", 2) == 0.9
    assert contract.rate("acces_aux_soins", 3) == 1.0
    kinds = result.report["kind"].tolist()
    assert kinds.count("mission_not_started") == 1  # prevention, mandatory, empty
    assert "columns_detected" in kinds


def test_every_problem_is_reported() -> None:
    result = read_text(
        HEADER
        + ";01/01/2023;;;;;;;;;\n"  # no CPTS
        + "A;avril 2023;;;;;;;;;\n"  # a month is not a signature day
        + "B;01/01/2023;01/06/2022;01/06/2024;32/01/2023;;;;2022;douze;150\n"
        + "B;01/02/2023;;;;;;;;;\n"  # a second contract for B
        + ";;;;;;;;;;\n"  # blank
    )
    assert [c.perimeter for c in result.contracts] == ["B"]
    report = result.report
    by_kind = report.groupby("kind")["row"].apply(list).to_dict()
    assert by_kind["missing_perimeter"] == [2]
    assert by_kind["bad_signature"] == [3]
    assert by_kind["duplicate_contract"] == [5]
    assert by_kind["start_before_signature"] == [4]  # access to care before signature
    assert by_kind["late_start"] == [4]  # pathways 17 months after signature (12 at most)
    assert by_kind["bad_date"] == [4]  # 32/01/2023
    assert by_kind["crisis_not_counted"] == [4]  # 2022: before the contract
    assert sorted(by_kind["bad_number"]) == [4, 4]  # members "douze", rate 150
    (contract,) = result.contracts
    assert contract.mission_starts["acces_aux_soins"] == dt.date(2023, 1, 1)
    assert contract.members is None
    assert contract.attainment == {"acces_aux_soins": (1.0,)}
    assert set(report.loc[report["kind"] == "missing_perimeter", "severity"]) == {"rejected"}
    messages = " ".join(report["message"])
    assert "six" not in messages  # calendar in months, in figures
    assert "12 mois après la signature" in messages
    assert "1er janvier 2024" in messages  # the latest start of pathways, in French


def test_a_crisis_before_the_crisis_mission_is_not_paid() -> None:
    result = read_text(HEADER + "C;01/01/2023;;;;01/07/2024;;;2023;;\n")
    assert result.contracts[0].crises == ()
    assert "crisis_not_counted" in set(result.report["kind"])
    later = read_text(HEADER + "C;01/01/2023;;;;01/07/2024;;;2024;;\n")
    assert later.contracts[0].crises == (dt.date(2024, 7, 1),)  # counted from the plan's start


def test_a_workbook_with_a_title_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Suivi des contrats ACI, CPAM du Var"])
    sheet.append(["cpts", "DATE DE SIGNATURE", "début accès aux soins", "adhérents"])
    sheet.append(["CPTS des Quais", dt.datetime(2022, 3, 1), dt.datetime(2022, 4, 1), 80])
    path = tmp_path / "contrats.xlsx"
    book.save(path)
    result = read_contracts(path)
    (contract,) = result.contracts
    assert contract.signature == dt.date(2022, 3, 1)
    assert contract.mission_starts == {"acces_aux_soins": dt.date(2022, 4, 1)}
    assert contract.members == 80
    assert result.source["header_row"] == 2


def test_a_file_without_contract_columns_is_refused_in_french() -> None:
    with pytest.raises(ContractFileError, match="date de signature"):
        read_text("Nom;Code INSEE\nA;13004\n")
    with pytest.raises(ContractFileError, match="introuvable"):
        read_contracts(Path("/nonexistent/contrats.csv"))
    with pytest.raises(ContractFileError, match="pas un tableau"):
        read_contracts(b"{}", filename="contrats.geojson")
    with pytest.raises(ContractFileError, match="illisible"):
        read_contracts(io.BytesIO(b""), filename="contrats.csv")
