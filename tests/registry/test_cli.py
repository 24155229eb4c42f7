"""The `python -m diagnosis registry …` contract on the real referential, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from cli import main
from diagnosis.core.referential import Referential
from diagnosis.paths import EXAMPLES_DIR
from diagnosis.registry import CHANGE_COLUMNS, HISTORY_COLUMNS, Registry, dump_registry
from tests.registry.conftest import Databases

pytestmark = pytest.mark.referential

EXAMPLE = EXAMPLES_DIR / "exemple_fictif_paca_couverture.csv"


def june_listing(folder: Path) -> Path:
    """The example six months later: one CPTS left out, one renamed, one signed."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    out = lines[:2]
    for line in lines[2:]:
        if "Serre-Ponçon (exemple)" in line:
            continue
        row = line.replace("CPTS du Pays de Fayence (exemple)", "CPTS Fayence et Mons (exemple)")
        if "Provence-Alpes-Agglomération" in row:
            row = row.replace("lettre d'intention validée", "ACI signé (avril 2025)")
        out.append(row)
    path = folder / "paca_2025-06.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> int:
    return main(list(args))


@pytest.fixture
def loaded(databases: Databases, real_referential: Referential) -> Registry:
    registry = databases.new()
    code = run(
        "registry",
        "import",
        str(EXAMPLE),
        "--as-of",
        "2025-01-01",
        "--region",
        "93",
        "--db",
        registry.url,
    )
    assert code == 0
    return registry


def test_import_prints_the_changes_and_dry_run_writes_nothing(
    loaded: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    june = june_listing(tmp_path)
    before = dump_registry(loaded)
    capsys.readouterr()
    assert (
        run(
            "registry",
            "import",
            str(june),
            "--as-of",
            "2025-06-01",
            "--region",
            "93",
            "--db",
            loaded.url,
            "--dry-run",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Aperçu seulement (--dry-run) : rien n'a été écrit." in out
    assert "retiré    cpts-serre-poncon-exemple" in out
    assert "renommé   cpts-du-pays-de-fayence-exemple" in out
    assert "stade     cpts-provence-alpes-agglomeration-exemple" in out
    assert dump_registry(loaded) == before
    assert (
        run(
            "registry",
            "import",
            str(june),
            "--as-of",
            "2025-06-01",
            "--region",
            "93",
            "--db",
            loaded.url,
            "--actor",
            "ars-paca",
        )
        == 0
    )
    assert "Import enregistré : 3 périmètres changé(s)." in capsys.readouterr().out
    assert (
        run(
            "registry",
            "import",
            str(june),
            "--as-of",
            "2025-06-01",
            "--region",
            "93",
            "--db",
            loaded.url,
        )
        == 0
    )
    assert "déjà été importée" in capsys.readouterr().out


def test_an_ambiguous_listing_exits_2_with_a_french_message(
    loaded: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        r
        for r in EXAMPLE.read_text(encoding="utf-8").splitlines()[2:]
        if r.startswith("CPTS Serre-Ponçon (exemple)")
    ]
    twins = [
        r.replace("CPTS Serre-Ponçon (exemple)", name) for name in ("Un", "Deux") for r in rows
    ]
    path = tmp_path / "ambigu.csv"
    path.write_text(
        "Nom CPTS;Code INSEE;Commune;Statut\n" + "\n".join(twins) + "\n", encoding="utf-8"
    )
    before = dump_registry(loaded)
    capsys.readouterr()
    assert (
        run(
            "registry",
            "import",
            str(path),
            "--as-of",
            "2025-06-01",
            "--region",
            "93",
            "--db",
            loaded.url,
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("Erreur : Import refusé")
    assert "« Un »" in err and "Rien n'a été écrit" in err
    assert dump_registry(loaded) == before


def test_history_changes_and_diagnose_from_the_registry(
    loaded: Registry, tmp_path: Path, real_referential: Referential
) -> None:
    june = june_listing(tmp_path)
    assert (
        run(
            "registry",
            "import",
            str(june),
            "--as-of",
            "2025-06-01",
            "--region",
            "93",
            "--db",
            loaded.url,
        )
        == 0
    )
    out = tmp_path / "h"
    assert (
        run(
            "registry",
            "history",
            "--region",
            "93",
            "--from",
            "2024-12-01",
            "--to",
            "2025-06-01",
            "--every",
            "quarter",
            "--db",
            loaded.url,
            "--out",
            str(out),
        )
        == 0
    )
    history = pd.read_csv(out / "history.csv", dtype={"scope": str})
    assert list(history.columns) == HISTORY_COLUMNS
    assert sorted(set(history["scope"])) == [
        "DEP-04",
        "DEP-05",
        "DEP-06",
        "DEP-13",
        "DEP-83",
        "DEP-84",
        "REG-93",
    ]
    assert len(history) == 3 * 7 * 4
    assert (
        run(
            "registry",
            "history",
            "--dates",
            "2025-06-01",
            "--db",
            loaded.url,
            "--out",
            str(tmp_path / "fr"),
        )
        == 0
    )
    france = pd.read_csv(tmp_path / "fr" / "history.csv", dtype={"scope": str})
    assert {"FR", "REG-93", "DEP-13", "REG-11"} <= set(france["scope"])

    # diagnose --registry gives what diagnose --perimeters gives for the same listing.
    by_file, by_registry = tmp_path / "file", tmp_path / "registry"
    assert (
        run(
            "diagnose",
            "--perimeters",
            str(june),
            "--region",
            "93",
            "--out",
            str(by_file),
            "--no-progress",
        )
        == 0
    )
    assert (
        run(
            "diagnose",
            "--registry",
            "--as-of",
            "2025-06-01",
            "--region",
            "93",
            "--db",
            loaded.url,
            "--out",
            str(by_registry),
            "--no-progress",
        )
        == 0
    )
    for name in ("coverage.csv", "overlaps.csv", "white_zones.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(by_registry / name, dtype=str),
            pd.read_csv(by_file / name, dtype=str),
            check_like=True,
        )
    columns = ["name", "status", "population", "n_units", "size_class"]
    per_file = pd.read_csv(by_file / "perimeters.csv")[columns].sort_values("name")
    per_registry = pd.read_csv(by_registry / "perimeters.csv")[columns].sort_values("name")
    pd.testing.assert_frame_equal(
        per_registry.reset_index(drop=True), per_file.reset_index(drop=True)
    )
    coverage = pd.read_csv(by_file / "coverage.csv", dtype={"scope": str})
    june_rows = history[history["date"] == "2025-06-01"]
    merged = june_rows.merge(coverage, on=["scope", "status_min"], suffixes=("", "_file"))
    assert len(merged) == 7  # coverage.csv holds the diagnosis's threshold (emergence)
    assert (merged["population_covered"] == merged["population_covered_file"]).all()

    assert (
        run(
            "registry",
            "changes",
            "--from",
            "2025-01-01",
            "--to",
            "2025-06-01",
            "--region",
            "93",
            "--db",
            loaded.url,
            "--out",
            str(tmp_path / "c"),
        )
        == 0
    )
    changes = pd.read_csv(tmp_path / "c" / "changes.csv", dtype=str, keep_default_na=False)
    assert list(changes.columns) == CHANGE_COLUMNS
    assert sorted(changes["change"]) == ["removed", "renamed", "stage"]
    removed = changes[changes["change"] == "removed"].iloc[0]
    assert len(removed["codes_removed"].split(" ")) == 31


def test_export_dump_restore_and_check(
    loaded: Registry, databases: Databases, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for suffix in ("gpkg", "geojson", "csv"):
        target = tmp_path / f"registre.{suffix}"
        assert (
            run(
                "registry",
                "export",
                "--as-of",
                "2025-01-01",
                "--region",
                "93",
                "--db",
                loaded.url,
                "--out",
                str(target),
            )
            == 0
        )
        frame = pd.read_csv(target) if suffix == "csv" else gpd.read_file(target)
        assert len(frame) == 24
        assert set(frame["referential_vintage"]) == {"COG 2026"}
        if suffix != "csv":
            assert frame.geometry.notna().all()
    assert (
        run(
            "registry",
            "export",
            "--as-of",
            "2025-01-01",
            "--db",
            loaded.url,
            "--out",
            str(tmp_path / "x.shp"),
        )
        == 2
    )
    dump = tmp_path / "dump.json"
    assert run("registry", "dump", "--db", loaded.url, "--out", str(dump)) == 0
    target = databases.new()
    assert run("registry", "restore", str(dump), "--db", target.url) == 0
    assert run("registry", "restore", str(dump), "--db", target.url) == 2
    assert run("registry", "check", "--db", target.url) == 0
    assert "Registre cohérent" in capsys.readouterr().out
    assert run("registry", "check", "--db", "postgresql://atlas@127.0.0.1:1/registre") == 2
    assert "Registre inaccessible" in capsys.readouterr().err


def test_grant_users_and_revoke_then_a_refused_import(
    databases: Databases, real_referential: Referential, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = databases.new()
    db = ["--db", registry.url]
    assert run("registry", "users", *db) == 0
    assert "registre ouvert" in capsys.readouterr().out
    assert run("registry", "grant", "admin@ars.fr", "admin", "--actor", "poste", *db) == 0
    assert "attribué à admin@ars.fr" in capsys.readouterr().out
    assert run("registry", "grant", "a@ars.fr", "analyst", "--region", "93", *db) == 2
    assert "Action refusée" in capsys.readouterr().err  # the local user is no admin now
    args = ["a@ars.fr", "analyst", "--region", "93", "--actor", "admin@ars.fr", *db]
    assert run("registry", "grant", *args) == 0
    assert run("registry", "users", *db) == 0
    listed = capsys.readouterr().out
    assert "a@ars.fr : analyste ARS ou CPAM (région 93)" in listed
    assert "registre ouvert" not in listed
    imp = ["registry", "import", str(EXAMPLE), "--as-of", "2025-01-01", "--region", "93", *db]
    assert run(*imp, "--actor", "lecteur@ars.fr") == 2
    assert "ne peut pas importer une liste" in capsys.readouterr().err
    assert run(*imp, "--actor", "a@ars.fr") == 0
    assert run("registry", "revoke", *args) == 0
    assert "1 rôle retiré à a@ars.fr" in capsys.readouterr().out
