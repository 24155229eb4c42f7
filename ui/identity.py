"""Who is using the dashboard: the signed-in user (OpenID Connect) or the local user.

Sign-in is Streamlit's own ``st.login`` configured in ``.streamlit/secrets.toml``
(an ``[auth]`` section, see the README's server deployment). Without it (the
embedded default of ``make run``) the person at the machine is the local user,
who has every right while the registry has no administrator. What a user may
do is checked by the library (:mod:`diagnosis.registry.access`), not here:
this module only names the user and draws the sign-in box.
"""

from __future__ import annotations

import streamlit as st

from diagnosis import AtlasError
from diagnosis.registry import Actor, Registry, grants_of, is_open, local_actor
from ui.safe import md_text

__all__ = ["current_actor", "render_identity", "sign_in_configured"]

#: The actor of a visitor who did not sign in on a server with sign-in: no grant, reads only.
VISITOR = Actor(user_id="visiteur-non-connecte", name="visiteur non connecté", local=False)


def sign_in_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` configures OpenID Connect sign-in (``[auth]``)."""
    try:
        return bool(st.secrets.load_if_toml_exists()) and "auth" in st.secrets
    except (FileNotFoundError, KeyError, AttributeError):
        return False


def current_actor() -> Actor:
    """The user acting in this session (signed in, visitor, or the local user)."""
    if not sign_in_configured():
        return local_actor()
    if not st.user.is_logged_in:
        return VISITOR
    email = st.user.get("email")
    subject = st.user.get("sub")
    user_id = str(email or subject or "")
    name = str(st.user.get("name") or user_id)
    return Actor(user_id=user_id, name=name, local=False)


def _roles_line(registry: Registry, actor: Actor) -> str:
    grants = grants_of(registry, actor.user_id)
    if grants.empty:
        return "aucun rôle attribué (lecture seule)"
    return ", ".join(
        f"{role} ({where})"
        for role, where in zip(grants["role_name"], grants["scope_name"], strict=True)
    )


def render_identity(registry: Registry | None) -> Actor:
    """Draw who is signed in (and the sign-in or sign-out button) in the sidebar."""
    actor = current_actor()
    box = st.sidebar.container(border=True)
    if sign_in_configured():
        if actor is VISITOR:
            box.caption("Non connecté : lecture des vues sur fichier seulement.")
            if box.button("Se connecter", key="identity_login"):
                st.login()
            return actor
        box.caption(f"Connecté : **{md_text(actor.label)}**")
        if box.button("Se déconnecter", key="identity_logout"):
            st.logout()
    else:
        box.caption(f"Utilisateur local : **{md_text(actor.label)}** (aucune connexion configurée)")
    if registry is None:
        return actor
    try:
        if actor.local and is_open(registry):
            box.caption("Registre sans administrateur : l'utilisateur local a tous les droits.")
        else:
            box.caption("Rôles : " + md_text(_roles_line(registry, actor)))
    except AtlasError as exc:
        box.caption(f"Registre indisponible : {md_text(str(exc))}")
    return actor
