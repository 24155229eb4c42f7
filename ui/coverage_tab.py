"""Workflow "Couverture" (ARS, CPAM): perimeters, overlaps, white zones, coverage rates, proposals."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from diagnosis.export import diagnosis_tables, excel_bytes, protect_text, write_geopackage
from diagnosis.geometry import dissolve_perimeters
from diagnosis.pipeline import Diagnosis
from diagnosis.referential import Referential, load_display_geometries, load_outlines
from diagnosis.rules import stage_label
from diagnosis.white_zones import cluster_geometries
from ui import data, fmt, maps
from ui.sidebar import Context, scope_label


def coverage_layers(diag: Diagnosis) -> dict[str, Any]:
    """Display data of the coverage map: perimeters, white-zone clusters, overlaps, proposals.

    Pure function of the diagnosis (no Streamlit call): geometries are dissolved
    from the referential and simplified for display only.
    """
    ref = diag.referential
    summary = diag.perimeters.summary
    perimeters = diag.perimeters.geometries
    if perimeters is None:
        perimeters = dissolve_perimeters(diag.membership, ref)
    per = perimeters.merge(summary[["perimeter_id", "population"]], on="perimeter_id", how="left")
    clusters = diag.white.clusters
    white = gpd.GeoDataFrame(
        {
            "cluster_id": clusters["cluster_id"].astype(str),
            "population_fr": clusters["population"].map(fmt.number),
            "n_units": clusters["n_units"],
            "fill": [
                maps.WHITE_ZONE_COLORS[i % len(maps.WHITE_ZONE_COLORS)]
                for i in range(len(clusters))
            ],
        },
        geometry=list(cluster_geometries(diag.membership, ref, clusters)),
        crs=4326,
    )
    white["geometry"] = maps.simplify_for_display(white.geometry, tolerance_deg=0.002)
    codes = diag.overlaps["code"].tolist()
    overlaps = gpd.GeoDataFrame(
        {
            "code": pd.Series(codes, dtype=object),
            "name": ref.units["name"].reindex(codes).to_numpy(),
            "perimeters": diag.overlaps["perimeters"].to_numpy(),
        },
        geometry=load_display_geometries(codes).to_numpy(),
        crs=4326,
    )
    proposals = None
    if diag.proposals is not None and len(diag.proposals.proposals):
        table = diag.proposals.proposals
        proposals = gpd.GeoDataFrame(
            {
                "proposal_id": table["proposal_id"],
                "kind_fr": table["kind"].map(
                    {
                        "nouveau_perimetre": "Nouveau périmètre",
                        "rattachement": "Rattachement",
                        "a_examiner": "À examiner",
                    }
                ),
                "population_fr": table["population"].map(fmt.number),
            },
            geometry=list(diag.proposals.geometries),
            crs=4326,
        )
    units = ref.units
    national = ref.scope.get("level") == "france"
    outline_level = "region" if national else "department"
    outline_codes = sorted(units[outline_level].astype(str).unique())
    return {
        "perimeters": per,
        "white": white,
        "overlaps": overlaps,
        "proposals": proposals,
        "outlines": load_outlines(outline_level, outline_codes),
        "bounds": maps.bounds_of(gpd.GeoDataFrame(geometry=units.geometry.dropna(), crs=4326)),
    }


def _layers_data(diag: Diagnosis, key: str) -> dict[str, Any]:
    """:func:`coverage_layers`, kept for the session (panning never recomputes it)."""
    cache = st.session_state.setdefault("_coverage_layers", {})
    if key not in cache:
        cache.clear()  # one diagnosis at a time per session
        cache[key] = coverage_layers(diag)
    result: dict[str, Any] = cache[key]
    return result


def build_map(layers: dict[str, Any], *, tiles: bool = False) -> Any:
    """The coverage map (pure function of its data)."""
    fmap = maps.base_map(layers["bounds"], tiles=tiles)
    maps.add_outlines(fmap, layers["outlines"], name="Départements")
    maps.add_units_layer(
        fmap,
        layers["white"],
        name="Zones blanches",
        color="#333333",
        fill_column="fill",
        fill_opacity=0.55,
        tooltip_fields=("cluster_id", "n_units", "population_fr"),
        tooltip_aliases=("Groupe de zone blanche", "Communes", "Habitants"),
    )
    maps.add_perimeters(fmap, layers["perimeters"])
    maps.add_units_layer(
        fmap,
        layers["overlaps"],
        name="Chevauchements",
        color=maps.OVERLAP_COLOR,
        fill_opacity=0.75,
        weight=1.5,
        tooltip_fields=("name", "code", "perimeters"),
        tooltip_aliases=("Commune", "Code INSEE", "Revendiquée par"),
    )
    if layers["proposals"] is not None:
        maps.add_outline_shapes(
            fmap,
            layers["proposals"],
            name="Propositions pour les zones blanches",
            color="#7b3294",
            tooltip_fields=("proposal_id", "kind_fr", "population_fr"),
            tooltip_aliases=("Proposition", "Type", "Habitants"),
            show=False,
        )
    entries = [
        *maps.status_legend_entries(),
        maps.LegendEntry(maps.OVERLAP_COLOR, "Commune en chevauchement"),
        maps.LegendEntry(maps.WHITE_ZONE_COLORS[0], "Zone blanche (par groupe)"),
        maps.LegendEntry("#7b3294", "Proposition (contour, calque à activer)"),
    ]
    maps.add_legend(fmap, "Couverture CPTS", entries)
    maps.add_layer_control(fmap)
    return fmap


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Couverture" workflow."""
    if ctx.imported is None:
        st.info("Importez un fichier de périmètres (barre latérale) pour voir la couverture.")
        return
    diag = data.diagnosis_for(
        ctx.import_key,
        ctx.imported,
        region=ctx.region,
        department=ctx.department,
        status_min=ctx.status_min,
    )
    scope = scope_label(ref, ctx)
    rates = diag.coverage_at_threshold()
    main = rates.iloc[0]
    st.subheader(f"Couverture : {scope}")
    st.caption(
        f"Stade pris en compte : {stage_label(ctx.status_min)} ou plus · {diag.referential.population_label} · "
        f"périmètres : {ctx.source_label}"
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Périmètres", fmt.number(len(diag.perimeters.summary)))
    c2.metric("Population couverte", fmt.share(main["share_covered"]))
    c3.metric("Communes en zone blanche", fmt.number(len(diag.white.units)))
    c4.metric("Communes en chevauchement", fmt.number(len(diag.overlaps)))

    layers = _layers_data(diag, f"{ctx.import_key}-{ctx.status_min}")
    st_folium(
        build_map(layers, tiles=ctx.tiles),
        height=600,
        use_container_width=True,
        returned_objects=[],
        key=f"coverage-map-{ctx.import_key}-{ctx.status_min}-{ctx.tiles}",
    )
    st.caption("Contours simplifiés pour l'affichage ; calculs sur les contours complets.")

    st.markdown("#### Taux de couverture par stade")
    pivot = diag.coverage.pivot_table(
        index=["scope", "name"], columns="status_min", values="share_covered"
    )
    pivot = pivot[
        [c for c in ["emergence", "lettre_intention", "projet_sante", "aci_signe"] if c in pivot]
    ]
    st.dataframe(
        (pivot * 100).round(1).rename(columns=lambda c: stage_label(c) + " (%)"), width="stretch"
    )
    left, right = st.columns(2)
    with left:
        st.markdown("#### Chevauchements")
        st.dataframe(
            diag.overlaps[["code", "name", "population", "n_perimeters", "perimeters"]].rename(
                columns={
                    "code": "code",
                    "name": "commune",
                    "population": "habitants",
                    "n_perimeters": "nb de périmètres",
                    "perimeters": "périmètres",
                }
            ),
            hide_index=True,
            width="stretch",
        )
        if len(diag.splits):
            st.caption("Découpages infra-communaux déclarés (non comptés comme chevauchements) :")
            st.dataframe(
                diag.splits[["code", "name", "perimeters"]], hide_index=True, width="stretch"
            )
    with right:
        st.markdown("#### Zones blanches")
        st.dataframe(
            diag.white.clusters[
                ["cluster_id", "n_units", "population", "departments", "neighbour_perimeters"]
            ].rename(
                columns={
                    "cluster_id": "groupe",
                    "n_units": "communes",
                    "population": "habitants",
                    "departments": "départements",
                    "neighbour_perimeters": "périmètres voisins",
                }
            ),
            hide_index=True,
            width="stretch",
        )
    if diag.proposals is not None:
        st.markdown("#### Propositions pour les zones blanches")
        st.caption(
            "Groupes contigus de communes blanches atteignant le seuil de population (EPCI entiers de "
            "préférence), ou rattachement au périmètre voisin de plus longue frontière commune."
        )
        st.dataframe(
            diag.proposals.proposals[
                ["proposal_id", "kind", "population", "size_class", "epcis", "evidence"]
            ],
            hide_index=True,
            width="stretch",
        )
    _exports(diag, ctx)


@st.cache_data(max_entries=4, show_spinner="Préparation du GeoPackage…")
def _gpkg_bytes(key: str, _diag: Diagnosis) -> bytes:
    del key
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "atlas_cpts.gpkg"
        write_geopackage(_diag, path)
        return path.read_bytes()


def _exports(diag: Diagnosis, ctx: Context) -> None:
    st.markdown("#### Exports")
    tables = diagnosis_tables(diag)
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button(
        "Classeur Excel des tableaux",
        excel_bytes(tables),
        file_name="atlas_cpts_couverture.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    c2.download_button(
        "Couches GeoPackage",
        _gpkg_bytes(f"{ctx.import_key}-{ctx.status_min}", diag),
        file_name="atlas_cpts_couverture.gpkg",
        mime="application/geopackage+sqlite3",
    )
    c3.download_button(
        "Périmètres (GeoJSON)",
        perimeters_geojson(diag),
        file_name="atlas_cpts_perimetres.geojson",
        mime="application/geo+json",
    )
    c4.download_button(
        "Codes des communes en zone blanche (CSV)",
        white_zone_csv(diag),
        file_name="atlas_cpts_zones_blanches.csv",
        mime="text/csv",
    )


def perimeters_geojson(diag: Diagnosis) -> bytes:
    """The dissolved perimeters with their key figures, as GeoJSON (WGS84)."""
    perimeters = diag.perimeters.geometries
    assert perimeters is not None
    frame = perimeters.merge(
        diag.perimeters.summary[["perimeter_id", "population", "size_class"]], on="perimeter_id"
    )
    for col in ("name", "status"):
        frame[col] = frame[col].map(protect_text)
    return frame.to_json(drop_id=True).encode("utf-8")


def white_zone_csv(diag: Diagnosis) -> bytes:
    """Codes, names, populations and clusters of the white-zone communes (UTF-8 CSV)."""
    white = diag.white.units[["code", "name", "population", "cluster_id"]]
    buffer = io.StringIO()
    white.assign(name=white["name"].map(protect_text)).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")
