"""The care panel of a territory's profile: indicators compared with its department, region, France.

Only the indicators whose layer is loaded fill the table (so that they are
seen first, without scrolling past empty rows); what is not loaded is said in
one line naming the files to load in "Données de soins".
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from coverage import CareData, scope_names, territory_indicators
from diagnosis import Referential
from diagnosis.core.numbers import fr_count
from ui import fmt
from ui.safe import md_text

__all__ = [
    "care_profile_panel",
    "display_indicators",
    "indicators_for_people",
    "not_loaded_line",
]

#: Values of the indicator table, by scope (columns of ``territory_indicators``).
VALUE_COLUMNS = ("territory", "department", "region", "france")


def display_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    """Indicators as French text: shares in %, numbers with their decimals, "—" when missing."""
    shown = indicators.copy()
    decimals = shown["decimals"].astype(int).tolist() if "decimals" in shown else [2] * len(shown)
    for col in VALUE_COLUMNS:
        shown[col] = [
            fmt.share(value) if str(unit).startswith("part") else fmt.number(value, digits)
            for value, unit, digits in zip(shown[col], shown["unit"], decimals, strict=True)
        ]
    return shown


def indicators_for_people(indicators: pd.DataFrame, scopes: dict[str, str]) -> pd.DataFrame:
    """The loaded indicators in French, with the names of the comparison scopes as headers.

    Indicators whose layer is not loaded are left out: :func:`not_loaded_line`
    says what they need.
    """
    loaded = indicators[indicators["loaded"].astype(bool)]
    return display_indicators(loaded)[["indicator", "unit", *VALUE_COLUMNS, "source"]].rename(
        columns={
            "indicator": "indicateur",
            "unit": "unité",
            **{scope: scopes[scope] for scope in VALUE_COLUMNS},
            "source": "source et millésime",
        }
    )


def not_loaded_line(indicators: pd.DataFrame) -> str:
    """One French line naming the files the indicators not loaded need ("" when all are)."""
    missing = indicators.loc[~indicators["loaded"].astype(bool), "source"]
    if missing.empty:
        return ""
    what = fr_count(len(missing), "indicateur", "indicateurs")
    return (
        f"Non chargé ({what}) : {' ; '.join(dict.fromkeys(map(str, missing)))}, à charger "
        "dans « Données de soins » (barre latérale)."
    )


def care_profile_panel(
    ref: Referential, territory: Sequence[str], care: CareData
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Draw the indicator table of the territory; returns the indicators and the scope names."""
    st.markdown("#### Offre et accès aux soins")
    scopes = scope_names(territory, ref)
    indicators = territory_indicators(territory, ref, care)
    st.dataframe(indicators_for_people(indicators, scopes), hide_index=True, width="stretch")
    line = not_loaded_line(indicators)
    if line:
        st.caption(md_text(line))
    return indicators, scopes
