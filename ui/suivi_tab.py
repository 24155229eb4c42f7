"""The "Suivi" workflow (ARS, CPAM): the registry of dated listings over time.

The coverage curve of the chosen territory at each stage threshold, the
national figures published with their source, the changes between two dates,
and the import of a dated listing (preview, then confirmation). Everything is
read from and written to the registry (:mod:`diagnosis.registry`); the
dashboard's other workflows keep working from a file when the registry's
database cannot be reached.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from diagnosis import AtlasError, Referential, status_name
from diagnosis.core.numbers import fr_count
from diagnosis.core.statuses import STATUS_KEYS, status_legend
from diagnosis.registry import (
    Actor,
    ImportPlan,
    Registry,
    changes_between,
    commit_listing,
    coverage_history,
    history_dates,
    listing_sources,
    open_registry,
    preview_listing,
    reference_points,
)
from diagnosis.registry.access import may, target_of_scope
from diagnosis.registry.database import read
from diagnosis.registry.model import Scope
from ui import fmt, identity, limits, registry_work
from ui.safe import md_text
from ui.sidebar import PERIMETER_TYPES, Context, scope_label

#: Months as the curve's axis writes them ("janv. 2025").
MONTHS_FR = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
CHANGE_LABELS = {
    "new": "nouveau",
    "removed": "retiré",
    "renamed": "renommé",
    "stage": "stade",
    "members": "communes",
}
REASON_LABELS = {"identifiant": "identifiant", "nom": "nom", "communes": "communes"}
CHANGE_COLUMNS_FR = {
    "perimeter_id": "Identifiant",
    "change": "Changement",
    "name_before": "Nom avant",
    "name_after": "Nom après",
    "stage_before": "Stade avant",
    "stage_after": "Stade après",
    "codes_added": "Communes ajoutées",
    "codes_removed": "Communes retirées",
    "detail": "Détail",
}
PLAN_KEY = "suivi_plan"
DONE_KEY = "suivi_done"


def month_fr(day: dt.date) -> str:
    """A date as the curve writes it: "janv. 2025"."""
    return f"{MONTHS_FR[day.month - 1]} {day.year}"


def scope_key(ctx: Context) -> str:
    """``FR``, ``REG-xx`` or ``DEP-xx`` of the sidebar's scope."""
    if ctx.department:
        return f"DEP-{ctx.department}"
    if ctx.region:
        return f"REG-{ctx.region}"
    return "FR"


def curve_frame(history: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows of one scope, ready to draw: date, threshold label, share in %, tooltips."""
    rows = history[history["scope"] == key].copy()
    rows["date"] = pd.to_datetime(rows["date"])
    rows["seuil"] = rows["status_min"].map(status_name)
    rows["part"] = 100 * rows["share_covered"].astype(float)
    rows["mois"] = [month_fr(d.date()) for d in rows["date"]]
    rows["part_fr"] = [fmt.share(s) for s in rows["share_covered"]]
    rows["habitants"] = [fmt.number(p) for p in rows["population_covered"]]
    rows["perimetres"] = [fmt.number(n) for n in rows["n_perimeters"]]
    return rows[["date", "seuil", "part", "mois", "part_fr", "habitants", "perimetres"]]


def _stage_scale() -> alt.Scale:
    legend = {key: (label, colour) for key, label, colour in status_legend() if key}
    labels = [legend[k][0] for k in STATUS_KEYS]
    return alt.Scale(domain=labels, range=[legend[k][1] for k in STATUS_KEYS])


def coverage_chart(curve: pd.DataFrame, references: pd.DataFrame | None = None) -> alt.LayerChart:
    """The coverage curve at each threshold (stage colours), with the published figures.

    ``references`` (national figures with a share) are drawn as black points
    whose tooltip names their source.
    """
    label_expr = (
        "[" + ",".join(f"'{m}'" for m in MONTHS_FR) + "][month(datum.value)]"
        " + ' ' + year(datum.value)"
    )
    x = alt.X("date:T", title="Date", axis=alt.Axis(labelExpr=label_expr, labelAngle=0))
    lines = (
        alt.Chart(curve)
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("part:Q", title="Population couverte (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("seuil:N", title="Stade atteint au moins", scale=_stage_scale()),
            tooltip=[
                alt.Tooltip("mois:N", title="Date"),
                alt.Tooltip("seuil:N", title="Stade"),
                alt.Tooltip("part_fr:N", title="Population couverte"),
                alt.Tooltip("habitants:N", title="Habitants couverts"),
                alt.Tooltip("perimetres:N", title="Périmètres"),
            ],
        )
    )
    layers: list[Any] = [lines]
    if references is not None and not references.empty:
        points = references.assign(
            date=pd.to_datetime(references["date"]),
            part=100 * references["share"],
            mois=[month_fr(d) for d in references["date"]],
        )
        layers.append(
            alt.Chart(points)
            .mark_point(shape="diamond", size=120, filled=True, color="black")
            .encode(
                x="date:T",
                y="part:Q",
                tooltip=[
                    alt.Tooltip("mois:N", title="Date"),
                    alt.Tooltip("label_fr:N", title="Chiffre publié"),
                    alt.Tooltip("source:N", title="Source"),
                ],
            )
        )
    return alt.LayerChart(layer=layers, height=360)


def changes_for_people(changes: pd.DataFrame) -> pd.DataFrame:
    """The changes table with French headers, kinds and stages."""
    shown = changes.copy()
    shown["change"] = shown["change"].map(CHANGE_LABELS)
    for column in ("stage_before", "stage_after"):
        shown[column] = [status_name(s) if isinstance(s, str) else "" for s in shown[column]]
    columns = list(CHANGE_COLUMNS_FR)
    return shown[columns].rename(columns=CHANGE_COLUMNS_FR).fillna("")


def render(ref: Referential, ctx: Context) -> None:
    """Draw the "Suivi" workflow."""
    territory = scope_label(ref, ctx)
    st.subheader(f"Suivi : {territory}")
    try:
        registry = open_registry()
        sources = listing_sources(registry)
    except AtlasError as exc:
        st.error(str(exc))
        return
    actor = identity.current_actor()
    st.caption(f"Registre : {md_text(registry.label)} · utilisateur : {md_text(actor.label)}")
    registry_work.show_done()
    if sources.empty:
        st.info(
            "Le registre est vide : importez ci-dessous une liste datée de périmètres "
            "(celle d'une ARS à une date donnée) pour commencer l'historique."
        )
    else:
        try:
            _curve(registry, ref, ctx, sources)
            _changes(registry, ref, ctx, sources)
        except AtlasError as exc:
            st.error(str(exc))
    try:
        registry_work.render_submissions(registry, ref, actor)
        registry_work.render_decisions(registry, ctx.region)
    except AtlasError as exc:
        st.error(str(exc))
    _import(registry, ref, ctx, territory, actor)
    registry_work.render_admin(registry, ref, actor)


def _curve(registry: Registry, ref: Referential, ctx: Context, sources: pd.DataFrame) -> None:
    first = min(sources["as_of"])
    last = max(*sources["as_of"], dt.date.today())
    start = dt.date(first.year, first.month, 1)
    dates = sorted({*history_dates(start, last, every="month"), *sources["as_of"]})
    history = coverage_history(registry, dates, **ctx.zone, referential=ref)
    key = scope_key(ctx)
    references = reference_points()
    drawn = references[references["share"].notna()] if key == "FR" else None
    st.markdown("#### Couverture au fil du temps")
    st.altair_chart(coverage_chart(curve_frame(history, key), drawn), width="stretch")
    st.caption(
        f"{fr_count(len(sources), 'liste importée', 'listes importées')}, du "
        f"{first.strftime('%d/%m/%Y')} au {max(sources['as_of']).strftime('%d/%m/%Y')}. "
        "Une commune compte comme couverte à une date quand une CPTS valide ce jour-là "
        "l'inclut et a atteint le stade à cette date ; les dates de stade écrites dans une "
        "liste sont déclarées par elle, pas observées par le registre."
    )
    with st.expander("Chiffres nationaux publiés et leurs sources"):
        table = pd.DataFrame(
            {
                "Date": [d.strftime("%d/%m/%Y") for d in references["date"]],
                "Chiffre": references["label_fr"],
                "Stade compté": [
                    status_name(s) + " ou plus" if isinstance(s, str) else "non précisé"
                    for s in references["status_min"]
                ],
                "Source": references["source"],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption(
            "Les chiffres publiés diffèrent parce qu'ils comptent des stades différents à des "
            "dates différentes : comparez-les à la courbe du même stade."
        )


def _changes(registry: Registry, ref: Referential, ctx: Context, sources: pd.DataFrame) -> None:
    st.markdown("#### Changements entre deux dates")
    dates = sorted(set(sources["as_of"]))
    left, right = st.columns(2)
    # A new listing resets the two dates to the last two listings (keys follow the listings).
    version = f"{len(dates)}-{dates[-1].isoformat()}"
    start = left.date_input(
        "Du",
        value=dates[-2] if len(dates) > 1 else dates[0],
        format="DD/MM/YYYY",
        key=f"suivi_from_{version}",
    )
    # "Au" defaults to today: the last listing's changes and any decision or accepted
    # project since are shown right after they are recorded.
    end = right.date_input(
        "Au",
        value=max(dates[-1], dt.date.today()),
        format="DD/MM/YYYY",
        key=f"suivi_to_{version}",
    )
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        return
    changes = changes_between(registry, start, end, **ctx.zone, referential=ref)
    if changes.empty:
        st.info("Aucun changement entre ces deux dates dans ce territoire.")
        return
    counts = changes["change"].map(CHANGE_LABELS).value_counts()
    st.caption(" · ".join(f"{label} : {n}" for label, n in counts.items()))
    st.dataframe(changes_for_people(changes), hide_index=True, width="stretch", key="suivi_changes")


def _preview(plan: ImportPlan) -> None:
    counts = plan.counts()
    st.markdown(
        f"**Aperçu** de « {md_text(plan.filename)} » au {plan.as_of.strftime('%d/%m/%Y')} : "
        f"{fr_count(counts['new'], 'nouveau périmètre', 'nouveaux périmètres')}, "
        f"{fr_count(counts['removed'], 'retiré', 'retirés')}, "
        f"{fr_count(counts['changed'], 'modifié', 'modifiés')}, "
        f"{fr_count(counts['unchanged'], 'inchangé', 'inchangés')}."
    )
    st.caption(md_text(plan.listing.summary_fr()))
    if not plan.rejected.empty:
        st.warning(
            f"{fr_count(len(plan.rejected), 'périmètre', 'périmètres')} de la liste hors du "
            "territoire choisi, non importé(s) : "
            + ", ".join(f"« {md_text(n)} »" for n in plan.rejected["listing_name"])
        )
    if not plan.changes.empty:
        st.dataframe(
            changes_for_people(plan.changes), hide_index=True, width="stretch", key="suivi_preview"
        )
    if not plan.matches.empty:
        with st.expander("Rapprochements avec le registre"):
            matches = plan.matches.assign(reason=plan.matches["reason"].map(REASON_LABELS))
            st.dataframe(
                matches[["listing_name", "perimeter_id", "reason", "detail"]].rename(
                    columns={
                        "listing_name": "Périmètre de la liste",
                        "perimeter_id": "Identifiant du registre",
                        "reason": "Rapproché par",
                        "detail": "Détail",
                    }
                ),
                hide_index=True,
                width="stretch",
            )


def _may_import(registry: Registry, ref: Referential, ctx: Context, actor: Actor) -> bool:
    target = target_of_scope(Scope.of(**ctx.zone), ref)
    with read(registry) as conn:
        return may(conn, actor, "import_listing", target)


def _import(
    registry: Registry, ref: Referential, ctx: Context, territory: str, actor: Actor
) -> None:
    st.markdown("#### Importer une liste datée")
    if not _may_import(registry, ref, ctx, actor):
        st.caption(
            f"Votre rôle ne permet pas d'importer une liste pour {md_text(territory)} : "
            "un administrateur peut vous attribuer le rôle d'analyste de ce territoire."
        )
        return
    done = st.session_state.pop(DONE_KEY, None)
    if done:
        st.success(done)
    st.caption(
        f"Territoire de la liste : {md_text(territory)} (barre latérale). Les CPTS de ce "
        "territoire absentes de la liste seront closes à sa date ; les autres ne changent pas."
    )
    upload = st.file_uploader(
        "Liste de périmètres", type=PERIMETER_TYPES, key="suivi_upload", help=limits.UPLOAD_HELP
    )
    as_of = st.date_input("Date de la liste", value=None, format="DD/MM/YYYY", key="suivi_as_of")
    if st.button("Voir les changements", key="suivi_preview_button", disabled=upload is None):
        st.session_state.pop(PLAN_KEY, None)
        refusal = limits.upload_refusal(upload.size) if upload is not None else None
        if refusal:
            st.error(refusal)
        elif not isinstance(as_of, dt.date):
            st.error("Indiquez la date de la liste (celle à laquelle l'ARS l'a établie).")
        elif upload is not None:
            try:
                st.session_state[PLAN_KEY] = preview_listing(
                    registry,
                    upload.getvalue(),
                    filename=upload.name,
                    as_of=as_of,
                    **ctx.zone,
                    referential=ref,
                )
            except AtlasError as exc:
                st.error(f"Import impossible : {exc}")
    plan: ImportPlan | None = st.session_state.get(PLAN_KEY)
    if plan is not None:
        _confirm(registry, ref, actor, plan)


def _confirm(registry: Registry, ref: Referential, actor: Actor, plan: ImportPlan) -> None:
    """The preview of a listing and its confirmation (or why it cannot be imported)."""
    if plan.already_imported:
        st.info(
            "Cette liste a déjà été importée pour cette date et ce territoire : rien ne change."
        )
        return
    if plan.refused:
        st.error(
            "Import refusé : des périmètres de la liste ne peuvent être rapprochés du registre "
            "sans deviner. Donnez-leur un identifiant ou distinguez leurs noms."
        )
        st.dataframe(
            plan.ambiguities[["listing_name", "candidates", "detail"]].rename(
                columns={
                    "listing_name": "Périmètre de la liste",
                    "candidates": "Candidats du registre",
                    "detail": "Détail",
                }
            ),
            hide_index=True,
            width="stretch",
        )
        return
    _preview(plan)
    if st.button("Confirmer l'import", type="primary", key="suivi_confirm"):
        try:
            outcome = commit_listing(
                registry, plan, actor=actor, referential=ref, expected=plan.fingerprint
            )
        except AtlasError as exc:
            st.error(str(exc))
            return
        st.session_state.pop(PLAN_KEY, None)
        st.session_state[DONE_KEY] = (
            f"Import enregistré : {fr_count(len(outcome.plan.operations), 'périmètre', 'périmètres')}"
            " changé(s). La courbe et les changements tiennent compte de cette liste."
        )
        st.rerun()
