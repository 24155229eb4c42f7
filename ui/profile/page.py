"""A territory's profile, panel by panel: the instant diagnosis and fiche of a set of communes.

Shown by "Mon territoire" (the territory a CPTS leader builds) and by
"Couverture" (the fiche of a CPTS of the file): one function per panel, in
the order of the page.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from diagnosis import Referential
from diagnosis.analysis.checks import PerimeterDiagnosis, territory_summary
from ui import care_panels, data
from ui.contracts_panel import contract_panel
from ui.profile.care import care_profile_panel
from ui.profile.care_maps import apl_map_panel, care_points_map_panel
from ui.profile.fiche import exports_panel, territory_fiche
from ui.profile.funding import funding_panel
from ui.profile.summary import (
    epci_table_panel,
    epcis_cut_panel,
    floor_panel,
    key_figures_panel,
    shape_panel,
)
from ui.safe import md_text
from ui.sidebar import Context

__all__ = ["territory_profile"]


def territory_profile(
    ref: Referential,
    ctx: Context,
    territory: Sequence[str],
    *,
    name: str,
    key: str,
    saving: bool = False,
    perimeter: PerimeterDiagnosis | None = None,
    remarks: Sequence[str] = (),
    claims: pd.DataFrame | None = None,
) -> None:
    """Instant diagnosis and fiche of a territory (Mon territoire, or a CPTS from Couverture).

    ``key`` prefixes every widget key, so that the profile can be shown in
    several places; ``saving`` adds the "save the territory" button. A CPTS of
    Couverture comes with its own diagnosis (``perimeter``: parts of shared
    cities counted as in the table) and ``remarks`` (sharing, overflow), shown
    and printed in the fiche. ``claims`` (Mon territoire: its communes already
    claimed by a CPTS, see :func:`ui.territory_tab.territory_claims`) are
    listed in the fiche.
    """
    territory = list(territory)
    diag = perimeter if perimeter is not None else territory_summary(territory, ref, name=name)
    row = diag.summary.iloc[0]
    key_figures_panel(row, name=name)
    for remark in remarks:
        st.info(md_text(remark))
    floor_panel(row, diag)
    shape_panel(row, diag)
    epcis_cut_panel(diag)
    funding = funding_panel(row, key=key)
    own = None if perimeter is None else str(row["perimeter_id"])
    contract_panel(row, name=name, key=key, perimeter_id=own)
    care = data.care_data(ctx.care, ctx.care_keys)
    indicators, scopes = care_profile_panel(ref, territory, care)
    apl_map_panel(territory, care, key=key)
    care_points_map_panel(territory, care, key=key)
    care_panels.whatif_section(ref, territory, care, key=f"{key}_whatif")
    epci_table_panel(diag)
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
        claims=claims,
    )
    exports_panel(ref, territory, fiche=fiche, name=name, key=key, saving=saving)
