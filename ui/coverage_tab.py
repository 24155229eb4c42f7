"""Workflow "Couverture" (ARS, CPAM): perimeters, overlaps, white zones, coverage rates, proposals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from coverage import AplData
from diagnosis import STATUS_KEYS, Diagnosis, Referential, StatusKey, status_name
from diagnosis.core.numbers import fr_count, plural
from diagnosis.core.rules import size_rules
from diagnosis.core.textnorm import slug
from diagnosis.importer.outcome import import_outcome
from diagnosis.outputs import export
from diagnosis.outputs.labels import for_people
from ui import care_panels, data, fmt, maps
from ui.coverage_map import coverage_layers, coverage_map
from ui.profile import territory_profile
from ui.safe import md_text
from ui.sidebar import Context, scope_label

SORTS = {
    "population": "Habitants (décroissant)",
    "name": "Nom",
    "n_units": "Communes (décroissant)",
    "n_shared": "Communes partagées (décroissant)",
}


def _layers_data(diag: Diagnosis, key: str, apl: AplData | None) -> dict[str, Any]:
    """:func:`coverage_layers`, kept for the session (panning never recomputes it)."""
    return data.session_memo(
        "coverage-layers", key, lambda: coverage_layers(diag, apl=apl), keep=2
    )


def perimeter_table(diag: Diagnosis) -> pd.DataFrame:
    """One row per CPTS at the threshold: stage, communes, inhabitants, size, floor, parts, shared."""
    summary = diag.perimeters.summary
    m = diag.membership
    claims = m.claims_per_unit(count_splits=False)
    shared = (claims[m.member_unit] >= 2) & ~m.split
    n_shared = np.bincount(m.member_perimeter, weights=shared, minlength=m.n_perimeters)
    shared_by_id = pd.Series(n_shared.astype(int), index=m.perimeters["perimeter_id"].to_numpy())
    table = summary[
        [
            "perimeter_id",
            "name",
            "status",
            "n_units",
            "population",
            "size_label",
            "margin_to_nearest_bound",
            "below_minimum",
            "n_parts",
        ]
    ].copy()
    table["n_shared"] = shared_by_id.reindex(table["perimeter_id"]).fillna(0).astype(int).to_numpy()
    return table


PERIMETER_LABELS = {
    "margin_to_nearest_bound": "marge à la borne de taille la plus proche",
    "size_label": "taille ACI",
    "name": "CPTS",
}


def _empty_notice(ref: Referential, ctx: Context, diag: Diagnosis) -> bool:
    """Warn when nothing of the file is in the scope or at the threshold; True when empty."""
    outcome = import_outcome(diag.imported)
    n_at_threshold = len(diag.perimeters.summary)
    if outcome.kind == "empty":
        st.warning(
            "Le fichier ne contient aucun périmètre exploitable : aucune ligne de données, ou "
            "toutes rejetées (voir le rapport d'import dans la barre latérale)."
        )
        return True
    if outcome.kind == "outside_scope":
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
    diag = ctx.diagnosis()
    scope = scope_label(ref, ctx)
    st.subheader(f"Couverture : {scope}")
    if _empty_notice(ref, ctx, diag):
        return
    rates = diag.coverage_at_threshold()
    main = rates.iloc[0]
    summary = diag.perimeters.summary
    shown = summary[summary["n_units"] > 0]
    unknown = int(shown["status"].map(maps.status_key).isna().sum())
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
    # A perimeter whose communes are all outside the scope is not a CPTS of the scope.
    in_scope = diag.perimeters.summary["n_units"] > 0
    c1.metric("Périmètres", fmt.number(int(in_scope.sum())))
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


def no_cpts_message(query: str, status_min: StatusKey) -> str:
    """Why the table of CPTS is empty: the search, or no CPTS at the stage threshold."""
    if query.strip():
        return "Aucune CPTS ne correspond à la recherche."
    return (
        f"Aucune CPTS du périmètre d'étude n'atteint le stade « {status_name(status_min)} » : "
        "choisissez un stade moins avancé dans la barre latérale pour voir les projets."
    )


def _perimeters_section(ref: Referential, ctx: Context, diag: Diagnosis) -> None:
    st.markdown("#### CPTS du périmètre d'étude")
    table = perimeter_table(diag)
    outside = int((table["n_units"] == 0).sum())
    table = table[table["n_units"] > 0]
    if outside:
        st.caption(
            f"{fmt.number(outside)} périmètre(s) du fichier n'ont aucune commune dans le "
            "périmètre d'étude : ils ne sont pas comptés ici."
        )
    c1, c2 = st.columns([2, 1])
    query = c1.text_input(
        "Rechercher une CPTS par son nom", key="coverage_search", persist_state="page"
    )
    sort = c2.selectbox(
        "Trier par",
        list(SORTS),
        format_func=lambda k: SORTS[k],
        key="coverage_sort",
        persist_state="page",
    )
    if table.empty:
        st.caption(no_cpts_message("", ctx.status_min))
        return
    if query.strip():
        table = table[table["name"].str.contains(query.strip(), case=False, regex=False)]
    table = table.sort_values(sort, ascending=sort == "name", kind="stable")
    if table.empty:
        st.caption(no_cpts_message(query, ctx.status_min))
        return
    event = st.dataframe(
        for_people(
            table,
            columns=[c for c in table.columns if c != "perimeter_id"],
            labels=PERIMETER_LABELS,
        ),
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
        persist_state="page",
    )
    if pick is not None:
        codes = list(diag.imported.perimeters.set_index("perimeter_id").loc[pick, "unit_codes"])
        codes = [c for c in codes if c in diag.referential.units.index]
        territory_profile(ref, ctx, codes, name=str(names[pick]), key=f"cpts-{pick}")


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
        persist_state="page",
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
    st.dataframe(proposals_for_people(proposals), hide_index=True, width="stretch")


def proposals_for_people(proposals: pd.DataFrame) -> pd.DataFrame:
    """The proposals in French, the size written as everywhere else ("Taille 2", not "2")."""
    labels = size_rules().labels
    shown = proposals.assign(
        size_label=[labels[int(c) - 1] if pd.notna(c) else "" for c in proposals["size_class"]]
    )
    return for_people(
        shown,
        columns=["proposal_id", "kind", "n_units", "population", "size_label", "epcis", "evidence"],
        labels={"size_label": "taille ACI"},
    )


def export_name(what: str, scope: str, status_min: StatusKey, extension: str) -> str:
    """A download's file name naming its content, scope and stage threshold.

    >>> export_name("couverture", "Provence-Alpes-Côte d'Azur", "aci_signe", "xlsx")
    'atlas_cpts_couverture_provence-alpes-cote-d-azur_aci_signe.xlsx'
    """
    return f"atlas_cpts_{what}_{slug(scope)}_{status_min}.{extension}"


def _exports(diag: Diagnosis, ctx: Context, apl_layers: tuple[AplData | None, ...]) -> None:
    st.markdown("#### Exports")
    scope = scope_label(diag.referential, ctx)

    def name(what: str, extension: str) -> str:
        return export_name(what, scope, ctx.status_min, extension)

    # Three buttons a row, so that their French labels are not cut.
    c1, c2, c3 = st.columns(3)
    c4, c5, _ = st.columns(3)
    c1.download_button(
        "Classeur Excel des tableaux",
        lambda: export.people_workbook(diag),
        file_name=name("couverture", "xlsx"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    c2.download_button(
        "Couches GeoPackage",
        lambda: export.geopackage_bytes(diag),
        file_name=name("couverture", "gpkg"),
        mime="application/geopackage+sqlite3",
        on_click="ignore",
    )
    c3.download_button(
        "Périmètres (GeoJSON)",
        lambda: export.perimeters_geojson(diag),
        file_name=name("perimetres", "geojson"),
        mime="application/geo+json",
        on_click="ignore",
    )
    c4.download_button(
        "Communes en zone blanche (CSV)",
        lambda: export.white_zone_csv(diag),
        file_name=name("zones_blanches", "csv"),
        mime="text/csv",
        on_click="ignore",
    )
    c5.download_button(
        "Zones blanches prioritaires (CSV)",
        lambda: care_panels.priority_white_zones_csv(diag, apl_layers),
        file_name=name("zones_blanches_prioritaires", "csv"),
        mime="text/csv",
        on_click="ignore",
    )


__all__ = [
    "coverage_layers",
    "coverage_map",
    "export_name",
    "no_cpts_message",
    "perimeter_table",
    "proposals_for_people",
    "render",
]
