"""The printable fiche of a territory's profile, and the panel that saves and prints it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import pandas as pd
import streamlit as st

from diagnosis import Referential, export_perimeters_csv, perimeters_from_members
from diagnosis.analysis.checks import PerimeterDiagnosis
from diagnosis.core.numbers import plural
from diagnosis.core.textnorm import slug
from diagnosis.outputs.people import for_people
from ui import data, fmt, maps
from ui.fiche import fiche_html, svg_map
from ui.pdf import fiche_downloads
from ui.profile.care import indicators_for_people, not_loaded_line
from ui.profile.summary import epcis_for_people, margins_sentence

__all__ = ["claims_for_people", "exports_panel", "territory_fiche"]


def _sources(ref: Referential, diag: PerimeterDiagnosis, indicators: pd.DataFrame) -> list[str]:
    """Sources of the fiche: the referential, the rules, and the care files actually used."""
    used = indicators.loc[indicators["loaded"].astype(bool), "source"]
    return (
        [s.get("citation") or str(s.get("package")) for s in ref.manifest.get("sources", [])]
        + [str(diag.notes.get("size_classes")), str(diag.notes.get("minimum_population"))]
        + sorted(set(map(str, used)))
    )


def claims_for_people(claims: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The fiche's table of communes already claimed by a CPTS (none when there are none)."""
    if claims is None or claims.empty:
        return {}
    table = for_people(
        claims,
        columns=["name", "code", "population", "cpts"],
        labels={"name": "commune", "cpts": "déjà revendiquée par"},
    )
    return {"Communes déjà revendiquées par une CPTS des périmètres chargés": table}


def territory_fiche(
    ref: Referential,
    territory: Sequence[str],
    *,
    diag: PerimeterDiagnosis,
    funding: pd.DataFrame,
    indicators: pd.DataFrame,
    scopes: dict[str, str],
    name: str,
    frame: gpd.GeoDataFrame | None = None,
    remarks: Sequence[str] = (),
    claims: pd.DataFrame | None = None,
) -> str:
    """The printable fiche of a territory: map with legend, key figures, comparisons, sources.

    Only the care indicators whose layer is loaded are listed (with their
    sources); one note names what was not loaded. ``frame`` holds the display
    geometries of the territory (looked up when not given); ``remarks`` (sharing
    of cities, overflow of the view) are printed with the notes; ``claims``
    (communes already claimed by a CPTS: ``code``, ``name``, ``population``,
    ``cpts``) are listed in a table of their own.
    """
    row = diag.summary.iloc[0]
    if frame is None:
        frame = data.unit_display(tuple(territory))
    svg = svg_map([(frame, maps.TERRITORY_COLOR, "#1b4f72")])
    communes = ref.units.loc[list(territory), ["name", "population", "epci_name"]].reset_index()
    return fiche_html(
        title=f"Fiche diagnostic : {name}",
        key_figures={
            plural(row["population"], "habitant", "habitants"): fmt.number(row["population"]),
            plural(row["n_units"], "commune", "communes"): fmt.number(row["n_units"]),
            "taille ACI": str(row["size_label"]),
            "financement annuel maximal": fmt.euros(funding.iloc[-1]["total_eur"]),
            plural(row["n_parts"], "partie", "parties"): fmt.number(row["n_parts"]),
        },
        map_svg=svg,
        legend=[(maps.TERRITORY_COLOR, f"Communes du territoire « {name} »")],
        tables={
            "Communes": for_people(communes, labels={"name": "commune"}),
            "Financement ACI": pd.DataFrame(
                {
                    "ligne": funding["label"],
                    "montant annuel maximal": funding["total_eur"].map(fmt.euros),
                }
            ),
            "Offre et accès aux soins, comparée au département, à la région et à la France": (
                indicators_for_people(indicators, scopes)
            ),
            "EPCI du territoire": epcis_for_people(diag),
            **claims_for_people(claims),
        },
        sources=_sources(ref, diag, indicators),
        notes=[
            f"{row['population_label']}",
            margins_sentence(row),
            *remarks,
            not_loaded_line(indicators),
            "Contours simplifiés pour l'affichage.",
        ],
    )


def exports_panel(
    ref: Referential,
    territory: Sequence[str],
    *,
    fiche: Callable[[], str],
    name: str,
    key: str,
    saving: bool,
) -> None:
    """Buttons to save the territory (CSV, when ``saving``) and to print its fiche (HTML, PDF)."""
    st.markdown("#### Enregistrer et imprimer")
    c1, c2 = st.columns(2)
    if saving:
        saved = perimeters_from_members(
            {"mon-territoire": list(territory)}, names={"mon-territoire": name}
        )
        c1.download_button(
            "Enregistrer le territoire (CSV)",
            lambda: export_perimeters_csv(saved, referential=ref),
            file_name=f"{slug(name) or 'mon_territoire'}.csv",
            mime="text/csv",
            key=f"{key}_save",
            on_click="ignore",
        )
    with c2:
        # Built when a button is clicked, not on every run of the page.
        fiche_downloads(
            fiche,
            file_stem=f"fiche_{slug(name) or 'territoire'}",
            key=f"{key}_fiche",
            html_label="Fiche diagnostic imprimable (HTML)",
            pdf_label="Fiche diagnostic (PDF)",
        )
