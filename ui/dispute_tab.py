"""Workflow "Arbitrage" (regional committee): two perimeters, contested communes, split options."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from diagnosis import Dispute, Referential, compare_perimeters
from diagnosis.core.numbers import fr_count, plural
from diagnosis.outputs import export
from ui import data, fmt, maps
from ui.fiche import fiche_html, svg_map
from ui.safe import md_text
from ui.sidebar import Context

SIDE_COLORS = {"A": "#2c7bb6", "B": "#fdae61"}


def dispute_map(frames: dict[str, gpd.GeoDataFrame], names: dict[str, str]) -> maps.MapSpec:
    """Map of A only, B only and contested communes (pure function)."""
    everything = gpd.GeoDataFrame(
        geometry=[g for f in frames.values() for g in f.geometry if g is not None], crs=4326
    )
    return maps.MapSpec(
        bounds=maps.bounds_of(everything),
        layers=(
            maps.units_layer(
                frames["a"], name=f"A : {names['A']}", color=SIDE_COLORS["A"], fill_opacity=0.45
            ),
            maps.units_layer(
                frames["b"], name=f"B : {names['B']}", color=SIDE_COLORS["B"], fill_opacity=0.45
            ),
            maps.units_layer(
                frames["contested"],
                name="Communes disputées",
                color=maps.CONTESTED_COLOR,
                fill_opacity=0.8,
                weight=1.5,
                tooltip=(
                    ("name", "Commune disputée"),
                    ("code", "Code INSEE"),
                    ("population_fr", "Habitants"),
                ),
            ),
        ),
        legend_title="Arbitrage",
        legend=legend_entries(names),
    )


def legend_entries(names: dict[str, str]) -> tuple[maps.LegendEntry, ...]:
    """The legend of the dispute map (also drawn in the fiche)."""
    return (
        maps.LegendEntry(SIDE_COLORS["A"], f"A : {names['A']}"),
        maps.LegendEntry(SIDE_COLORS["B"], f"B : {names['B']}"),
        maps.LegendEntry(maps.CONTESTED_COLOR, "Revendiquée par les deux"),
    )


def _pair_label(row: pd.Series) -> str:
    return (
        f"{row['name_a']} / {row['name_b']} : "
        f"{fr_count(row['n_units_shared'], 'commune', 'communes')}, "
        f"{fr_count(row['population_shared'], 'habitant', 'habitants')} en jeu"
    )


def _with_units(diag: Any) -> set[str]:
    """Perimeters with at least one commune in the scope (the others cannot be compared)."""
    m = diag.membership
    ids = m.perimeters["perimeter_id"].to_numpy()
    return {str(p) for p in ids[np.unique(m.member_perimeter)]}


def _choose_pair(diag: Any) -> tuple[str, str] | None:
    """The two perimeters to compare: an overlapping pair, or any two chosen by hand."""
    perimeters = diag.membership.perimeters
    names = dict(zip(perimeters["perimeter_id"], perimeters["name"], strict=True))
    ids = [p for p in names if p in _with_units(diag)]
    pairs = diag.overlap_pairs
    mode = "paire"
    if len(pairs):
        mode = st.radio(
            "Choix des projets",
            ["paire", "libre"],
            format_func=lambda m: "Parmi les chevauchements"
            if m == "paire"
            else "Deux projets au choix",
            horizontal=True,
            key="dispute_mode",
        )
    else:
        st.caption("Aucun chevauchement dans ce fichier : choisissez deux périmètres à comparer.")
        mode = "libre"
    if mode == "paire":
        st.caption(
            f"{fmt.number(len(pairs))} paire(s) de périmètres se chevauchent, classées par "
            "habitants en jeu."
        )
        labels = [_pair_label(row) for _, row in pairs.iterrows()]
        i = st.selectbox(
            "Paire de projets en chevauchement",
            range(len(pairs)),
            format_func=lambda k: labels[k],
            key="dispute_pair",
        )
        row = pairs.iloc[int(i)]
        return str(row["perimeter_a"]), str(row["perimeter_b"])
    c1, c2 = st.columns(2)
    a = str(
        c1.selectbox("Projet A", ids, index=0, format_func=lambda i: str(names[i]), key="dispute_a")
    )
    b_options = [i for i in ids if i != a]
    b = str(
        c2.selectbox(
            "Projet B", b_options, index=0, format_func=lambda i: str(names[i]), key="dispute_b"
        )
    )
    return a, b


def _shared_choice(dispute: Dispute, key: str) -> dict[str, float] | None:
    """The committee's choice of communes whose population is split between A and B."""
    contested = dispute.contested
    if contested.empty:
        return None
    with st.expander("Partager la population d'une commune (ville trop grande pour un seul côté)"):
        order = contested.sort_values("population", ascending=False)
        names = {
            r.code: f"{r.name} ({r.code}, {fmt.number(r.population)} hab.)"
            for r in order.itertuples()
        }
        default = order.loc[order["population"] >= 20_000, "code"].tolist()
        chosen = st.multiselect(
            "Communes partagées entre les deux projets",
            list(names),
            default=default[:3],
            format_func=lambda c: names[c],
            key=f"dispute_shared_{key}",
        )
        share = st.slider(
            "Part de leur population comptée pour A (%)",
            min_value=0,
            max_value=100,
            value=50,
            step=5,
            key=f"dispute_share_{key}",
        )
    if not chosen:
        return None
    return {str(code): share / 100 for code in chosen}


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Arbitrage" workflow."""
    st.subheader("Arbitrage entre deux projets")
    if ctx.imported is None:
        st.info("Importez un fichier de périmètres (barre latérale) pour comparer deux projets.")
        return
    diag = ctx.diagnosis("emergence")
    if len(_with_units(diag)) < 2:
        st.warning(
            "Le fichier contient moins de deux périmètres ayant des communes dans le périmètre "
            "d'étude : il n'y a rien à arbitrer. Choisissez une autre région ou un autre fichier."
        )
        return
    chosen = _choose_pair(diag)
    assert chosen is not None
    a, b = chosen
    base = data.session_memo(
        "dispute",
        f"{ctx.import_key}|{a}|{b}",
        lambda: compare_perimeters(diag.membership, diag.referential, a, b),
        keep=4,
    )
    shared = _shared_choice(base, f"{a}-{b}")
    dispute = (
        base
        if shared is None
        else compare_perimeters(diag.membership, diag.referential, a, b, shared=shared)
    )
    s = dispute.summary
    m1, m2, m3 = st.columns(3)
    m1.metric("Communes disputées", fmt.number(s["n_contested"]))
    m2.metric("Habitants en jeu", fmt.number(s["population_contested"]))
    m3.metric(
        "A / B sans les communes disputées",
        f"{fmt.number(s['population_a_without'])} / {fmt.number(s['population_b_without'])}",
    )
    frames = data.session_memo(
        "dispute-frames",
        f"{ctx.import_key}|{a}|{b}",
        lambda: _frames(diag, a, b),
        keep=2,
    )
    names = {"A": str(s["name_a"]), "B": str(s["name_b"])}
    data.show_map(
        f"dispute-{ctx.import_key}-{a}-{b}",
        lambda: dispute_map(frames, names),
        tiles=ctx.tiles,
        height_px=530,
        example=ctx.is_example,
    )
    if not int(s["n_contested"]):
        st.info(
            "Ces deux projets ne revendiquent aucune commune en commun : il n'y a rien à "
            "partager. Choisissez « Parmi les chevauchements » pour voir les paires qui se "
            "chevauchent."
        )
        return
    _tables(dispute)
    _exports(dispute, frames, names)


def _frames(diag: Any, a: str, b: str) -> dict[str, gpd.GeoDataFrame]:
    m = diag.membership
    ids = m.perimeters["perimeter_id"].tolist()
    a_units = set(m.index.codes[m.units_of(ids.index(a))])
    b_units = set(m.index.codes[m.units_of(ids.index(b))])
    contested = a_units & b_units

    def frame(codes: set[str]) -> gpd.GeoDataFrame:
        shown = data.unit_display(tuple(sorted(codes)))
        return shown.assign(population_fr=shown["population"].map(fmt.number))

    return {
        "a": frame(a_units - contested),
        "b": frame(b_units - contested),
        "contested": frame(contested),
    }


def options_for_people(dispute: Dispute) -> pd.DataFrame:
    """The split options in French (a side with no inhabitant shows no size class)."""
    return export.dispute_tables(dispute)["Options de partage"]


def contested_for_people(dispute: Dispute) -> pd.DataFrame:
    """The contested communes in French, with rounded distances."""
    return export.dispute_tables(dispute)["Communes disputées"]


def _tables(dispute: Dispute) -> None:
    st.markdown("#### Options de partage")
    options = options_for_people(dispute)
    # Every option in view (a dozen rows at most): the shared-city rows come last.
    st.dataframe(options, hide_index=True, width="stretch", height=36 * (len(options) + 1) + 4)
    st.caption(
        "Une option qui laisse un côté sans habitant ne lui donne ni taille ni financement. "
        "« Situation déclarée » compte les communes disputées des deux côtés."
    )
    st.markdown("#### Communes disputées")
    st.dataframe(contested_for_people(dispute), hide_index=True, width="stretch")
    st.caption(md_text(dispute.summary["distance_note"]) + ".")


def _exports(dispute: Dispute, frames: dict[str, gpd.GeoDataFrame], names: dict[str, str]) -> None:
    c1, c2 = st.columns(2)
    c1.download_button(
        "Classeur Excel de l'arbitrage",
        lambda: export.dispute_workbook(dispute),
        file_name="atlas_cpts_arbitrage.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    c2.download_button(
        "Fiche d'arbitrage imprimable (HTML)",
        lambda: dispute_fiche(dispute, frames, names).encode("utf-8"),
        file_name="fiche_arbitrage.html",
        mime="text/html",
        on_click="ignore",
    )


def dispute_fiche(
    dispute: Dispute, frames: dict[str, gpd.GeoDataFrame], names: dict[str, str]
) -> str:
    """The printable fiche of a dispute, with its map legend."""
    svg = svg_map(
        [
            (frames["a"], SIDE_COLORS["A"], "#333"),
            (frames["b"], SIDE_COLORS["B"], "#333"),
            (frames["contested"], maps.CONTESTED_COLOR, "#333"),
        ]
    )
    n_contested = dispute.summary["n_contested"]
    population = dispute.summary["population_contested"]
    return fiche_html(
        title=f"Arbitrage : {names['A']} / {names['B']}",
        key_figures={
            plural(n_contested, "commune disputée", "communes disputées"): fmt.number(n_contested),
            plural(population, "habitant en jeu", "habitants en jeu"): fmt.number(population),
        },
        map_svg=svg,
        legend=[(e.color, e.label) for e in legend_entries(names)],
        tables={
            "Options de partage": options_for_people(dispute),
            "Communes disputées": contested_for_people(dispute),
        },
        sources=["Atlas CPTS, référentiel des communes (voir « Sources et millésimes »)"],
        notes=[dispute.summary["distance_note"]],
    )
