"""Atlas CPTS dashboard (Streamlit): the three workflows, as a thin layout over the library.

Run with ``make run`` (or ``streamlit run app.py`` once the data is built).
"""

from __future__ import annotations

import streamlit as st

from diagnosis import ReferentialMissingError
from ui import (
    coverage_tab,
    data,
    dispute_tab,
    drafts_panel,
    identity,
    maps,
    sidebar,
    suivi_tab,
    territory_tab,
    widgets_fr,
)

st.set_page_config(page_title="Atlas CPTS", page_icon="🗺️", layout="wide")

WORKFLOWS = {
    "couverture": "Couverture (ARS, CPAM)",
    "territoire": "Mon territoire (CPTS)",
    "arbitrage": "Arbitrage (comité régional)",
    "suivi": "Suivi (ARS, CPAM)",
}


def main() -> None:
    """Lay out the dashboard: sidebar, then one tab per workflow."""
    widgets_fr.apply()
    st.title("Atlas CPTS")
    st.caption(
        "Territoires des communautés professionnelles territoriales de santé : taille, couverture, "
        "zones blanches, chevauchements, offre et accès aux soins."
    )
    try:
        ref = data.national()
    except ReferentialMissingError as exc:
        st.error(str(exc))
        st.stop()
    if ref.population_outdated:
        st.warning(f"Attention : {ref.population_label}.")
    if not maps.leaflet_assets_available():
        st.warning(
            "Leaflet n'a pas été copié par la construction des données (npm absent) : "
            "les cartes ont besoin d'internet."
        )
    identity.render_identity(data.registry_or_none())
    ctx = sidebar.render(ref)
    if "workflow" not in st.session_state and st.query_params.get(drafts_panel.QUERY_PARAM):
        # A draft's link (?brouillon=N) opens on Mon territoire, where the draft is loaded.
        st.session_state["workflow"] = "territoire"
    # Only the chosen workflow is computed and drawn (maps in hidden tabs draw badly).
    workflow = st.radio(
        "Parcours",
        options=list(WORKFLOWS),
        format_func=lambda k: WORKFLOWS[k],
        horizontal=True,
        key="workflow",
        label_visibility="collapsed",
    )
    if workflow == "couverture":
        coverage_tab.render(ref, ctx)
    elif workflow == "territoire":
        territory_tab.render(ref, ctx)
    elif workflow == "suivi":
        suivi_tab.render(ref, ctx)
    else:
        dispute_tab.render(ref, ctx)


main()
