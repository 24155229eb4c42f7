"""The registry's tables (SQLAlchemy Core), as the newest migration leaves them.

A perimeter has a stable id and versions valid over ``[valid_from, valid_to)``
(``valid_to`` empty: still valid). A version holds what a listing said of the
perimeter on its date: name, status, the stage date as written, the members
(unit codes of the referential vintage used at import), declared splits and
shares. Every version names the source that wrote it (a listing: file name,
checksum, as-of date, scope, importing user and time). Nothing is deleted or
overwritten: a change closes a version (its ``valid_to``) and opens the next.
Every write of the service layer (:mod:`diagnosis.registry.service`) also
writes an ``audit`` row: who, what, when, before and after.

The tables are created and changed by the Alembic migrations of
``diagnosis/registry/migrations/`` only; this module describes the result for
the queries.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "AUDIT",
    "CONTRACTS",
    "DECISIONS",
    "DRAFTS",
    "DRAFT_REVISIONS",
    "GRANTS",
    "MEMBERS",
    "METADATA",
    "PERIMETERS",
    "SHARES",
    "SOURCES",
    "SPLITS",
    "TABLES",
    "VERSIONS",
]

METADATA = MetaData()

#: A listing (or a restored dump's listing): where versions come from.
SOURCES = Table(
    "sources",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("scope_level", String(12), nullable=False),
    Column("scope_code", String(8), nullable=False),
    Column("referential_vintage", String(60), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("n_perimeters", Integer, nullable=False),
)

PERIMETERS = Table(
    "perimeters",
    METADATA,
    Column("perimeter_id", String(80), primary_key=True),
    Column("created_source_id", Integer, ForeignKey("sources.id"), nullable=False),
)

VERSIONS = Table(
    "versions",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("perimeter_id", String(80), ForeignKey("perimeters.perimeter_id"), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("name", String(300), nullable=False),
    Column("status", String(20), nullable=True),
    Column("status_label", String(300), nullable=True),
    Column("status_date", String(60), nullable=True),
    # Added by the second migration: the last day of the stage date written
    # (``status_date``), when it can be read; see :mod:`diagnosis.registry.dates`.
    Column("status_reached_on", Date, nullable=True),
    Column("external_id", String(120), nullable=True),
    Column("referential_vintage", String(60), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("closed_by_source_id", Integer, ForeignKey("sources.id"), nullable=True),
    Index("ix_versions_validity", "valid_from", "valid_to"),
    Index("ix_versions_perimeter", "perimeter_id"),
)

MEMBERS = Table(
    "version_members",
    METADATA,
    Column("version_id", Integer, ForeignKey("versions.id"), primary_key=True),
    Column("code", String(10), primary_key=True),
)

SPLITS = Table(
    "version_splits",
    METADATA,
    Column("version_id", Integer, ForeignKey("versions.id"), primary_key=True),
    Column("code", String(10), primary_key=True),
    Column("declared_code", String(10), nullable=False),
)

SHARES = Table(
    "version_shares",
    METADATA,
    Column("version_id", Integer, ForeignKey("versions.id"), primary_key=True),
    Column("code", String(10), primary_key=True),
    Column("share", Float, nullable=False),
)

#: Roles granted to users (an OpenID Connect subject or e-mail, or a local name) in a
#: scope (France, a region or a department). Revoking ends a grant; nothing is deleted.
GRANTS = Table(
    "grants",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("scope_level", String(12), nullable=False),
    Column("scope_code", String(8), nullable=False),
    Column("granted_by", String(200), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by", String(200), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_grants_user", "user_id"),
)

#: A CPTS leader's draft territory: private to its author until submitted to the
#: ARS of its scope (the region or department holding most of its inhabitants).
#: ``revision`` is checked on every write (a second save from a stale copy is refused).
DRAFTS = Table(
    "drafts",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(200), nullable=False),
    Column("name", String(300), nullable=False),
    Column("region", String(8), nullable=True),
    Column("department", String(8), nullable=True),
    Column("state", String(12), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Column("reviewed_by", String(200), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("comment", Text, nullable=True),
    Column("perimeter_id", String(80), ForeignKey("perimeters.perimeter_id"), nullable=True),
)

#: Every saved revision of a draft (its name and unit codes, space-separated).
DRAFT_REVISIONS = Table(
    "draft_revisions",
    METADATA,
    Column("draft_id", Integer, ForeignKey("drafts.id"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("codes", Text, nullable=False),
    Column("saved_by", String(200), nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

#: A recorded decision (a regional committee's arbitration, an analyst's change of a
#: perimeter): signed, dated, with the options that were on the table (JSON) and the
#: source of the versions it opened.
DECISIONS = Table(
    "decisions",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("region", String(8), nullable=True),
    Column("title", String(300), nullable=False),
    Column("parties", Text, nullable=False),
    Column("option", String(80), nullable=False),
    Column("options", Text, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
)

#: ACI contracts kept with their perimeter, valid over [valid_from, valid_to) like
#: versions: a contracts file recorded on a date closes the contract it changes.
#: ``body`` is the contract as JSON (signature, mission starts, crises, members,
#: attainment, letter of intent), read back by :mod:`diagnosis.registry.contracts`.
CONTRACTS = Table(
    "contracts",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("perimeter_id", String(80), ForeignKey("perimeters.perimeter_id"), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("signature", Date, nullable=False),
    Column("body", Text, nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Index("ix_contracts_perimeter", "perimeter_id"),
)

#: Who did what, when, with a before/after summary (JSON text).
AUDIT = Table(
    "audit",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=True),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
)

#: Every table, parents first (the order of inserts in a restore).
TABLES = (
    SOURCES,
    PERIMETERS,
    VERSIONS,
    MEMBERS,
    SPLITS,
    SHARES,
    GRANTS,
    DRAFTS,
    DRAFT_REVISIONS,
    DECISIONS,
    CONTRACTS,
    AUDIT,
)
