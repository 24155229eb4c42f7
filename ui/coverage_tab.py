"""Workflow "Couverture" (ARS, CPAM): perimeters, overlaps, white zones, coverage rates, proposals."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from coverage import AplData
from diagnosis import STATUS_KEYS, AtlasError, Diagnosis, Referential, StatusKey, status_name
from diagnosis.analysis.dispute_shares import with_shares
from diagnosis.core.aci import size_rules
from diagnosis.core.numbers import fr_count, plural
from diagnosis.core.textnorm import slug
from diagnosis.importer.outcome import import_outcome
from diagnosis.outputs import export
from diagnosis.outputs.labels import (
    PROPOSAL_CAVEAT,
    proposal_caveat,
    uncovered_communes,
    uncovered_stem,
)
from diagnosis.outputs.people import for_people
from diagnosis.outputs.sharing import perimeter_remarks
from ui import care_panels, data, fmt, funding_forecast, maps, registry_work
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
    return data.session_memo("coverage-layers", key, lambda: coverage_layers(diag, apl=apl), keep=2)


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
    for column in ("n_units", "n_parts", "size_range_reason"):
        table[column] = people[column].to_numpy()
    table["below_minimum"] = below_minimum_label(people)
    table["deemed_validated"] = deemed_validated(diag, table["perimeter_id"])
    table["n_shared"] = people["shared_units"].map(len).to_numpy()
    return table


def below_minimum_label(people: pd.DataFrame) -> list[str]:
    """Say "oui", "non", or "selon le partage" when the shared communes decide it.

    A CPTS above the floor only with its shared cities counted whole (Nice
    claimed by three) is not said to be above it: without them it is under.

    >>> frame = pd.DataFrame({"below_minimum": [True, False, False],
    ...     "population_without_shared": [9_000, 3_409, 41_499],
    ...     "minimum_population": [20_000, 20_000, 20_000]})
    >>> below_minimum_label(frame)
    ['oui', 'selon le partage', 'non']
    """
    out = []
    for below, alone, floor in zip(
        people["below_minimum"],
        people["population_without_shared"],
        people["minimum_population"],
        strict=True,
    ):
        if bool(below):
            out.append("oui")
        elif pd.notna(alone) and pd.notna(floor) and float(alone) < float(floor):
            out.append("selon le partage")
        else:
            out.append("non")
    return out


def deemed_validated(diag: Diagnosis, perimeter_ids: pd.Series) -> list[bool]:
    """Whether each perimeter is a health project deemed validated (:func:`export.deemed_validated`)."""
    return export.deemed_validated(diag.imported.perimeters, perimeter_ids).tolist()


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
    "deemed_validated",
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


#: What the uncovered communes' figure counts, and why "zone blanche" is kept for some.
UNCOVERED_HELP = (
    "Une « zone blanche » est une commune d'aucun projet de CPTS. Au-delà du premier stade, "
    "les communes comptées peuvent être dans un projet qui n'a pas atteint le stade choisi : "
    "elles sont dites non couvertes par une CPTS à ce stade."
)


def uncovered_metric_label(status_min: StatusKey) -> str:
    """The label of the uncovered communes' figure ("Communes en zone blanche" at emergence)."""
    return f"Communes {uncovered_communes(status_min)}"


def _empty_notice(ref: Referential, ctx: Context, diag: Diagnosis) -> bool:
    """Warn when nothing of the file is in the scope or at the threshold; True when empty."""
    outcome = import_outcome(diag.imported, diag.referential)
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
            f"Aucun périmètre n'atteint le stade « {status_name(ctx.status_min)} » : toutes les "
            f"communes sont comptées {uncovered_communes(ctx.status_min)}. Choisissez « Tous les "
            "stades » dans la barre latérale pour voir les projets."
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
    c3.metric(
        uncovered_metric_label(ctx.status_min),
        fmt.number(len(diag.white.units)),
        help=UNCOVERED_HELP,
    )
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
    # The contracts file is read below the table, before the fiche of a CPTS needs it.
    perimeters_slot = st.container()
    funding_forecast.forecast_section(ctx)
    with perimeters_slot:
        _perimeters_section(ref, ctx, diag)
    left, right = st.columns(2)
    with left:
        _overlaps_section(diag)
    with right:
        _white_zones_section(diag, ctx.status_min)
    care_panels.priority_white_zones_section(diag, apl_layers)
    _proposals_section(diag, ctx.status_min)
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
    if (table["population"] != table["population_in_scope"]).any():
        st.caption(
            "Chaque CPTS est évaluée entière (taille, seuil, financement), même quand elle "
            "déborde de la vue ; « dont dans la vue » compte ses habitants dans la vue."
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
        persist_state="page",
    )
    if pick is not None:
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
        if ctx.import_key.startswith(data.REGISTRY_KEY_PREFIX):
            remarks = [*remarks, *registry_work.decision_remarks(data.registry_or_none(), pick)]
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


def _white_zones_section(diag: Diagnosis, status_min: StatusKey) -> None:
    uncovered = uncovered_communes(status_min)
    st.markdown(f"#### Communes {uncovered}")
    clusters = diag.white.clusters
    if clusters.empty:
        st.caption(f"Aucune commune {uncovered}.")
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
        for_people(
            units, columns=["code", "name", "population", "epci_code"], labels={"name": "commune"}
        ),
        hide_index=True,
        width="stretch",
    )


def _proposals_section(diag: Diagnosis, status_min: StatusKey) -> None:
    if diag.proposals is None:
        return
    uncovered = uncovered_communes(status_min)
    st.markdown(f"#### Propositions pour les communes {uncovered}")
    st.caption(
        f"Groupes contigus de communes {uncovered} atteignant le seuil de population (EPCI "
        "entiers de préférence), ou rattachement au périmètre voisin de plus longue frontière "
        "commune. Compacité : indice de Polsby-Popper (1 pour un disque)."
    )
    proposals = diag.proposals.proposals
    if proposals.empty:
        st.caption(f"Aucune proposition : aucune commune {uncovered}.")
        return
    st.warning(PROPOSAL_CAVEAT + ".")
    st.dataframe(proposals_for_people(proposals), hide_index=True, width="stretch")


def proposals_for_people(proposals: pd.DataFrame) -> pd.DataFrame:
    """The proposals in French, the size written as everywhere else ("Taille 2", not "2").

    Each carries its caveat (column "réserve"): indicative, subject to the actors' agreement.
    """
    labels = size_rules().labels
    shown = proposals.assign(
        size_label=[labels[int(c) - 1] if pd.notna(c) else "" for c in proposals["size_class"]],
        caveat=proposals["kind"].map(proposal_caveat),
    )
    return for_people(
        shown,
        columns=[
            "proposal_id",
            "kind",
            "n_units",
            "population",
            "size_label",
            "epcis",
            "evidence",
            "caveat",
        ],
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
        f"{uncovered_metric_label(ctx.status_min)} (CSV)",
        lambda: export.white_zone_csv(diag),
        file_name=name(uncovered_stem(ctx.status_min), "csv"),
        mime="text/csv",
        on_click="ignore",
    )
    c5.download_button(
        f"{care_panels.priority_title(ctx.status_min)} (CSV)",
        lambda: care_panels.priority_white_zones_csv(diag, apl_layers),
        file_name=name(f"{uncovered_stem(ctx.status_min)}_prioritaires", "csv"),
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
    "uncovered_communes",
    "uncovered_metric_label",
]
