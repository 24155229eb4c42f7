"""The `python -m diagnosis funding` contract, end to end on small files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cli import main
from diagnosis.contracts import BY_YEAR_COLUMNS, SCHEDULE_COLUMNS
from diagnosis.core.model import REPORT_COLUMNS
from tests.paths import PROJECT_DIR

pytestmark = pytest.mark.referential

PERIMETERS = """Nom CPTS;Code INSEE;Statut
CPTS Arles;13004;ACI signé
CPTS Arles;13097;ACI signé
CPTS Tarascon;13108;ACI signé
CPTS Toulon;83137;ACI signé
"""
CONTRACTS = (
    "CPTS;Date de signature;Début accès aux soins;Début parcours;Début prévention;"
    "Début crises sanitaires;Début qualité et pertinence;"
    "Début accompagnement des professionnels;Crise déclenchée (années);Adhérents;"
    "Atteinte accès aux soins (%)\n"
    "CPTS Arles;01/01/2023;01/01/2023;01/01/2023;01/01/2023;01/01/2023;01/01/2023;"
    "01/01/2023;2024;40;80\n"
    "cpts-tarascon;01/03/2022;01/03/2022;;;;;;;;\n"
    "CPTS Toulon;01/01/2024;01/01/2024;01/01/2024;01/01/2024;01/01/2024;;;;;\n"
    "CPTS Inconnue;01/01/2023;;;;;;;;;\n"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    perimeters = tmp_path / "perimetres.csv"
    perimeters.write_text(PERIMETERS, encoding="utf-8")
    contracts = tmp_path / "contrats.csv"
    contracts.write_text(CONTRACTS, encoding="utf-8")
    return perimeters, contracts


def run(files: tuple[Path, Path], out: Path, *options: str) -> int:
    perimeters, contracts = files
    args = ["funding", "--contracts", str(contracts), "--perimeters", str(perimeters)]
    return main([*args, "--from", "2022", "--to", "2026", *options, "--out", str(out)])


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, dtype={"scope": str}, keep_default_na=False)


def test_contract_columns_and_totals(files: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(files, out) == 0
    schedule = read(out, "funding_schedule.csv")
    by_year = read(out, "funding_by_year.csv")
    report = read(out, "funding_report.csv")
    assert list(schedule.columns) == SCHEDULE_COLUMNS
    assert list(by_year.columns) == BY_YEAR_COLUMNS
    assert list(report.columns) == REPORT_COLUMNS
    assert set(schedule["kind"]) == {"fixe", "variable", "ponctuel"}
    assert set(schedule["perimeter_id"]) == {"cpts-arles", "cpts-tarascon", "cpts-toulon"}
    # Arles (Arles + Saint-Martin-de-Crau, taille 2): year 1 = 382,500 less the crisis payment.
    arles = schedule[(schedule["perimeter_id"] == "cpts-arles") & (schedule["contract_year"] == 1)]
    assert arles["amount_max_eur"].sum() == 382_500 - 52_500
    assert arles["period_start"].unique().tolist() == ["2023-01-01"]
    # Tarascon, signed before 30 September 2022: the supplement once, at signature.
    supplement = schedule[schedule["line"] == "supplement_exceptionnel"]
    assert supplement[
        ["perimeter_id", "contract_year", "kind", "period_start"]
    ].values.tolist() == [["cpts-tarascon", 1, "ponctuel", "2022-03-01"]]
    assert by_year["scope"].unique().tolist() == ["FR", "REG-93", "DEP-13", "DEP-83"]
    assert by_year["year"].unique().tolist() == [2022, 2023, 2024, 2025, 2026]
    fr = by_year[by_year["scope"] == "FR"]
    parts = fr["fixed_eur"] + fr["variable_eur"] + fr["one_off_eur"]
    assert (parts.round(2) == fr["total_max_eur"]).all()
    assert fr.set_index("year").loc[2022, "n_contracts"] == 1
    rejected = report[report["severity"] == "rejected"]
    assert rejected["kind"].tolist() == ["unknown_perimeter"]
    assert "Inconnue" in rejected["message"].iloc[0]


def test_department_scope(files: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(files, out, "--department", "83") == 0
    schedule = read(out, "funding_schedule.csv")
    by_year = read(out, "funding_by_year.csv")
    assert set(schedule["perimeter_id"]) == {"cpts-toulon"}
    assert by_year["scope"].unique().tolist() == ["DEP-83"]


def test_registry_on_a_date_gives_the_file_s_schedule(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The perimeters kept in the registry give the same funding as the file they came from."""
    perimeters, contracts = files
    db = str(tmp_path / "registre.sqlite")
    imported = ["registry", "import", str(perimeters), "--as-of", "2025-01-01", "--db", db]
    assert main([*imported, "--region", "93"]) == 0
    from_file, from_registry = tmp_path / "file", tmp_path / "registry"
    assert run(files, from_file) == 0
    args = ["funding", "--contracts", str(contracts), "--registry", "--as-of", "2025-06-01"]
    period = ["--from", "2022", "--to", "2026", "--db", db]
    assert main([*args, *period, "--out", str(from_registry)]) == 0
    for name in ("funding_schedule.csv", "funding_by_year.csv"):
        pd.testing.assert_frame_equal(read(from_registry, name), read(from_file, name))
    # Before the listing's date the registry holds nothing: every contract is unknown.
    before = tmp_path / "before"
    args_before = [*args[:-1], "2024-06-01", *period, "--out", str(before)]
    assert main(args_before) == 0
    assert read(before, "funding_schedule.csv").empty
    capsys.readouterr()
    no_date = ["funding", "--contracts", str(contracts), "--registry"]
    assert main([*no_date, "--from", "2024", "--to", "2025", "--out", str(tmp_path)]) == 2
    assert "--as-of" in capsys.readouterr().err


def test_bad_inputs_exit_2_with_french_messages(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    perimeters, _ = files
    bad = tmp_path / "mauvais.csv"
    bad.write_text("Nom;Code INSEE\nA;13004\n", encoding="utf-8")
    code = run((perimeters, bad), tmp_path / "out")
    assert code == 2
    assert "date de signature" in capsys.readouterr().err
    code = run((perimeters, tmp_path / "absent.csv"), tmp_path / "out")
    assert code == 2
    assert "introuvable" in capsys.readouterr().err
    assert run(files, tmp_path / "out", "--basis", "periode") == 0
    reversed_years = ["--from", "2026", "--to", "2022"]
    perimeters, contracts = files
    args = ["funding", "--contracts", str(contracts), "--perimeters", str(perimeters)]
    assert main([*args, *reversed_years, "--out", str(tmp_path / "o")]) == 2


def test_python_dash_m_runs_the_command(files: tuple[Path, Path], tmp_path: Path) -> None:
    perimeters, contracts = files
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "diagnosis", "funding", "--contracts", str(contracts),
         "--perimeters", str(perimeters), "--from", "2023", "--to", "2024", "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Contrats : 3 retenu(s) sur 4 lu(s)" in done.stdout
    assert (out / "funding_schedule.csv").exists()


def test_contracts_kept_in_the_registry_give_the_file_s_schedule(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """registry contracts keeps the contracts; funding --registry without --contracts uses them."""
    perimeters, contracts = files
    db = str(tmp_path / "registre.sqlite")
    imported = ["registry", "import", str(perimeters), "--as-of", "2025-01-01", "--db", db]
    assert main([*imported, "--region", "93"]) == 0
    stored = ["registry", "contracts", str(contracts), "--db", db]
    assert main([*stored, "--as-of", "2025-02-01"]) == 0
    said = capsys.readouterr().out
    assert "0 modifié(s), 0 inchangé(s)" in said
    assert main([*stored, "--as-of", "2025-03-01"]) == 0  # the same file again: nothing new
    assert "0 nouveau(x), 0 modifié(s)" in capsys.readouterr().out
    period = ["--from", "2022", "--to", "2026", "--db", db]
    with_file, kept = tmp_path / "with_file", tmp_path / "kept"
    args = ["funding", "--registry", "--as-of", "2025-06-01", *period]
    assert main([*args, "--contracts", str(contracts), "--out", str(with_file)]) == 0
    assert main([*args, "--out", str(kept)]) == 0
    for name in ("funding_schedule.csv", "funding_by_year.csv"):
        pd.testing.assert_frame_equal(read(kept, name), read(with_file, name))
    assert not read(kept, "funding_schedule.csv").empty
    # Before they were recorded, the registry keeps no contract.
    early = ["funding", "--registry", "--as-of", "2025-01-15", *period, "--out", str(tmp_path)]
    assert main(early) == 2
    assert "aucun contrat lisible" in capsys.readouterr().err
