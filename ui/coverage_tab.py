"""Workflow "Couverture" (ARS, CPAM): perimeters, overlaps, white zones, coverage rates, proposals."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from coverage import AplData
from diagnosis import STATUS_KEYS, AtlasError, Diagnosis, Referential, status_name
from diagnosis.analysis.dispute_shares import with_shares
from diagnosis.analysis.white_zones import cluster_geometries
from diagnosis.core.numbers import fr_count, plural
from diagnosis.core.referential import load_display_geometries, load_outlines
from diagnosis.outputs import export
from diagnosis.outputs.labels import PROPOSAL_KIND_LABELS
from diagnosis.outputs.people import for_people
from diagnosis.outputs.sharing import perimeter_remarks
from ui import care_panels, data, fmt, maps
from ui.safe import md_text
from ui.sidebar import Context, scope_label

SORTS = {
    "population": "Habitants (décroissant)",
    "name": "Nom",
    "n_units": "Communes (décroissant)",
    "n_shared": "Communes partagées (décroissant)",
}


def coverage_layers(diag: Diagnosis, *, apl: AplData | None = None) -> dict[str, Any]:
    """Display data of the coverage map: perimeters, white-zone clusters, overlaps, proposals.

    Pure function of the diagnosis (no Streamlit call): geometries are dissolved
    from the referential and simplified for display only. With ``apl`` (the
    DREES APL to GPs), a layer of communes coloured by APL is added: every
    commune of a region or department (at national scale the layer would hold
    tens of thousands of communes: it is left out, and the page says so).
    """
    ref = diag.referential
    summary = diag.perimeters.summary
    perimeters = diag.perimeter_geometries()
    per = perimeters.merge(summary[["perimeter_id", "population"]], on="perimeter_id", how="left")
    per = per.assign(
        status_fr=[maps.STATUS_LABELS[maps.status_key(s)] for s in per["status"]],
        population_fr=per["population"].map(fmt.number),
        fill=[maps.STATUS_COLORS[maps.status_key(s)] for s in per["status"]],
    )
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
    national = ref.scope.get("level") == "france"
    # Coarser display at national scale keeps the map light (about 1 km instead of 200 m).
    tolerance = 0.01 if national else 0.002
    white["geometry"] = maps.simplify_for_display(white.geometry, tolerance_deg=tolerance)
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
                "kind_fr": table["kind"].map(PROPOSAL_KIND_LABELS),
                "population_fr": table["population"].map(fmt.number),
            },
            geometry=list(diag.proposals.geometries),
            crs=4326,
        )
    units = ref.units
    outline_level = "region" if national else "department"
    outline_codes = sorted(units[outline_level].astype(str).unique())
    apl_layer = None
    if apl is not None and not national:
        shown = units.index.tolist()
        apl_units = gpd.GeoDataFrame(
            {
                "code": pd.Series(shown, dtype=object),
                "name": units["name"].reindex(shown).to_numpy(),
            },
            geometry=load_display_geometries(shown).to_numpy(),
            crs=4326,
        )
        apl_layer = care_panels.apl_layer(apl_units, apl, simplify_deg=tolerance)
    return {
        "apl_layer": apl_layer,
        "apl_legend": care_panels.apl_legend_entries(apl)
        if apl is not None and apl_layer is not None
        else (),
        "perimeters": per,
        "white": white,
        "overlaps": overlaps,
        "proposals": proposals,
        "outlines": load_outlines(outline_level, outline_codes),
        "bounds": maps.bounds_of(gpd.GeoDataFrame(geometry=units.geometry.dropna(), crs=4326)),
        "tolerance_deg": tolerance,
    }


def coverage_map(layers: dict[str, Any]) -> maps.MapSpec:
    """The coverage map's layers and legend (pure function of its data)."""
    drawn: list[maps.MapLayer] = [
        maps.outline_layer(layers["outlines"]),
        *([layers["apl_layer"]] if layers.get("apl_layer") is not None else []),
        maps.units_layer(
            layers["white"],
            name="Zones blanches",
            color="#333333",
            fill_column="fill",
            fill_opacity=0.55,
            tooltip=(
                ("cluster_id", "Groupe de zone blanche"),
                ("n_units", "Communes"),
                ("population_fr", "Habitants"),
            ),
        ),
        maps.MapLayer(
            name="Périmètres",
            frame=layers["perimeters"],
            color="#333333",
            fill_column="fill",
            fill_opacity=0.55,
            weight=1.2,
            simplify_deg=layers.get("tolerance_deg", 0.002),
            properties=("perimeter_id",),
            tooltip=(
                ("name", "Périmètre"),
                ("status_fr", "Stade"),
                ("population_fr", "Habitants"),
            ),
        ),
        maps.units_layer(
            layers["overlaps"],
            name="Chevauchements",
            color=maps.OVERLAP_COLOR,
            fill_opacity=0.75,
            weight=1.5,
            tooltip=(("name", "Commune"), ("code", "Code INSEE"), ("perimeters", "Revendiquée par")),
        ),
    ]
    if layers["proposals"] is not None:
        drawn.append(
            maps.MapLayer(
                name="Propositions pour les zones blanches",
                frame=layers["proposals"],
                color=maps.PROPOSAL_COLOR,
                style="outline",
                weight=2.5,
                simplify_deg=0.001,
                show=False,
                tooltip=(
                    ("proposal_id", "Proposition"),
                    ("kind_fr", "Type"),
                    ("population_fr", "Habitants"),
                ),
            )
        )
    entries = (
        *maps.status_legend_entries(statuses=list(layers["perimeters"]["status"])),
        maps.LegendEntry(maps.OVERLAP_COLOR, "Commune en chevauchement"),
        maps.LegendEntry(maps.WHITE_ZONE_COLORS[0], "Zone blanche (par groupe)"),
        maps.LegendEntry(maps.PROPOSAL_COLOR, "Proposition (contour, calque à activer)"),
        *layers.get("apl_legend", ()),
    )
    return maps.MapSpec(
        bounds=layers["bounds"], layers=tuple(drawn), legend_title="Couverture CPTS", legend=entries
    )


def _layers_data(diag: Diagnosis, key: str, apl: AplData | None) -> dict[str, Any]:
    """:func:`coverage_layers`, kept for the session (panning never recomputes it)."""
    return data.session_memo(
        "coverage-layers", key, lambda: coverage_layers(diag, apl=apl), keep=2
    )


def perimeter_table(diag: Diagnosis) -> pd.DataFrame:
    """One row per CPTS of the view at the threshold, evaluated whole (issue 17).

    Whole inhabitants and those in the view, the size class (a range when shared
    communes counted whole move it, with the reason), the shared communes named,
    the departments it overflows to, the floor, communes and parts.
    """
    people = export.people_perimeters(diag)
    shared = diag.perimeters.shared
    names: dict[str, list[str]] = {}
    for pid, name, code in zip(shared["perimeter_id"], shared["name"], shared["code"], strict=True):
        names.setdefault(str(pid), []).append(f"{name} ({code})")
    table = people[
        [
            "perimeter_id",
            "name",
            "status",
            "population",
            "population_in_scope",
            "size_range",
        ]
    ].copy()
    table["shared_names"] = [", ".join(names.get(str(p), [])) for p in table["perimeter_id"]]
    table["outside_label"] = [str(t).removeprefix("déborde sur ") for t in people["outside_label"]]
    for column in ("below_minimum", "n_units", "n_parts", "size_range_reason"):
        table[column] = people[column].to_numpy()
    table["n_shared"] = people["shared_units"].map(len).to_numpy()
    return table


PERIMETER_LABELS = {
    "name": "CPTS",
    "population": "habitants (périmètre entier)",
    "population_in_scope": "dont dans la vue",
    "size_range": "taille ACI",
    "shared_names": "communes partagées",
    "outside_label": "déborde sur",
    "size_range_reason": "fourchette de taille : pourquoi",
}
#: Columns of the per-CPTS table, in the order shown (the shared communes visible
#: without scrolling at 1,500 px; the reason of a size range last, it is long).
PERIMETER_SHOWN = [
    "name",
    "status",
    "population",
    "population_in_scope",
    "size_range",
    "shared_names",
    "outside_label",
    "below_minimum",
    "n_units",
    "n_parts",
    "size_range_reason",
]


def _empty_notice(ref: Referential, ctx: Context, diag: Diagnosis) -> bool:
    """Warn when nothing of the file is in the scope or at the threshold; True when empty."""
    imported = diag.imported
    n_at_threshold = len(diag.perimeters.summary)
    if imported.perimeters.empty:
        st.warning(
            "Le fichier ne contient aucun périmètre exploitable : aucune ligne de données, ou "
            "toutes rejetées (voir le rapport d'import dans la barre latérale)."
        )
        return True
    if data.units_in_scope(imported, diag.referential) == 0:
        st.warning(
            f"Aucune commune du fichier n'est dans le périmètre d'étude ({scope_label(ref, ctx)}). "
            "Choisissez la région ou le département du fichier, ou « France entière »."
        )
        return True
    if n_at_threshold == 0:
        st.warning(
            f"Aucun périmètre n'atteint le stade « {status_name(ctx.status_min)} » : toute la "
            "population est comptée en zone blanche. Choisissez « Tous les stades » dans la "
            "barre latérale pour voir les projets."
        )
    return False


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Couverture" workflow."""
    if ctx.imported is None:
        st.info("Importez un fichier de périmètres (barre latérale) pour voir la couverture.")
        return
    diag = _with_arbitrage_shares(ctx, ctx.diagnosis())
    scope = scope_label(ref, ctx)
    st.subheader(f"Couverture : {scope}")
    if _empty_notice(ref, ctx, diag):
        return
    rates = diag.coverage_at_threshold()
    main = rates.iloc[0]
    summary = diag.perimeters.summary
    unknown = int(summary["status"].map(maps.status_key).isna().sum())
    st.caption(
        f"Stade pris en compte : {status_name(ctx.status_min)} ou plus"
        + (
            f" (dont {fr_count(unknown, 'périmètre', 'périmètres')} au statut non renseigné, "
            f"{plural(unknown, 'compté', 'comptés')} au stade « en émergence »)"
            if unknown and ctx.status_min == "emergence"
            else ""
        )
        + " · "
        f"{md_text(diag.referential.population_label)} · périmètres : {md_text(ctx.source_label)}"
    )
    c1, c2, c3, c4 = st.columns(4)
    # The view's perimeters: those with a commune in it (issue 17), each evaluated whole.
    c1.metric("Périmètres", fmt.number(len(diag.perimeters.summary)))
    c2.metric("Population couverte", fmt.share(main["share_covered"]))
    c3.metric("Communes en zone blanche", fmt.number(len(diag.white.units)))
    c4.metric("Communes en chevauchement", fmt.number(len(diag.overlaps)))

    apl_layers = (*data.embedded_apl_layers(), ctx.care.get("apl"))
    gp = care_panels.gp_apl(apl_layers)
    layers_key = f"{ctx.import_key}-{ctx.status_min}-{ctx.care_keys.get('apl', '')}"
    data.show_map(
        f"coverage-{layers_key}",
        lambda: coverage_map(_layers_data(diag, layers_key, gp)),
        tiles=ctx.tiles,
        # The example with the embedded APL is project data only: one map for every session.
        example=ctx.is_example and not ctx.care_keys.get("apl"),
    )
    st.caption(
        "Contours simplifiés pour l'affichage ; calculs sur les contours complets. "
        "Choisissez une CPTS dans le tableau ci-dessous pour ouvrir sa fiche."
        + (
            " La couche de l'APL par commune s'affiche à l'échelle d'une région ou d'un "
            "département."
            if not ctx.region and not ctx.department
            else ""
        )
    )
    _coverage_rates(diag)
    _perimeters_section(ref, ctx, diag)
    left, right = st.columns(2)
    with left:
        _overlaps_section(diag)
    with right:
        _white_zones_section(diag)
    care_panels.priority_white_zones_section(diag, apl_layers)
    _proposals_section(diag)
    _exports(diag, ctx, apl_layers)


#: Key of ``st.session_state`` where Arbitrage stores the shares a committee set
#: (a frame with ``diagnosis.core.model.SHARE_COLUMNS``: perimeter_id, code, share).
ARBITRAGE_SHARES_KEY = "arbitrage_shares"


def _with_arbitrage_shares(ctx: Context, diag: Diagnosis) -> Diagnosis:
    """The diagnosis with the shares set in Arbitrage, when the session holds some.

    Sizes and funding then count each perimeter's part of the shared cities. Shares
    that cannot be applied (over 100 % with those of the file) are said, not applied.
    """
    shares = st.session_state.get(ARBITRAGE_SHARES_KEY)
    if not isinstance(shares, pd.DataFrame) or shares.empty or ctx.imported is None:
        return diag
    try:
        imported = with_shares(ctx.imported, shares)
        digest = pd.util.hash_pandas_object(imported.shares, index=False).sum()
        shared = data.diagnosis_for(
            f"{ctx.import_key}|parts-{digest}",
            imported,
            region=ctx.region,
            department=ctx.department,
            status_min=ctx.status_min,
        )
    except AtlasError as exc:
        st.error(f"Parts fixées dans Arbitrage non appliquées : {md_text(str(exc))}")
        return diag
    st.caption(
        f"Parts fixées dans Arbitrage appliquées : {fr_count(len(shares), 'part', 'parts')} "
        "(tailles et financements comptent la part de chaque CPTS)."
    )
    return shared


def _coverage_rates(diag: Diagnosis) -> None:
    st.markdown("#### Taux de couverture par stade")
    coverage = diag.coverage
    pivot = coverage.pivot_table(
        index=["scope", "name"], columns="status_min", values="share_covered", sort=False
    )
    statuses = [c for c in STATUS_KEYS if c in pivot]
    shown = pd.DataFrame({"territoire": [name for _, name in pivot.index]})
    for status in statuses:
        shown[f"{status_name(status)} ou plus"] = [fmt.share(v) for v in pivot[status]]
    st.dataframe(shown, hide_index=True, width="stretch")


def _perimeters_section(ref: Referential, ctx: Context, diag: Diagnosis) -> None:
    st.markdown("#### CPTS du périmètre d'étude")
    table = perimeter_table(diag)
    if (table["population"] != table["population_in_scope"]).any():
        st.caption(
            "Chaque CPTS est évaluée entière (taille, seuil, financement), même quand elle "
            "déborde de la vue ; « dont dans la vue » compte ses habitants dans la vue."
        )
    c1, c2 = st.columns([2, 1])
    query = c1.text_input("Rechercher une CPTS par son nom", key="coverage_search")
    sort = c2.selectbox(
        "Trier par", list(SORTS), format_func=lambda k: SORTS[k], key="coverage_sort"
    )
    if query.strip():
        table = table[table["name"].str.contains(query.strip(), case=False, regex=False)]
    table = table.sort_values(sort, ascending=sort == "name", kind="stable")
    if table.empty:
        st.caption("Aucune CPTS ne correspond à la recherche.")
        return
    event = st.dataframe(
        for_people(table, columns=PERIMETER_SHOWN, labels=PERIMETER_LABELS),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="coverage_table",
    )
    ids = table["perimeter_id"].tolist()
    names = dict(zip(table["perimeter_id"], table["name"], strict=True))
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    selected = ids[rows[0]] if rows and rows[0] < len(ids) else None
    if selected is not None and st.session_state.get("_coverage_table_pick") != selected:
        st.session_state["_coverage_table_pick"] = selected
        st.session_state["coverage_fiche_pick"] = selected
    if st.session_state.get("coverage_fiche_pick") not in ids:
        st.session_state.pop("coverage_fiche_pick", None)
    pick = st.selectbox(
        "Fiche d'une CPTS",
        ids,
        index=None,
        format_func=lambda i: str(names[i]),
        placeholder="Choisir une CPTS (ou cliquer sur sa ligne dans le tableau)",
        key="coverage_fiche_pick",
    )
    if pick is not None:
        from ui.territory_tab import territory_profile  # noqa: PLC0415 - shared fiche

        # The whole perimeter, its figures as the table shows them (parts of shared cities).
        codes = list(diag.imported.perimeters.set_index("perimeter_id").loc[pick, "unit_codes"])
        codes = [c for c in codes if c in ref.units.index]
        perimeter = diag.perimeters.of(pick)
        departments = ref.departments
        remarks = perimeter_remarks(
            perimeter.summary.iloc[0],
            perimeter.shared,
            names=dict(zip(departments["department"], departments["department_name"], strict=True)),
            view=scope_label(ref, ctx),
        )
        territory_profile(
            ref,
            ctx,
            codes,
            name=str(names[pick]),
            key=f"cpts-{pick}",
            perimeter=perimeter,
            remarks=remarks,
        )


def _overlaps_section(diag: Diagnosis) -> None:
    st.markdown("#### Chevauchements")
    if diag.overlaps.empty:
        st.caption("Aucune commune n'est revendiquée par plusieurs périmètres.")
    else:
        st.dataframe(
            for_people(
                diag.overlaps,
                columns=["code", "name", "population", "n_perimeters", "perimeters"],
                labels={"name": "commune"},
            ),
            hide_index=True,
            width="stretch",
        )
    if len(diag.splits):
        st.caption("Découpages infra-communaux déclarés (non comptés comme chevauchements) :")
        st.dataframe(
            for_people(
                diag.splits, columns=["code", "name", "perimeters"], labels={"name": "commune"}
            ),
            hide_index=True,
            width="stretch",
        )


def _white_zones_section(diag: Diagnosis) -> None:
    st.markdown("#### Zones blanches")
    clusters = diag.white.clusters
    if clusters.empty:
        st.caption("Aucune commune en zone blanche à ce stade.")
        return
    st.dataframe(
        for_people(
            clusters,
            columns=["cluster_id", "n_units", "population", "departments", "neighbour_perimeters"],
        ),
        hide_index=True,
        width="stretch",
    )
    ids = clusters["cluster_id"].tolist()
    group = st.selectbox(
        "Communes d'un groupe",
        ids,
        format_func=lambda c: f"Groupe {c}",
        key="coverage_white_group",
    )
    units = diag.white.units[diag.white.units["cluster_id"] == group]
    st.dataframe(
        for_people(units, columns=["code", "name", "population", "epci_code"], labels={"name": "commune"}),
        hide_index=True,
        width="stretch",
    )


def _proposals_section(diag: Diagnosis) -> None:
    if diag.proposals is None:
        return
    st.markdown("#### Propositions pour les zones blanches")
    st.caption(
        "Groupes contigus de communes blanches atteignant le seuil de population (EPCI entiers de "
        "préférence), ou rattachement au périmètre voisin de plus longue frontière commune. "
        "Compacité : indice de Polsby-Popper (1 pour un disque)."
    )
    proposals = diag.proposals.proposals
    if proposals.empty:
        st.caption("Aucune proposition : pas de zone blanche à ce stade.")
        return
    st.dataframe(
        for_people(
            proposals,
            columns=["proposal_id", "kind", "n_units", "population", "size_class", "epcis", "evidence"],
        ),
        hide_index=True,
        width="stretch",
    )


def _exports(diag: Diagnosis, ctx: Context, apl_layers: tuple[AplData | None, ...]) -> None:
    st.markdown("#### Exports")
    # Three buttons a row, so that their French labels are not cut.
    c1, c2, c3 = st.columns(3)
    c4, c5, _ = st.columns(3)
    c1.download_button(
        "Classeur Excel des tableaux",
        lambda: export.people_workbook(diag),
        file_name="atlas_cpts_couverture.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    c2.download_button(
        "Couches GeoPackage",
        lambda: export.geopackage_bytes(diag),
        file_name="atlas_cpts_couverture.gpkg",
        mime="application/geopackage+sqlite3",
        on_click="ignore",
    )
    c3.download_button(
        "Périmètres (GeoJSON)",
        lambda: export.perimeters_geojson(diag),
        file_name="atlas_cpts_perimetres.geojson",
        mime="application/geo+json",
        on_click="ignore",
    )
    c4.download_button(
        "Communes en zone blanche (CSV)",
        lambda: export.white_zone_csv(diag),
        file_name="atlas_cpts_zones_blanches.csv",
        mime="text/csv",
        on_click="ignore",
    )
    c5.download_button(
        "Zones blanches prioritaires (CSV)",
        lambda: care_panels.priority_white_zones_csv(diag, apl_layers),
        file_name="atlas_cpts_zones_blanches_prioritaires.csv",
        mime="text/csv",
        on_click="ignore",
    )


__all__ = ["coverage_layers", "coverage_map", "perimeter_table", "render"]
