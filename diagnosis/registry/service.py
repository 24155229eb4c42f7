"""Every write to the registry goes through here, with the acting user (``actor``).

Each function opens one write transaction (:func:`diagnosis.registry.database.write`),
checks that ``actor`` may act (:func:`diagnosis.registry.access.authorize`: its
role and scope, read from the registry), writes,
and appends audit rows (who, what, when, before and after) in the same
transaction: a write and its audit are committed together or not at all.

Reads (:func:`diagnosis.registry.state.state_at`, the history) need no actor
today; :func:`preview_listing` takes one so that scope checks can apply to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd
from sqlalchemy.engine import Connection

from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential, load_referential
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.io.limits import MAX_UPLOAD_MB, MIB, check_input_path, check_upload_size
from diagnosis.registry.access import (
    Actor,
    Target,
    actor_of,
    authorize,
    default_actor,
    target_of_scope,
)
from diagnosis.registry.database import Registry, RegistryError, read, write
from diagnosis.registry.keeping import insert_dump
from diagnosis.registry.model import Content, Scope, parse_day
from diagnosis.registry.plan import ImportPlan, Operation, compute_plan, registry_revision
from diagnosis.registry.schema import AUDIT
from diagnosis.registry.store import (
    close_version,
    insert_audit,
    insert_perimeters,
    insert_source,
    insert_versions,
    read_sources,
)

__all__ = [
    "ImportOutcome",
    "Listing",
    "ListingRefusedError",
    "RegistryConflictError",
    "audit_row",
    "audit_trail",
    "authorize",
    "commit_listing",
    "default_actor",
    "import_listing",
    "preview_listing",
    "read_listing",
    "restore_registry",
]

Progress = Callable[[str], None]


class ListingRefusedError(RegistryError):
    """A listing that cannot be imported as it is (ambiguous matches, nothing in scope)."""


class RegistryConflictError(RegistryError):
    """The registry changed between the preview and the confirmation."""


def audit_row(
    actor: str,
    action: str,
    target: str,
    *,
    source_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The audit row of one write: who, what, on what, when, before and after (JSON).

    Written by :func:`diagnosis.registry.store.insert_audit` in the write's own
    transaction.
    """
    return {
        "at": at or dt.datetime.now(dt.UTC),
        "actor": actor,
        "action": action,
        "target": target[:200],
        "source_id": source_id,
        "before": None if before is None else json.dumps(before, ensure_ascii=False),
        "after": None if after is None else json.dumps(after, ensure_ascii=False),
    }


def _summary(content: Content | None) -> dict[str, Any] | None:
    if content is None:
        return None
    return {
        "name": content.name,
        "status": content.status,
        "status_date": content.status_date,
        "external_id": content.external_id,
        "codes": list(content.codes),
        "splits": [list(p) for p in content.splits],
        "shares": [list(p) for p in content.shares],
    }


# --------------------------------------------------------------------------
# Reading a listing
# --------------------------------------------------------------------------


def _listing_bytes(
    source: str | Path | bytes | IO[bytes], filename: str | None
) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        check_input_path(path)
        return path.read_bytes(), filename or path.name
    if isinstance(source, bytes):
        if filename is None:
            raise ValueError("filename est nécessaire pour lire des octets (format du fichier).")
        return source, filename
    data = source.read(MAX_UPLOAD_MB * MIB + 1)
    check_upload_size(len(data))
    return data, filename or str(getattr(source, "name", "liste"))


@dataclass(frozen=True)
class Listing:
    """A listing read from a file (or given as a model): perimeters, name and checksum."""

    perimeters: PerimeterImport
    filename: str
    checksum: str


def read_listing(
    source: str | Path | bytes | IO[bytes] | PerimeterImport,
    *,
    filename: str | None = None,
    referential: Referential,
    as_of: dt.date | None = None,
) -> Listing:
    """Read a listing file with the file importer (whole perimeters, no scope cut).

    A :class:`PerimeterImport` already read (a notebook's, a benchmark's) is
    taken as it is; its checksum is that of its perimeters and members.
    ``as_of`` is the date the listing describes: stages that depend on a date
    (a health project filed two months before it is deemed validated) are read
    on that date, not on the day of the import.
    """
    if isinstance(source, PerimeterImport):
        digest = hashlib.sha256()
        digest.update(source.perimeters[["perimeter_id", "name", "status"]].to_csv().encode())
        digest.update(source.members[["perimeter_id", "code"]].to_csv().encode())
        return Listing(source, filename or "liste en mémoire", digest.hexdigest())
    data, name = _listing_bytes(source, filename)
    imported = import_perimeters(data, filename=name, referential=referential, reference_date=as_of)
    return Listing(imported, name, hashlib.sha256(data).hexdigest())


# --------------------------------------------------------------------------
# Import of a dated listing: preview, then commit
# --------------------------------------------------------------------------


def _refusal(plan: ImportPlan) -> ListingRefusedError:
    lines = [f"« {a.listing_name} » : {a.detail}" for a in plan.ambiguities.head(10).itertuples()]
    more = len(plan.ambiguities) - len(lines)
    text = (
        f"Import refusé : {len(plan.ambiguities)} périmètre(s) de la liste ne peuvent être "
        "rapprochés du registre sans deviner. "
        + " ; ".join(lines)
        + (f" ; et {more} autre(s)" if more > 0 else "")
        + ". Rien n'a été écrit : donnez un identifiant à ces périmètres (colonne "
        "« identifiant ») ou distinguez leurs noms, puis recommencez."
    )
    return ListingRefusedError(text)


def _nothing_in_scope(plan: ImportPlan) -> bool:
    return plan.matches.empty and not any(op.kind == "new" for op in plan.operations)


def _check_importable(plan: ImportPlan) -> None:
    if plan.refused:
        raise _refusal(plan)
    if not plan.already_imported and _nothing_in_scope(plan):
        raise ListingRefusedError(
            f"Import refusé : aucun périmètre de « {plan.filename} » n'a d'unité dans "
            f"le champ choisi ({plan.scope.key}). Rien n'a été écrit : vérifiez la "
            "région ou le département de la liste."
        )


def preview_listing(
    registry: Registry,
    source: str | Path | bytes | IO[bytes] | PerimeterImport,
    *,
    as_of: dt.date | str,
    region: str | None = None,
    department: str | None = None,
    filename: str | None = None,
    referential: Referential | None = None,
    actor: Actor | str | None = None,
) -> ImportPlan:
    """What importing a dated listing would change; nothing is written.

    Parameters
    ----------
    registry
        An opened registry.
    source
        The listing: a file path, its bytes (with ``filename``), a binary
        file object, or a :class:`PerimeterImport` already read.
    as_of
        The date the listing describes (``YYYY-MM-DD``).
    region, department
        The listing's scope (default: France).
    filename
        Name of the file (needed with bytes).
    referential
        The national referential (default: the embedded one).
    actor
        Who asks (kept for scope checks; default: the local user).

    Returns
    -------
    ImportPlan
        Matches with their reason, ambiguities (the import would be refused),
        rejected rows and the changes (new, removed, renamed, stage, members).
    """
    ref = referential if referential is not None else load_referential()
    day = parse_day(as_of, what="date de la liste")
    scope = Scope.of(region=region, department=department)
    listing = read_listing(source, filename=filename, referential=ref, as_of=day)
    del actor  # reads are open to every user today
    with read(registry) as conn:
        return compute_plan(
            conn,
            listing.perimeters,
            as_of=day,
            scope=scope,
            filename=listing.filename,
            checksum=listing.checksum,
            referential=ref,
        )


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: its plan, whether it was written, the source id."""

    plan: ImportPlan
    committed: bool
    source_id: int | None = None


def commit_listing(
    registry: Registry,
    plan: ImportPlan,
    *,
    actor: Actor | str | None = None,
    referential: Referential | None = None,
    expected: str | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Write a previewed import in one transaction (the plan is recomputed under the lock).

    Parameters
    ----------
    registry
        An opened registry.
    plan
        The preview (:func:`preview_listing`).
    actor
        Who imports (default: the local user); recorded with the source and
        in the audit.
    referential
        The national referential the preview used (default: the embedded one).
    expected
        The preview's :attr:`ImportPlan.fingerprint`: when given, the import is
        refused if the registry changed since the preview (someone else
        imported meanwhile), so that what is written is what was shown.
    progress
        Called with the name of each step (inside the transaction).

    Raises
    ------
    ListingRefusedError
        Ambiguous matches, or no perimeter in scope (nothing written).
    RegistryConflictError
        The registry changed since the preview (nothing written).
    RegistryBusyError
        Another write held the registry too long (nothing written).
    """
    who = actor_of(actor)
    ref = referential if referential is not None else load_referential()
    _check_importable(plan)
    what = f"import de {plan.filename} au {plan.as_of.isoformat()} par {who.label}"
    with write(registry, what=what) as conn:
        authorize(conn, who, "import_listing", target_of_scope(plan.scope, ref))
        fresh = plan
        if registry_revision(conn) != plan.revision:  # someone wrote since the preview
            fresh = compute_plan(
                conn,
                plan.listing,
                as_of=plan.as_of,
                scope=plan.scope,
                filename=plan.filename,
                checksum=plan.checksum,
                referential=ref,
            )
        _check_importable(fresh)
        if fresh.already_imported:
            return ImportOutcome(fresh, committed=False)
        if expected is not None and fresh.fingerprint != expected:
            raise RegistryConflictError(
                "Le registre a changé depuis l'aperçu (un autre import a été enregistré) : "
                "rien n'a été écrit. Refaites l'aperçu pour voir les changements à jour."
            )
        if progress:
            progress("aperçu recalculé")
        source_id = _write_import(conn, fresh, who.label, progress)
    return ImportOutcome(fresh, committed=True, source_id=source_id)


def import_listing(
    registry: Registry,
    source: str | Path | bytes | IO[bytes] | PerimeterImport,
    *,
    as_of: dt.date | str,
    region: str | None = None,
    department: str | None = None,
    filename: str | None = None,
    referential: Referential | None = None,
    actor: Actor | str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Preview and (unless ``dry_run``) commit a dated listing; see :func:`preview_listing`.

    Re-importing the same file for the same date and scope changes nothing;
    a listing older than the newest one is inserted at its place in history.
    """
    ref = referential if referential is not None else load_referential()
    plan = preview_listing(
        registry,
        source,
        as_of=as_of,
        region=region,
        department=department,
        filename=filename,
        referential=ref,
        actor=actor,
    )
    if progress:
        progress("aperçu")
    if dry_run:
        _check_importable(plan)
        return ImportOutcome(plan, committed=False)
    return commit_listing(registry, plan, actor=actor, referential=ref, progress=progress)


# --------------------------------------------------------------------------
# Writing an import
# --------------------------------------------------------------------------

_Later = Sequence[tuple[dt.date, int, str, str]]


def _boundary(
    later: _Later, zones: frozenset[tuple[str | None, str | None]]
) -> tuple[dt.date, int] | None:
    """The first later listing covering one of ``zones``: (date, source id)."""
    regions = {r for r, _ in zones if r}
    departments = {d for _, d in zones if d}
    for day, source_id, level, code in later:
        if (
            level == "france"
            or (level == "region" and code in regions)
            or (level == "department" and code in departments)
        ):
            return day, source_id
    return None


def _versions_of(
    op: Operation, as_of: dt.date, source_id: int, later: _Later
) -> list[tuple[str, dt.date, dt.date | None, Content, int]]:
    """The versions an operation opens (the version valid on the date is closed apart).

    A version opened by a listing lasts until the next listing covering the
    perimeter (its region, department or France), at most until the old
    version's end; when that next listing comes before the old version's end,
    the old content resumes from it (a listing inserted back in history only
    changes history up to the next listing that speaks of the perimeter).
    """
    boundary = _boundary(later, op.zones)
    out: list[tuple[str, dt.date, dt.date | None, Content, int]] = []
    resumes = boundary is not None and (op.valid_to is None or boundary[0] < op.valid_to)
    if op.after is not None:
        end = boundary[0] if boundary else None
        if op.valid_to is not None and (end is None or op.valid_to < end):
            end = op.valid_to
        out.append((op.perimeter_id, as_of, end, op.after, source_id))
    if op.before is not None and boundary is not None and resumes:
        out.append((op.perimeter_id, boundary[0], op.valid_to, op.before, boundary[1]))
    return out


def _write_import(conn: Connection, plan: ImportPlan, actor: str, progress: Progress | None) -> int:
    now = dt.datetime.now(dt.UTC)
    source_id = insert_source(
        conn,
        {
            "kind": "listing",
            "filename": plan.filename[:255],
            "checksum": plan.checksum,
            "as_of": plan.as_of,
            "scope_level": plan.scope.level,
            "scope_code": plan.scope.code,
            "referential_vintage": plan.vintage,
            "actor": actor,
            "imported_at": now,
            "n_perimeters": len(plan.matches) + plan.counts()["new"],
        },
    )
    sources = read_sources(conn)
    sources = sources[(sources["kind"] == "listing") & (sources["as_of"] > plan.as_of)]
    later = sorted(
        zip(
            sources["as_of"],
            sources["id"].astype(int),
            sources["scope_level"],
            sources["scope_code"],
            strict=True,
        )
    )
    new = [op.perimeter_id for op in plan.operations if op.kind == "new" and not op.existing]
    insert_perimeters(conn, new, source_id)
    versions = []
    for op in plan.operations:
        if op.version_id is not None:
            close_version(conn, op.version_id, plan.as_of, source_id)
        versions += _versions_of(op, plan.as_of, source_id, later)
    insert_versions(conn, versions, vintage=plan.vintage)
    if progress:
        progress("versions écrites")
    audit = [
        audit_row(
            actor,
            "import_listing",
            f"{plan.filename} ({plan.scope.key}, {plan.as_of.isoformat()})",
            source_id=source_id,
            at=now,
            after={"checksum": plan.checksum, **plan.counts()},
        )
    ]
    audit += [
        audit_row(
            actor,
            f"perimeter_{op.kind}",
            op.perimeter_id,
            source_id=source_id,
            before=_summary(op.before),
            after=_summary(op.after),
            at=now,
        )
        for op in plan.operations
    ]
    insert_audit(conn, audit)
    return source_id


def audit_trail(registry: Registry) -> pd.DataFrame:
    """Every audit row, oldest first (at, actor, action, target, source_id, before, after)."""
    with read(registry) as conn:
        rows = conn.execute(AUDIT.select().order_by(AUDIT.c.id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in AUDIT.columns])


def restore_registry(
    registry: Registry, dump: dict[str, Any], *, actor: Actor | str | None = None
) -> dict[str, int]:
    """Put a dump (:func:`diagnosis.registry.keeping.dump_registry`) back into an empty registry.

    One transaction: every row of the dump, then the audit row of the restore.
    Returns the number of rows restored per table.
    """
    who = actor_of(actor)
    with write(registry, what=f"restauration d'une sauvegarde par {who.label}") as conn:
        authorize(conn, who, "restore", Target())
        counts = insert_dump(conn, dump)
        insert_audit(conn, [audit_row(who.label, "restore", "registre", after={"rows": counts})])
    return counts
