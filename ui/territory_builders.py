"""How a CPTS leader builds a territory in "Mon territoire": search, EPCIs, example, saved file.

The builders: search by name or code, whole EPCIs, removal, the example, a
saved territory.

The territory is the list of unit codes kept in ``st.session_state[STATE]``;
every builder changes it through :func:`set_territory`. The searches are
referential operations (:func:`diagnosis.core.referential.search_units`,
:func:`~diagnosis.core.referential.epci_names`,
:func:`~diagnosis.core.referential.epci_members`): the builders only lay them out.
"""

from __future__ import annotations

import streamlit as st

from diagnosis import Referential
from diagnosis.core.referential import epci_members, epci_names, search_units
from ui import data
from ui.safe import md_text

__all__ = ["FIT", "STATE", "builders", "set_territory", "territory"]

STATE = "territory_codes"
#: Set when communes were added by a builder: the map is fitted to the territory once.
FIT = "territory_fit"
#: Formats of a saved territory (the perimeter importer reads them all).
TERRITORY_TYPES = ["csv", "txt", "xlsx", "xls", "ods", "geojson", "json", "gpkg", "zip"]


def territory() -> list[str]:
    """The codes of the territory being built (a copy)."""
    return list(st.session_state.setdefault(STATE, []))


def set_territory(codes: list[str], *, name: str | None = None, fit: bool = True) -> None:
    """Replace the territory's communes (and its name, when a loaded file gives one).

    When communes are added and ``fit`` (a builder, not a click on the map,
    whose commune is already in view), the map is fitted to the territory.
    """
    before = set(territory())
    st.session_state[STATE] = list(dict.fromkeys(codes))
    if fit and not set(codes) <= before:
        st.session_state[FIT] = True
    if name and name.strip():
        # Set before the name field is drawn in this run (the builders come first).
        st.session_state["territory_name"] = name.strip()[:120]
        st.session_state["territory_name_value"] = name.strip()[:120]


def builders(ref: Referential, scope: Referential) -> None:
    """Every way of building the territory, above the map.

    ``ref`` is the national referential, ``scope`` the one of the study scope
    (communes are searched in it; a whole EPCI is taken whole).
    """
    codes = territory()
    c1, c2 = st.columns(2)
    with c1:
        _search_builder(codes, scope)
    with c2:
        _epci_builder(ref, codes, scope)
    c3, c4, c5 = st.columns(3)
    with c3:
        _remove_builder(ref, codes)
    with c4:
        _example_builder(codes)
    with c5:
        _saved_builder()


def _search_builder(codes: list[str], scope: Referential) -> None:
    query = st.text_input(
        "Rechercher une commune (nom ou code INSEE)", key="territory_search", persist_state="page"
    )
    if not query.strip():
        return
    matches = search_units(scope, query)
    if matches.empty:
        st.caption("Aucune commune trouvée dans le périmètre d'étude.")
        return
    names = scope.units["name"]
    choice = st.selectbox(
        "Résultats",
        list(matches),
        format_func=lambda c: f"{names[c]} ({c})",
        key="territory_search_choice",
        persist_state="page",
    )
    if st.button("Ajouter la commune", key="territory_add_commune"):
        set_territory([*codes, choice])
        st.rerun()


def _epci_builder(ref: Referential, codes: list[str], scope: Referential) -> None:
    epcis = epci_names(scope)
    if not len(epcis):
        return
    epci = st.selectbox(
        "Ajouter un EPCI entier",
        list(epcis.index),
        index=None,
        placeholder="Choisir un EPCI",
        format_func=lambda e: str(epcis[e]),
        key="territory_epci",
    )
    if epci is not None and st.button("Ajouter toutes ses communes", key="territory_add_epci"):
        set_territory([*codes, *epci_members(ref, epci)])
        st.rerun()


def _remove_builder(ref: Referential, codes: list[str]) -> None:
    if not codes:
        return
    names = ref.units["name"]
    remove = st.multiselect(
        "Retirer des communes",
        codes,
        format_func=lambda c: f"{names[c]} ({c})" if c in names.index else c,
        key="territory_remove",
        placeholder="Choisir des communes",
        select_all=False,
    )
    if remove and st.button("Retirer", key="territory_remove_button"):
        set_territory([c for c in codes if c not in remove])
        st.rerun()


def _example_builder(codes: list[str]) -> None:
    if st.button("Charger l'exemple fictif (Alpilles)", key="territory_example"):
        blob, name = data.example_bytes("territoire")
        outcome = data.import_file(blob, name, region=None, department=None)
        if outcome.result is not None:
            first = outcome.result.perimeters.iloc[0]
            set_territory(list(first["unit_codes"]), name="Exemple fictif (Alpilles)")
            st.rerun()
    if codes and st.button("Vider le territoire", key="territory_clear"):
        set_territory([])
        st.rerun()


def _saved_builder() -> None:
    upload = st.file_uploader(
        "Charger un territoire enregistré (ou une liste de communes)",
        type=TERRITORY_TYPES,
        key="territory_upload",
    )
    if upload is None:
        return
    outcome = data.import_file(upload.getvalue(), upload.name, region=None, department=None)
    if outcome.error or outcome.result is None:
        st.error(f"Territoire non chargé : {md_text(outcome.error)}")
        return
    result = outcome.result
    names = result.perimeters["name"].tolist()
    pick = (
        st.selectbox("Périmètre du fichier", names, key="territory_upload_pick")
        if len(names) > 1
        else names[0]
    )
    st.caption(md_text(result.summary_fr()))
    if st.button("Utiliser ce territoire", key="territory_upload_use"):
        row = result.perimeters[result.perimeters["name"] == pick].iloc[0]
        # The file's name for it, when it has a column of names (a saved territory).
        named = "perimeter" in result.source.get("columns", {})
        set_territory(list(row["unit_codes"]), name=str(row["name"]) if named else None)
        st.rerun()
