"""ACI contracts kept with their perimeter in the registry, dated like the perimeters.

A contracts file recorded on a date (:func:`store_contracts`) is matched to the
registry's perimeters valid that day (by identifier, else by name); each
contract that is new or changed opens a contract row from that day and closes
the one it replaces; an unchanged contract writes nothing. The contracts on a
date (:func:`contracts_at`) are :class:`~diagnosis.contracts.Contract` objects
naming their perimeter by its registry id, ready for
:func:`diagnosis.contracts.funding_schedule` on :func:`state_at` of that day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from diagnosis.contracts import Contract, ContractsImport
from diagnosis.contracts.model import CONTRACT_EVENT_KINDS
from diagnosis.core.model import Report
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.textnorm import name_key
from diagnosis.registry.access import Actor, Target, actor_of, authorize, now, target_of_codes
from diagnosis.registry.database import Registry, RegistryError, read, write
from diagnosis.registry.model import parse_day
from diagnosis.registry.schema import CONTRACTS, MEMBERS, VERSIONS
from diagnosis.registry.service import audit_row
from diagnosis.registry.state import referential_vintage
from diagnosis.registry.store import insert_audit, insert_source, valid_on

__all__ = [
    "ContractsOutcome",
    "contract_body",
    "contracts_at",
    "contracts_import_at",
    "store_contracts",
]


def contract_body(contract: Contract) -> dict[str, Any]:
    """A contract as JSON-able data (its perimeter and file row aside)."""
    return {
        "signature": contract.signature.isoformat(),
        "mission_starts": {k: v.isoformat() for k, v in sorted(contract.mission_starts.items())},
        "crises": [d.isoformat() for d in contract.crises],
        "members": contract.members,
        "attainment": {k: list(v) for k, v in sorted(contract.attainment.items())},
        "letter_of_intent": contract.letter_of_intent.isoformat()
        if contract.letter_of_intent
        else None,
        "letter_of_intent_aid_eur": contract.letter_of_intent_aid_eur,
        "bonus_granted": contract.bonus_granted,
    }


def _contract_of(perimeter_id: str, body: Mapping[str, Any]) -> Contract:
    day = dt.date.fromisoformat
    return Contract(
        perimeter=perimeter_id,
        signature=day(body["signature"]),
        mission_starts={k: day(v) for k, v in body["mission_starts"].items()},
        crises=tuple(day(d) for d in body["crises"]),
        members=body["members"],
        attainment={k: tuple(v) for k, v in body["attainment"].items()},
        letter_of_intent=day(body["letter_of_intent"]) if body["letter_of_intent"] else None,
        letter_of_intent_aid_eur=body["letter_of_intent_aid_eur"],
        bonus_granted=body["bonus_granted"],
    )


@dataclass(frozen=True)
class ContractsOutcome:
    """What recording a contracts file did: per perimeter, and what could not be matched."""

    new: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    unmatched: tuple[str, ...]


def _perimeters_on(conn: sa.Connection, day: dt.date) -> pd.DataFrame:
    rows = conn.execute(
        sa.select(VERSIONS.c.id, VERSIONS.c.perimeter_id, VERSIONS.c.name).where(valid_on(day))
    ).all()
    return pd.DataFrame(rows, columns=["version_id", "perimeter_id", "name"])


def _match(perimeters: pd.DataFrame, wanted: str) -> str | None:
    if wanted in set(perimeters["perimeter_id"]):
        return wanted
    by_name = perimeters[perimeters["name"].map(name_key) == name_key(wanted)]
    return str(by_name["perimeter_id"].iloc[0]) if len(by_name) == 1 else None


def _codes(conn: sa.Connection, version_ids: Iterable[int]) -> list[str]:
    ids = [int(i) for i in version_ids]
    if not ids:
        return []
    return [
        str(c)
        for c in conn.execute(sa.select(MEMBERS.c.code).where(MEMBERS.c.version_id.in_(ids)))
        .scalars()
        .all()
    ]


def _write_rows(
    conn: sa.Connection,
    kept: Sequence[tuple[str, Contract]],
    current: Mapping[str, Any],
    *,
    day: dt.date,
    source_id: int,
    who: Actor,
) -> tuple[list[str], list[str], list[str]]:
    """Open a contract row for each new or changed contract, close the one it replaces."""
    new: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    audit: list[dict[str, Any]] = []
    for pid, contract in kept:
        body = contract_body(contract)
        old = current.get(str(pid))
        if old is not None and json.loads(old.body) == body:
            unchanged.append(str(pid))
            continue
        if old is not None:
            conn.execute(CONTRACTS.update().where(CONTRACTS.c.id == old.id).values(valid_to=day))
        conn.execute(
            CONTRACTS.insert(),
            {
                "perimeter_id": pid,
                "valid_from": day,
                "valid_to": None,
                "signature": contract.signature,
                "body": json.dumps(body, sort_keys=True),
                "source_id": source_id,
            },
        )
        (changed if old is not None else new).append(str(pid))
        audit.append(
            audit_row(
                who.label,
                "store_contract",
                str(pid),
                source_id=source_id,
                before=None if old is None else json.loads(old.body),
                after=body,
            )
        )
    insert_audit(conn, audit)
    return new, changed, unchanged


def store_contracts(
    registry: Registry,
    actor: Actor | str | None,
    contracts: ContractsImport | Sequence[Contract],
    *,
    as_of: dt.date | str,
    filename: str = "contrats",
    referential: Referential | None = None,
) -> ContractsOutcome:
    """Record contracts with their perimeters from ``as_of`` (one transaction, audited).

    Each contract is matched to a perimeter valid on ``as_of`` by its
    identifier, else by its name (unique); unmatched contracts are returned
    and nothing is written for them. The user must be allowed to record
    contracts where the perimeters lie (an analyst of their region or
    department).
    """
    who = actor_of(actor)
    ref = referential if referential is not None else load_referential()
    day = parse_day(as_of, what="date des contrats")
    items = contracts.contracts if isinstance(contracts, ContractsImport) else tuple(contracts)
    with write(registry, what=f"contrats de {filename} par {who.label}") as conn:
        perimeters = _perimeters_on(conn, day)
        matched = {c.perimeter: _match(perimeters, c.perimeter) for c in items}
        kept = [(str(matched[c.perimeter]), c) for c in items if matched[c.perimeter]]
        versions = perimeters[perimeters["perimeter_id"].isin([pid for pid, _ in kept])]
        target = target_of_codes(_codes(conn, versions["version_id"]), ref) if kept else Target()
        authorize(conn, who, "store_contracts", target)
        current = {
            str(r.perimeter_id): r
            for r in conn.execute(sa.select(CONTRACTS).where(CONTRACTS.c.valid_to.is_(None))).all()
        }
        later = sorted(p for p, _ in kept if p in current and current[p].valid_from > day)
        if later:
            raise RegistryError(
                "Contrats refusés : des contrats plus récents que le "
                f"{day.strftime('%d/%m/%Y')} sont déjà enregistrés pour "
                + ", ".join(later)
                + ". Rien n'a été écrit."
            )
        payload = json.dumps([[pid, contract_body(c)] for pid, c in kept], sort_keys=True)
        source_id = insert_source(
            conn,
            {
                "kind": "contracts",
                "filename": filename[:255],
                "checksum": hashlib.sha256(payload.encode()).hexdigest(),
                "as_of": day,
                "scope_level": "region" if target.region else "france",
                "scope_code": target.region or "",
                "referential_vintage": referential_vintage(ref),
                "actor": who.label,
                "imported_at": now(),
                "n_perimeters": len(kept),
            },
        )
        new, changed, unchanged = _write_rows(
            conn, kept, current, day=day, source_id=source_id, who=who
        )
    return ContractsOutcome(
        new=tuple(new),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        unmatched=tuple(c.perimeter for c in items if not matched[c.perimeter]),
    )


def contracts_import_at(registry: Registry, day: dt.date | str) -> ContractsImport:
    """The contracts valid on ``day`` as a contracts file's import (no event to report)."""
    report = Report(CONTRACT_EVENT_KINDS).frame()
    when = parse_day(day, what="date")
    return ContractsImport(
        contracts=contracts_at(registry, when),
        report=report,
        source={"filename": f"registre au {when.isoformat()}"},
    )


def contracts_at(registry: Registry, day: dt.date | str) -> tuple[Contract, ...]:
    """The contracts valid on ``day``, each naming its perimeter by its registry id."""
    when = parse_day(day, what="date")
    with read(registry) as conn:
        rows = conn.execute(
            sa.select(CONTRACTS.c.perimeter_id, CONTRACTS.c.body)
            .where(
                CONTRACTS.c.valid_from <= when,
                sa.or_(CONTRACTS.c.valid_to.is_(None), CONTRACTS.c.valid_to > when),
            )
            .order_by(CONTRACTS.c.perimeter_id)
        ).all()
    if not rows:
        return ()
    return tuple(_contract_of(str(pid), json.loads(body)) for pid, body in rows)
