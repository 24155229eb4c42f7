"""Registries for the tests, on SQLite and on PostgreSQL.

Every registry test runs twice: on a SQLite file and on PostgreSQL (a schema
of its own in the database named by ``ATLAS_TEST_POSTGRES_URL``, which
``scripts/with-postgres.sh`` sets for ``make test``). Without it, the
PostgreSQL variant is skipped with its reason.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.registry import Registry, close_registry, open_registry
from tests.grid import grid_referential

PG_ENV = "ATLAS_TEST_POSTGRES_URL"
PG_SKIP = (
    f"PostgreSQL variant skipped: {PG_ENV} is not set (run the tests through "
    "scripts/with-postgres.sh, as `make test` does, to get a private PostgreSQL cluster)"
)
BACKENDS = ["sqlite", "postgresql"]

MakeRegistry = Callable[[], Registry]


def postgres_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


class Databases:
    """Makes empty registries of one backend and drops them at the end."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.opened: list[Registry] = []
        self.schemas: list[str] = []

    def url(self) -> str:
        if self.backend == "sqlite":
            return str(self.tmp_path / f"registre-{uuid.uuid4().hex[:8]}.sqlite")
        base = postgres_url()
        assert base is not None
        schema = f"t_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(base)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        self.schemas.append(schema)
        return with_schema(base, schema)

    def new(self, *, lock_wait_s: float = 30.0) -> Registry:
        registry = open_registry(self.url(), lock_wait_s=lock_wait_s)
        self.opened.append(registry)
        return registry

    def close(self) -> None:
        for registry in self.opened:
            close_registry(registry)
        base = postgres_url()
        if self.schemas and base:
            engine = sa.create_engine(base)
            with engine.begin() as conn:
                for schema in self.schemas:
                    conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            engine.dispose()


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """A maker of empty registries on the parametrised backend."""
    if request.param == "postgresql" and postgres_url() is None:
        pytest.skip(PG_SKIP)
    dbs = Databases(request.param, tmp_path)
    yield dbs
    dbs.close()


@pytest.fixture
def registry(databases: Databases) -> Registry:
    """An empty registry on the parametrised backend."""
    return databases.new()


def grid(**changes: object) -> Referential:
    """The hand-made grid with a codes vintage (``COG test``)."""
    ref = grid_referential()
    vintages = dict(ref.manifest["vintages"]) | {"codes": "COG test"}
    fields: dict[str, object] = {"manifest": ref.manifest | {"vintages": vintages}} | changes
    return dataclasses.replace(ref, **fields)  # type: ignore[arg-type]


@pytest.fixture
def ref() -> Referential:
    return grid()


def listing(
    members: Mapping[str, Sequence[str]],
    *,
    statuses: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    ids: bool = False,
    referential: Referential | None = None,
) -> PerimeterImport:
    """A listing read by the real importer from a CSV written here (one row per commune).

    ``members`` maps a perimeter's name (or id with ``ids``) to its codes;
    ``statuses`` gives its status as written; ``names`` its name when ``ids``.
    """
    header = ["Identifiant CPTS"] if ids else []
    lines = [";".join([*header, "Nom CPTS", "Code INSEE", "Statut"])]
    for key, codes in members.items():
        name = (names or {}).get(key, key)
        status = (statuses or {}).get(key, "")
        for code in codes:
            lines.append(";".join([*([key] if ids else []), name, code, status]))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    return import_perimeters(data, filename="liste.csv", referential=referential or grid())
