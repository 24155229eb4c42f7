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
Writing (the service layer: every write takes the acting user, ``actor``,
and checks their role and scope, :mod:`diagnosis.registry.access`)
    :func:`preview_listing`, :func:`commit_listing`, :func:`import_listing`,
    :func:`restore_registry`; users' work: :func:`grant_role`,
    :func:`save_draft`, :func:`submit_draft`, :func:`review_submission`
    (drafts private to their author until submitted to their ARS),
    :func:`record_decision`, :func:`edit_perimeter` (versions checked on write).
Keeping
    :func:`export_state`, :func:`dump_registry`, :func:`check_registry`.

Examples
--------
>>> registry = open_registry()  # doctest: +SKIP
>>> import_listing(registry, "paca_2025-01.csv", as_of="2025-01-01", region="93")  # doctest: +SKIP
>>> state = state_at(registry, "2025-01-01", region="93")  # doctest: +SKIP
"""

from __future__ import annotations

from diagnosis.registry.access import (
    ROLES,
    AccessDeniedError,
    Actor,
    Target,
    default_actor,
    grants_of,
    is_open,
    local_actor,
)
from diagnosis.registry.contracts import (
    ContractsOutcome,
    contracts_at,
    contracts_import_at,
    store_contracts,
)
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
from diagnosis.registry.decisions import (
    Decision,
    PerimeterChangedError,
    current_versions,
    decision_from_dispute,
    decisions_of,
    edit_perimeter,
    record_decision,
)
from diagnosis.registry.drafts import (
    DRAFT_STATES,
    Draft,
    DraftConflictError,
    DraftReview,
    get_draft,
    list_drafts,
    review_of,
    review_submission,
    save_draft,
    submit_draft,
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
    import_listing,
    preview_listing,
    restore_registry,
)
from diagnosis.registry.state import referential_vintage, state_at, state_revision
from diagnosis.registry.users import grant_role, revoke_role

__all__ = [
    "CHANGE_COLUMNS",
    "DRAFT_STATES",
    "ENV_VAR",
    "HISTORY_COLUMNS",
    "ROLES",
    "AccessDeniedError",
    "Actor",
    "ContractsOutcome",
    "Decision",
    "Draft",
    "DraftConflictError",
    "DraftReview",
    "ImportOutcome",
    "ImportPlan",
    "ListingRefusedError",
    "PerimeterChangedError",
    "Registry",
    "RegistryBusyError",
    "RegistryConflictError",
    "RegistryError",
    "RegistryUnavailableError",
    "Scope",
    "Target",
    "audit_trail",
    "changes_between",
    "check_registry",
    "close_registry",
    "commit_listing",
    "contracts_at",
    "contracts_import_at",
    "coverage_history",
    "current_versions",
    "decision_from_dispute",
    "decisions_of",
    "default_actor",
    "dump_bytes",
    "dump_registry",
    "edit_perimeter",
    "export_state",
    "get_draft",
    "grant_role",
    "grants_of",
    "history_dates",
    "import_listing",
    "is_open",
    "list_drafts",
    "listing_sources",
    "local_actor",
    "open_registry",
    "perimeter_history",
    "preview_listing",
    "read_dump",
    "record_decision",
    "reference_points",
    "referential_vintage",
    "restore_registry",
    "review_of",
    "review_submission",
    "revoke_role",
    "save_draft",
    "schema_revision",
    "state_at",
    "state_revision",
    "store_contracts",
    "submit_draft",
    "upgrade",
]
