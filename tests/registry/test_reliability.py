"""Reliability: a killed import, two imports at once, an unreachable database, old schemas.

Real processes, no mocks: a worker (``tests/registry/worker.py``) imports a
listing in its own process and can be held inside its transaction.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from cli import main as cli_main
from diagnosis.core.model import perimeters_from_members
from diagnosis.core.referential import Referential
from diagnosis.registry import (
    Registry,
    RegistryBusyError,
    RegistryUnavailableError,
    check_registry,
    close_registry,
    dump_registry,
    import_listing,
    open_registry,
    schema_revision,
    state_at,
    upgrade,
)
from diagnosis.registry.database import head_revision
from diagnosis.registry.schema import TABLES
from tests.grid import cell
from tests.paths import PROJECT_DIR, TESTS_DIR
from tests.registry.conftest import Databases, grid

FIRST_SCHEMA = TESTS_DIR / "fixtures" / "registry" / "first_schema.sqlite"
A1, A2, A3 = cell(0, 0), cell(0, 1), cell(0, 2)


def worker(
    url: str,
    name: str,
    date: str,
    *codes: str,
    hold: tuple[Path, Path] | None = None,
    wait: float = 30.0,
) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "tests.registry.worker",
        url,
        name,
        date,
        *codes,
        "--wait",
        str(wait),
    ]
    if hold:
        command += ["--hold", str(hold[0]), str(hold[1])]
    return subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT_DIR)),
    )


def finish(proc: subprocess.Popen[str], timeout_s: float = 120.0) -> tuple[int, str]:
    """Wait for a worker; its exit code and what it printed (pipes closed)."""
    out, err = proc.communicate(timeout=timeout_s)
    return proc.returncode, out + err


def import_one(registry: Registry, date: str, *codes: str) -> None:
    """Import, in this process, a France listing with one perimeter "Alpha"."""
    listing = perimeters_from_members({"Alpha": codes}, names={"Alpha": "Alpha"})
    import_listing(registry, listing, as_of=date, referential=grid(), actor="test")


def wait_for(path: Path, proc: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {finish(proc)}")
        assert time.monotonic() < deadline, "worker never reached its transaction"
        time.sleep(0.05)


def test_a_process_killed_during_an_import_leaves_the_registry_as_it_was(
    databases: Databases, tmp_path: Path
) -> None:
    registry = databases.new()
    import_one(registry, "2025-01-01", A1, A2)
    before = dump_registry(registry)
    flag, release = tmp_path / "holding", tmp_path / "release"
    victim = worker(registry.url, "Alpha", "2025-02-01", A1, A2, A3, hold=(flag, release))
    wait_for(flag, victim)  # its versions are written, not committed
    victim.send_signal(signal.SIGKILL)
    finish(victim)
    assert dump_registry(registry) == before
    assert check_registry(registry, referential=grid()).empty
    # The lock died with the process: the next import goes through.
    import_one(registry, "2025-02-01", A1, A2, A3)
    codes = state_at(registry, "2025-02-01", referential=grid()).perimeters["unit_codes"]
    assert codes.tolist() == [(A1, A2, A3)]


def test_two_imports_at_once_never_lose_an_update(databases: Databases, tmp_path: Path) -> None:
    registry = databases.new()
    flag, release = tmp_path / "holding", tmp_path / "release"
    alpha = worker(registry.url, "Alpha", "2025-01-01", A1, A2, hold=(flag, release))
    wait_for(flag, alpha)
    # The second import is refused with a French message naming the first one…
    impatient = open_registry(registry.url, lock_wait_s=1)
    with pytest.raises(RegistryBusyError, match="occupé par une autre écriture") as caught:
        import_one(impatient, "2025-01-01", A1, A2, A3)
    assert "import de liste-alpha.csv au 2025-01-01 par alpha" in str(caught.value)
    close_registry(impatient)
    # … or, allowed to wait, goes through once the first commits, on its result.
    waiting = worker(registry.url, "Alpha", "2025-01-01", A1, A2, A3, wait=60)
    time.sleep(1.0)
    assert waiting.poll() is None  # it waits
    release.touch()
    assert finish(alpha) == (0, "committed\n")
    assert finish(waiting) == (0, "committed\n")
    state = state_at(registry, "2025-01-01", referential=grid())
    assert state.perimeters["name"].tolist() == ["Alpha"]  # one perimeter, not two
    assert state.perimeters["unit_codes"].tolist() == [(A1, A2, A3)]
    dump = dump_registry(registry)
    assert len(dump["tables"]["sources"]) == 2 and len(dump["tables"]["perimeters"]) == 1
    assert check_registry(registry, referential=grid()).empty


def test_an_unreachable_database_gives_a_french_error() -> None:
    with pytest.raises(RegistryUnavailableError, match="Registre inaccessible") as caught:
        open_registry("postgresql://atlas@127.0.0.1:1/registre")
    assert "vues à partir d'un fichier restent disponibles" in str(caught.value)
    assert "connection" not in str(caught.value).lower()  # no library English
    with pytest.raises(RegistryUnavailableError, match="non reconnue"):
        open_registry("oracle://x@y/z")


@pytest.mark.referential
def test_file_based_commands_ignore_an_unreachable_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_referential: Referential
) -> None:
    monkeypatch.setenv("ATLAS_DATABASE_URL", "postgresql://atlas@127.0.0.1:1/registre")
    listing = tmp_path / "l.csv"
    listing.write_text("Nom CPTS;Code INSEE\nCPTS Arles;13004\n", encoding="utf-8")
    args = [
        "diagnose",
        "--perimeters",
        str(listing),
        "--region",
        "93",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    assert cli_main(args) == 0
    registry_args = [
        "diagnose",
        "--registry",
        "--as-of",
        "2025-01-01",
        "--region",
        "93",
        "--out",
        str(tmp_path / "out2"),
        "--no-progress",
    ]
    assert cli_main(registry_args) == 2


def _rows(conn: sa.Connection) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in TABLES:
        columns = [c for c in table.columns if c.name != "status_reached_on"]
        order = list(table.primary_key.columns)
        out[table.name] = [tuple(r) for r in conn.execute(sa.select(*columns).order_by(*order))]
    return out


#: Tables added after the first schema (users' rights and work, contracts: migration 0003).
LATER_TABLES = ("grants", "drafts", "draft_revisions", "decisions", "contracts")


def test_migrations_from_the_first_schema_keep_every_row(
    databases: Databases, tmp_path: Path
) -> None:
    copy = tmp_path / "first.sqlite"
    shutil.copy(FIRST_SCHEMA, copy)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    conn.close()
    original = open_registry(copy, migrate=False)
    first_tables = [t for t in TABLES if t.name not in LATER_TABLES]
    with original.engine.connect() as conn:
        expected = {
            t.name: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t.name} ORDER BY 1"))]
            for t in first_tables
        }
    if databases.backend == "sqlite":
        registry = original
    else:  # the same rows at the first schema on PostgreSQL
        registry = open_registry(databases.url(), migrate=False)
        databases.opened.append(registry)
        upgrade(registry, revision="0001")
        with original.engine.connect() as src, registry.engine.begin() as dst:
            for table in first_tables:
                names = [c.name for c in table.columns if c.name != "status_reached_on"]
                rows = src.execute(sa.text(f"SELECT {', '.join(names)} FROM {table.name}"))
                values = [dict(zip(names, r, strict=True)) for r in rows]
                if values:
                    dst.execute(
                        sa.table(table.name, *(sa.column(n) for n in names)).insert(), values
                    )
        close_registry(original)
    assert schema_revision(registry) == "0001"
    upgrade(registry)
    assert schema_revision(registry) == head_revision() == "0003"
    with registry.engine.connect() as conn:
        kept = _rows(conn)
        reached = dict(conn.execute(sa.text("SELECT id, status_reached_on FROM versions")).all())
    assert {t: len(r) for t, r in kept.items()} == {
        t: len(r) for t, r in expected.items()
    } | dict.fromkeys(LATER_TABLES, 0)
    assert [r[1] for r in kept["version_members"]] == [r[1] for r in expected["version_members"]]
    assert [r[4] for r in kept["versions"]] == [r[4] for r in expected["versions"]]
    assert str(reached[3]) == "2025-04-30" and str(reached[4]) == "2024-09-15"
    assert reached[1] is None
    if databases.backend == "sqlite":
        close_registry(registry)
