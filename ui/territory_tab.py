"""Workflow "Mon territoire" (CPTS leader): build a territory and read its instant diagnosis.

The page, top to bottom: the builders (:mod:`ui.territory_builders`), the
clickable map of the scope's communes (a click adds or removes the commune
under it), the territory's name, which communes the loaded perimeters already
claim, and the territory's profile (:mod:`ui.profile`).
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from diagnosis import Referential
from diagnosis.core.numbers import fr_count
from diagnosis.core.referential import unit_at
from ui import care_panels, clickmap, data, drafts_panel, fmt, maps
from ui.profile import territory_profile
from ui.safe import md_text
from ui.sidebar import Context
from ui.territory_builders import FIT, builders, set_territory, territory

__all__ = ["render", "territory_base_map", "territory_claims", "territory_layer"]


def _apply_click(map_state: object, scope: Referential) -> None:
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
    code = unit_at(scope, clicked["lng"], clicked["lat"])
    if code is not None:
        codes = territory()
        set_territory(
            [c for c in codes if c != code] if code in codes else [*codes, code], fit=False
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
                maps.with_population_fr(scope_frame),
                name="Communes",
                color="#9e9e9e",
                fill_opacity=0.08,
                weight=0.4,
                tooltip=maps.COMMUNE_TOOLTIP,
            ),
        ),
        legend_title="Mon territoire",
        legend=(
            maps.LegendEntry(maps.TERRITORY_COLOR, "Commune du territoire (cliquer pour retirer)"),
            maps.LegendEntry("#eeeeee", "Autre commune (cliquer pour ajouter)"),
            maps.LegendEntry(maps.HATCH_SWATCH, "Commune déjà revendiquée par une CPTS (hachures)"),
        ),
        layer_control=False,
    )


def territory_layer(
    scope_frame: gpd.GeoDataFrame, codes: Sequence[str], claims: pd.DataFrame | None = None
) -> folium.FeatureGroup:
    """The territory's communes, as a layer added to the base map.

    ``claims`` (columns ``code`` and ``cpts``, see :func:`territory_claims`)
    hatches the communes already claimed by a CPTS, named in their tooltip.
    """
    group = folium.FeatureGroup(name="Mon territoire")
    frame = maps.with_population_fr(scope_frame[scope_frame["code"].isin(list(codes))])
    maps.add_layer(
        group,
        maps.units_layer(
            frame,
            name="Mon territoire",
            color=maps.TERRITORY_COLOR,
            fill_opacity=0.55,
            weight=1.0,
            tooltip=maps.COMMUNE_TOOLTIP,
        ),
    )
    if claims is not None and not claims.empty:
        claimed = frame.merge(claims[["code", "cpts"]], on="code")
        maps.add_layer(
            group,
            maps.MapLayer(
                name="Communes déjà revendiquées",
                frame=claimed,
                color=maps.CONTESTED_COLOR,
                weight=1.2,
                hatch=True,
                tooltip=(*maps.COMMUNE_TOOLTIP, ("cpts", "Déjà revendiquée par")),
            ),
        )
    return group


def territory_claims(ref: Referential, ctx: Context, codes: Sequence[str]) -> pd.DataFrame:
    """Communes of the territory already claimed by the loaded perimeters, with their CPTS.

    One row per commune, in the territory's order: ``code``, ``name``,
    ``population`` and ``cpts`` (the claiming CPTS' names, joined by " ; ").
    Empty when no perimeters are loaded.
    """
    columns = ["code", "name", "population", "cpts"]
    if ctx.imported is None or not codes:
        return pd.DataFrame(columns=columns)
    claims = ctx.diagnosis().membership.claims_of(list(codes))
    by_code = claims.groupby("code", sort=False)["name"].agg(lambda s: " ; ".join(map(str, s)))
    units = ref.units.reindex(by_code.index)
    return pd.DataFrame(
        {
            "code": by_code.index.astype(str),
            "name": units["name"].to_numpy(),
            "population": units["population"].to_numpy(),
            "cpts": by_code.to_numpy(),
        },
        columns=columns,
    )


def _clickable_map(
    ctx: Context,
    scope: Referential,
    codes: list[str],
    *,
    map_key: str,
    claims: pd.DataFrame,
) -> None:
    """The scope's communes, the territory drawn over them; a click toggles a commune.

    After communes were added by a builder (search, EPCI, file), the map is
    fitted to the territory once.
    """
    if not ctx.region and not ctx.department:
        st.info("Choisissez une région ou un département pour afficher la carte cliquable.")
        return
    scope_codes = tuple(scope.units.index)
    frame = data.clickable_units(scope_codes)
    deps = tuple(sorted(scope.units["department"].astype(str).unique()))

    def base() -> folium.Map:
        outlines = data.outlines("department", deps)
        return maps.build_map(territory_base_map(frame, outlines), tiles=ctx.tiles)

    fit = st.session_state.pop(FIT, False)
    shown = frame[frame["code"].isin(codes)]
    clickmap.clickable_map(
        data.clickable_base(map_key, scope_codes, ctx.tiles, base),
        layer=territory_layer(frame, codes, claims),
        height=520,
        fit=maps.bounds_of(shown) if fit and not shown.empty else None,
    )


def _territory_name() -> str:
    """The name field of the territory (kept when the territory is emptied and refilled)."""
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
    return name


def _claims_notice(ctx: Context, claims: pd.DataFrame, n_codes: int, shown: int = 12) -> None:
    """Say which communes of the territory the loaded perimeters already claim."""
    if claims.empty:
        return
    listed = "; ".join(f"{r.name} ({r.cpts})" for r in claims.head(shown).itertuples())
    n = len(claims)
    st.info(
        f"{md_text(fr_count(n, 'commune', 'communes'))} du territoire sur "
        f"{fmt.number(n_codes)} {'est déjà revendiquée' if n < 2 else 'sont déjà revendiquées'} "
        f"par des CPTS des périmètres chargés ({md_text(ctx.source_label)}) : {md_text(listed)}"
        + (" …" if n > shown else "")
        + ". Elles sont hachurées sur la carte et listées dans la fiche. L'onglet « Arbitrage » "
        "compare les projets qui se chevauchent."
    )


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Mon territoire" workflow."""
    st.subheader("Mon territoire")
    st.caption(
        "Composez le territoire de votre CPTS : cliquez sur les communes de la carte, cherchez-les par "
        "leur nom, ou ajoutez un EPCI entier. Le diagnostic se met à jour aussitôt."
    )
    care_panels.prepare_whatif(ref)
    drafts_panel.apply_pending()
    scope = data.scoped(ctx.region, ctx.department)
    map_key = f"territory-map-{ctx.scope_key}"
    _apply_click(st.session_state.get(map_key), scope)
    builders(ref, scope)
    codes = [c for c in territory() if c in ref.units.index]
    claims = territory_claims(ref, ctx, codes)
    _clickable_map(ctx, scope, codes, map_key=map_key, claims=claims)
    if not codes:
        st.info("Le territoire est vide : ajoutez des communes pour obtenir son diagnostic.")
        drafts_panel.render(ref, [], None)
        return
    name = _territory_name()
    _claims_notice(ctx, claims, len(codes))
    territory_profile(ref, ctx, codes, name=name, key="territory", saving=True, claims=claims)
    drafts_panel.render(ref, codes, name)
