"""The care maps of a territory's profile: GP APL of its communes, FINESS points of care."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import folium
import geopandas as gpd
import streamlit as st

from coverage import CareData, FinessTable, finess_categories
from ui import care_panels, data, fmt, maps
from ui.safe import md_text

__all__ = ["apl_map_panel", "care_points_figure", "care_points_map_panel"]

#: Marker colour of each FINESS category key (keys of ``data/rules/finess.toml``).
CARE_POINT_COLORS = {
    "msp": "#1b9e77",
    "centre_sante": "#7570b3",
    "pharmacie": "#66a61e",
    "hopital": "#d95f02",
}


def apl_map_panel(territory: Sequence[str], care: CareData, *, key: str) -> None:
    """The territory's communes coloured by their GP APL, the 2.5 threshold in the legend."""
    gp = care_panels.gp_apl(care.apl_by_profession().get(care_panels.GP_KEY))
    if gp is None:
        return
    frame = data.unit_display(tuple(territory))
    layer = care_panels.apl_layer(frame, gp)
    spec = maps.MapSpec(
        bounds=maps.bounds_of(frame),
        layers=(dataclasses.replace(layer, show=True),),
        legend_title="APL aux médecins généralistes",
        legend=care_panels.apl_legend_entries(gp),
        layer_control=False,
    )
    with st.expander("Carte de l'APL aux médecins généralistes des communes du territoire"):
        data.show_map(
            f"apl-{key}-{hash(tuple(territory))}", lambda: spec, tiles=False, height_px=420
        )


def _points_layer(points: gpd.GeoDataFrame, color: str) -> folium.GeoJson:
    return folium.GeoJson(
        maps.geojson_collection(points, properties=["name", "category_label"]),
        marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda _f, c=color: {"color": "#222222", "fillColor": c},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "category_label"],
            aliases=["Établissement", "Catégorie"],
            localize=False,
        ),
    )


def care_points_figure(territory: Sequence[str], finess: FinessTable) -> folium.Map:
    """The territory's communes (outlines) and its FINESS points of care, by category."""
    frame = data.unit_display(tuple(territory))
    points = finess.points
    points = points[points["code"].isin(territory) & points["lon"].notna()]
    communes = maps.MapLayer(
        name="Communes du territoire",
        frame=maps.with_population_fr(frame),
        color="#555555",
        style="outline",
        tooltip=maps.COMMUNE_TOOLTIP,
        control=False,
    )
    labels = {c["key"]: c["label"] for c in finess_categories()}
    entries = [
        maps.LegendEntry(CARE_POINT_COLORS.get(k, "#333333"), label) for k, label in labels.items()
    ]
    spec = maps.MapSpec(
        bounds=maps.bounds_of(frame),
        layers=(communes,),
        legend_title="Points de soins (FINESS)",
        legend=tuple(entries),
        legend_note=f"{fmt.number(len(points))} établissement(s) géolocalisé(s) ; {finess.source}",
        layer_control=False,
    )
    fmap = maps.build_map(spec, tiles=False, height_px=410)
    for cat_key, group in points.groupby("category_key"):
        gdf = gpd.GeoDataFrame(
            group[["name", "category_label"]],
            geometry=gpd.points_from_xy(group["lon"], group["lat"]),
            crs=4326,
        )
        _points_layer(gdf, CARE_POINT_COLORS.get(str(cat_key), "#333333")).add_to(fmap)
    return fmap


def care_points_map_panel(territory: Sequence[str], care: CareData, *, key: str) -> None:
    """Points of care of the territory (FINESS), when an extraction is loaded."""
    finess = care.finess
    if finess is None:
        return
    with st.expander("Carte des points de soins du territoire (FINESS)"):
        html = data.session_memo(
            "map-html",
            f"finess-{key}-{hash(tuple(territory))}-{id(finess)}",
            lambda: maps.map_html(care_points_figure(territory, finess)),
            keep=3,
        )
        st.iframe(html, height=420)
        not_used = "; ".join(
            f"{fmt.number(r.rows)} {md_text(r.detail)}" for r in finess.report.itertuples()
        )
        st.caption(
            f"{fmt.number(finess.rows_used)} établissement(s) retenu(s) en France sur "
            f"{fmt.number(finess.rows_read)} ligne(s) « structureet » lue(s)"
            + (f". Non retenus ou incomplets : {not_used}." if not_used else ".")
            + f" Source : {md_text(finess.source)}."
        )
