"""The diagnosis panels of a territory's profile: key figures, floor, shape, EPCIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from diagnosis.analysis.checks import PerimeterDiagnosis
from diagnosis.core.numbers import fr_count
from diagnosis.outputs.people import for_people
from ui import fmt
from ui.safe import md_text

__all__ = [
    "epci_table_panel",
    "epcis_cut_panel",
    "epcis_for_people",
    "floor_panel",
    "key_figures_panel",
    "margins_sentence",
    "shape_panel",
]


def margins_sentence(row: pd.Series) -> str:
    """The margins to the neighbouring size classes, in one French sentence."""
    margins = []
    if not np.isnan(row["margin_above"]):
        margins.append(
            f"{fmt.number(row['margin_above'])} habitants de plus pour passer à la taille "
            f"{row['size_class'] + 1}"
        )
    if not np.isnan(row["margin_below"]):
        margins.append(
            f"{fmt.number(row['margin_below'])} habitants de marge avant de redescendre en "
            f"taille {row['size_class'] - 1}"
        )
    return (" ; ".join(margins) + ".") if margins else ""


def epcis_for_people(diag: PerimeterDiagnosis) -> pd.DataFrame:
    """The territory's EPCIs for people (on screen and in the fiche)."""
    return for_people(
        diag.epcis,
        columns=["epci_name", "epci_population", "population_included", "share_included", "cut"],
    )


def key_figures_panel(row: pd.Series, *, name: str) -> None:
    """Title, inhabitants, communes, size class, area and the margins to the size bounds."""
    st.markdown(f"### Diagnostic instantané : {md_text(name)}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Habitants", fmt.number(row["population"]))
    c2.metric("Communes", fmt.number(row["n_units"]))
    c3.metric("Taille ACI", str(row["size_label"]))
    c4.metric("Superficie", f"{fmt.number(row['area_km2'])} km²")
    st.caption(
        f"{md_text(row['population_label'])} · densité "
        f"{fmt.number(row['density_per_km2'], 1)} hab./km²"
    )
    st.write(md_text(margins_sentence(row)))


def floor_panel(row: pd.Series, diag: PerimeterDiagnosis) -> None:
    """Whether the territory reaches the indicative minimum population, with its source."""
    floor_source = str(diag.notes.get("minimum_population", ""))
    if row["below_minimum"]:
        st.warning(
            f"Sous le seuil indicatif de {fmt.number(row['minimum_population'])} habitants "
            f"(il manque {fmt.number(row['missing_to_minimum'])} habitants). Règle souple, "
            f"non bloquante. Source : {md_text(floor_source)}."
        )
    else:
        st.success(
            f"Au-dessus du seuil indicatif de {fmt.number(row['minimum_population'])} habitants. "
            f"Source : {md_text(floor_source)}."
        )


def shape_panel(row: pd.Series, diag: PerimeterDiagnosis) -> None:
    """Separate parts and enclaves of the territory, when there are any."""
    if row["n_parts"] > 1:
        parts = fr_count(row["n_parts"], "partie séparée", "parties séparées")
        st.warning(f"Territoire discontinu : {parts}.")
    if row["n_enclaves"]:
        names = ", ".join(diag.enclaves["name"].astype(str))
        st.warning(f"Enclaves (communes entourées mais non incluses) : {md_text(names)}.")


def epcis_cut_panel(diag: PerimeterDiagnosis) -> None:
    """The EPCIs the territory cuts, with the share of their population included."""
    cut = diag.epcis[diag.epcis["cut"]]
    if len(cut):
        st.info(
            "EPCI coupés : "
            + "; ".join(
                f"{md_text(r.epci_name)} ({fmt.share(r.share_included, 0)} de la population incluse)"
                for r in cut.itertuples()
            )
        )


def epci_table_panel(diag: PerimeterDiagnosis) -> None:
    """The table of the territory's EPCIs."""
    st.markdown("#### EPCI du territoire")
    st.dataframe(epcis_for_people(diag), hide_index=True, width="stretch")
