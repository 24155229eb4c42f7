"""Recorded decisions: a committee's arbitration or an analyst's change of perimeters.

A decision is dated (the day it takes effect), signed by the user who records
it, kept with the options that were on the table and the reasons written,
and it opens the new versions of every perimeter it concerns (their current
versions end that day; a perimeter given no commune ends there). The versions
name the decision's source, so the history of a perimeter shows the decisions
that shaped it (:func:`decisions_of`).

Each write checks the version of every perimeter concerned against the one
the user worked on (``expected_versions``): when another user changed one
meanwhile, the decision is refused with what changed, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from diagnosis.analysis.disputes import Dispute
from diagnosis.core.referential import Referential, load_referential
from diagnosis.registry.access import Actor, actor_of, authorize, now, target_of_codes
from diagnosis.registry.database import Registry, RegistryError, read, write
from diagnosis.registry.model import Content, parse_day
from diagnosis.registry.schema import DECISIONS, SOURCES, VERSIONS
from diagnosis.registry.service import _summary, audit_row
from diagnosis.registry.state import referential_vintage
from diagnosis.registry.store import (
    close_version,
    insert_audit,
    insert_source,
    insert_versions,
    read_members,
    read_shares,
    read_splits,
)

__all__ = [
    "DECISION_COLUMNS",
    "Decision",
    "PerimeterChangedError",
    "current_versions",
    "decision_from_dispute",
    "decisions_of",
    "edit_perimeter",
    "record_decision",
]

DECISION_COLUMNS = [
    "decision_id",
    "kind",
    "region",
    "title",
    "parties",
    "option",
    "reasons",
    "decided_by",
    "decided_at",
    "effective_on",
]


class PerimeterChangedError(RegistryError):
    """A perimeter changed since the version the user worked on (nothing was written)."""


@dataclass(frozen=True)
class Decision:
    """What a decision says: the new members (and shares) of each perimeter concerned.

    ``outcome`` maps each perimeter id to its unit codes after the decision
    (empty: the perimeter ends); ``shares`` to its declared shares of shared
    communes; ``names`` to a new name. ``options`` are the options that were
    on the table (any JSON-able records), kept with the decision.
    """

    title: str
    option: str
    reasons: str
    outcome: Mapping[str, Sequence[str]]
    shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    options: Sequence[Mapping[str, Any]] = ()


def decision_from_dispute(
    dispute: Dispute, option: str, *, reasons: str, title: str | None = None
) -> Decision:
    """The decision of choosing ``option`` in a dispute: each party's communes after it.

    Each party keeps the communes no other party claims and receives the
    contested communes the option gives it (``en_l_etat``: each keeps its
    claims; ``reunir``: the first party becomes the union of all, named after
    every party, and the others end). Shares set for communes the option
    splits are kept with the parties. The dispute's options are kept as the
    options that were on the table.
    """
    parties = dispute.parties
    letters = [str(x) for x in parties["party"]]
    ids = dict(zip(letters, parties["perimeter_id"].astype(str), strict=True))
    names = dict(zip(letters, parties["name"].astype(str), strict=True))
    claims = dispute.claims.astype({"code": str, "party": str})
    contested = set(dispute.contested["code"].astype(str))
    own = {x: set(claims.loc[claims["party"] == x, "code"]) - contested for x in letters}
    column = f"option_{option}"
    if option == "reunir":
        everything = sorted(set(claims["code"]))
        outcome: dict[str, list[str]] = {ids[x]: [] for x in letters}
        outcome[ids[letters[0]]] = everything
        renamed = {ids[letters[0]]: " – ".join(names[x] for x in letters)}
    elif option == "en_l_etat" or column in dispute.contested.columns:
        outcome, renamed = {}, {}
        for x in letters:
            if option == "en_l_etat":
                gets = set(claims.loc[claims["party"] == x, "code"]) & contested
            else:
                given = dispute.contested[column].astype(str).str.split("+")
                gets = {
                    str(c)
                    for c, to in zip(dispute.contested["code"], given, strict=True)
                    if x in to
                }
            outcome[ids[x]] = sorted(own[x] | gets)
    else:
        raise RegistryError(f"Option inconnue pour ce litige : {option}.")
    shares: dict[str, dict[str, float]] = {}
    for pid, code, share in dispute.shares[["perimeter_id", "code", "share"]].itertuples(
        index=False
    ):
        if str(code) in outcome.get(str(pid), ()):
            shares.setdefault(str(pid), {})[str(code)] = float(share)
    table = json.loads(dispute.options.to_json(orient="records", force_ascii=False))
    return Decision(
        title=title or "Arbitrage : " + " / ".join(names[x] for x in letters),
        option=option,
        reasons=reasons,
        outcome=outcome,
        shares=shares,
        names=renamed,
        options=table,
    )


@dataclass(frozen=True)
class _Current:
    version_id: int
    valid_from: dt.date
    content: Content


def _current(conn: Connection, ids: Iterable[str]) -> dict[str, _Current]:
    """The open version (no end) of each perimeter."""
    ids = list(ids)
    rows = conn.execute(
        sa.select(VERSIONS).where(VERSIONS.c.perimeter_id.in_(ids), VERSIONS.c.valid_to.is_(None))
    ).all()
    out = {}
    for row in rows:
        where = VERSIONS.c.id == row.id
        out[str(row.perimeter_id)] = _Current(
            int(row.id),
            row.valid_from,
            Content(
                name=str(row.name),
                status=row.status,
                status_label=row.status_label,
                status_date=row.status_date,
                external_id=row.external_id,
                codes=tuple(read_members(conn, where)["code"].astype(str)),
                splits=tuple(
                    (str(c), str(d))
                    for c, d in read_splits(conn, where)[["code", "declared_code"]].itertuples(
                        index=False
                    )
                ),
                shares=tuple(
                    (str(c), float(s))
                    for c, s in read_shares(conn, where)[["code", "share"]].itertuples(index=False)
                ),
            ),
        )
    missing = [pid for pid in ids if pid not in out]
    if missing:
        raise RegistryError(
            "Décision refusée : périmètre(s) inconnu(s) ou clos dans le registre : "
            + ", ".join(missing)
            + ". Rien n'a été écrit."
        )
    return out


def current_versions(registry: Registry, ids: Iterable[str]) -> dict[str, int]:
    """The open version of each perimeter: what a user works on (``expected_versions``)."""
    with read(registry) as conn:
        return {pid: c.version_id for pid, c in _current(conn, ids).items()}


def _changed(conn: Connection, pid: str, expected: int, now_version: _Current) -> str:
    """What changed between the version a user worked on and the current one, in French."""
    old = conn.execute(sa.select(VERSIONS.c.name).where(VERSIONS.c.id == expected)).scalar()
    before = set(read_members(conn, VERSIONS.c.id == expected)["code"].astype(str))
    after = set(now_version.content.codes)
    source = conn.execute(
        sa.select(SOURCES.c.filename, SOURCES.c.actor)
        .join(VERSIONS, VERSIONS.c.source_id == SOURCES.c.id)
        .where(VERSIONS.c.id == now_version.version_id)
    ).one()
    parts = []
    if old is not None and old != now_version.content.name:
        parts.append(f"renommé « {old} » → « {now_version.content.name} »")
    if after - before:
        parts.append("communes ajoutées : " + ", ".join(sorted(after - before)))
    if before - after:
        parts.append("communes retirées : " + ", ".join(sorted(before - after)))
    what = " ; ".join(parts) or "stade ou date modifiés"
    return f"« {now_version.content.name} » modifié par {source.actor} ({source.filename}) : {what}"


def _check_versions(
    conn: Connection, current: Mapping[str, _Current], expected: Mapping[str, int] | None
) -> None:
    if not expected:
        return
    changes = [
        _changed(conn, pid, int(expected[pid]), cur)
        for pid, cur in current.items()
        if pid in expected and int(expected[pid]) != cur.version_id
    ]
    if changes:
        raise PerimeterChangedError(
            "Enregistrement refusé : un autre utilisateur a modifié ces périmètres depuis que "
            "vous les avez ouverts. " + " ; ".join(changes) + ". Rien n'a été écrit : "
            "rouvrez les périmètres pour partir de leur version actuelle."
        )


def _after(cur: _Current, decision: Decision, pid: str) -> Content | None:
    codes = tuple(sorted({str(c) for c in decision.outcome[pid]}))
    if not codes:
        return None
    shares = decision.shares.get(pid)
    kept_shares = (
        tuple(sorted((str(c), float(s)) for c, s in shares.items() if str(c) in codes))
        if shares is not None
        else tuple(p for p in cur.content.shares if p[0] in codes)
    )
    return replace(
        cur.content,
        name=decision.names.get(pid, cur.content.name),
        codes=codes,
        splits=tuple(p for p in cur.content.splits if p[0] in codes),
        shares=kept_shares,
    )


def _decision_source(
    conn: Connection,
    decision: Decision,
    *,
    kind: str,
    who: Actor,
    day: dt.date,
    region: str | None,
    n: int,
    ref: Referential,
    at: dt.datetime,
) -> int:
    """The source row of the versions a decision opens."""
    payload = json.dumps(
        {"outcome": {k: sorted(v) for k, v in decision.outcome.items()}, "option": decision.option},
        sort_keys=True,
    )
    source_id = insert_source(
        conn,
        {
            "kind": kind,
            "filename": f"décision : {decision.title}"[:255],
            "checksum": hashlib.sha256(payload.encode()).hexdigest(),
            "as_of": day,
            "scope_level": "region" if region else "france",
            "scope_code": region or "",
            "referential_vintage": referential_vintage(ref),
            "actor": who.label,
            "imported_at": at,
            "n_perimeters": n,
        },
    )
    return source_id


def _write(
    conn: Connection,
    decision: Decision,
    *,
    kind: str,
    who: Actor,
    day: dt.date,
    region: str | None,
    current: Mapping[str, _Current],
    ref: Referential,
) -> int:
    late = [pid for pid, cur in current.items() if cur.valid_from > day]
    if late:
        raise RegistryError(
            f"Décision refusée : sa date ({day.isoformat()}) précède la version actuelle de "
            + ", ".join(late)
            + ". Rien n'a été écrit."
        )
    at = now()
    source_id = _decision_source(conn, decision, kind=kind, who=who, day=day, region=region,
                                 n=len(current), ref=ref, at=at)  # fmt: skip
    versions, audit = [], []
    for pid, cur in current.items():
        after = _after(cur, decision, pid)
        close_version(conn, cur.version_id, day, source_id)
        if after is not None:
            versions.append((pid, day, None, after, source_id))
        action = "perimeter_decided" if after is not None else "perimeter_ended"
        audit.append(
            audit_row(
                who.label,
                action,
                pid,
                source_id=source_id,
                before=_summary(cur.content),
                after=_summary(after),
                at=at,
            )
        )
    insert_versions(conn, versions, vintage=referential_vintage(ref))
    decision_id = conn.execute(
        DECISIONS.insert().returning(DECISIONS.c.id),
        {
            "kind": kind,
            "region": region,
            "title": decision.title.strip()[:300],
            "parties": json.dumps(list(current), ensure_ascii=False),
            "option": decision.option[:80],
            "options": json.dumps(list(decision.options), ensure_ascii=False, default=str),
            "reasons": decision.reasons.strip(),
            "decided_by": who.label,
            "decided_at": at,
            "effective_on": day,
            "source_id": source_id,
        },
    ).scalar_one()
    audit.insert(
        0,
        audit_row(
            who.label,
            f"record_{kind}",
            f"décision {decision_id} : {decision.title}",
            source_id=source_id,
            after={
                "option": decision.option,
                "parties": list(current),
                "reasons": decision.reasons,
            },
            at=at,
        ),
    )
    insert_audit(conn, audit)
    return int(decision_id)


def record_decision(
    registry: Registry,
    actor: Actor | str | None,
    decision: Decision,
    *,
    effective_on: dt.date | str,
    expected_versions: Mapping[str, int] | None = None,
    referential: Referential | None = None,
    kind: str = "arbitration",
) -> int:
    """Record a decision and open the new versions of every perimeter it concerns.

    Parameters
    ----------
    registry
        An opened registry.
    actor
        Who decides: a committee member or an analyst of the parties' region
        (the region holding most of their inhabitants), or an administrator.
    decision
        The option chosen, its reasons, the options on the table and the
        perimeters' members after it (:class:`Decision`).
    effective_on
        The day the decision takes effect (the new versions start then).
    expected_versions
        The version of each perimeter the user worked on
        (:func:`current_versions`); a change since refuses the decision
        (:class:`PerimeterChangedError`).
    kind
        ``arbitration`` (a committee's decision) or ``edit`` (an analyst's
        change of one perimeter, :func:`edit_perimeter`).

    Returns
    -------
    int
        The decision's id.
    """
    who = actor_of(actor)
    ref = referential if referential is not None else load_referential()
    day = parse_day(effective_on, what="date d'effet de la décision")
    if not decision.reasons.strip():
        raise RegistryError("Décision refusée : écrivez ses motifs.")
    if not decision.outcome:
        raise RegistryError("Décision refusée : elle ne concerne aucun périmètre.")
    action = "edit_perimeter" if kind == "edit" else "record_decision"
    with write(registry, what=f"décision « {decision.title} » par {who.label}") as conn:
        current = _current(conn, decision.outcome)
        codes = [c for cur in current.values() for c in cur.content.codes]
        target = target_of_codes(codes, ref)
        authorize(conn, who, action, target)
        _check_versions(conn, current, expected_versions)
        return _write(
            conn,
            decision,
            kind=kind,
            who=who,
            day=day,
            region=target.region,
            current=current,
            ref=ref,
        )


def edit_perimeter(
    registry: Registry,
    actor: Actor | str | None,
    perimeter_id: str,
    *,
    codes: Iterable[str],
    reasons: str,
    effective_on: dt.date | str,
    expected_version: int | None,
    name: str | None = None,
    referential: Referential | None = None,
) -> int:
    """Change one perimeter's members (and name) from a date: an analyst's decision.

    ``expected_version`` is the version the user edited; when another user
    saved a change meanwhile, :class:`PerimeterChangedError` shows it.
    """
    decision = Decision(
        title=f"modification de {perimeter_id}",
        option="modification",
        reasons=reasons,
        outcome={perimeter_id: list(codes)},
        names={perimeter_id: name} if name else {},
    )
    return record_decision(
        registry,
        actor,
        decision,
        effective_on=effective_on,
        expected_versions=None if expected_version is None else {perimeter_id: expected_version},
        referential=referential,
        kind="edit",
    )


def decisions_of(
    registry: Registry, *, perimeter_id: str | None = None, region: str | None = None
) -> pd.DataFrame:
    """The decisions recorded (concerning one perimeter, or of a region), oldest first.

    Columns: :data:`DECISION_COLUMNS` plus ``options`` (the records on the table).
    """
    with read(registry) as conn:
        query = sa.select(DECISIONS).order_by(DECISIONS.c.id)
        if region is not None:
            query = query.where(DECISIONS.c.region == region)
        rows = conn.execute(query).all()
    records = []
    for row in rows:
        parties = json.loads(row.parties)
        if perimeter_id is not None and perimeter_id not in parties:
            continue
        records.append(
            {
                "decision_id": int(row.id),
                "kind": row.kind,
                "region": row.region,
                "title": row.title,
                "parties": parties,
                "option": row.option,
                "reasons": row.reasons,
                "decided_by": row.decided_by,
                "decided_at": row.decided_at,
                "effective_on": row.effective_on,
                "options": json.loads(row.options),
            }
        )
    return pd.DataFrame(records, columns=[*DECISION_COLUMNS, "options"])
