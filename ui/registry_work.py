"""The shared work of the registry in Suivi: submitted projects, decisions, users and roles.

Layout and wording only: who may see and do what is checked by the library
(:mod:`diagnosis.registry.access`), which refuses in French; this page shows
those messages and hides what the user may not use.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from diagnosis import AtlasError, Referential, status_name
from diagnosis.core.numbers import fr_count, fr_number
from diagnosis.outputs.labels import dispute_option_label
from diagnosis.registry import (
    ROLES,
    Actor,
    DraftReview,
    Registry,
    decisions_of,
    grant_role,
    grants_of,
    list_drafts,
    review_of,
    review_submission,
    revoke_role,
)
from diagnosis.registry.access import Target, may
from diagnosis.registry.database import read
from diagnosis.registry.model import Scope
from ui.safe import md_text

__all__ = [
    "decision_remarks",
    "decisions_for_people",
    "option_name",
    "render_admin",
    "render_decisions",
    "render_submissions",
    "show_done",
]

DONE_KEY = "registry_work_done"


def show_done() -> None:
    """The message of the last write of these panels (kept across the rerun)."""
    done = st.session_state.pop(DONE_KEY, None)
    if done:
        st.success(done)


def _names(ref: Referential, codes: list[str]) -> str:
    units = ref.units
    return ", ".join(f"{units.loc[c, 'name']} ({c})" if c in units.index else c for c in codes)


def render_submissions(registry: Registry, ref: Referential, actor: Actor) -> None:
    """Projects submitted to the ARS of the user's scope: review, accept or return."""
    drafts = list_drafts(registry, actor)
    submitted = drafts[drafts["state"] == "submitted"]
    if drafts.empty:
        return
    st.markdown("#### Projets de territoire soumis")
    shown = drafts.rename(
        columns={
            "id": "N°",
            "name": "Territoire",
            "owner": "Porteur",
            "state_name": "État",
            "n_communes": "Communes",
            "comment": "Commentaire de l'ARS",
            "perimeter_id": "Périmètre créé",
        }
    )
    st.dataframe(
        shown[["N°", "Territoire", "Porteur", "État", "Communes", "Commentaire de l'ARS",
               "Périmètre créé"]].fillna(""),
        hide_index=True,
        width="stretch",
        key="registry_work_drafts",
    )  # fmt: skip
    if submitted.empty:
        st.caption("Aucun projet en attente de réponse.")
        return
    labels = dict(zip(submitted["id"], submitted["name"], strict=True))
    chosen = st.selectbox(
        "Projet à examiner",
        options=list(labels),
        format_func=lambda i: f"n° {i} : {labels[i]}",
        key="registry_work_review_id",
    )
    try:
        review = review_of(registry, actor, int(chosen), referential=ref)
    except AtlasError as exc:
        st.error(str(exc))
        return
    _review(registry, ref, actor, review)


def _review(registry: Registry, ref: Referential, actor: Actor, review: DraftReview) -> None:
    draft = review.draft
    below = review.population < review.minimum
    st.markdown(
        f"**{md_text(draft.name)}** (porteur : {md_text(draft.owner)}) : "
        f"{fr_count(len(draft.codes), 'commune', 'communes')}, "
        f"{fr_number(review.population)} habitants, Taille {review.size_class}"
        + (f", sous le seuil de {fr_number(review.minimum)} habitants." if below else ".")
    )
    st.caption("Communes : " + md_text(_names(ref, list(draft.codes))))
    if review.overlaps.empty:
        st.caption(f"Aucune CPTS du registre ne couvre ces communes au {review.day:%d/%m/%Y}.")
    else:
        table = pd.DataFrame(
            {
                "CPTS du registre": review.overlaps["name"],
                "Stade": [status_name(s) if isinstance(s, str) else "" for s in
                          review.overlaps["status"]],
                "Communes en commun": [_names(ref, c) for c in review.overlaps["shared_codes"]],
                "Habitants en commun": [fr_number(p) for p in
                                        review.overlaps["shared_population"]],
            }
        )  # fmt: skip
        st.markdown(f"Chevauchements avec le registre au {review.day:%d/%m/%Y} :")
        st.dataframe(table, hide_index=True, width="stretch", key="registry_work_overlaps")
    with read(registry) as conn:
        allowed = may(conn, actor, "review_submission", draft.target)
    if not allowed:
        st.caption("Votre rôle ne permet pas de répondre à ce projet.")
        return
    left, right = st.columns(2)
    day = left.date_input(
        "Date de validation de la lettre d'intention",
        value=dt.date.today(),
        format="DD/MM/YYYY",
        key="registry_work_day",
    )
    comment = right.text_area("Commentaire au porteur", key="registry_work_comment")
    accept = left.button("Accepter le projet", type="primary", key="registry_work_accept")
    send_back = right.button("Renvoyer au porteur", key="registry_work_return")
    if not (accept or send_back):
        return
    try:
        answered = review_submission(
            registry,
            actor,
            draft.id,
            accept=accept,
            comment=comment,
            as_of=day if isinstance(day, dt.date) else None,
            referential=ref,
        )
    except AtlasError as exc:
        st.error(str(exc))
        return
    st.session_state[DONE_KEY] = (
        f"Projet « {answered.name} » accepté : nouveau périmètre {answered.perimeter_id} "
        "au stade lettre d'intention."
        if accept
        else f"Projet « {answered.name} » renvoyé au porteur avec votre commentaire."
    )
    st.rerun()


_TOUT = re.compile(r"^tout_([a-z])$")


def option_name(option: str, n_parties: int) -> str:
    """The French name of a recorded option (``tout_b``, ``reunir``, ``modification``…)."""
    if option == "modification":
        return "modification du périmètre"
    found = _TOUT.match(option)
    if found:
        return dispute_option_label("tout", found[1].upper(), n_parties=n_parties)
    return dispute_option_label(option, None, n_parties=n_parties)


def decisions_for_people(decisions: pd.DataFrame) -> pd.DataFrame:
    """Recorded decisions (:func:`diagnosis.registry.decisions_of`) as people read them."""
    return pd.DataFrame(
        {
            "N°": decisions["decision_id"],
            "Date d'effet": [d.strftime("%d/%m/%Y") for d in decisions["effective_on"]],
            "Décision": decisions["title"],
            "Option retenue": [
                option_name(str(o), len(p))
                for o, p in zip(decisions["option"], decisions["parties"], strict=True)
            ],
            "Périmètres concernés": [", ".join(p) for p in decisions["parties"]],
            "Motifs": decisions["reasons"],
            "Signée par": decisions["decided_by"],
            "Enregistrée le": [
                d.strftime("%d/%m/%Y %H:%M") for d in pd.to_datetime(decisions["decided_at"])
            ],
        }
    )


def decision_remarks(registry: Registry | None, perimeter_id: str) -> list[str]:
    """One line per decision that shaped a perimeter (its fiche), oldest first."""
    if registry is None:
        return []
    decisions = decisions_of(registry, perimeter_id=perimeter_id)
    people = decisions_for_people(decisions)
    return [
        f"Décision n° {number} du {day}, signée par {who} : {option}. Motifs : {reasons}"
        for number, day, who, option, reasons in zip(
            people["N°"],
            people["Date d'effet"],
            people["Signée par"],
            people["Option retenue"],
            people["Motifs"],
            strict=True,
        )
    ]


def render_decisions(registry: Registry, region: str | None) -> None:
    """The decisions recorded (of the view's region), newest first."""
    decisions = decisions_of(registry, region=region)
    if decisions.empty:
        return
    st.markdown("#### Décisions enregistrées")
    table = decisions_for_people(decisions).iloc[::-1]
    st.dataframe(table, hide_index=True, width="stretch", key="registry_work_decisions")


def _scope_options(ref: Referential) -> dict[str, str]:
    options = {"FR": "France entière"}
    for row in ref.regions.sort_values("region").itertuples(index=False):
        options[f"REG-{row.region}"] = f"Région {row.region_name} ({row.region})"
    for row in ref.departments.sort_values("department").itertuples(index=False):
        options[f"DEP-{row.department}"] = f"Département {row.department_name} ({row.department})"
    return options


def _scope_args(key: str) -> dict[str, str | None]:
    if key.startswith("REG-"):
        return {"region": key[4:], "department": None}
    if key.startswith("DEP-"):
        return {"region": None, "department": key[4:]}
    return {"region": None, "department": None}


def render_admin(registry: Registry, ref: Referential, actor: Actor) -> None:
    """Users and roles: shown to administrators (and to the local user of an open registry)."""
    with read(registry) as conn:
        if not may(conn, actor, "grant", Target()):
            return
    st.markdown("#### Utilisateurs et rôles")
    grants = grants_of(registry)
    if grants.empty:
        st.caption(
            "Aucun rôle attribué : le registre est ouvert (l'utilisateur local a tous les "
            "droits). Attribuez d'abord le rôle d'administrateur à la personne qui gérera les "
            "accès : ensuite, chacun agit selon ses rôles."
        )
    else:
        scopes = _scope_options(ref)
        shown = pd.DataFrame(
            {
                "Utilisateur": grants["user_id"],
                "Rôle": grants["role_name"],
                "Champ": [
                    scopes.get(Scope(lvl, c).key, c)
                    for lvl, c in zip(grants["scope_level"], grants["scope_code"], strict=True)
                ],
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch", key="registry_work_grants")
    user = st.text_input("Utilisateur (e-mail de connexion)", key="registry_work_user")
    left, right = st.columns(2)
    role = left.selectbox(
        "Rôle", options=list(ROLES), format_func=ROLES.__getitem__, key="registry_work_role"
    )
    options = _scope_options(ref)
    scope = right.selectbox(
        "Champ", options=list(options), format_func=options.__getitem__, key="registry_work_scope"
    )
    give = left.button("Attribuer le rôle", key="registry_work_grant")
    take = right.button("Retirer le rôle", key="registry_work_revoke")
    if not (give or take):
        return
    try:
        if give:
            done = grant_role(registry, actor, user, role, **_scope_args(scope))
            message = f"Rôle attribué à {user}." if done else f"{user} a déjà ce rôle."
        else:
            n = revoke_role(registry, actor, user, role, **_scope_args(scope))
            message = f"{fr_count(n, 'rôle retiré', 'rôles retirés')} à {user}."
    except AtlasError as exc:
        st.error(str(exc))
        return
    st.session_state[DONE_KEY] = message
    st.rerun()
