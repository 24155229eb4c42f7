"""Couverture's funding forecast: a contracts file read, the ACI funding due per calendar year.

The contracts file (CSV or spreadsheet, French columns) is read by
:func:`diagnosis.contracts.read_contracts`, its report shown as the perimeter
import's is; the contracts are matched to the perimeters of the page and their
schedules totalled per calendar year for the view (France, a region or a
department) by :func:`diagnosis.contracts.funding_by_year`, as the command
``python -m diagnosis funding`` does. The forecast is left in the session
(:data:`ui.contracts_panel.FORECAST_KEY`) for the fiche of each CPTS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import altair as alt
import pandas as pd
import streamlit as st

from diagnosis import AtlasError, Referential
from diagnosis.contracts import (
    Basis,
    ContractsImport,
    FundingForecast,
    funding_by_year,
    funding_schedule,
    read_contracts,
)
from diagnosis.contracts.columns import EXPECTED_COLUMNS_FR
from diagnosis.core.model import PerimeterImport
from diagnosis.core.numbers import fr_count
from diagnosis.io.formats import TABLE_EXTENSIONS
from diagnosis.outputs.people import people_csv
from diagnosis.registry import contracts_import_at
from ui import data, fmt, limits
from ui.contracts_panel import FORECAST_KEY
from ui.safe import md_text
from ui.sidebar import Context, report_for_people, report_groups, report_summary_markdown

__all__ = [
    "BY_YEAR_LABELS",
    "CONTRACT_TYPES",
    "forecast_chart",
    "forecast_csv",
    "forecast_for_people",
    "forecast_of",
    "forecast_section",
    "scope_levels",
]

#: French headers of the forecast per calendar year (columns of ``funding_by_year.csv``).
BY_YEAR_LABELS = {
    "year": "année",
    "scope_name": "territoire",
    "fixed_eur": "parts fixes, maximum (€)",
    "variable_eur": "parts variables, maximum (€)",
    "one_off_eur": "versements ponctuels (€)",
    "total_max_eur": "total maximal (€)",
    "total_expected_eur": "total attendu (€)",
    "n_contracts": "contrats financés",
}
_SHOWN = list(BY_YEAR_LABELS)
_KIND_COLUMNS = {
    "fixed_eur": "parts fixes",
    "variable_eur": "parts variables",
    "one_off_eur": "versements ponctuels",
}
_BASES = {
    "versement": "à la date de versement (avance, solde après la revue annuelle)",
    "periode": "sur la période couverte",
}


def scope_levels(region: str | None, department: str | None) -> tuple[str, ...]:
    """The scopes totalled for a view: the view itself first, then its parts (as the CLI).

    >>> scope_levels("93", None)
    ('region', 'department')
    """
    if department:
        return ("department",)
    if region:
        return ("region", "department")
    return ("france", "region", "department")


def _scope_names(ref: Referential) -> dict[str, str]:
    regions = dict(zip(ref.regions["region"], ref.regions["region_name"], strict=True))
    deps = dict(zip(ref.departments["department"], ref.departments["department_name"], strict=True))
    return {
        "FR": "France",
        **{f"REG-{code}": f"{name} ({code})" for code, name in regions.items()},
        **{f"DEP-{code}": f"{name} ({code})" for code, name in deps.items()},
    }


def forecast_of(
    contracts: ContractsImport,
    perimeters: PerimeterImport,
    national: Referential,
    *,
    region: str | None,
    department: str | None,
) -> FundingForecast:
    """The contracts' schedules in the view (:func:`diagnosis.contracts.funding_schedule`)."""
    return funding_schedule(contracts, perimeters, national, region=region, department=department)


def _view_scope(region: str | None, department: str | None) -> str:
    if department:
        return f"DEP-{department}"
    if region:
        return f"REG-{region}"
    return "FR"


def forecast_for_people(by_year: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The forecast per year and scope with the scope's French name (numbers kept)."""
    return by_year.assign(scope_name=[names.get(str(s), str(s)) for s in by_year["scope"]])[_SHOWN]


def forecast_csv(by_year: pd.DataFrame, names: dict[str, str]) -> bytes:
    """The forecast for people's spreadsheets: ``;``, UTF-8 with BOM, French headers."""
    return people_csv(forecast_for_people(by_year, names), labels=BY_YEAR_LABELS)


#: A Vega expression writing an axis value the French way ("220 000"): a plain space, the
#: narrow no-break one of the tables is drawn as nothing by the chart's canvas font.
_FRENCH_THOUSANDS = "replace(format(datum.value, ',.0f'), regexp(',', 'g'), ' ')"


def forecast_chart(view: pd.DataFrame) -> alt.LayerChart:
    """Bars of the maxima per year (fixed, variable, one-off), the expected total as points."""
    bars = view.melt(id_vars=["year"], value_vars=list(_KIND_COLUMNS), var_name="part")
    bars = bars.assign(
        part=bars["part"].map(_KIND_COLUMNS),
        montant=[fmt.euros(v) for v in bars["value"]],
        annee=bars["year"].astype(str),
    )
    expected = view.assign(
        annee=view["year"].astype(str), attendu=[fmt.euros(v) for v in view["total_expected_eur"]]
    )
    x = alt.X("annee:O", title="Année", axis=alt.Axis(labelAngle=0))
    stacked = (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "sum(value):Q",
                title="Financement maximal (€)",
                axis=alt.Axis(labelExpr=_FRENCH_THOUSANDS),
            ),
            color=alt.Color("part:N", title="Nature", sort=list(_KIND_COLUMNS.values())),
            tooltip=[
                alt.Tooltip("annee:N", title="Année"),
                alt.Tooltip("part:N", title="Nature"),
                alt.Tooltip("montant:N", title="Montant maximal"),
            ],
        )
    )
    points = (
        alt.Chart(expected)
        .mark_point(shape="diamond", size=120, filled=True, color="black")
        .encode(
            x=x,
            y="total_expected_eur:Q",
            tooltip=[
                alt.Tooltip("annee:N", title="Année"),
                alt.Tooltip("attendu:N", title="Total attendu"),
            ],
        )
    )
    return alt.LayerChart(layer=[stacked, points])


def _read(upload_bytes: bytes, filename: str) -> ContractsImport:
    return data.session_memo(
        "contracts-read",
        f"{data.digest(upload_bytes)}|{filename}",
        lambda: read_contracts(upload_bytes, filename=filename),
    )


def _report(forecast: FundingForecast, n_read: int) -> None:
    report = forecast.report
    rejected = int((report["severity"] == "rejected").sum())
    kept = len(forecast.contracts)
    sentence = (
        f"{fr_count(kept, 'contrat retenu', 'contrats retenus')} sur {fmt.number(n_read)} lu(s) ; "
        f"{fr_count(rejected, 'rejet', 'rejets')}."
    )
    (st.warning if rejected or not kept else st.success)(sentence)
    problems = report[report["severity"] != "info"]
    with st.expander(
        f"Rapport de lecture des contrats : {fr_count(len(problems), 'point', 'points')} à vérifier"
    ):
        groups = report_groups(report)
        if not groups.empty:
            st.markdown(report_summary_markdown(groups))
        st.dataframe(report_for_people(report), hide_index=True, width="stretch")


def _years(forecast: FundingForecast) -> tuple[int, int]:
    signed = [d.year for d in forecast.contracts["signature"]]
    first = min(signed, default=dt.date.today().year)
    return first, max(signed, default=first) + 5


def _forecast_view(ctx: Context, forecast: FundingForecast) -> None:
    low, high = _years(forecast)
    c1, c2 = st.columns(2)
    start, end = c1.slider(
        "Années civiles", min_value=low - 1, max_value=high + 1, value=(low, high),
        key="contracts_years",
    )  # fmt: skip
    basis = c2.radio(
        "Montants comptés", list(_BASES), format_func=lambda b: _BASES[b], key="contracts_basis"
    )
    by_year = funding_by_year(
        forecast.schedule,
        from_year=start,
        to_year=end,
        basis=cast(Basis, basis),
        levels=scope_levels(ctx.region, ctx.department),
    )
    names = _scope_names(data.national())
    view = by_year[by_year["scope"] == _view_scope(ctx.region, ctx.department)]
    st.altair_chart(forecast_chart(view), width="stretch")
    shown = forecast_for_people(view, names)
    st.dataframe(_as_text(shown), hide_index=True, width="stretch")
    parts = by_year[by_year["scope"] != _view_scope(ctx.region, ctx.department)]
    if len(parts):
        with st.expander("Par région et par département"):
            st.dataframe(_as_text(forecast_for_people(parts, names)), hide_index=True)
    st.download_button(
        "Financements dus par année (CSV)",
        lambda: forecast_csv(by_year, names),
        file_name=f"atlas_cpts_financements_{start}_{end}.csv",
        mime="text/csv",
        key="contracts_download",
        on_click="ignore",
    )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Euros and counts in French on screen, French headers."""
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_eur"):
            out[column] = out[column].map(fmt.euros)
        elif column == "n_contracts":
            out[column] = out[column].map(fmt.number)
    out["year"] = out["year"].astype(str)
    return out.rename(columns=BY_YEAR_LABELS)


#: Extensions of a contracts file (tables only), for the uploader.
CONTRACT_TYPES = [ext.lstrip(".") for ext in TABLE_EXTENSIONS]


def _contracts_source(upload: Any, ctx: Context) -> tuple[ContractsImport, str] | None:
    """The contracts and their cache key: the file uploaded, else those the registry keeps.

    The registry's contracts are used when the perimeters come from the
    registry (sidebar: "Registre à une date"), on that date.
    """
    if ctx.imported is None:
        return None
    if upload is not None:
        return _read(upload.getvalue(), upload.name), data.digest(upload.getvalue())
    day = st.session_state.get("registry_day")
    if not ctx.import_key.startswith(data.REGISTRY_KEY_PREFIX) or not isinstance(day, dt.date):
        return None
    registry = data.registry_or_none()
    if registry is None:
        return None
    imported = contracts_import_at(registry, day)
    if not imported.contracts:
        return None
    st.caption(
        f"Contrats ACI enregistrés dans le registre au {day:%d/%m/%Y} "
        "(un fichier chargé ci-dessus les remplace pour cette vue)."
    )
    return imported, f"registry-contracts|{ctx.import_key}|{day.isoformat()}"


def forecast_section(ctx: Context) -> None:
    """Upload a contracts file and show the ACI funding due per calendar year in the view."""
    st.session_state[FORECAST_KEY] = None
    st.markdown("#### Financements ACI dus (suivi des contrats)")
    with st.expander("Fichier des contrats ACI", expanded=False):
        upload = st.file_uploader(
            "Fichier des contrats (CSV, Excel, ODS ; une ligne par CPTS)",
            type=CONTRACT_TYPES,
            key="contracts_upload",
            help=limits.UPLOAD_HELP,
        )
        st.caption(md_text(f"Colonnes reconnues : {EXPECTED_COLUMNS_FR}"))
    refusal = None if upload is None else limits.upload_refusal(upload.size)
    if refusal:
        st.error(refusal)
        return
    try:
        source = _contracts_source(upload, ctx)
        if source is None:
            st.caption(
                "Chargez un fichier des contrats pour calculer, année par année, les "
                "financements dus aux CPTS signataires (équivalent de « python -m diagnosis "
                "funding »)."
            )
            return
        contracts, key = source
        forecast = data.session_memo(
            "contracts-forecast",
            f"{key}|{ctx.import_key}|{ctx.scope_key}",
            lambda: forecast_of(
                contracts,
                ctx.imported,  # type: ignore[arg-type]  # checked by _contracts_source
                data.national(),
                **ctx.zone,
            ),
        )
    except AtlasError as exc:
        st.error(f"Fichier des contrats non lu : {md_text(str(exc))}")
        return
    st.session_state[FORECAST_KEY] = forecast
    _report(forecast, len(contracts.contracts))
    if forecast.schedule.empty:
        st.info("Aucun contrat du fichier ne correspond à un périmètre de la vue.")
        return
    _forecast_view(ctx, forecast)
