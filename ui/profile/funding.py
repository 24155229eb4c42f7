"""The ACI funding panel of a territory's profile: options from the rules, the amounts.

The optional missions, the crisis-plan years and the members' bonus are read
from the ACI rules (``data/rules/aci.toml`` through
:func:`diagnosis.core.aci.funding_rules`): a new mission or a new bonus is a
data change, not a change of this panel.
"""

from __future__ import annotations

import typing
from typing import cast

import pandas as pd
import streamlit as st

from diagnosis import simulate_funding
from diagnosis.core.aci import CrisisYear, OptionalMission, funding_rules
from ui import fmt

__all__ = ["crisis_years", "funding_panel", "optional_missions"]


def _short(label: str) -> str:
    """A funding line's label without its bracketed kind ("(mission optionnelle)")."""
    return label.split(" (", maxsplit=1)[0].strip()


def optional_missions() -> dict[str, str]:
    """The optional missions of the ACI: key → French label (in the rules' order)."""
    return {
        line.key: _short(line.label)
        for line in funding_rules().lines
        if line.kind == "mission_optionnelle"
    }


def crisis_years() -> dict[str, str]:
    """The years of the health-crisis plan: key → French label of its funding line."""
    labels = {line.kind: line.label for line in funding_rules().lines}
    out = {}
    for year in typing.get_args(CrisisYear):
        label = labels.get(f"crise_{year}", year).split(" : ", 1)[-1]
        out[year] = label[:1].upper() + label[1:]
    return out


def _key(key: str, name: str) -> str:
    # Mon territoire keeps the widget keys it always had (saved sessions, tests).
    return f"{key}_funding_{name}" if key != "territory" else f"funding_{name}"


def _members_help() -> str:
    rules = funding_rules()
    return (
        f"Une CPTS de taille {rules.bonus_size_class} comptant au moins "
        f"{rules.bonus_min_members} adhérents peut obtenir une majoration de "
        f"{fmt.share(rules.bonus_rate, 0)} de ses missions. Sans effet pour les "
        "autres tailles."
    )


def funding_panel(row: pd.Series, *, key: str) -> pd.DataFrame:
    """Options of the ACI funding and its amounts for the territory's size class."""
    st.markdown("#### Simulation du financement ACI")
    f1, f2, f3, f4 = st.columns([3, 2, 2, 1])
    missions = optional_missions()
    chosen = f1.multiselect(
        "Missions optionnelles",
        list(missions),
        default=list(missions),
        format_func=lambda m: missions[m],
        key=_key(key, "missions"),
        placeholder="Aucune mission optionnelle",
        select_all=False,
    )
    years = crisis_years()
    year = f2.radio(
        "Crises sanitaires",
        list(years),
        format_func=lambda y: years[y],
        key=_key(key, "year"),
    )
    crisis = f3.checkbox("Crise déclenchée dans l'année", key=_key(key, "crisis"))
    size_class = int(row["size_class"])
    members = f4.number_input(
        "Adhérents",
        min_value=0,
        value=0,
        step=10,
        key=_key(key, "members"),
        help=_members_help(),
        disabled=size_class != funding_rules().bonus_size_class,
    )
    funding = simulate_funding(
        size_class,
        optional_missions=tuple(cast(list[OptionalMission], chosen)),
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
