"""Where the registry lives and how it is opened, migrated, read and written.

The embedded default is a SQLite file created on first use in
``data/registry/`` (ignored by git): nothing to configure. A server sets
``ATLAS_DATABASE_URL`` (or the command line's ``--db URL``) to a PostgreSQL
database (``postgresql://user@host/base``, driven by psycopg 3).

Every read runs in one transaction (a consistent snapshot); every write runs
in one transaction holding the registry's write lock, so that two imports at
once never lose an update: the second waits up to ``lock_wait_s`` seconds,
then is refused with a French message naming the other write. A process
killed during a write leaves the registry as it was (the database rolls the
transaction back).

The schema is created and upgraded by the Alembic migrations shipped in
``diagnosis/registry/migrations/`` the first time a process opens a registry
(or by ``python -m diagnosis registry upgrade``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from diagnosis.errors import AtlasError
from diagnosis.paths import DATA_DIR

__all__ = [
    "DEFAULT_REGISTRY_PATH",
    "ENV_VAR",
    "Registry",
    "RegistryBusyError",
    "RegistryError",
    "RegistryUnavailableError",
    "close_registry",
    "display_url",
    "open_registry",
    "read",
    "resolve_url",
    "schema_revision",
    "upgrade",
    "write",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the registry's database (a URL or a SQLite file path).
ENV_VAR = "ATLAS_DATABASE_URL"
#: The embedded default, created on first use.
DEFAULT_REGISTRY_PATH = DATA_DIR / "registry" / "registry.sqlite"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: First key of the PostgreSQL advisory lock of writes (the second is the schema's hash).
_PG_LOCK_CLASS = 0x41544C  # "ATL"


class RegistryError(AtlasError):
    """A problem with the registry a person can act on."""


class RegistryUnavailableError(RegistryError):
    """The registry's database cannot be reached or opened."""


class RegistryBusyError(RegistryError):
    """Another write holds the registry for longer than this one may wait."""


@dataclass(frozen=True)
class Registry:
    """An opened registry: its database URL and engine.

    Attributes
    ----------
    url
        The database URL (``sqlite:///…`` or ``postgresql+psycopg://…``).
    engine
        The SQLAlchemy engine (one per URL and process, shared).
    lock_wait_s
        How long a write waits for another one before being refused, seconds.
    """

    url: str
    engine: Engine
    lock_wait_s: float = 30.0

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self.engine.dialect.name)

    @property
    def label(self) -> str:
        """The database as shown to people (no password, a file by its path)."""
        return display_url(self.url)


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The database URL to use: ``url``, else ``ATLAS_DATABASE_URL``, else the embedded file.

    A path without ``://`` is a SQLite file; ``postgresql://`` and
    ``postgres://`` are driven by psycopg 3.

    Examples
    --------
    >>> resolve_url("postgresql://atlas@db/registre")
    'postgresql+psycopg://atlas@db/registre'
    >>> resolve_url("/tmp/r.sqlite")
    'sqlite:////tmp/r.sqlite'
    """
    raw = str(url) if url is not None else os.environ.get(ENV_VAR) or str(DEFAULT_REGISTRY_PATH)
    raw = raw.strip()
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def display_url(url: str) -> str:
    """A URL without its password (``***``), for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "adresse illisible"


_ENGINES: dict[tuple[str, float], Engine] = {}
_READY: set[str] = set()
_ENGINES_LOCK = threading.Lock()


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _configure_sqlite(engine: Engine, lock_wait_s: float) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is turned off: BEGIN is ours (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(lock_wait_s * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write takes SQLite's write lock at once, so that the plan it computes
        # inside the transaction cannot be overtaken by another writer.
        immediate = conn.get_execution_options().get("atlas_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _engine(url: str, lock_wait_s: float) -> Engine:
    key = (url, lock_wait_s)
    with _ENGINES_LOCK:
        if key in _ENGINES:
            return _ENGINES[key]
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite":
                path = _sqlite_path(url)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                engine = sa.create_engine(
                    url, connect_args={"timeout": lock_wait_s, "check_same_thread": False}
                )
                _configure_sqlite(engine, lock_wait_s)
            else:
                engine = sa.create_engine(
                    url,
                    pool_pre_ping=True,
                    connect_args={"connect_timeout": 5, "application_name": "atlas-cpts"},
                )
        except (ArgumentError, NoSuchModuleError, ImportError, OSError) as exc:
            raise RegistryUnavailableError(
                f"Registre inaccessible : adresse de base de données non reconnue "
                f"({display_url(url)}). Attendu : un fichier SQLite ou une adresse "
                "postgresql://utilisateur@serveur/base (ATLAS_DATABASE_URL ou --db).",
                detail=repr(exc),
            ) from exc
        _ENGINES[key] = engine
        return engine


def _unavailable(registry_url: str, exc: BaseException) -> RegistryUnavailableError:
    return RegistryUnavailableError(
        f"Registre inaccessible : la base {display_url(registry_url)} ne répond pas ou refuse "
        "la connexion. Rien n'a été lu ni écrit ; les vues à partir d'un fichier restent "
        "disponibles. Vérifiez ATLAS_DATABASE_URL (ou --db) et que la base est démarrée.",
        detail=repr(exc),
    )


def open_registry(
    url: str | os.PathLike[str] | None = None,
    *,
    lock_wait_s: float = 30.0,
    migrate: bool = True,
) -> Registry:
    """Open the registry (creating and upgrading its schema on first use).

    Parameters
    ----------
    url
        Database URL or SQLite file (default: ``ATLAS_DATABASE_URL``, else
        ``data/registry/registry.sqlite``).
    lock_wait_s
        How long a write waits for another one before being refused, seconds.
    migrate
        Run the migrations up to the newest schema when needed (once per
        process and database).

    Raises
    ------
    RegistryUnavailableError
        When the database cannot be reached (French message; nothing written).
    """
    resolved = resolve_url(url)
    registry = Registry(resolved, _engine(resolved, lock_wait_s), lock_wait_s)
    try:
        with registry.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except DBAPIError as exc:
        raise _unavailable(resolved, exc) from exc
    if migrate and resolved not in _READY:
        if schema_revision(registry) != head_revision():
            upgrade(registry)
        _READY.add(resolved)
    return registry


def close_registry(registry: Registry) -> None:
    """Close the registry's connections and forget its engine (tests, a server's shutdown)."""
    with _ENGINES_LOCK:
        _ENGINES.pop((registry.url, registry.lock_wait_s), None)
        _READY.discard(registry.url)
    registry.engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest schema revision shipped with the code."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def schema_revision(registry: Registry) -> str | None:
    """The schema revision of the database (None when empty)."""
    with read(registry) as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def upgrade(registry: Registry, *, revision: str = "head") -> None:
    """Migrate the schema to ``revision`` in one transaction, keeping every row."""
    config = _alembic_config()
    with write(registry, what=f"mise à jour du schéma du registre ({revision})") as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    logger.info("registry %s at schema %s", registry.label, revision)


@contextlib.contextmanager
def read(registry: Registry) -> Iterator[Connection]:
    """A read transaction (one consistent snapshot of the registry)."""
    try:
        with registry.engine.connect() as conn, conn.begin():
            yield conn
    except DBAPIError as exc:
        if exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError):
            raise _unavailable(registry.url, exc) from exc
        raise


@contextlib.contextmanager
def write(registry: Registry, *, what: str) -> Iterator[Connection]:
    """A write transaction holding the registry's write lock; committed when the block ends.

    ``what`` describes the write in French (« import de liste.csv au
    2025-01-01 par alice »): another write refused while this one runs is told
    so. Any error inside the block rolls everything back.

    Raises
    ------
    RegistryBusyError
        When another write still holds the lock after ``lock_wait_s`` seconds.
    """
    try:
        with registry.engine.connect() as conn:
            if registry.dialect == "sqlite":
                with _sqlite_write(registry, conn, what):
                    yield conn
            else:
                with conn.begin():
                    _pg_lock(registry, conn, what)
                    yield conn
    except RegistryError:
        raise
    except DBAPIError as exc:
        if isinstance(exc, sa.exc.OperationalError):
            raise _unavailable(registry.url, exc) from exc
        raise


def _busy(holder: str | None, registry: Registry) -> RegistryBusyError:
    other = f" ({holder})" if holder else ""
    return RegistryBusyError(
        f"Le registre est occupé par une autre écriture{other} depuis plus de "
        f"{registry.lock_wait_s:g} s. Rien n'a été écrit : recommencez quand elle sera "
        "terminée.",
    )


def _note_path(registry: Registry) -> Path | None:
    path = _sqlite_path(registry.url)
    return None if path is None else path.with_name(path.name + ".ecriture.json")


def _read_note(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
        return f"{note['what']}, commencée le {note['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def _sqlite_write(registry: Registry, conn: Connection, what: str) -> Iterator[None]:
    note = _note_path(registry)
    writer = conn.execution_options(atlas_write=True)
    try:
        transaction = writer.begin()
    except sa.exc.OperationalError as exc:
        if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
            raise _busy(_read_note(note), registry) from exc
        raise
    mine = {"what": what, "pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    if note is not None:
        with contextlib.suppress(OSError):
            note.write_text(json.dumps(mine, ensure_ascii=False), encoding="utf-8")
    try:
        with transaction:
            yield
    finally:
        if note is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if json.loads(note.read_text(encoding="utf-8")).get("pid") == os.getpid():
                    note.unlink()


def _pg_lock(registry: Registry, conn: Connection, what: str) -> None:
    conn.execute(sa.text("SELECT set_config('application_name', :n, true)"), {"n": what[:63]})
    key = conn.execute(sa.text("SELECT hashtext(current_schema())")).scalar_one()
    params = {"a": _PG_LOCK_CLASS, "b": int(key)}
    if conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:a, :b)"), params).scalar_one():
        return
    holder = conn.execute(
        sa.text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :a "
            "AND l.objid::bigint = :u AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"a": _PG_LOCK_CLASS, "u": int(key) & 0xFFFFFFFF},
    ).scalar()
    conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(registry.lock_wait_s * 1000)}ms'"))
    try:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:a, :b)"), params)
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            raise _busy(str(holder) if holder else None, registry) from exc
        raise
    conn.execute(sa.text("SET LOCAL lock_timeout = 0"))
