"""What importing a dated listing would change: the plan, computed before anything is written.

The listing is read by the file importer (whole perimeters: no unit is left
out because it lies outside the scope), matched against the registry's state
on its date within its scope (:mod:`diagnosis.registry.matching`), and turned
into operations: new perimeters, changed ones (a new version) and removed ones
(perimeters of the scope absent from the listing end on its date). The same
plan is the preview shown to people and, recomputed inside the write
transaction, what the commit writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential
from diagnosis.core.textnorm import slug
from diagnosis.registry.history import CHANGE_COLUMNS, change_rows
from diagnosis.registry.matching import match_listing
from diagnosis.registry.model import Content, Scope
from diagnosis.registry.schema import AUDIT, PERIMETERS, SOURCES
from diagnosis.registry.state import (
    Snapshot,
    VersionRecord,
    load_snapshot,
    referential_vintage,
    version_records,
    version_zones,
)

__all__ = [
    "MATCH_COLUMNS",
    "ImportPlan",
    "ListingRow",
    "Operation",
    "compute_plan",
    "listing_contents",
    "registry_revision",
]

MATCH_COLUMNS = ["listing_id", "listing_name", "perimeter_id", "reason", "jaccard", "detail"]
AMBIGUITY_COLUMNS = ["listing_id", "listing_name", "candidates", "reason", "detail"]
REJECTED_COLUMNS = ["listing_id", "listing_name", "detail"]

OperationKind = Literal["new", "changed", "removed"]


@dataclass(frozen=True)
class Operation:
    """One perimeter's change: its content before and after the listing's date.

    ``version_id``, ``valid_from`` and ``valid_to`` describe the version valid
    on the date (changed and removed perimeters); ``zones`` are the main
    (region, department) of the content before and after.
    """

    kind: OperationKind
    perimeter_id: str
    before: Content | None
    after: Content | None
    version_id: int | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    zones: frozenset[tuple[str | None, str | None]] = frozenset()
    #: A listing inserted back in history, before a registry perimeter's first
    #: version: the perimeter exists, its new version ends where it used to start.
    existing: bool = False


@dataclass
class ImportPlan:
    """The preview of an import: matches, ambiguities, rejected rows and changes.

    ``refused`` is true when an ambiguity stops the import; ``already_imported``
    when the same file (checksum) was already imported for the same date and
    scope (nothing to do).
    """

    as_of: dt.date
    scope: Scope
    filename: str
    checksum: str
    vintage: str
    listing: PerimeterImport
    matches: pd.DataFrame
    ambiguities: pd.DataFrame
    rejected: pd.DataFrame
    operations: list[Operation] = field(default_factory=list)
    already_imported: bool = False
    #: The registry's revision the plan was computed on (its last audit row):
    #: every write appends audit rows, so an unchanged revision means an
    #: unchanged registry and the plan still holds.
    revision: int = 0

    @property
    def refused(self) -> bool:
        """Whether an ambiguous match stops the import."""
        return not self.ambiguities.empty

    @property
    def changes(self) -> pd.DataFrame:
        """The changes, one row per perimeter and kind (:data:`CHANGE_COLUMNS`)."""
        rows = []
        for op in self.operations:
            rows += change_rows(op.perimeter_id, op.before, op.after)
        return pd.DataFrame(rows, columns=CHANGE_COLUMNS)

    def counts(self) -> dict[str, int]:
        """Number of perimeters new, changed, removed and unchanged."""
        kinds = [op.kind for op in self.operations]
        return {
            "new": kinds.count("new"),
            "changed": kinds.count("changed"),
            "removed": kinds.count("removed"),
            "unchanged": len(self.matches)
            - kinds.count("changed")
            - sum(op.existing for op in self.operations),
        }

    @property
    def fingerprint(self) -> str:
        """A digest of the operations: the commit checks it against the preview's."""
        digest = hashlib.sha256()
        for op in self.operations:
            digest.update(repr((op.kind, op.perimeter_id, op.version_id, op.after)).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class ListingRow:
    """One perimeter of a listing: its id in the file, content and main zones."""

    listing_id: str
    content: Content
    main_region: str | None = None
    main_department: str | None = None

    @property
    def zone(self) -> tuple[str | None, str | None]:
        """Main (region, department)."""
        return (self.main_region, self.main_department)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def listing_contents(listing: PerimeterImport) -> list[ListingRow]:
    """One :class:`ListingRow` per perimeter of a listing (main zones not yet set)."""
    has_id = "perimeter_id" in listing.source.get("columns", {})
    splits: dict[str, list[tuple[str, str]]] = {}
    for pid, code, declared in zip(
        listing.splits["perimeter_id"].tolist(),
        listing.splits["code"].tolist(),
        listing.splits["declared_code"].tolist(),
        strict=True,
    ):
        splits.setdefault(str(pid), []).append((str(code), str(declared)))
    shares: dict[str, list[tuple[str, float]]] = {}
    for pid, code, share in zip(
        listing.shares["perimeter_id"].tolist(),
        listing.shares["code"].tolist(),
        listing.shares["share"].tolist(),
        strict=True,
    ):
        shares.setdefault(str(pid), []).append((str(code), float(share)))
    table = listing.perimeters
    rows = []
    for pid, name, status, label, date, codes in zip(
        table["perimeter_id"].astype(str).tolist(),
        table["name"].tolist(),
        table["status"].tolist(),
        table["status_label"].tolist(),
        table["date"].tolist(),
        table["unit_codes"].tolist(),
        strict=True,
    ):
        content = Content(
            name=str(name),
            status=_text(status),
            status_label=_text(label),
            status_date=_text(date),
            external_id=pid if has_id else None,
            codes=tuple(sorted(str(c) for c in codes)),
            splits=tuple(sorted(splits.get(pid, []))),
            shares=tuple(sorted(shares.get(pid, []))),
        )
        rows.append(ListingRow(pid, content))
    return rows


def new_perimeter_ids(conn: Connection, names: list[str]) -> list[str]:
    """Stable ids for new perimeters: the slug of each name, made unique."""
    taken = set(conn.execute(sa.select(PERIMETERS.c.perimeter_id)).scalars())
    out = []
    for name in names:
        base = (slug(name) or "perimetre")[:60].strip("-") or "perimetre"
        pid, k = base, 2
        while pid in taken:
            pid, k = f"{base}-{k}", k + 1
        taken.add(pid)
        out.append(pid)
    return out


def registry_revision(conn: Connection) -> int:
    """The registry's revision: the id of its last audit row (0 when empty)."""
    return int(conn.execute(sa.select(sa.func.max(AUDIT.c.id))).scalar() or 0)


def _already_imported(conn: Connection, scope: Scope, as_of: dt.date, checksum: str) -> bool:
    query = sa.select(sa.func.count()).where(
        SOURCES.c.checksum == checksum,
        SOURCES.c.as_of == as_of,
        SOURCES.c.scope_level == scope.level,
        SOURCES.c.scope_code == scope.code,
    )
    return bool(conn.execute(query).scalar_one())


def _scope_filter(
    rows: list[ListingRow], ref: Referential, scope: Scope
) -> tuple[list[ListingRow], pd.DataFrame]:
    """Listing rows kept (at least one unit in the scope) with their main zones; rows rejected."""
    members = pd.DataFrame(
        [(i, c) for i, row in enumerate(rows) for c in row.content.codes],
        columns=["version_id", "code"],
    )
    main, touched = version_zones(members, ref)
    regions, departments = main["main_region"].to_dict(), main["main_department"].to_dict()
    if scope.level == "france":
        inside = {i for i, row in enumerate(rows) if row.content.codes}
    else:
        column = "region" if scope.level == "region" else "department"
        inside = {int(i) for i in touched.loc[touched[column] == scope.code, "version_id"]}
    kept, rejected = [], []
    for i, row in enumerate(rows):
        if i in inside:
            kept.append(
                replace(row, main_region=regions.get(i), main_department=departments.get(i))
            )
        else:
            why = (
                "aucune unité dans le champ de la liste"
                if row.content.codes
                else ("aucune commune valide")
            )
            rejected.append((row.listing_id, row.content.name, f"{why} : non importé"))
    return kept, pd.DataFrame(rejected, columns=REJECTED_COLUMNS)


_REASON_FR = {
    "identifiant": "même identifiant que",
    "nom": "même nom que",
    "communes": "communes en commun avec",
}


def _ambiguity_row(
    rows: list[ListingRow], names: dict[str, str], found: dict[str, object]
) -> tuple[str, str, str, str, str]:
    row = rows[int(str(found["row"]))]
    candidates = [str(c) for c in found["candidates"]]  # type: ignore[attr-defined]
    opening = (
        "plusieurs périmètres du registre conviennent ("
        if found["kind"] == "several"
        else "un périmètre du registre convient à plusieurs lignes ("
    )
    detail = (
        opening
        + ", ".join(f"« {names[c]} »" for c in candidates)
        + f") à l'étape « {found['reason']} » : à lever à la main, rien n'est deviné"
    )
    return (row.listing_id, row.content.name, " ".join(candidates), str(found["reason"]), detail)


def _match_frames(
    rows: list[ListingRow], candidates: list[VersionRecord], has_id: bool
) -> tuple[dict[int, tuple[str, str, float]], pd.DataFrame, pd.DataFrame]:
    listing = pd.DataFrame(
        {
            "external_id": [r.content.external_id for r in rows],
            "name": [r.content.name for r in rows],
            "codes": [r.content.codes for r in rows],
        }
    )
    registry = pd.DataFrame(
        {
            "perimeter_id": [c.perimeter_id for c in candidates],
            "external_id": [c.content.external_id for c in candidates],
            "name": [c.content.name for c in candidates],
            "codes": [c.content.codes for c in candidates],
        }
    )
    result = match_listing(listing, registry, has_id=has_id)
    names = {c.perimeter_id: c.content.name for c in candidates}
    matches = pd.DataFrame(
        [
            (
                rows[i].listing_id,
                rows[i].content.name,
                pid,
                reason,
                score,
                f"{_REASON_FR[reason]} « {names[pid]} » (Jaccard {score:.2f})",
            )
            for i, (pid, reason, score) in sorted(result.matches.items())
        ],
        columns=MATCH_COLUMNS,
    )
    ambiguities = pd.DataFrame(
        [_ambiguity_row(rows, names, a) for a in result.ambiguities], columns=AMBIGUITY_COLUMNS
    )
    return result.matches, matches, ambiguities


def _operations(
    conn: Connection,
    rows: list[ListingRow],
    snapshot: Snapshot,
    scope: Scope,
    matched: dict[int, tuple[str, str, float]],
    *,
    later: dict[int, tuple[str, dt.date]],
) -> list[Operation]:
    by_pid = {v.perimeter_id: v for v in version_records(snapshot.versions)}
    ops: list[Operation] = []
    for i, (pid, _reason, _score) in sorted(matched.items()):
        old, after = by_pid[pid], rows[i].content
        if after.external_id is None:
            after = replace(after, external_id=old.content.external_id)
        if old.content.same_as(after):
            continue
        zones = frozenset({(old.main_region, old.main_department), rows[i].zone})
        ops.append(
            Operation(
                "changed", pid, old.content, after, old.id, old.valid_from, old.valid_to, zones
            )
        )
    taken = {pid for pid, _r, _s in matched.values()}
    for old in version_records(snapshot.belonging(scope)):
        if old.perimeter_id not in taken:
            zones = frozenset({(old.main_region, old.main_department)})
            ops.append(
                Operation(
                    "removed",
                    old.perimeter_id,
                    old.content,
                    None,
                    old.id,
                    old.valid_from,
                    old.valid_to,
                    zones,
                )
            )
    for i, (pid, start) in sorted(later.items()):
        ops.append(
            Operation(
                "new",
                pid,
                None,
                rows[i].content,
                valid_to=start,
                zones=frozenset({rows[i].zone}),
                existing=True,
            )
        )
    fresh = [i for i in range(len(rows)) if i not in matched and i not in later]
    for i, pid in zip(
        fresh, new_perimeter_ids(conn, [rows[i].content.name for i in fresh]), strict=True
    ):
        ops.append(Operation("new", pid, None, rows[i].content, zones=frozenset({rows[i].zone})))
    return ops


def compute_plan(
    conn: Connection,
    listing: PerimeterImport,
    *,
    as_of: dt.date,
    scope: Scope,
    filename: str,
    checksum: str,
    referential: Referential,
) -> ImportPlan:
    """The plan of importing ``listing`` as of ``as_of`` in ``scope`` (nothing written)."""
    rows, rejected = _scope_filter(listing_contents(listing), referential, scope)
    plan = ImportPlan(
        as_of=as_of,
        scope=scope,
        filename=filename,
        checksum=checksum,
        vintage=referential_vintage(referential),
        listing=listing,
        matches=pd.DataFrame(columns=MATCH_COLUMNS),
        ambiguities=pd.DataFrame(columns=AMBIGUITY_COLUMNS),
        rejected=rejected,
    )
    plan.revision = registry_revision(conn)
    if _already_imported(conn, scope, as_of, checksum):
        plan.already_imported = True
        return plan
    snapshot = load_snapshot(conn, as_of, referential)
    candidates = version_records(snapshot.touching(scope))
    has_id = "perimeter_id" in listing.source.get("columns", {})
    matched, plan.matches, plan.ambiguities = _match_frames(rows, candidates, has_id)
    if plan.refused:
        return plan
    later, later_matches, later_ambiguities = _match_later(
        conn, rows, matched, snapshot, scope=scope, ref=referential, has_id=has_id
    )
    plan.matches = pd.concat([plan.matches, later_matches], ignore_index=True)
    plan.ambiguities = later_ambiguities
    if plan.refused:
        return plan
    plan.operations = _operations(conn, rows, snapshot, scope, matched, later=later)
    return plan


def _match_later(
    conn: Connection,
    rows: list[ListingRow],
    matched: dict[int, tuple[str, str, float]],
    snapshot: Snapshot,
    *,
    scope: Scope,
    ref: Referential,
    has_id: bool,
) -> tuple[dict[int, tuple[str, dt.date]], pd.DataFrame, pd.DataFrame]:
    """Rows new on the date matched to perimeters that appear at the next listing's date.

    A listing inserted back in history, before the registry knew a perimeter,
    continues that perimeter (same id) instead of making a new one: its rows
    without a match are matched, by the same rules, against the perimeters
    valid on the next listing's date that are not valid on this one.
    Returns row → (perimeter id, start of its next version), the matches and
    the ambiguities.
    """
    pending = [i for i in range(len(rows)) if i not in matched]
    nothing: tuple[dict[int, tuple[str, dt.date]], pd.DataFrame, pd.DataFrame] = (
        {},
        pd.DataFrame(columns=MATCH_COLUMNS),
        pd.DataFrame(columns=AMBIGUITY_COLUMNS),
    )
    query = sa.select(sa.func.min(SOURCES.c.as_of)).where(
        SOURCES.c.kind == "listing", SOURCES.c.as_of > snapshot.day
    )
    following = conn.execute(query).scalar()
    if not pending or following is None:
        return nothing
    present = set(snapshot.versions["perimeter_id"])
    candidates = [
        v
        for v in version_records(load_snapshot(conn, following, ref).touching(scope))
        if v.perimeter_id not in present
    ]
    if not candidates:
        return nothing
    sub = [rows[i] for i in pending]
    found, matches, ambiguities = _match_frames(sub, candidates, has_id)
    starts = {v.perimeter_id: v.valid_from for v in candidates}
    matches = matches.assign(detail="apparaît plus tard : " + matches["detail"])
    later = {pending[j]: (pid, starts[pid]) for j, (pid, _r, _s) in found.items()}
    return later, matches, ambiguities
