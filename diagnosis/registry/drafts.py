"""A CPTS leader's draft territory, its submission to the ARS, and the ARS's answer.

A draft is private to its author (named, versioned: every save is a revision
kept in ``draft_revisions``). Submitting it sends it to the ARS of its scope
(the region and department holding most of its inhabitants), whose analysts
then see it and either accept it (a new perimeter of the registry at the
letter-of-intent stage, dated) or return it with a comment the author reads.
Every read of a draft checks who asks (:func:`get_draft`, :func:`list_drafts`):
a draft id typed in a URL or a widget does not open another user's draft.
Every write checks the draft's revision: a save from a stale copy is refused
with what the other save changed, and nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from diagnosis.core.aci import size_rules
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.statuses import status_name
from diagnosis.registry.access import (
    AccessDeniedError,
    Actor,
    Target,
    actor_of,
    authorize,
    may,
    now,
    open_mode,
    target_of_codes,
)
from diagnosis.registry.database import Registry, RegistryError, read, write
from diagnosis.registry.model import Content, parse_day
from diagnosis.registry.plan import new_perimeter_ids
from diagnosis.registry.schema import DRAFT_REVISIONS, DRAFTS
from diagnosis.registry.service import audit_row
from diagnosis.registry.state import referential_vintage, state_at
from diagnosis.registry.store import insert_audit, insert_perimeters, insert_source, insert_versions

__all__ = [
    "DRAFT_STATES",
    "Draft",
    "DraftConflictError",
    "DraftReview",
    "get_draft",
    "list_drafts",
    "review_of",
    "review_submission",
    "save_draft",
    "submit_draft",
]

#: The states of a draft and their French names.
DRAFT_STATES: dict[str, str] = {
    "draft": "brouillon",
    "submitted": "soumis à l'ARS",
    "accepted": "accepté",
    "returned": "renvoyé au porteur",
}

#: The stage of a perimeter opened by an accepted submission.
ACCEPTED_STAGE = "lettre_intention"


class DraftConflictError(RegistryError):
    """The draft changed since the copy being saved (another save came first)."""


@dataclass(frozen=True)
class Draft:
    """A draft territory as its reader may see it."""

    id: int
    owner: str
    name: str
    state: str
    revision: int
    codes: tuple[str, ...]
    region: str | None
    department: str | None
    comment: str | None = None
    perimeter_id: str | None = None
    reviewed_by: str | None = None

    @property
    def target(self) -> Target:
        """Where the draft lies (its ARS's scope)."""
        return Target(region=self.region, department=self.department)

    @property
    def state_name(self) -> str:
        """The state in French."""
        return DRAFT_STATES.get(self.state, self.state)


def _codes_text(codes: Iterable[str]) -> str:
    return " ".join(sorted({str(c).strip() for c in codes if str(c).strip()}))


def _row(conn: Connection, draft_id: int) -> Any:
    row = conn.execute(sa.select(DRAFTS).where(DRAFTS.c.id == int(draft_id))).first()
    if row is None:
        raise AccessDeniedError(f"Brouillon n° {draft_id} introuvable ou non visible.")
    return row


def _codes_of(conn: Connection, draft_id: int, revision: int) -> tuple[str, ...]:
    text = conn.execute(
        sa.select(DRAFT_REVISIONS.c.codes).where(
            DRAFT_REVISIONS.c.draft_id == draft_id, DRAFT_REVISIONS.c.revision == revision
        )
    ).scalar_one()
    return tuple(str(text).split())


def _draft(conn: Connection, row: Any) -> Draft:
    return Draft(
        id=int(row.id),
        owner=str(row.owner),
        name=str(row.name),
        state=str(row.state),
        revision=int(row.revision),
        codes=_codes_of(conn, int(row.id), int(row.revision)),
        region=row.region,
        department=row.department,
        comment=row.comment,
        perimeter_id=row.perimeter_id,
        reviewed_by=row.reviewed_by,
    )


def _visible(conn: Connection, who: Actor, row: Any) -> bool:
    """Whether ``who`` may see the draft of ``row`` (author; once submitted, its ARS)."""
    if row.owner == who.user_id or (who.local and open_mode(conn)):
        return True
    target = Target(region=row.region, department=row.department)
    if row.state == "draft":
        return may(conn, who, "grant", target)  # administrators only
    return may(conn, who, "review_submission", target)


def get_draft(registry: Registry, actor: Actor | str | None, draft_id: int) -> Draft:
    """One draft, if ``actor`` may see it; :class:`AccessDeniedError` otherwise.

    The same French message answers a draft that does not exist and one the
    user may not see, so that an id typed at random tells nothing.
    """
    who = actor_of(actor)
    with read(registry) as conn:
        row = _row(conn, draft_id)
        if not _visible(conn, who, row):
            raise AccessDeniedError(f"Brouillon n° {draft_id} introuvable ou non visible.")
        return _draft(conn, row)


def list_drafts(registry: Registry, actor: Actor | str | None) -> pd.DataFrame:
    """The drafts ``actor`` may see: their own, and the submissions of their scope.

    Columns: id, name, owner, state, state_name, revision, n_communes,
    region, department, comment, perimeter_id.
    """
    who = actor_of(actor)
    with read(registry) as conn:
        rows = conn.execute(sa.select(DRAFTS).order_by(DRAFTS.c.id)).all()
        drafts = [_draft(conn, r) for r in rows if _visible(conn, who, r)]
    columns = [
        "id",
        "name",
        "owner",
        "state",
        "state_name",
        "revision",
        "n_communes",
        "region",
        "department",
        "comment",
        "perimeter_id",
    ]
    return pd.DataFrame(
        [
            {
                "id": d.id,
                "name": d.name,
                "owner": d.owner,
                "state": d.state,
                "state_name": d.state_name,
                "revision": d.revision,
                "n_communes": len(d.codes),
                "region": d.region,
                "department": d.department,
                "comment": d.comment,
                "perimeter_id": d.perimeter_id,
            }
            for d in drafts
        ],
        columns=columns,
    )


def _conflict(conn: Connection, row: Any, expected: int | None, codes: str) -> None:
    """Refuse a save from a stale copy, saying what the other save changed."""
    if expected is None or int(row.revision) == int(expected):
        return
    theirs = set(_codes_of(conn, int(row.id), int(row.revision)))
    mine_base = set(_codes_of(conn, int(row.id), int(expected)))
    added, removed = sorted(theirs - mine_base), sorted(mine_base - theirs)
    saved_by = conn.execute(
        sa.select(DRAFT_REVISIONS.c.saved_by, DRAFT_REVISIONS.c.saved_at).where(
            DRAFT_REVISIONS.c.draft_id == row.id, DRAFT_REVISIONS.c.revision == row.revision
        )
    ).one()
    changes = []
    if added:
        changes.append("communes ajoutées : " + ", ".join(added))
    if removed:
        changes.append("communes retirées : " + ", ".join(removed))
    if not changes:
        changes.append("nom ou état modifié")
    del codes
    raise DraftConflictError(
        f"Enregistrement refusé : le brouillon « {row.name} » a été modifié par "
        f"{saved_by.saved_by} (version {row.revision}) depuis la version {expected} que vous "
        f"modifiez ({' ; '.join(changes)}). Rien n'a été écrit : rechargez le brouillon, "
        "reportez vos changements et enregistrez de nouveau."
    )


def save_draft(
    registry: Registry,
    actor: Actor | str | None,
    *,
    name: str,
    codes: Iterable[str],
    draft_id: int | None = None,
    expected_revision: int | None = None,
    referential: Referential | None = None,
) -> Draft:
    """Save a draft territory (a new one, or a new revision of ``draft_id``).

    Parameters
    ----------
    registry
        An opened registry.
    actor
        The author (a CPTS leader, or the local user of an open registry).
    name
        The territory's name.
    codes
        Its unit codes.
    draft_id, expected_revision
        The draft to save again and the revision the user's copy holds: when
        another save came in between, :class:`DraftConflictError` says what
        it changed and nothing is written.
    referential
        Gives the draft's region and department (default: the embedded one).
    """
    who = actor_of(actor)
    ref = referential if referential is not None else load_referential()
    codes_text = _codes_text(codes)
    if not codes_text:
        raise RegistryError("Brouillon refusé : le territoire ne compte aucune commune.")
    if not name.strip():
        raise RegistryError("Brouillon refusé : donnez un nom au territoire.")
    target = target_of_codes(codes_text.split(), ref)
    at = now()
    with write(registry, what=f"brouillon « {name} » de {who.label}") as conn:
        authorize(conn, who, "save_draft", target)
        if draft_id is None:
            new_id = conn.execute(
                DRAFTS.insert().returning(DRAFTS.c.id),
                {
                    "owner": who.user_id,
                    "name": name.strip()[:300],
                    "region": target.region,
                    "department": target.department,
                    "state": "draft",
                    "revision": 1,
                    "created_at": at,
                    "updated_at": at,
                },
            ).scalar_one()
            revision, before = 1, None
        else:
            row = _row(conn, draft_id)
            if row.owner != who.user_id:
                raise AccessDeniedError(f"Brouillon n° {draft_id} introuvable ou non visible.")
            if row.state not in ("draft", "returned"):
                raise RegistryError(
                    f"Le brouillon « {row.name} » est {DRAFT_STATES[row.state]} : il ne peut "
                    "plus être modifié. Enregistrez-en une copie sous un autre nom."
                )
            _conflict(conn, row, expected_revision, codes_text)
            new_id, revision = int(row.id), int(row.revision) + 1
            before = {"name": row.name, "revision": int(row.revision)}
            conn.execute(
                DRAFTS.update()
                .where(DRAFTS.c.id == new_id, DRAFTS.c.revision == row.revision)
                .values(
                    name=name.strip()[:300],
                    region=target.region,
                    department=target.department,
                    state="draft",
                    revision=revision,
                    updated_at=at,
                )
            )
        conn.execute(
            DRAFT_REVISIONS.insert(),
            {
                "draft_id": new_id,
                "revision": revision,
                "name": name.strip()[:300],
                "codes": codes_text,
                "saved_by": who.label,
                "saved_at": at,
            },
        )
        after = {"name": name.strip(), "revision": revision, "n_communes": len(codes_text.split())}
        insert_audit(
            conn,
            [audit_row(who.label, "save_draft", f"brouillon {new_id}", before=before, after=after)],
        )
        return _draft(conn, _row(conn, new_id))


def submit_draft(
    registry: Registry, actor: Actor | str | None, draft_id: int, *, expected_revision: int
) -> Draft:
    """Send a draft to the ARS of its scope (its author only; the revision they saw)."""
    who = actor_of(actor)
    with write(registry, what=f"soumission du brouillon {draft_id} par {who.label}") as conn:
        row = _row(conn, draft_id)
        if row.owner != who.user_id:
            raise AccessDeniedError(f"Brouillon n° {draft_id} introuvable ou non visible.")
        authorize(conn, who, "submit_draft", Target(row.region, row.department))
        if row.state not in ("draft", "returned"):
            raise RegistryError(f"Le brouillon « {row.name} » est déjà {DRAFT_STATES[row.state]}.")
        _conflict(conn, row, expected_revision, "")
        conn.execute(
            DRAFTS.update()
            .where(DRAFTS.c.id == row.id)
            .values(state="submitted", submitted_at=now(), updated_at=now())
        )
        insert_audit(
            conn,
            [
                audit_row(
                    who.label,
                    "submit_draft",
                    f"brouillon {row.id}",
                    before={"state": row.state},
                    after={"state": "submitted", "revision": int(row.revision)},
                )
            ],
        )
        return _draft(conn, _row(conn, draft_id))


def review_submission(
    registry: Registry,
    actor: Actor | str | None,
    draft_id: int,
    *,
    accept: bool,
    comment: str = "",
    as_of: dt.date | str | None = None,
    referential: Referential | None = None,
) -> Draft:
    """Accept a submitted draft (a new perimeter at the letter-of-intent stage) or return it.

    Parameters
    ----------
    accept
        True: the draft becomes a perimeter of the registry from ``as_of``
        (default: today), at the letter-of-intent stage. False: it goes back
        to its author with ``comment`` (required).
    """
    who = actor_of(actor)
    ref = referential if referential is not None else load_referential()
    day = parse_day(as_of or dt.date.today(), what="date de la décision")
    if not accept and not comment.strip():
        raise RegistryError("Renvoi refusé : écrivez au porteur ce qu'il doit changer.")
    with write(registry, what=f"réponse au projet {draft_id} par {who.label}") as conn:
        row = _row(conn, draft_id)
        target = Target(row.region, row.department)
        if row.state != "submitted":
            if not _visible(conn, who, row):
                raise AccessDeniedError(f"Brouillon n° {draft_id} introuvable ou non visible.")
            raise RegistryError(
                f"Le projet « {row.name} » n'est pas soumis ({DRAFT_STATES[row.state]})."
            )
        authorize(conn, who, "review_submission", target)
        values: dict[str, Any] = {
            "reviewed_by": who.label,
            "reviewed_at": now(),
            "updated_at": now(),
            "comment": comment.strip() or None,
        }
        if accept:
            values |= {
                "state": "accepted",
                "perimeter_id": _open_perimeter(conn, row, day, who, ref),
            }
        else:
            values |= {"state": "returned"}
        conn.execute(DRAFTS.update().where(DRAFTS.c.id == row.id).values(**values))
        insert_audit(
            conn,
            [
                audit_row(
                    who.label,
                    "accept_submission" if accept else "return_submission",
                    f"brouillon {row.id}",
                    before={"state": row.state},
                    after={
                        k: v for k, v in values.items() if k in ("state", "perimeter_id", "comment")
                    },
                )
            ],
        )
        return _draft(conn, _row(conn, draft_id))


def _open_perimeter(conn: Connection, row: Any, day: dt.date, who: Actor, ref: Referential) -> str:
    """The new perimeter of an accepted submission, with its source and first version."""
    codes = _codes_of(conn, int(row.id), int(row.revision))
    checksum = hashlib.sha256(f"{row.id}:{row.revision}:{' '.join(codes)}".encode()).hexdigest()
    level, code = ("region", row.region) if row.region else ("france", "")
    source_id = insert_source(
        conn,
        {
            "kind": "submission",
            "filename": f"projet soumis n° {row.id} : {row.name}"[:255],
            "checksum": checksum,
            "as_of": day,
            "scope_level": level,
            "scope_code": code or "",
            "referential_vintage": referential_vintage(ref),
            "actor": who.label,
            "imported_at": now(),
            "n_perimeters": 1,
        },
    )
    (perimeter_id,) = new_perimeter_ids(conn, [str(row.name)])
    insert_perimeters(conn, [perimeter_id], source_id)
    content = Content(
        name=str(row.name),
        status=ACCEPTED_STAGE,
        status_label=status_name(ACCEPTED_STAGE),
        status_date=day.isoformat(),
        external_id=None,
        codes=codes,
    )
    insert_versions(
        conn, [(perimeter_id, day, None, content, source_id)], vintage=referential_vintage(ref)
    )
    return perimeter_id


@dataclass(frozen=True)
class DraftReview:
    """What an analyst weighs before answering a submission.

    ``population`` and ``size_class`` are the draft's whole inhabitants and ACI
    size class; ``overlaps`` lists the registry's perimeters valid on ``day``
    that claim some of its communes (perimeter_id, name, status, shared_codes,
    shared_population), largest overlap first.
    """

    draft: Draft
    day: dt.date
    population: int
    size_class: int
    minimum: int
    overlaps: pd.DataFrame


def review_of(
    registry: Registry,
    actor: Actor | str | None,
    draft_id: int,
    *,
    day: dt.date | str | None = None,
    referential: Referential | None = None,
) -> DraftReview:
    """A draft (if ``actor`` may see it) with its size and its overlaps with the registry."""
    ref = referential if referential is not None else load_referential()
    draft = get_draft(registry, actor, draft_id)
    when = parse_day(day or dt.date.today(), what="date")
    units = ref.units
    known = [c for c in draft.codes if c in units.index]
    population = int(units.loc[known, "population"].sum()) if known else 0
    rules = size_rules()
    state = state_at(registry, when, referential=ref, region=draft.region)
    mine = set(draft.codes)
    rows = []
    for pid, name, status, codes in zip(
        state.perimeters["perimeter_id"],
        state.perimeters["name"],
        state.perimeters["status"],
        state.perimeters["unit_codes"],
        strict=True,
    ):
        shared = sorted(mine & {str(c) for c in codes})
        if shared:
            rows.append(
                {
                    "perimeter_id": pid,
                    "name": name,
                    "status": status,
                    "shared_codes": shared,
                    "shared_population": int(
                        units.loc[[c for c in shared if c in units.index], "population"].sum()
                    ),
                }
            )
    overlaps = pd.DataFrame(
        rows, columns=["perimeter_id", "name", "status", "shared_codes", "shared_population"]
    ).sort_values("shared_population", ascending=False, kind="stable")
    return DraftReview(
        draft=draft,
        day=when,
        population=population,
        size_class=rules.size_class(population),
        minimum=rules.minimum_for(draft.region),
        overlaps=overlaps.reset_index(drop=True),
    )
