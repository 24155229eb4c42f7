"""The schedule of one ACI contract in a territory's profile: a CPTS's own, or a simulated one.

In "Couverture", a CPTS whose contract is in the contracts file loaded below
the table (:mod:`ui.funding_forecast`) shows that contract's schedule; any
other territory (Mon territoire, a CPTS without a contract in the file) gets a
simulated contract whose signature date, missions and their start dates, crisis
years and letter of intent are chosen with widgets. Every amount comes from
:mod:`diagnosis.contracts` (:func:`~diagnosis.contracts.contract_schedule`);
the tables and the fiche are those of :mod:`ui.funding_fiche`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from diagnosis.contracts import Contract, FundingForecast, contract_schedule, contract_years
from diagnosis.core.aci import MissionSpec, crisis_mission, funding_rules, mission_specs
from diagnosis.core.numbers import fr_count, fr_date
from diagnosis.core.textnorm import slug
from ui.funding_fiche import funding_fiche_html, schedule_tables
from ui.pdf import fiche_downloads
from ui.safe import md_text

__all__ = [
    "FORECAST_KEY",
    "SimulatedChoices",
    "contract_panel",
    "contract_schedule_of",
    "simulated_schedule",
]

#: Key of ``st.session_state`` where Couverture leaves the forecast of the contracts
#: file it read this run (a :class:`diagnosis.contracts.FundingForecast`, or None).
FORECAST_KEY = "contracts_forecast"

#: How dates are typed in the date widgets (the French order).
DATE_FORMAT = "DD/MM/YYYY"


def contract_schedule_of(
    forecast: FundingForecast | None, perimeter_id: str | None
) -> pd.DataFrame:
    """The schedule of one perimeter's contract in a forecast (empty when it has none)."""
    if forecast is None or perimeter_id is None:
        return pd.DataFrame()
    schedule = forecast.schedule
    return schedule[schedule["perimeter_id"].astype(str) == str(perimeter_id)].reset_index(
        drop=True
    )


@dataclass(frozen=True)
class SimulatedChoices:
    """What the widgets of a simulated contract chose (plain data, to build its schedule).

    Attributes
    ----------
    signature
        Signature date.
    starts
        Mission key → start date of each mission chosen (None: at the signature).
    crisis_years
        Contract years (1, 2, …) in which a health crisis is declared.
    letter_of_intent
        Date the letter of intent was validated (the one-off aid), if given.
    members
        Number of members (the +10 % of a large taille-4 community).
    bonus
        Whether that +10 % is granted.
    """

    signature: dt.date
    starts: Mapping[str, dt.date | None] = field(default_factory=dict)
    crisis_years: tuple[int, ...] = ()
    letter_of_intent: dt.date | None = None
    members: int | None = None
    bonus: bool = False

    def contract(self, perimeter: str) -> Contract:
        """The contract: missions start on their date, at the signature at the earliest.

        A crisis of contract year *k* is counted on the first day of that year.
        """
        starts = {
            key: max(day or self.signature, self.signature) for key, day in self.starts.items()
        }
        years = contract_years(self.signature, funding_rules().contract_years)
        crises = tuple(first for k, first, _ in years if k in self.crisis_years)
        return Contract(
            perimeter,
            self.signature,
            starts,
            crises=crises,
            members=self.members,
            letter_of_intent=self.letter_of_intent,
        )


def simulated_schedule(choices: SimulatedChoices, *, size_class: int, name: str) -> pd.DataFrame:
    """The schedule of a simulated contract (:func:`diagnosis.contracts.contract_schedule`)."""
    return contract_schedule(
        choices.contract(slug(name) or "mon-territoire"),
        size_class=size_class,
        large_community_bonus=choices.bonus,
    )


def _mission_help(mission: MissionSpec) -> str:
    if mission.start_within_months is None:
        return "Mission optionnelle : elle démarre quand la CPTS le choisit."
    return (
        f"L'ACI prévoit son démarrage au plus tard {mission.start_within_months} mois après la "
        f"signature et son plein déploiement sous {mission.deployed_within_months} mois. "
        "Vide : à la signature."
    )


def _mission_widgets(key: str) -> dict[str, dt.date | None]:
    """The missions chosen and their start dates (None: at the signature)."""
    starts: dict[str, dt.date | None] = {}
    specs = mission_specs()
    columns = st.columns(3)
    for i, mission in enumerate(specs):
        with columns[i % 3]:
            chosen = True
            if not mission.mandatory:
                chosen = st.checkbox(
                    f"{mission.label} (optionnelle)", value=True, key=f"{key}_chosen_{mission.key}"
                )
            day = st.date_input(
                f"Démarrage : {mission.label}",
                value=None,
                format=DATE_FORMAT,
                key=f"{key}_start_{mission.key}",
                help=_mission_help(mission),
                disabled=not chosen,
            )
            if chosen:
                starts[mission.key] = day
    return starts


def _simulated_widgets(row: pd.Series, *, key: str) -> SimulatedChoices:
    rules = funding_rules()
    c1, c2, c3 = st.columns(3)
    first_january = dt.date(dt.date.today().year, 1, 1)
    signature = c1.date_input(
        "Date de signature du contrat",
        value=first_january,
        format=DATE_FORMAT,
        key=f"{key}_signature",
        help="Vide : le 1er janvier de l'année en cours.",
    )
    signature = signature or first_january
    letter = c2.date_input(
        "Lettre d'intention validée le (facultatif)",
        value=None,
        format=DATE_FORMAT,
        key=f"{key}_letter",
        help="Ouvre l'aide forfaitaire versée après une lettre d'intention validée.",
    )
    years = c3.multiselect(
        "Crise sanitaire déclenchée (années de contrat)",
        list(range(1, rules.contract_years + 1)),
        format_func=lambda k: f"année {k}",
        key=f"{key}_crises",
        placeholder="Aucune crise",
    )
    starts = _mission_widgets(key)
    members, bonus = None, False
    if int(row["size_class"]) == rules.bonus_size_class:
        b1, b2 = st.columns(2)
        members = int(b1.number_input("Adhérents", min_value=0, step=10, key=f"{key}_members"))
        bonus = b2.checkbox(
            "Majoration accordée (option, « pourrait » dans l'avenant 2)", key=f"{key}_bonus"
        )
    return SimulatedChoices(
        signature,
        starts,
        crisis_years=tuple(sorted(years)),
        letter_of_intent=letter,
        members=members or None,
        bonus=bonus,
    )


def _show_schedule(schedule: pd.DataFrame, *, title: str, size_label: str, key: str) -> None:
    summary, years = schedule_tables(schedule)
    st.dataframe(summary, hide_index=True, width="stretch")
    with st.expander("Lignes dues, année par année"):
        for heading, lines in years.items():
            st.markdown(f"**{md_text(heading)}**")
            st.dataframe(lines, hide_index=True, width="stretch")
    fiche_downloads(
        lambda: funding_fiche_html(schedule, title=title, size_label=size_label),
        file_stem=f"financement_{slug(title)[:80]}",
        key=f"{key}_funding_fiche",
        html_label="Fiche de financement (HTML)",
        pdf_label="Fiche de financement (PDF)",
    )


def contract_panel(row: pd.Series, *, name: str, key: str, perimeter_id: str | None = None) -> None:
    """The schedule of the territory's contract: its own (contracts file) or a simulated one.

    ``row`` is the territory's summary (its size class is that of the whole
    perimeter); ``perimeter_id`` names a CPTS of the file of perimeters, whose
    contract is looked up in the forecast Couverture read (:data:`FORECAST_KEY`).
    """
    st.markdown("#### Échéancier du contrat ACI")
    size_label = str(row["size_label"])
    forecast: Any = st.session_state.get(FORECAST_KEY)
    own = contract_schedule_of(forecast, perimeter_id)
    if len(own):
        signature = forecast.contracts.set_index("perimeter_id").loc[str(perimeter_id), "signature"]
        st.caption(
            f"Contrat lu dans le fichier des contrats (signé le {fr_date(signature)}) ; taille ACI "
            "du périmètre entier. Montant attendu : parts variables au taux d'atteinte du fichier."
        )
        _show_schedule(own, title=f"Financement ACI : {name}", size_label=size_label, key=key)
        return
    st.caption(
        "Contrat simulé : choisissez la date de signature, les missions et leur date de "
        f"démarrage ({size_label}, d'après la population du périmètre entier). Chaque mission est "
        "financée à compter de son démarrage ; le plan de crise la première année, sa mise à "
        "jour ensuite."
    )
    with st.expander("Paramètres du contrat simulé", expanded=False):
        choices = _simulated_widgets(row, key=key)
    schedule = simulated_schedule(choices, size_class=int(row["size_class"]), name=name)
    if crisis_mission() not in choices.starts and choices.crisis_years:
        st.caption(
            "Crise sanitaire non comptée : la mission « crises sanitaires » n'a pas démarré."
        )
    n_years = funding_rules().contract_years
    st.caption(
        f"Contrat de {fr_count(n_years, 'an', 'ans')} signé le {fr_date(choices.signature)}."
    )
    _show_schedule(
        schedule, title=f"Financement ACI simulé : {name}", size_label=size_label, key=key
    )
