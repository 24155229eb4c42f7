"""Workflow "Arbitrage" (regional committee): two perimeters, contested communes, split options."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from diagnosis.disputes import Dispute, compare_perimeters
from diagnosis.export import excel_bytes
from diagnosis.referential import Referential
from ui import data, fmt, maps
from ui.fiche import fiche_html, svg_map
from ui.sidebar import Context

SIDE_COLORS = {"A": "#2c7bb6", "B": "#fdae61"}


def build_map(
    frames: dict[str, gpd.GeoDataFrame], names: dict[str, str], *, tiles: bool = False
) -> Any:
    """Map of A only, B only and contested communes (pure function)."""
    everything = gpd.GeoDataFrame(
        geometry=[g for f in frames.values() for g in f.geometry if g is not None], crs=4326
    )
    fmap = maps.base_map(maps.bounds_of(everything), tiles=tiles)
    maps.add_units_layer(
        fmap, frames["a"], name=names["A"], color=SIDE_COLORS["A"], fill_opacity=0.45
    )
    maps.add_units_layer(
        fmap, frames["b"], name=names["B"], color=SIDE_COLORS["B"], fill_opacity=0.45
    )
    maps.add_units_layer(
        fmap,
        frames["contested"],
        name="Communes disputées",
        color=maps.CONTESTED_COLOR,
        fill_opacity=0.8,
        weight=1.5,
        tooltip_fields=("name", "code", "population"),
        tooltip_aliases=("Commune disputée", "Code INSEE", "Habitants"),
    )
    maps.add_legend(
        fmap,
        "Arbitrage",
        [
            maps.LegendEntry(SIDE_COLORS["A"], f"A : {names['A']}"),
            maps.LegendEntry(SIDE_COLORS["B"], f"B : {names['B']}"),
            maps.LegendEntry(maps.CONTESTED_COLOR, "Revendiquée par les deux"),
        ],
    )
    maps.add_layer_control(fmap)
    return fmap


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Arbitrage" workflow."""
    st.subheader("Arbitrage entre deux projets")
    if ctx.imported is None:
        st.info("Importez un fichier de périmètres (barre latérale) pour comparer deux projets.")
        return
    diag = data.diagnosis_for(
        ctx.import_key,
        ctx.imported,
        region=ctx.region,
        department=ctx.department,
        status_min="emergence",
    )
    perimeters = diag.membership.perimeters
    if len(perimeters) < 2:
        st.info("Le fichier contient moins de deux périmètres dans le périmètre d'étude.")
        return
    names = dict(zip(perimeters["perimeter_id"], perimeters["name"], strict=True))
    ids = list(names)
    pairs = diag.overlap_pairs
    default_a, default_b = (
        (pairs.iloc[0]["perimeter_a"], pairs.iloc[0]["perimeter_b"])
        if len(pairs)
        else (ids[0], ids[1])
    )
    if len(pairs):
        st.caption(
            f"{len(pairs)} paire(s) de périmètres se chevauchent ; la plus peuplée est proposée."
        )
    else:
        st.caption("Aucun chevauchement dans ce fichier : choisissez deux périmètres à comparer.")
    c1, c2 = st.columns(2)
    a = str(
        c1.selectbox(
            "Projet A",
            ids,
            index=ids.index(default_a),
            format_func=lambda i: names[i],
            key="dispute_a",
        )
    )
    b_options = [i for i in ids if i != a]
    b_default = b_options.index(default_b) if default_b in b_options else 0
    b = str(
        c2.selectbox(
            "Projet B", b_options, index=b_default, format_func=lambda i: names[i], key="dispute_b"
        )
    )
    dispute = compare_perimeters(diag.membership, diag.referential, a, b)
    s = dispute.summary
    m1, m2, m3 = st.columns(3)
    m1.metric("Communes disputées", fmt.number(s["n_contested"]))
    m2.metric("Habitants en jeu", fmt.number(s["population_contested"]))
    m3.metric(
        "A / B sans les communes disputées",
        f"{fmt.number(s['population_a_without'])} / {fmt.number(s['population_b_without'])}",
    )
    index = diag.membership.index
    a_units = set(index.codes[diag.membership.units_of(ids.index(a))])
    b_units = set(index.codes[diag.membership.units_of(ids.index(b))])
    contested = a_units & b_units
    frames = {
        "a": data.unit_display(tuple(sorted(a_units - contested))),
        "b": data.unit_display(tuple(sorted(b_units - contested))),
        "contested": data.unit_display(tuple(sorted(contested))),
    }
    st_folium(
        build_map(frames, {"A": names[a], "B": names[b]}, tiles=ctx.tiles),
        height=520,
        use_container_width=True,
        returned_objects=[],
        key=f"dispute-map-{ctx.import_key}-{a}-{b}",
    )
    _tables(dispute)
    _exports(dispute, frames, names[a], names[b])


def _tables(dispute: Dispute) -> None:
    st.markdown("#### Options de partage")
    options = dispute.options.copy()
    options["funding_max_eur"] = options["funding_max_eur"].map(fmt.euros)
    options["below_minimum"] = options["below_minimum"].map(
        {True: "sous le seuil", False: "au-dessus"}
    )
    st.dataframe(
        options[
            [
                "option_label",
                "side",
                "name",
                "population",
                "size_class",
                "below_minimum",
                "n_parts",
                "funding_max_eur",
            ]
        ].rename(
            columns={
                "option_label": "option",
                "side": "côté",
                "name": "projet",
                "population": "habitants",
                "size_class": "taille",
                "below_minimum": "seuil de population",
                "n_parts": "parties",
                "funding_max_eur": "financement maximal",
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown("#### Communes disputées")
    st.dataframe(dispute.contested, hide_index=True, width="stretch")
    st.caption(dispute.summary["distance_note"] + ".")


def _exports(
    dispute: Dispute, frames: dict[str, gpd.GeoDataFrame], name_a: str, name_b: str
) -> None:
    c1, c2 = st.columns(2)
    c1.download_button(
        "Classeur Excel de l'arbitrage",
        excel_bytes({"options.csv": dispute.options, "communes_disputees.csv": dispute.contested}),
        file_name="atlas_cpts_arbitrage.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    svg = svg_map(
        [
            (frames["a"], SIDE_COLORS["A"], "#333"),
            (frames["b"], SIDE_COLORS["B"], "#333"),
            (frames["contested"], maps.CONTESTED_COLOR, "#333"),
        ]
    )
    html = fiche_html(
        title=f"Arbitrage : {name_a} / {name_b}",
        key_figures={
            "communes disputées": fmt.number(dispute.summary["n_contested"]),
            "habitants en jeu": fmt.number(dispute.summary["population_contested"]),
        },
        map_svg=svg,
        tables={
            "Options de partage": dispute.options[
                [
                    "option_label",
                    "side",
                    "population",
                    "size_class",
                    "below_minimum",
                    "n_parts",
                    "funding_max_eur",
                ]
            ],
            "Communes disputées": dispute.contested,
        },
        sources=["Atlas CPTS, référentiel des communes (voir « Sources et millésimes »)"],
        notes=[dispute.summary["distance_note"]],
    )
    c2.download_button(
        "Fiche d'arbitrage imprimable (HTML)",
        html.encode("utf-8"),
        file_name="fiche_arbitrage.html",
        mime="text/html",
    )
