"""Who may see and change what: users, roles granted in a scope, and the check of every write.

Roles (granted by an administrator, stored in the registry's ``grants`` table):

``admin``
    Every action everywhere, and granting roles.
``analyst``
    An ARS or CPAM analyst of France, a region or a department: imports
    listings, changes perimeters, validates or returns submissions and records
    decisions in their scope; sees the submissions of their scope.
``committee``
    A member of a regional committee: records arbitration decisions in their
    region.
``leader``
    A CPTS leader: saves private drafts of territories and submits them.
``reader``
    Reads the published state (every user may; the role names the account).

An :class:`Actor` is the user acting. A *local* actor is the person at the
machine when nobody signs in (the command line, a notebook, the dashboard
without OpenID Connect): while no administrator has been granted (the embedded
default), the local actor has every right, as the dashboard says. A signed-in
user always acts by their grants. The check lives here, in the library, so the
dashboard, the command line and a notebook are held to the same rules.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from diagnosis.core.referential import Referential, main_zone
from diagnosis.registry.database import Registry, RegistryError, read
from diagnosis.registry.model import Scope
from diagnosis.registry.schema import GRANTS

__all__ = [
    "ACTIONS",
    "ROLES",
    "AccessDeniedError",
    "Actor",
    "Grant",
    "Role",
    "Target",
    "actor_of",
    "authorize",
    "default_actor",
    "grants_of",
    "is_open",
    "local_actor",
    "may",
    "target_of_codes",
    "target_of_scope",
]

Role = Literal["admin", "analyst", "committee", "leader", "reader"]

#: Roles and their French names.
ROLES: dict[str, str] = {
    "admin": "administrateur",
    "analyst": "analyste ARS ou CPAM",
    "committee": "membre d'un comité régional",
    "leader": "porteur de CPTS",
    "reader": "lecteur",
}

#: Every write and the roles (besides ``admin``) that may do it, with its French name.
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "import_listing": (frozenset({"analyst"}), "importer une liste de CPTS"),
    "edit_perimeter": (frozenset({"analyst"}), "modifier un périmètre"),
    "store_contracts": (frozenset({"analyst"}), "enregistrer les contrats ACI"),
    "review_submission": (frozenset({"analyst"}), "valider ou renvoyer un projet soumis"),
    "record_decision": (frozenset({"analyst", "committee"}), "enregistrer une décision"),
    "save_draft": (frozenset({"leader"}), "enregistrer un brouillon de territoire"),
    "submit_draft": (frozenset({"leader"}), "soumettre un territoire à l'ARS"),
    "grant": (frozenset(), "attribuer ou retirer des rôles"),
    "restore": (frozenset(), "restaurer une sauvegarde du registre"),
}


class AccessDeniedError(RegistryError):
    """The acting user may not do this (role or scope); nothing was written or shown."""


def default_actor() -> str:
    """The local user's name (the actor when nobody signed in)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "utilisateur local"


@dataclass(frozen=True)
class Actor:
    """The user acting: an identifier (OpenID Connect e-mail or subject, or a local name).

    ``local`` is the person at the machine when nobody signs in; see the module.
    """

    user_id: str
    name: str = ""
    local: bool = False

    @property
    def label(self) -> str:
        """How the user is named in the audit and on screen (at most 120 characters)."""
        return (self.name or self.user_id)[:120]


def local_actor(name: str | None = None) -> Actor:
    """The local user (command line, notebook, dashboard without sign-in)."""
    who = name or default_actor()
    return Actor(user_id=who, name=who, local=True)


def actor_of(actor: Actor | str | None) -> Actor:
    """An :class:`Actor`; a plain name is the local user of that name (the CLI's ``actor``)."""
    if isinstance(actor, Actor):
        return actor
    return local_actor(actor)


@dataclass(frozen=True)
class Target:
    """Where an action applies: a region and, inside it, a department (None: France)."""

    region: str | None = None
    department: str | None = None

    @property
    def label(self) -> str:
        """The target in French, for messages."""
        if self.department:
            return f"le département {self.department}"
        if self.region:
            return f"la région {self.region}"
        return "la France entière"


def target_of_scope(scope: Scope, referential: Referential | None = None) -> Target:
    """The target of a listing's scope (a department's region read from the referential)."""
    if scope.level == "region":
        return Target(region=scope.code)
    if scope.level == "department":
        region = None
        if referential is not None:
            rows = referential.units.loc[referential.units["department"] == scope.code, "region"]
            region = str(rows.iloc[0]) if len(rows) else None
        return Target(region=region, department=scope.code)
    return Target()


def target_of_codes(codes: Iterable[str], referential: Referential) -> Target:
    """The region and department holding most inhabitants of the units ``codes``."""
    codes = list(codes)
    region = main_zone(referential.units, codes, level="region")
    department = main_zone(referential.units, codes, level="department")
    return Target(region=region, department=department)


@dataclass(frozen=True)
class Grant:
    """A role granted to a user in a scope (France, a region or a department)."""

    user_id: str
    role: str
    scope: Scope

    def covers(self, target: Target) -> bool:
        """Whether the grant's scope holds ``target``."""
        if self.scope.level == "france":
            return True
        if self.scope.level == "region":
            return target.region == self.scope.code
        return target.department == self.scope.code

    def allows(self, action: str, target: Target) -> bool:
        """Whether this grant allows ``action`` on ``target``."""
        if self.role == "admin":
            return self.covers(target)
        roles, _ = ACTIONS[action]
        return self.role in roles and self.covers(target)


def _active_grants() -> sa.Select[Any]:
    return sa.select(
        GRANTS.c.user_id, GRANTS.c.role, GRANTS.c.scope_level, GRANTS.c.scope_code
    ).where(GRANTS.c.revoked_at.is_(None))


def read_grants(conn: Connection, user_id: str | None = None) -> list[Grant]:
    """The active grants (of one user when ``user_id`` is given)."""
    query = _active_grants()
    if user_id is not None:
        query = query.where(GRANTS.c.user_id == user_id)
    rows = conn.execute(query.order_by(GRANTS.c.id)).all()
    return [Grant(str(r[0]), str(r[1]), Scope(r[2], str(r[3]))) for r in rows]


def open_mode(conn: Connection) -> bool:
    """True while no administrator is granted: the local user has every right."""
    query = sa.select(sa.func.count()).where(
        GRANTS.c.revoked_at.is_(None), GRANTS.c.role == "admin"
    )
    return not conn.execute(query).scalar_one()


def may(conn: Connection, actor: Actor | str | None, action: str, target: Target) -> bool:
    """Whether ``actor`` may do ``action`` on ``target`` (no error raised)."""
    who = actor_of(actor)
    if action not in ACTIONS:
        raise RegistryError(f"Action inconnue : {action}.")
    if not who.user_id.strip():
        return False
    if who.local and open_mode(conn):
        return True
    return any(g.allows(action, target) for g in read_grants(conn, who.user_id))


def authorize(conn: Connection, actor: Actor | str | None, action: str, target: Target) -> Actor:
    """Check that ``actor`` may do ``action`` on ``target``; a French error if not.

    Called by every write of the registry's service layer inside its
    transaction, whatever the caller. Returns the actor.
    """
    who = actor_of(actor)
    if not who.user_id.strip():
        raise AccessDeniedError("Écriture refusée : aucun utilisateur n'est nommé.")
    if may(conn, who, action, target):
        return who
    _, what = ACTIONS[action]
    held = read_grants(conn, who.user_id)
    roles = ", ".join(f"{ROLES.get(g.role, g.role)} ({scope_label(g.scope)})" for g in held)
    raise AccessDeniedError(
        f"Action refusée : {who.label} ne peut pas {what} pour {target.label}. "
        + (f"Ses rôles : {roles}." if roles else "Aucun rôle ne lui est attribué.")
        + " Rien n'a été écrit ; un administrateur peut attribuer le rôle nécessaire."
    )


def scope_label(scope: Scope) -> str:
    """A scope in French: "France", "région 93", "département 13"."""
    if scope.level == "region":
        return f"région {scope.code}"
    if scope.level == "department":
        return f"département {scope.code}"
    return "France"


def is_open(registry: Registry) -> bool:
    """Whether the registry has no administrator yet (the local user has every right)."""
    with read(registry) as conn:
        return open_mode(conn)


def grants_of(registry: Registry, user_id: str | None = None) -> pd.DataFrame:
    """Active grants (of one user or all), with the role and scope in French.

    Columns: user_id, role, scope_level, scope_code, role_name, scope_name.
    """
    with read(registry) as conn:
        grants = read_grants(conn, user_id)
    return pd.DataFrame(
        [
            {
                "user_id": g.user_id,
                "role": g.role,
                "scope_level": g.scope.level,
                "scope_code": g.scope.code,
                "role_name": ROLES.get(g.role, g.role),
                "scope_name": scope_label(g.scope),
            }
            for g in grants
        ],
        columns=["user_id", "role", "scope_level", "scope_code", "role_name", "scope_name"],
    )


def now() -> dt.datetime:
    """The time of a write (UTC)."""
    return dt.datetime.now(dt.UTC)
