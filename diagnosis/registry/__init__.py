"""A dated registry of CPTS perimeters on a real database (SQLite embedded, PostgreSQL on a server).

Successive listings are versions: the registry keeps every perimeter with a
stable id and its versions valid over ``[from, to)``, where each came from,
and who wrote it. It answers "what was covered on 1 January 2025, and what
changed since?".

Reading
    :func:`state_at` (the registry on a date, as a
    :class:`~diagnosis.core.model.PerimeterImport`: every diagnosis works on
    it), :func:`coverage_history`, :func:`changes_between`,
    :func:`perimeter_history`.
Writing (the service layer: every write takes the acting user, ``actor``)
    :func:`preview_listing`, :func:`commit_listing`, :func:`import_listing`,
    :func:`restore_registry`.
Keeping
    :func:`export_state`, :func:`dump_registry`, :func:`check_registry`.

Examples
--------
>>> registry = open_registry()  # doctest: +SKIP
>>> import_listing(registry, "paca_2025-01.csv", as_of="2025-01-01", region="93")  # doctest: +SKIP
>>> state = state_at(registry, "2025-01-01", region="93")  # doctest: +SKIP
"""

from __future__ import annotations

from diagnosis.registry.database import (
    ENV_VAR,
    Registry,
    RegistryBusyError,
    RegistryError,
    RegistryUnavailableError,
    close_registry,
    open_registry,
    schema_revision,
    upgrade,
)
from diagnosis.registry.history import (
    CHANGE_COLUMNS,
    HISTORY_COLUMNS,
    changes_between,
    coverage_history,
    history_dates,
    listing_sources,
    perimeter_history,
)
from diagnosis.registry.keeping import (
    check_registry,
    dump_bytes,
    dump_registry,
    export_state,
    read_dump,
)
from diagnosis.registry.model import Scope
from diagnosis.registry.plan import ImportPlan
from diagnosis.registry.references import reference_points
from diagnosis.registry.service import (
    ImportOutcome,
    ListingRefusedError,
    RegistryConflictError,
    audit_trail,
    commit_listing,
    default_actor,
    import_listing,
    preview_listing,
    restore_registry,
)
from diagnosis.registry.state import referential_vintage, state_at, state_revision

__all__ = [
    "CHANGE_COLUMNS",
    "ENV_VAR",
    "HISTORY_COLUMNS",
    "ImportOutcome",
    "ImportPlan",
    "ListingRefusedError",
    "Registry",
    "RegistryBusyError",
    "RegistryConflictError",
    "RegistryError",
    "RegistryUnavailableError",
    "Scope",
    "audit_trail",
    "changes_between",
    "check_registry",
    "close_registry",
    "commit_listing",
    "coverage_history",
    "default_actor",
    "dump_bytes",
    "dump_registry",
    "export_state",
    "history_dates",
    "import_listing",
    "listing_sources",
    "open_registry",
    "perimeter_history",
    "preview_listing",
    "read_dump",
    "reference_points",
    "referential_vintage",
    "restore_registry",
    "schema_revision",
    "state_at",
    "state_revision",
    "upgrade",
]
