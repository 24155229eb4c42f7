"""Workflow "Mon territoire" (CPTS leader): build a territory and read its instant diagnosis."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from coverage import finess_categories, scope_names, territory_indicators
from diagnosis import Referential, export_perimeters_csv, perimeters_from_members, simulate_funding
from diagnosis.analysis.checks import PerimeterDiagnosis, territory_summary
from diagnosis.core.aci import CrisisYear, OptionalMission
from diagnosis.core.numbers import fr_count, plural
from diagnosis.core.textnorm import name_key, slug
from diagnosis.outputs.people import for_people
from ui import care_panels, clickmap, data, fmt, maps
from ui.fiche import fiche_html, svg_map
from ui.safe import md_text
from ui.sidebar import Context

STATE = "territory_codes"


def _territory() -> list[str]:
    return list(st.session_state.setdefault(STATE, []))


def _set_territory(codes: list[str], *, name: str | None = None) -> None:
    """Replace the territory's communes (and its name, when a loaded file gives one)."""
    st.session_state[STATE] = list(dict.fromkeys(codes))
    if name and name.strip():
        # Set before the name field is drawn in this run (the builders come first).
        st.session_state["territory_name"] = name.strip()[:120]
        st.session_state["territory_name_value"] = name.strip()[:120]


def _scope_units(ref: Referential, ctx: Context) -> pd.DataFrame:
    units = ref.units
    if ctx.department:
        return units[units["department"] == ctx.department]
    if ctx.region:
        return units[units["region"] == ctx.region]
    return units


def _builders(ref: Referential, ctx: Context, scope_units: pd.DataFrame) -> None:
    territory = _territory()
    c1, c2 = st.columns(2)
    with c1:
        _search_builder(territory, scope_units)
    with c2:
        _epci_builder(ref, territory, scope_units)
    _other_builders(ref, territory)


def _search_builder(territory: list[str], scope_units: pd.DataFrame) -> None:
    query = st.text_input("Rechercher une commune (nom ou code INSEE)", key="territory_search")
    if query.strip():
        key = name_key(query)
        matches = scope_units[
            scope_units.index.str.startswith(query.strip().upper())
            | scope_units["name"].map(name_key).str.contains(key, regex=False)
        ].head(30)
        if matches.empty:
            st.caption("Aucune commune trouvée dans le périmètre d'étude.")
        else:
            options = list(matches.index)
            choice = st.selectbox(
                "Résultats",
                options,
                format_func=lambda c: f"{scope_units.loc[c, 'name']} ({c})",
                key="territory_search_choice",
            )
            if st.button("Ajouter la commune", key="territory_add_commune"):
                _set_territory([*territory, choice])
                st.rerun()


def _epci_builder(ref: Referential, territory: list[str], scope_units: pd.DataFrame) -> None:
    epcis = (
        scope_units.dropna(subset=["epci_code"])
        .groupby("epci_code")["epci_name"]
        .first()
        .sort_values()
    )
    if len(epcis):
        epci = st.selectbox(
            "Ajouter un EPCI entier",
            list(epcis.index),
            index=None,
            placeholder="Choisir un EPCI",
            format_func=lambda e: str(epcis[e]),
            key="territory_epci",
        )
        if epci is not None and st.button("Ajouter toutes ses communes", key="territory_add_epci"):
            members = list(ref.units.index[ref.units["epci_code"] == epci])
            _set_territory([*territory, *members])
            st.rerun()


def _other_builders(ref: Referential, territory: list[str]) -> None:
    c3, c4, c5 = st.columns(3)
    with c3:
        if territory:
            remove = st.multiselect(
                "Retirer des communes",
                territory,
                format_func=lambda c: (
                    f"{ref.units.loc[c, 'name']} ({c})" if c in ref.units.index else c
                ),
                key="territory_remove",
                placeholder="Choisir des communes",
            )
            if remove and st.button("Retirer", key="territory_remove_button"):
                _set_territory([c for c in territory if c not in remove])
                st.rerun()
    with c4:
        if st.button("Charger l'exemple fictif (Alpilles)", key="territory_example"):
            blob, name = data.example_bytes("territoire")
            outcome = data.import_file(blob, name, region=None, department=None)
            if outcome.result is not None:
                first = outcome.result.perimeters.iloc[0]
                _set_territory(list(first["unit_codes"]), name="Exemple fictif (Alpilles)")
                st.rerun()
        if territory and st.button("Vider le territoire", key="territory_clear"):
            _set_territory([])
            st.rerun()
    with c5:
        upload = st.file_uploader(
            "Charger un territoire enregistré (ou une liste de communes)",
            type=["csv", "txt", "xlsx", "xls", "ods", "geojson", "json", "gpkg", "zip"],
            key="territory_upload",
        )
        if upload is not None:
            outcome = data.import_file(upload.getvalue(), upload.name, region=None, department=None)
            if outcome.error or outcome.result is None:
                st.error(f"Territoire non chargé : {outcome.error}")
            else:
                result = outcome.result
                names = result.perimeters["name"].tolist()
                pick = (
                    st.selectbox("Périmètre du fichier", names, key="territory_upload_pick")
                    if len(names) > 1
                    else names[0]
                )
                st.caption(result.summary_fr())
                if st.button("Utiliser ce territoire", key="territory_upload_use"):
                    row = result.perimeters[result.perimeters["name"] == pick].iloc[0]
                    # The file's name for it, when it has a column of names (a saved territory).
                    named = "perimeter" in result.source.get("columns", {})
                    _set_territory(
                        list(row["unit_codes"]), name=str(row["name"]) if named else None
                    )
                    st.rerun()


def _apply_click(map_state: object, scope_units: pd.DataFrame) -> None:
    """Toggle the commune clicked on the map, read from the map's state before it is drawn.

    Reading the component's value at the top of the run (instead of after
    drawing it, then rerunning) makes a click cost one run, not two.
    """
    state = map_state if isinstance(map_state, dict) else {}
    clicked = state.get("last_object_clicked") or state.get("last_clicked")
    if not isinstance(clicked, dict) or "lat" not in clicked:
        return
    stamp = (round(clicked["lat"], 7), round(clicked["lng"], 7))
    if st.session_state.get("territory_last_click") == stamp:
        return
    st.session_state["territory_last_click"] = stamp
    point = shapely.Point(clicked["lng"], clicked["lat"])
    geoms = scope_units.geometry
    hits = geoms.index[geoms.notna().to_numpy() & shapely.contains(geoms.to_numpy(), point)]
    if len(hits):
        code = str(hits[0])
        territory = _territory()
        _set_territory(
            [c for c in territory if c != code] if code in territory else [*territory, code]
        )


def territory_base_map(scope_frame: gpd.GeoDataFrame, outlines: gpd.GeoDataFrame) -> maps.MapSpec:
    """The clickable map of the scope's communes, identical whatever the territory.

    The territory is drawn on top as a separate layer (see :func:`territory_layer`),
    so that a click redraws that layer only, never the whole map.
    """
    return maps.MapSpec(
        bounds=maps.bounds_of(scope_frame),
        layers=(
            maps.outline_layer(outlines),
            maps.units_layer(
                scope_frame, name="Communes", color="#9e9e9e", fill_opacity=0.08, weight=0.4
            ),
        ),
        legend_title="Mon territoire",
        legend=(
            maps.LegendEntry(maps.TERRITORY_COLOR, "Commune du territoire (cliquer pour retirer)"),
            maps.LegendEntry("#eeeeee", "Autre commune (cliquer pour ajouter)"),
        ),
        layer_control=False,
    )


def territory_layer(scope_frame: gpd.GeoDataFrame, territory: list[str]) -> folium.FeatureGroup:
    """The territory's communes, as a layer added to the base map."""
    group = folium.FeatureGroup(name="Mon territoire")
    maps.add_layer(
        group,
        maps.units_layer(
            scope_frame[scope_frame["code"].isin(territory)],
            name="Mon territoire",
            color=maps.TERRITORY_COLOR,
            fill_opacity=0.55,
            weight=1.0,
        ),
    )
    return group


def territory_map(
    scope_frame: gpd.GeoDataFrame,
    territory: list[str],
    outlines: gpd.GeoDataFrame,
) -> maps.MapSpec:
    """Map of the scope's communes with the territory highlighted (pure function)."""
    in_territory = scope_frame["code"].isin(territory)
    bounds = maps.bounds_of(scope_frame if not territory else scope_frame[in_territory])
    return maps.MapSpec(
        bounds=bounds,
        layers=(
            maps.outline_layer(outlines),
            maps.units_layer(
                scope_frame[~in_territory],
                name="Communes",
                color="#9e9e9e",
                fill_opacity=0.08,
                weight=0.4,
            ),
            maps.units_layer(
                scope_frame[in_territory],
                name="Mon territoire",
                color=maps.TERRITORY_COLOR,
                fill_opacity=0.55,
                weight=1.0,
            ),
        ),
        legend_title="Mon territoire",
        legend=(
            maps.LegendEntry(maps.TERRITORY_COLOR, "Commune du territoire"),
            maps.LegendEntry("#eeeeee", "Autre commune (cliquer pour ajouter)"),
        ),
        layer_control=False,
    )


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Mon territoire" workflow."""
    st.subheader("Mon territoire")
    st.caption(
        "Composez le territoire de votre CPTS : cliquez sur les communes de la carte, cherchez-les par "
        "leur nom, ou ajoutez un EPCI entier. Le diagnostic se met à jour aussitôt."
    )
    care_panels.prepare_whatif(ref)
    scope_units = _scope_units(ref, ctx)
    map_key = f"territory-map-{ctx.scope_key}"
    _apply_click(st.session_state.get(map_key), scope_units)
    _builders(ref, ctx, scope_units)
    territory = [c for c in _territory() if c in ref.units.index]
    if not ctx.region and not ctx.department:
        st.info("Choisissez une région ou un département pour afficher la carte cliquable.")
    else:
        frame = data.clickable_units(tuple(scope_units.index))
        deps = tuple(sorted(scope_units["department"].astype(str).unique()))

        def base() -> folium.Map:
            outlines = data.outlines("department", deps)
            return maps.build_map(territory_base_map(frame, outlines), tiles=ctx.tiles)

        clickmap.clickable_map(
            data.clickable_base(map_key, tuple(scope_units.index), ctx.tiles, base),
            layer=territory_layer(frame, territory),
            height=520,
        )
    if not territory:
        st.info("Le territoire est vide : ajoutez des communes pour obtenir son diagnostic.")
        return
    if "territory_name" not in st.session_state:
        # A widget's state is dropped on a run that does not draw it (empty territory).
        st.session_state["territory_name"] = st.session_state.get(
            "territory_name_value", "Mon territoire"
        )
    name = (
        st.text_input(
            "Nom du territoire",
            key="territory_name",
            max_chars=120,
            help="Repris dans la fiche, le fichier enregistré et les exports.",
        ).strip()
        or "Mon territoire"
    )
    st.session_state["territory_name_value"] = name
    _claims_notice(ref, ctx, territory)
    territory_profile(ref, ctx, territory, name=name, key="territory", saving=True)


def _claims_notice(ref: Referential, ctx: Context, territory: list[str], shown: int = 12) -> None:
    """Say which communes of the territory the loaded perimeters already claim."""
    if ctx.imported is None:
        return
    claims = ctx.diagnosis().membership.claims_of(territory)
    if claims.empty:
        return
    by_code = claims.groupby("code", sort=False)["name"].agg(lambda s: ", ".join(map(str, s)))
    names = ref.units["name"]
    listed = "; ".join(
        f"{names.get(code, code)} ({cpts})" for code, cpts in by_code.head(shown).items()
    )
    n = len(by_code)
    st.info(
        f"{md_text(fr_count(n, 'commune', 'communes'))} du territoire sur "
        f"{fmt.number(len(territory))} {'est déjà revendiquée' if n < 2 else 'sont déjà revendiquées'} "
        f"par des CPTS des périmètres chargés ({md_text(ctx.source_label)}) : {md_text(listed)}"
        + (" …" if n > shown else "")
        + ". L'onglet « Arbitrage » compare deux projets qui se chevauchent."
    )


def territory_profile(
    ref: Referential,
    ctx: Context,
    territory: list[str],
    *,
    name: str,
    key: str,
    saving: bool = False,
    perimeter: PerimeterDiagnosis | None = None,
    remarks: Sequence[str] = (),
) -> None:
    """Instant diagnosis and fiche of a territory (Mon territoire, or a CPTS from Couverture).

    ``key`` prefixes every widget key, so that the profile can be shown in
    several places; ``saving`` adds the "save the territory" button. A CPTS of
    Couverture comes with its own diagnosis (``perimeter``: parts of shared
    cities counted as in the table) and ``remarks`` (sharing, overflow), shown
    and printed in the fiche.
    """
    diag = perimeter if perimeter is not None else territory_summary(territory, ref, name=name)
    row = diag.summary.iloc[0]
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
    for remark in remarks:
        st.info(md_text(remark))
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
    if row["n_parts"] > 1:
        parts = fr_count(row["n_parts"], "partie séparée", "parties séparées")
        st.warning(f"Territoire discontinu : {parts}.")
    if row["n_enclaves"]:
        names = ", ".join(diag.enclaves["name"].astype(str))
        st.warning(f"Enclaves (communes entourées mais non incluses) : {md_text(names)}.")
    cut = diag.epcis[diag.epcis["cut"]]
    if len(cut):
        st.info(
            "EPCI coupés : "
            + "; ".join(
                f"{md_text(r.epci_name)} ({fmt.share(r.share_included, 0)} de la population incluse)"
                for r in cut.itertuples()
            )
        )
    funding = _funding_panel(row, key=key)
    st.markdown("#### Offre et accès aux soins")
    scopes = scope_names(territory, ref)
    care = data.care_data(ctx.care, ctx.care_keys)
    indicators = territory_indicators(territory, ref, care)
    st.dataframe(indicators_for_people(indicators, scopes), hide_index=True, width="stretch")
    _apl_map(territory, care, key=key)
    _care_points_map(territory, care, key=key)
    care_panels.whatif_section(ref, territory, care, key=f"{key}_whatif")
    st.markdown("#### EPCI du territoire")
    st.dataframe(
        epcis_for_people(diag),
        hide_index=True,
        width="stretch",
    )
    fiche = functools.partial(
        territory_fiche,
        ref,
        territory,
        diag=diag,
        funding=funding,
        indicators=indicators,
        scopes=scopes,
        name=name,
        frame=data.unit_display(tuple(territory)),
        remarks=remarks,
    )
    _territory_exports(ref, territory, fiche=fiche, name=name, key=key, saving=saving)


def _apl_map(territory: list[str], care: Any, *, key: str) -> None:
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


#: Marker colour of each FINESS category key (keys of ``data/rules/finess.toml``).
_CARE_POINT_COLORS = {
    "msp": "#1b9e77",
    "centre_sante": "#7570b3",
    "pharmacie": "#66a61e",
    "hopital": "#d95f02",
}


def _care_points_figure(territory: list[str], finess: Any) -> folium.Map:
    """The territory's communes (outlines) and its FINESS points of care, by category."""
    frame = data.unit_display(tuple(territory))
    points = finess.points
    points = points[points["code"].isin(territory) & points["lon"].notna()]
    communes = maps.MapLayer(
        name="Communes du territoire",
        frame=frame,
        color="#555555",
        style="outline",
        tooltip=(("name", "Commune"),),
        control=False,
    )
    labels = {c["key"]: c["label"] for c in finess_categories()}
    entries = [
        maps.LegendEntry(_CARE_POINT_COLORS.get(k, "#333333"), label) for k, label in labels.items()
    ]
    spec = maps.MapSpec(
        bounds=maps.bounds_of(frame),
        layers=(communes,),
        legend_title="Points de soins (FINESS)",
        legend=tuple(entries),
        legend_note=f"{len(points)} établissement(s) géolocalisé(s) ; {finess.source}",
        layer_control=False,
    )
    fmap = maps.build_map(spec, tiles=False, height_px=410)
    for cat_key, group in points.groupby("category_key"):
        color = _CARE_POINT_COLORS.get(str(cat_key), "#333333")
        gdf = gpd.GeoDataFrame(
            group[["name", "category_label"]],
            geometry=gpd.points_from_xy(group["lon"], group["lat"]),
            crs=4326,
        )
        folium.GeoJson(
            maps.geojson_collection(gdf, properties=["name", "category_label"]),
            marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.9),
            style_function=lambda _f, c=color: {"color": "#222222", "fillColor": c},
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "category_label"],
                aliases=["Établissement", "Catégorie"],
                localize=False,
            ),
        ).add_to(fmap)
    return fmap


def _care_points_map(territory: list[str], care: Any, *, key: str) -> None:
    """Points of care of the territory (FINESS), when an extraction is loaded."""
    finess = getattr(care, "finess", None)
    if finess is None:
        return
    with st.expander("Carte des points de soins du territoire (FINESS)"):
        html = data.session_memo(
            "map-html",
            f"finess-{key}-{hash(tuple(territory))}-{id(finess)}",
            lambda: maps.map_html(_care_points_figure(territory, finess)),
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


def epcis_for_people(diag: PerimeterDiagnosis) -> pd.DataFrame:
    """The territory's EPCIs for people (on screen and in the fiche)."""
    return for_people(
        diag.epcis,
        columns=["epci_name", "epci_population", "population_included", "share_included", "cut"],
    )


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


def _funding_panel(row: pd.Series, *, key: str) -> pd.DataFrame:
    st.markdown("#### Simulation du financement ACI")
    f1, f2, f3, f4 = st.columns(4)
    missions = f1.multiselect(
        "Missions optionnelles",
        ["qualite_pertinence", "accompagnement"],
        default=["qualite_pertinence", "accompagnement"],
        format_func=lambda m: {
            "qualite_pertinence": "Qualité et pertinence",
            "accompagnement": "Accompagnement des professionnels",
        }[m],
        key=f"{key}_funding_missions" if key != "territory" else "funding_missions",
    )
    year = f2.radio(
        "Crises sanitaires",
        ["premiere_annee", "annees_suivantes"],
        format_func=lambda y: "Première année" if y == "premiere_annee" else "Années suivantes",
        key=f"{key}_funding_year" if key != "territory" else "funding_year",
    )
    crisis = f3.checkbox(
        "Crise déclenchée dans l'année",
        key=f"{key}_funding_crisis" if key != "territory" else "funding_crisis",
    )
    members = f4.number_input(
        "Adhérents",
        min_value=0,
        value=0,
        step=10,
        key=f"{key}_funding_members" if key != "territory" else "funding_members",
    )
    funding = simulate_funding(
        int(row["size_class"]),
        optional_missions=tuple(cast(list[OptionalMission], missions)),
        crisis_year=cast(CrisisYear, year),
        crisis_activated=crisis,
        members=int(members) or None,
    )
    shown = funding[["label", "fixed_eur", "variable_eur", "total_eur"]].copy()
    for col in ("fixed_eur", "variable_eur", "total_eur"):
        shown[col] = shown[col].map(fmt.euros)
    shown = shown.rename(
        columns={
            "label": "ligne",
            "fixed_eur": "fixe",
            "variable_eur": "variable",
            "total_eur": "total",
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(
        "Montants annuels maximaux de l'accord conventionnel interprofessionnel (ACI) des CPTS, "
        "après son avenant 2 (2022)."
    )
    return funding


def indicators_for_people(indicators: pd.DataFrame, scopes: dict[str, str]) -> pd.DataFrame:
    """The indicator table in French, with the names of the comparison scopes as headers."""
    return display_indicators(indicators)[
        ["indicator", "unit", "territory", "department", "region", "france", "source", "status"]
    ].rename(
        columns={
            "indicator": "indicateur",
            "unit": "unité",
            "territory": scopes["territory"],
            "department": scopes["department"],
            "region": scopes["region"],
            "france": scopes["france"],
            "source": "source et millésime",
            "status": "état",
        }
    )


def _territory_exports(
    ref: Referential,
    territory: list[str],
    *,
    fiche: Callable[[], str],
    name: str,
    key: str,
    saving: bool,
) -> None:
    st.markdown("#### Enregistrer et imprimer")
    c1, c2 = st.columns(2)
    if saving:
        saved = perimeters_from_members(
            {"mon-territoire": territory}, names={"mon-territoire": name}
        )
        c1.download_button(
            "Enregistrer le territoire (CSV)",
            lambda: export_perimeters_csv(saved, referential=ref),
            file_name=f"{slug(name) or 'mon_territoire'}.csv",
            mime="text/csv",
            key=f"{key}_save",
            on_click="ignore",
        )
    c2.download_button(
        "Fiche diagnostic imprimable (HTML)",
        # Built when the button is clicked, not on every run of the page.
        lambda: fiche().encode("utf-8"),
        file_name=f"fiche_{slug(name) or 'territoire'}.html",
        mime="text/html",
        key=f"{key}_fiche",
        on_click="ignore",
    )


def territory_fiche(
    ref: Referential,
    territory: list[str],
    *,
    diag: Any,
    funding: pd.DataFrame,
    indicators: pd.DataFrame,
    scopes: dict[str, str],
    name: str,
    frame: gpd.GeoDataFrame | None = None,
    remarks: Sequence[str] = (),
) -> str:
    """The printable fiche of a territory: map with legend, key figures, comparisons, sources.

    ``frame`` holds the display geometries of the territory (looked up when not given);
    ``remarks`` (sharing of cities, overflow of the view) are printed with the notes.
    """
    row = diag.summary.iloc[0]
    if frame is None:
        frame = data.unit_display(tuple(territory))
    svg = svg_map([(frame, maps.TERRITORY_COLOR, "#1b4f72")])
    communes = ref.units.loc[territory, ["name", "population", "epci_name"]].reset_index()
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
        },
        sources=[
            s.get("citation") or str(s.get("package")) for s in ref.manifest.get("sources", [])
        ]
        + [str(diag.notes.get("size_classes")), str(diag.notes.get("minimum_population"))]
        + sorted(set(indicators["source"])),
        notes=[
            f"{row['population_label']}",
            margins_sentence(row),
            *remarks,
            "Contours simplifiés pour l'affichage.",
        ],
    )


def display_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    """Indicators as French text: shares in %, numbers with their decimals, "non chargé" when missing."""
    shown = indicators.copy()
    decimals = shown["decimals"].astype(int).tolist() if "decimals" in shown else [2] * len(shown)
    for col in ("territory", "department", "region", "france"):
        values = []
        for value, unit, status, digits in zip(
            shown[col], shown["unit"], shown["status"], decimals, strict=True
        ):
            if status != "chargé":
                values.append("non chargé")
            elif str(unit).startswith("part"):
                values.append(fmt.share(value))
            else:
                values.append(fmt.number(value, digits))
        shown[col] = values
    return shown
