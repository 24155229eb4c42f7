"""Arbitrage: record the committee's decision in the registry.

The committee member chooses an option (a shared city's parts included when
shares are set), writes the reasons, and records: the decision is dated,
signed by the user, kept with the options on the table, and opens the new
versions of every perimeter concerned (:mod:`diagnosis.registry.decisions`).
It needs perimeters read from the registry (sidebar: "Registre à une date");
the library checks the user's role and that nobody changed the perimeters
since they were opened here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from diagnosis import AtlasError, Referential
from diagnosis.analysis.disputes import Dispute
from diagnosis.outputs.labels import dispute_option_label
from diagnosis.registry import (
    Actor,
    Registry,
    current_versions,
    decision_from_dispute,
    decisions_of,
    record_decision,
)
from diagnosis.registry.access import may, target_of_codes
from diagnosis.registry.database import read
from ui import data, fmt, identity, registry_work
from ui.safe import md_text
from ui.sidebar import Context

__all__ = ["recorded", "render", "show_done"]

DONE_KEY = "decision_done"
SEEN_KEY = "decision_seen_versions"
RESET_KEY = "decision_reset"


def recorded(ctx: Context, dispute: Dispute) -> pd.DataFrame | None:
    """The decisions recorded for all these parties (people's table), when read from the registry."""
    if not ctx.import_key.startswith(data.REGISTRY_KEY_PREFIX):
        return None
    registry = data.registry_or_none()
    if registry is None:
        return None
    ids = {str(i) for i in dispute.parties["perimeter_id"]}
    decisions = decisions_of(registry)
    mine = decisions[[ids <= set(p) for p in decisions["parties"]]]
    return registry_work.decisions_for_people(mine) if not mine.empty else None


def _option_labels(dispute: Dispute) -> dict[str, str]:
    n = len(dispute.parties)
    rows = dispute.options.drop_duplicates("option")
    return {
        str(o): dispute_option_label(
            str(k), p if isinstance(p, str) else None, n_parties=n, short=False
        )
        for o, k, p in zip(rows["option"], rows["option_kind"], rows["option_party"], strict=True)
    }


def show_done() -> None:
    """The decision just recorded, at the top of Arbitrage.

    Not under the form: the decision opens the new versions of the perimeters,
    so the registry's state on the sidebar's date may no longer hold that
    dispute, and the page then draws another one (or none).
    """
    done = st.session_state.pop(DONE_KEY, None)
    if done:
        st.success(md_text(done))


def render(ref: Referential, ctx: Context, dispute: Dispute) -> None:
    """The decision form under the options of a dispute."""
    st.markdown("#### Décision du comité")
    if not ctx.import_key.startswith(data.REGISTRY_KEY_PREFIX):
        st.caption(
            "Pour enregistrer la décision, lisez les périmètres depuis le registre (barre "
            "latérale : « Registre à une date ») : elle créera alors leurs nouvelles versions."
        )
        return
    registry = data.registry_or_none()
    if registry is None:
        st.caption("Registre inaccessible : la décision ne peut être enregistrée.")
        return
    actor = identity.current_actor()
    ids = [str(i) for i in dispute.parties["perimeter_id"]]
    codes = [str(c) for c in dispute.claims["code"]]
    with read(registry) as conn:
        allowed = may(conn, actor, "record_decision", target_of_codes(codes, ref))
    if not allowed:
        st.caption(
            "Votre rôle ne permet pas d'enregistrer une décision pour cette région (membre du "
            "comité régional ou analyste de l'ARS)."
        )
        return
    seen_key = f"{SEEN_KEY}:{'|'.join(sorted(ids))}"
    try:
        # The versions the committee is looking at, kept from the first view of this dispute.
        seen = st.session_state.setdefault(seen_key, current_versions(registry, ids))
    except AtlasError as exc:
        st.caption(f"Ces périmètres ne sont plus ouverts dans le registre : {md_text(str(exc))}")
        return
    _form(ref, dispute, registry=registry, actor=actor, seen=seen, seen_key=seen_key)


def _form(
    ref: Referential,
    dispute: Dispute,
    *,
    registry: Registry,
    actor: Actor,
    seen: dict[str, int],
    seen_key: str,
) -> None:
    labels = _option_labels(dispute)
    if st.session_state.pop(RESET_KEY, False):
        # After a decision the form starts empty: the page may draw another dispute next,
        # where the same letters name other projects. (Set before the widgets are drawn.)
        st.session_state["decision_option"] = next(iter(labels))
        st.session_state["decision_reasons"] = ""
    option = st.selectbox(
        "Option retenue",
        options=list(labels),
        format_func=labels.__getitem__,
        key="decision_option",
    )
    reasons = st.text_area("Motifs de la décision", key="decision_reasons")
    day = st.date_input(
        "Date d'effet", value=dt.date.today(), format="DD/MM/YYYY", key="decision_day"
    )
    if not st.button("Enregistrer la décision", type="primary", key="decision_record"):
        return
    effective = day if isinstance(day, dt.date) else dt.date.today()
    try:
        decision = decision_from_dispute(dispute, str(option), reasons=reasons)
        decision_id = record_decision(
            registry,
            actor,
            decision,
            effective_on=effective,
            expected_versions=seen,
            referential=ref,
        )
    except AtlasError as exc:
        st.error(str(exc))
        return
    st.session_state.pop(seen_key, None)
    st.session_state[RESET_KEY] = True
    parties = ", ".join(
        f"{p} : {n}" for p, n in zip(dispute.parties["party"], dispute.parties["name"], strict=True)
    )
    st.session_state[DONE_KEY] = (
        f"Décision n° {decision_id} enregistrée ({labels[str(option)]} ; {parties}) : les "
        "nouvelles versions des périmètres sont dans le registre à partir du "
        f"{fmt.date(effective)} ; la décision figure dans Suivi."
    )
    st.rerun()
