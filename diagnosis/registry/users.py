"""Granting and revoking roles (administrators only; the first administrator from an open registry).

While no administrator is granted, the local user has every right, so the
first ``grant`` of an administrator is made by the local user (the command
line on the server: ``python -m diagnosis registry grant``). From then on
only administrators grant and revoke, and a signed-in user acts by their
grants. Revoking ends a grant (its ``revoked_at``); nothing is deleted.
"""

from __future__ import annotations

import sqlalchemy as sa

from diagnosis.registry.access import ROLES, Actor, Target, actor_of, authorize, now, open_mode
from diagnosis.registry.database import Registry, RegistryError, write
from diagnosis.registry.model import Scope
from diagnosis.registry.schema import GRANTS
from diagnosis.registry.service import audit_row
from diagnosis.registry.store import insert_audit

__all__ = ["grant_role", "revoke_role"]


def _check(user_id: str, role: str) -> str:
    user = user_id.strip()
    if not user:
        raise RegistryError("Rôle refusé : nommez l'utilisateur (son e-mail ou identifiant).")
    if role not in ROLES:
        raise RegistryError(
            f"Rôle inconnu : « {role} ». Rôles possibles : " + ", ".join(ROLES) + "."
        )
    return user


def grant_role(
    registry: Registry,
    actor: Actor | str | None,
    user_id: str,
    role: str,
    *,
    region: str | None = None,
    department: str | None = None,
) -> bool:
    """Grant ``role`` to ``user_id`` in a scope (France by default); False when already held.

    A committee member's scope is a region; a reader's and an administrator's
    usually France.
    """
    who = actor_of(actor)
    user = _check(user_id, role)
    scope = Scope.of(region=region, department=department)
    if role == "committee" and scope.level != "region":
        raise RegistryError(
            "Un membre de comité régional reçoit son rôle pour une région (--region)."
        )
    with write(registry, what=f"attribution d'un rôle par {who.label}") as conn:
        # Scope checks of a grant are about France: only administrators grant.
        if not (who.local and open_mode(conn)):
            authorize(conn, who, "grant", Target())
        held = conn.execute(
            sa.select(sa.func.count()).where(
                GRANTS.c.user_id == user,
                GRANTS.c.role == role,
                GRANTS.c.scope_level == scope.level,
                GRANTS.c.scope_code == scope.code,
                GRANTS.c.revoked_at.is_(None),
            )
        ).scalar_one()
        if held:
            return False
        conn.execute(
            GRANTS.insert(),
            {
                "user_id": user,
                "role": role,
                "scope_level": scope.level,
                "scope_code": scope.code,
                "granted_by": who.label,
                "granted_at": now(),
            },
        )
        insert_audit(
            conn,
            [audit_row(who.label, "grant", user, after={"role": role, "scope": scope.key})],
        )
    return True


def revoke_role(
    registry: Registry,
    actor: Actor | str | None,
    user_id: str,
    role: str,
    *,
    region: str | None = None,
    department: str | None = None,
) -> int:
    """End ``user_id``'s grants of ``role`` in the scope; returns how many were ended."""
    who = actor_of(actor)
    user = _check(user_id, role)
    scope = Scope.of(region=region, department=department)
    with write(registry, what=f"retrait d'un rôle par {who.label}") as conn:
        authorize(conn, who, "grant", Target())
        result = conn.execute(
            GRANTS.update()
            .where(
                GRANTS.c.user_id == user,
                GRANTS.c.role == role,
                GRANTS.c.scope_level == scope.level,
                GRANTS.c.scope_code == scope.code,
                GRANTS.c.revoked_at.is_(None),
            )
            .values(revoked_at=now(), revoked_by=who.label)
        )
        if result.rowcount:
            insert_audit(
                conn,
                [audit_row(who.label, "revoke", user, before={"role": role, "scope": scope.key})],
            )
        return int(result.rowcount)
