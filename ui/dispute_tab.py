"""Workflow "Arbitrage" (regional committee): two projects or more, contested communes, options.

Layout and wording only: the parties, the contested communes and the options
come from :func:`diagnosis.analysis.disputes.compare_parties`; the French
tables from :mod:`diagnosis.outputs.disputes`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from diagnosis import Referential
from diagnosis.analysis.dispute_shares import merge_shares
from diagnosis.analysis.disputes import Dispute, compare_parties, dispute_groups
from diagnosis.core.model import SHARE_COLUMNS
from diagnosis.core.numbers import fr_count, fr_share, plural
from diagnosis.core.textnorm import slug
from diagnosis.errors import AtlasError
from diagnosis.outputs import disputes as people
from diagnosis.outputs.labels import (
    DISPUTE_DISTANCE_NOTE,
    dispute_option_label,
    dispute_option_note,
)
from ui import data, decision_panel, fmt, maps
from ui.fiche import fiche_html, svg_map
from ui.pdf import fiche_downloads
from ui.safe import md_text
from ui.sidebar import Context

#: Key of ``st.session_state`` holding the shares applied to the other views of the session:
#: a frame with the columns of :data:`diagnosis.core.model.SHARE_COLUMNS`.
SHARES_KEY = "arbitrage_shares"

#: One colour per party (A, B, C…), colour-blind safe, none the red of contested communes.
PARTY_COLORS = (
    "#2c7bb6",
    "#fdae61",
    "#1b9e77",
    "#7570b3",
    "#e6ab02",
    "#66a61e",
    "#a6761d",
    "#666666",
)


def party_color(i: int) -> str:
    """The colour of the ``i``-th party (colours repeat after eight parties)."""
    return PARTY_COLORS[i % len(PARTY_COLORS)]


def _contested_label(n_parties: int) -> str:
    return "Revendiquée par les deux" if n_parties == 2 else "Revendiquée par plusieurs projets"


def dispute_map(frames: dict[str, gpd.GeoDataFrame], names: dict[str, str]) -> maps.MapSpec:
    """Map of each party's own communes and of the contested ones (pure function).

    ``frames`` holds one frame per party under its lower-case letter (``a``,
    ``b``…) and ``contested``; ``names`` maps each letter (``A``…) to a name.
    """
    everything = gpd.GeoDataFrame(
        geometry=[g for f in frames.values() for g in f.geometry if g is not None], crs=4326
    )
    layers = [
        maps.units_layer(
            frames[letter.lower()],
            name=f"{letter} : {name}",
            color=party_color(i),
            fill_opacity=0.45,
        )
        for i, (letter, name) in enumerate(names.items())
    ]
    layers.append(
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
                ("claimants_fr", "Revendiquée par"),
            ),
        )
    )
    return maps.MapSpec(
        bounds=maps.bounds_of(everything),
        layers=tuple(layers),
        legend_title="Arbitrage",
        legend=legend_entries(names),
    )


def legend_entries(names: dict[str, str]) -> tuple[maps.LegendEntry, ...]:
    """The legend of the dispute map (also drawn in the fiche): every party, then contested."""
    return (
        *(
            maps.LegendEntry(party_color(i), f"{letter} : {name}")
            for i, (letter, name) in enumerate(names.items())
        ),
        maps.LegendEntry(maps.CONTESTED_COLOR, _contested_label(len(names))),
    )


def _group_label(row: pd.Series) -> str:
    return (
        " / ".join(row["names"])
        + f" : {fr_count(row['n_units_contested'], 'commune', 'communes')}, "
        f"{fr_count(row['population_contested'], 'habitant', 'habitants')} en jeu"
    )


def _with_units(diag: Any) -> list[str]:
    """Perimeters with at least one commune in the scope (the others cannot be compared)."""
    m = diag.membership
    ids = m.perimeters["perimeter_id"].astype(str).tolist()
    claimed = set(m.member_perimeter.tolist())
    return [p for i, p in enumerate(ids) if i in claimed]


def _groups_caption(groups: pd.DataFrame) -> str:
    """How many groups of projects claim the same communes, in French."""
    n, n_big = len(groups), int((groups["n_parties"] > 2).sum())
    text = fr_count(n, "groupe de projets revendique", "groupes de projets revendiquent")
    text += " les mêmes communes"
    if n_big and n > 1:
        text += f" (dont {fmt.number(n_big)} de plus de deux projets)"
    elif n_big:
        text += " (plus de deux projets)"
    return text + (", classés par habitants en jeu." if n > 1 else ".")


def _choose_parties(diag: Any, import_key: str) -> list[str]:
    """The perimeters to compare: a group that shares communes, or any set chosen by hand."""
    perimeters = diag.membership.perimeters
    names = dict(zip(perimeters["perimeter_id"].astype(str), perimeters["name"], strict=True))
    groups = data.session_memo(
        "dispute-groups", import_key, lambda: dispute_groups(diag.membership)
    )
    if len(groups):
        mode = st.radio(
            "Choix des projets",
            ["groupe", "libre"],
            format_func=lambda m: (
                "Parmi les chevauchements" if m == "groupe" else "Projets au choix"
            ),
            horizontal=True,
            key="dispute_mode",
        )
    else:
        st.caption("Aucun chevauchement dans ce fichier : choisissez les projets à comparer.")
        mode = "libre"
    if mode == "groupe":
        st.caption(_groups_caption(groups))
        labels = [_group_label(row) for _, row in groups.iterrows()]
        i = st.selectbox(
            "Projets en chevauchement",
            range(len(groups)),
            format_func=lambda k: labels[k],
            key="dispute_group",
        )
        return [str(p) for p in groups.iloc[int(i)]["perimeter_ids"]]
    ids = _with_units(diag)
    chosen = st.multiselect(
        "Projets à comparer (deux ou plus)",
        ids,
        default=ids[:2],
        format_func=lambda i: str(names[i]),
        key="dispute_parties",
    )
    return [str(p) for p in chosen]


def _default_share(ctx: Context, code: str, ids: list[str]) -> list[float] | None:
    """Shares already applied in the session, or declared in the file, for one commune."""
    for table in (st.session_state.get(SHARES_KEY), getattr(ctx.imported, "shares", None)):
        if isinstance(table, pd.DataFrame) and not table.empty:
            rows = table[(table["code"].astype(str) == code)].set_index("perimeter_id")["share"]
            if set(ids) <= set(rows.index.astype(str)):
                return [float(rows.loc[p]) for p in ids]
    return None


def _commune_shares(
    ctx: Context, row: pd.Series, dispute: Dispute, key: str
) -> list[tuple[str, str, float]]:
    """The committee's shares of one commune among its claimants (the last gets the rest)."""
    parties = dispute.parties.set_index("party")
    letters = str(row["claimants"]).split("+")
    ids = [str(parties.loc[x, "perimeter_id"]) for x in letters]
    default = _default_share(ctx, str(row["code"]), ids)
    # Two parties: steps of 5 % from an even split; more: steps of 1 % from equal parts.
    step = 5 if len(letters) == 2 else 1
    percents: list[int] = []
    for k, letter in enumerate(letters[:-1]):
        if default:
            start = step * round(100 * default[k] / step)
        else:
            start = 50 if len(letters) == 2 else 100 // len(letters)
        value = st.slider(
            f"{md_text(row['name'])} : part comptée pour {letter} (%)",
            min_value=0,
            max_value=100,
            value=int(start),
            step=step,
            key=f"dispute_share_{key}_{row['code']}_{letter}",
        )
        percents.append(int(value))
    # In whole percents, so that the rest is exact (1 - 0.5 - 0.3 is not 0.2 in floats).
    rest = 100 - sum(percents)
    # Over 100 %: the last party gets nothing and the library refuses the shares, in French.
    percents.append(max(rest, 0))
    if rest >= 0:
        st.caption(md_text(f"{letters[-1]} : le reste, {fr_share(rest / 100, 0)}."))
    return [(p, str(row["code"]), v / 100) for p, v in zip(ids, percents, strict=True)]


def _shares_choice(ctx: Context, dispute: Dispute, key: str) -> pd.DataFrame | None:
    """The committee's choice of communes whose population is split among their claimants."""
    contested = dispute.contested
    if contested.empty:
        return None
    with st.expander(
        "Partager la population d'une commune (ville trop grande pour un seul projet)"
    ):
        order = contested.sort_values("population", ascending=False)
        names = {
            r.code: f"{r.name} ({r.code}, {fmt.number(r.population)} hab.)"
            for r in order.itertuples()
        }
        default = order.loc[order["population"] >= 20_000, "code"].tolist()
        chosen = st.multiselect(
            "Communes partagées entre les projets qui les revendiquent",
            list(names),
            default=default[:3],
            format_func=lambda c: names[c],
            key=f"dispute_shared_{key}",
        )
        rows = [
            share
            for _, row in order[order["code"].isin(chosen)].iterrows()
            for share in _commune_shares(ctx, row, dispute, key)
        ]
    if not rows:
        return None
    return pd.DataFrame(rows, columns=SHARE_COLUMNS)


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Arbitrage" workflow."""
    st.subheader("Arbitrage entre projets")
    decision_panel.show_done()
    if ctx.imported is None:
        st.info("Importez un fichier de périmètres (barre latérale) pour comparer des projets.")
        return
    diag = ctx.diagnosis("emergence")
    if len(_with_units(diag)) < 2:
        st.warning(
            "Le fichier contient moins de deux périmètres ayant des communes dans le périmètre "
            "d'étude : il n'y a rien à arbitrer. Choisissez une autre région ou un autre fichier."
        )
        return
    ids = _choose_parties(diag, f"{ctx.import_key}|{ctx.scope_key}")
    if len(ids) < 2:
        st.info("Choisissez au moins deux projets à comparer.")
        return
    key = "-".join(ids)
    base = data.session_memo(
        "dispute",
        f"{ctx.import_key}|{key}",
        lambda: compare_parties(diag.membership, diag.referential, ids),
        keep=4,
    )
    dispute, refused = _with_committee_shares(ctx, diag, base, key)
    _metrics(dispute)
    frames = data.session_memo(
        "dispute-frames", f"{ctx.import_key}|{key}", lambda: dispute_frames(base), keep=2
    )
    names = party_names(dispute)
    data.show_map(
        f"dispute-{ctx.import_key}-{key}",
        lambda: dispute_map(frames, names),
        tiles=ctx.tiles,
        height_px=530,
        example=ctx.is_example,
    )
    if not dispute.summary.n_contested:
        st.info(
            "Ces projets ne revendiquent aucune commune en commun : il n'y a rien à "
            "partager. Choisissez « Parmi les chevauchements » pour voir les projets qui se "
            "chevauchent."
        )
        return
    if refused:
        st.error(md_text(refused))
    _tables(dispute)
    _apply_shares(dispute, key)
    decision_panel.render(ref, ctx, dispute)
    _exports(dispute, frames, names, decision_panel.recorded(ctx, dispute))


def _with_committee_shares(
    ctx: Context, diag: Any, base: Dispute, key: str
) -> tuple[Dispute, str | None]:
    """The dispute with the shares the committee set (the base one and the reason when refused)."""
    shares = _shares_choice(ctx, base, key)
    if shares is None:
        return base, None
    try:
        return compare_parties(
            diag.membership, diag.referential, list(base.summary.perimeter_ids), shares=shares
        ), None
    except AtlasError as error:
        return base, f"Partage refusé : {error}"


def party_names(dispute: Dispute) -> dict[str, str]:
    """Letter → name of every party, in order."""
    return dict(
        zip(dispute.parties["party"].astype(str), dispute.parties["name"].astype(str), strict=True)
    )


def _metrics(dispute: Dispute) -> None:
    s = dispute.summary
    m1, m2, m3 = st.columns(3)
    m1.metric("Communes disputées", fmt.number(s.n_contested))
    m2.metric("Habitants en jeu", fmt.number(s.population_contested))
    m3.metric(
        f"{' / '.join(s.parties)} sans les communes disputées",
        " / ".join(fmt.number(p) for p in s.population_without),
    )


def dispute_frames(dispute: Dispute) -> dict[str, gpd.GeoDataFrame]:
    """Display frames of each party's own communes (by lower-case letter) and the contested ones."""
    names = party_names(dispute)

    def frame(codes: tuple[str, ...]) -> gpd.GeoDataFrame:
        shown = data.unit_display(tuple(sorted(codes)))
        return shown.assign(population_fr=shown["population"].map(fmt.number))

    frames = {letter.lower(): frame(dispute.own_codes(letter)) for letter in names}
    contested = frame(dispute.contested_codes)
    claimants = dispute.contested.set_index("code")["claimants"]
    contested["claimants_fr"] = [
        " ; ".join(f"{x} : {names[x]}" for x in str(claimants.loc[c]).split("+"))
        for c in contested["code"]
    ]
    frames["contested"] = contested
    return frames


#: Screen tables: French header → (width in px, shown header or None, help or None). Chosen
#: so that every column is in view at 1,500 px with the sidebar open (no sideways scroll).
ScreenColumns = dict[str, tuple[int, str | None, str | None]]
OPTION_COLUMNS: ScreenColumns = {
    "option": (370, None, None),
    "côté": (55, None, None),
    "projet": (185, None, None),
    "habitants": (80, None, None),
    "taille ACI": (75, None, None),
    "sous le seuil": (85, None, "Sous le seuil minimal de population de la région"),
    "parties": (55, None, "Nombre de parties d'un seul tenant"),
    "financement maximal (€)": (105, "financement (€)", "Financement annuel maximal de l'ACI"),
}
CONTESTED_COLUMNS: ScreenColumns = {
    "code INSEE": (75, None, None),
    "commune": (130, None, None),
    "habitants": (75, None, None),
    "EPCI": (200, None, None),
    "revendiquée par": (105, None, None),
    "distances aux mairies principales (km)": (
        150,
        "distances (km)",
        "Distance à vol d'oiseau entre la mairie de la commune et la mairie principale de "
        "chaque projet",
    ),
    "mairie la plus proche": (70, "mairie", "Option « mairie principale la plus proche »"),
    "EPCI entiers": (80, None, "Option « EPCI entiers »"),
    "partage": (150, None, "Option « communes partagées » : part de chaque projet"),
}


def _screen(frame: pd.DataFrame, columns: ScreenColumns) -> dict[str, Any]:
    """Streamlit column settings (width, header, help) of the columns of ``frame``."""
    return {
        str(c): st.column_config.Column(
            label=columns[str(c)][1], width=columns[str(c)][0], help=columns[str(c)][2]
        )
        for c in frame
        if str(c) in columns
    }


def _option_notes(dispute: Dispute) -> str:
    """What each option does, under its short label, as a Markdown list."""
    n = dispute.summary.n_parties
    lines = []
    for kind in dispute.options["option_kind"].drop_duplicates().astype(str):
        if kind == "tout" and n == 2:
            continue  # "Toutes les communes disputées à A" says it all
        short = dispute_option_label(kind, "A", n_parties=n, short=True)
        lines.append(f"- {md_text(short)} : {md_text(dispute_option_note(kind, n_parties=n))}.")
    return "\n".join(lines)


def _tables(dispute: Dispute) -> None:
    st.markdown("#### Projets en présence")
    st.dataframe(people.parties_for_people(dispute), hide_index=True, width="stretch")
    st.markdown("#### Options de partage")
    options = people.options_for_people(dispute, short=True)
    st.dataframe(
        options,
        hide_index=True,
        width="stretch",
        height=36 * (len(options) + 1) + 4,
        column_config=_screen(options, OPTION_COLUMNS),
    )
    st.caption(
        "Une option qui laisse un projet sans habitant ne lui donne ni taille ni financement."
    )
    st.caption(_option_notes(dispute))
    st.markdown("#### Réunir ou séparer : bilan de chaque option")
    totals = people.totals_for_people(dispute, short=True)
    st.dataframe(totals, hide_index=True, width="stretch")
    st.caption(
        "Projets réunis : un seul périmètre, une seule taille et un seul financement, "
        "contre un financement par projet séparé (montants maximaux annuels de l'ACI). "
        "La situation déclarée compte les communes disputées une fois par projet."
    )
    st.markdown("#### Communes disputées")
    contested = people.contested_for_people(dispute, compact=True)
    st.dataframe(
        contested,
        hide_index=True,
        width="stretch",
        column_config=_screen(contested, CONTESTED_COLUMNS),
    )
    st.caption(md_text(DISPUTE_DISTANCE_NOTE) + ".")


def _apply_shares(dispute: Dispute, key: str) -> None:
    """Offer to carry the shares chosen here to the other views of the session."""
    applied = st.session_state.get(SHARES_KEY)
    if not dispute.shares.empty and st.button(
        "Appliquer ce partage aux autres vues", key=f"dispute_apply_{key}"
    ):
        current = applied if isinstance(applied, pd.DataFrame) else dispute.shares.iloc[:0]
        st.session_state[SHARES_KEY] = merge_shares(current, dispute.shares)
        applied = st.session_state[SHARES_KEY]
    if isinstance(applied, pd.DataFrame) and not applied.empty:
        codes = sorted(set(applied["code"].astype(str)))
        st.caption(
            f"Partage appliqué aux autres vues de la session pour "
            f"{fr_count(len(codes), 'commune', 'communes')} ({', '.join(codes)}) : tailles et "
            "financements y comptent les parts fixées."
        )
        if st.button("Retirer les partages appliqués", key="dispute_apply_clear"):
            del st.session_state[SHARES_KEY]
            st.rerun()


def _file_stem(dispute: Dispute) -> str:
    return f"arbitrage_{slug('_'.join(dispute.summary.perimeter_ids))[:80]}"


def _exports(
    dispute: Dispute,
    frames: dict[str, gpd.GeoDataFrame],
    names: dict[str, str],
    decisions: pd.DataFrame | None = None,
) -> None:
    c1, c2 = st.columns(2)
    stem = _file_stem(dispute)
    c1.download_button(
        "Classeur Excel de l'arbitrage",
        lambda: people.dispute_workbook(dispute),
        file_name=f"atlas_cpts_{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    with c2:
        fiche_downloads(
            lambda: dispute_fiche(dispute, frames, names, decisions=decisions),
            file_stem=f"fiche_{stem}",
            key=f"dispute_fiche_{stem}",
            html_label="Fiche d'arbitrage imprimable (HTML)",
            pdf_label="Fiche d'arbitrage (PDF)",
        )


def dispute_fiche(
    dispute: Dispute,
    frames: dict[str, gpd.GeoDataFrame],
    names: dict[str, str],
    *,
    decisions: pd.DataFrame | None = None,
) -> str:
    """The printable arbitration fiche of a dispute: every party, its map legend, the options.

    ``decisions`` (people's table of the decisions recorded for these parties)
    adds the committee's decision to the fiche.
    """
    layers = [(frames[x.lower()], party_color(i), "#333") for i, x in enumerate(names)]
    svg = svg_map([*layers, (frames["contested"], maps.CONTESTED_COLOR, "#333")])
    s = dispute.summary
    n = s.n_parties
    return fiche_html(
        title="Arbitrage : " + " / ".join(names.values()),
        subtitle="Fiche d'arbitrage",
        key_figures={
            plural(n, "projet", "projets"): fmt.number(n),
            plural(s.n_contested, "commune disputée", "communes disputées"): fmt.number(
                s.n_contested
            ),
            plural(s.population_contested, "habitant en jeu", "habitants en jeu"): fmt.number(
                s.population_contested
            ),
        },
        map_svg=svg,
        legend=[(e.color, e.label) for e in legend_entries(names)],
        tables={
            "Projets en présence": people.parties_for_people(dispute),
            "Options de partage": people.options_for_people(dispute),
            "Réunir ou séparer : bilan de chaque option": people.totals_for_people(dispute),
            "Communes disputées": people.contested_for_people(dispute, compact=n > 2),
            **(
                {"Parts des communes partagées": people.shares_for_people(dispute)}
                if not dispute.shares.empty
                else {}
            ),
            **(
                {"Décision du comité": decisions}
                if decisions is not None and not decisions.empty
                else {}
            ),
        },
        sources=["Atlas CPTS, référentiel des communes (voir « Sources et millésimes »)"],
        notes=[DISPUTE_DISTANCE_NOTE],
    )
