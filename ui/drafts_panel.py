"""Mon territoire: save the territory as a private draft, open it again, submit it to the ARS.

The draft lives in the registry (:mod:`diagnosis.registry.drafts`): private to
its author until submitted, then seen by the ARS of its region, which accepts
or returns it with a comment shown here. The library checks who may do what;
a save from a stale copy (the same draft saved meanwhile in another tab or by
another session) is refused with what changed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from diagnosis import AtlasError, Referential
from diagnosis.core.numbers import fr_count
from diagnosis.registry import Registry, get_draft, list_drafts, save_draft, submit_draft
from diagnosis.registry.access import may, target_of_codes
from diagnosis.registry.database import read
from ui import data, identity
from ui.safe import md_text
from ui.territory_builders import set_territory

__all__ = ["apply_pending", "render"]

OPEN_KEY = "draft_open"  # {"id": int, "revision": int}
PENDING_KEY = "draft_to_open"
DONE_KEY = "draft_done"


#: URL parameter opening a draft (``?brouillon=12``): a link an author or their ARS can share.
QUERY_PARAM = "brouillon"


def _asked() -> int | None:
    """The draft asked for: by the "open" button on the previous run, or by the URL (once)."""
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending is not None:
        return int(pending)
    wanted = st.query_params.get(QUERY_PARAM)
    if wanted is None or st.session_state.get("draft_query_done") == wanted:
        return None
    st.session_state["draft_query_done"] = wanted
    try:
        return int(wanted)
    except ValueError:
        st.session_state[DONE_KEY] = ("error", f"Numéro de brouillon illisible : « {wanted} ».")
        return None


def apply_pending(registry: Registry | None = None) -> None:
    """Load the draft asked for (before the territory's widgets are drawn).

    Whoever asks, the library decides: a draft id typed in the URL opens only a
    draft the user may see (its author's, or a submission for its ARS).
    """
    pending = _asked()
    if pending is None:
        return
    registry = registry or data.registry_or_none()
    if registry is None:
        return
    try:
        draft = get_draft(registry, identity.current_actor(), int(pending))
    except AtlasError as exc:
        st.session_state[DONE_KEY] = ("error", str(exc))
        return
    set_territory(list(draft.codes), name=draft.name)
    st.session_state[OPEN_KEY] = {"id": draft.id, "revision": draft.revision}
    st.session_state[DONE_KEY] = (
        "success",
        f"Brouillon « {draft.name} » ouvert (version {draft.revision}, {draft.state_name}).",
    )


def _show_done() -> None:
    done = st.session_state.pop(DONE_KEY, None)
    if done:
        kind, message = done
        (st.success if kind == "success" else st.error)(md_text(message))


def _mine(registry: Registry, user_id: str) -> pd.DataFrame:
    drafts = list_drafts(registry, identity.current_actor())
    return drafts[drafts["owner"] == user_id]


def _save(registry: Registry, ref: Referential, codes: list[str], name: str, *, new: bool) -> None:
    opened = None if new else st.session_state.get(OPEN_KEY)
    try:
        draft = save_draft(
            registry,
            identity.current_actor(),
            name=name,
            codes=codes,
            draft_id=opened["id"] if opened else None,
            expected_revision=opened["revision"] if opened else None,
            referential=ref,
        )
    except AtlasError as exc:
        st.session_state[DONE_KEY] = ("error", str(exc))
        return
    st.session_state[OPEN_KEY] = {"id": draft.id, "revision": draft.revision}
    st.session_state[DONE_KEY] = (
        "success",
        f"Brouillon « {draft.name} » enregistré (n° {draft.id}, version {draft.revision}) : "
        "vous seul le voyez tant qu'il n'est pas soumis.",
    )


def _submit(registry: Registry) -> None:
    opened = st.session_state.get(OPEN_KEY)
    if not opened:
        return
    try:
        draft = submit_draft(
            registry,
            identity.current_actor(),
            opened["id"],
            expected_revision=opened["revision"],
        )
    except AtlasError as exc:
        st.session_state[DONE_KEY] = ("error", str(exc))
        return
    st.session_state[DONE_KEY] = (
        "success",
        f"« {draft.name} » soumis à l'ARS (région {draft.region}) : vous lirez ici sa réponse.",
    )


def _list(mine: pd.DataFrame) -> None:
    st.dataframe(
        pd.DataFrame(
            {
                "N°": mine["id"],
                "Territoire": mine["name"],
                "État": mine["state_name"],
                "Version": mine["revision"],
                "Communes": mine["n_communes"],
                "Réponse de l'ARS": mine["comment"].fillna(""),
                "Périmètre créé": mine["perimeter_id"].fillna(""),
            }
        ),
        hide_index=True,
        width="stretch",
        key="drafts_table",
    )
    labels = dict(zip(mine["id"], mine["name"], strict=True))
    chosen = st.selectbox(
        "Brouillon à ouvrir",
        options=list(labels),
        format_func=lambda i: f"n° {i} : {labels[i]}",
        key="drafts_choice",
    )
    if st.button("Ouvrir le brouillon", key="drafts_open_button"):
        st.session_state[PENDING_KEY] = int(chosen)
        st.rerun()


def render(ref: Referential, codes: list[str], name: str | None) -> None:
    """The drafts section of Mon territoire."""
    registry = data.registry_or_none()
    st.markdown("#### Brouillons et soumission à l'ARS")
    _show_done()
    if registry is None:
        st.caption("Registre inaccessible : les brouillons ne peuvent être enregistrés.")
        return
    actor = identity.current_actor()
    mine = _mine(registry, actor.user_id)
    if codes and name:
        with read(registry) as conn:
            allowed = may(conn, actor, "save_draft", target_of_codes(codes, ref))
        if not allowed:
            st.caption(
                "Votre rôle ne permet pas d'enregistrer un brouillon : il faut le rôle de "
                "porteur de CPTS, qu'un administrateur attribue."
            )
        else:
            _actions(registry, ref, codes, name, mine)
    if not mine.empty:
        st.caption(fr_count(len(mine), "brouillon", "brouillons") + " enregistré(s) à votre nom.")
        _list(mine)


def _actions(
    registry: Registry, ref: Referential, codes: list[str], name: str, mine: pd.DataFrame
) -> None:
    opened = st.session_state.get(OPEN_KEY)
    row = mine[mine["id"] == opened["id"]] if opened else mine.iloc[0:0]
    if opened and not row.empty:
        st.caption(
            f"Brouillon ouvert : n° {opened['id']} « {md_text(row['name'].iloc[0])} », version "
            f"{opened['revision']} ({md_text(row['state_name'].iloc[0])})."
        )
    editable = row.empty or row["state"].iloc[0] in ("draft", "returned")
    left, middle, right = st.columns(3)
    if left.button(
        "Enregistrer le brouillon", key="drafts_save", disabled=not editable, type="primary"
    ):
        _save(registry, ref, codes, name, new=row.empty)
        st.rerun()
    if middle.button("Enregistrer comme nouveau brouillon", key="drafts_save_new"):
        _save(registry, ref, codes, name, new=True)
        st.rerun()
    if right.button("Soumettre à l'ARS", key="drafts_submit", disabled=row.empty or not editable):
        _submit(registry)
        st.rerun()
