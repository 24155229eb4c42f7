"""Care panels of the dashboard: priority white zones, the APL map layer, the GP what-if.

Functions called from the tabs (``ui/coverage_tab.py``, ``ui/territory_tab.py``):

- :func:`priority_white_zones_section` and :func:`priority_white_zones_csv`
  (Couverture: white-zone groups ranked by inhabitants under the GP APL
  threshold);
- :func:`apl_layer` and :func:`apl_legend_entries` (a hidden map layer of the
  DREES APL to GPs, with its legend lines);
- :func:`whatif_section` (Mon territoire: add or remove GP full-time
  equivalents in a commune, the project's estimate, not the official APL).

Pure functions (tables for people, map layers) are separate from the
functions that draw, so that they are tested without a browser.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from coverage import (
    ESTIMATE_LABEL,
    AplData,
    CareData,
    WhatIfModel,
    WhatIfResult,
    apl_classes,
    apl_map_classes,
    gp_whatif_model,
    merge_apl,
    priority_white_zones,
)
from coverage.priority import NO_APL_COLOR
from coverage.whatif import project_gp_whatif_model, referential_whatif_pairs
from diagnosis import AtlasError, Diagnosis, Referential
from diagnosis.outputs.labels import uncovered_communes, uncovered_wording
from diagnosis.outputs.people import for_people, people_csv
from ui import data, fmt, maps
from ui.safe import md_text

logger = logging.getLogger(__name__)

__all__ = [
    "APL_LAYER_NAME",
    "apl_layer",
    "apl_legend_entries",
    "gp_apl",
    "parse_fte",
    "prepare_whatif",
    "priority_table_for_people",
    "priority_white_zones_csv",
    "priority_white_zones_section",
    "signed",
    "whatif_figures",
    "whatif_model_for",
    "whatif_section",
    "whatif_table_for_people",
]

GP_KEY = "medecin_generaliste"
APL_LAYER_NAME = "APL aux médecins généralistes"
ACCESS_UNIT = "ETP pour 10 000 hab."

PRIORITY_LABELS = {
    "rank": "rang",
    "cluster_id": "groupe de zone blanche",
    "n_units": "communes",
    "population": "habitants",
    "population_under_threshold": "habitants sous le seuil d'APL",
    "share_under_threshold": "part des habitants sous le seuil",
    "n_units_under_threshold": "communes sous le seuil",
    "n_units_without_apl": "communes sans APL",
    "apl_mg_mean": "APL moyenne (consultations par an et par habitant standardisé)",
    "threshold": "seuil d'APL",
    "source": "source",
    "vintage": "millésime",
}
WHATIF_LABELS = {
    "name": "commune",
    "code": "code INSEE",
    "in_territory": "dans le territoire",
    "accessibility_before": f"avant ({ACCESS_UNIT})",
    "accessibility_after": f"après ({ACCESS_UNIT})",
    "change": f"variation ({ACCESS_UNIT})",
}


# --------------------------------------------------------------------------
# Priority white zones (Couverture)
# --------------------------------------------------------------------------


def gp_apl(apl_layers: Sequence[AplData | None] | AplData | None) -> AplData | None:
    """The GP APL among layers (a later layer wins for the same vintage), or None.

    Missing layers (``None``) are skipped, so that the embedded data and an
    optional upload can be passed together: ``(*embedded, upload)``.
    """
    if apl_layers is None:
        return None
    layers = [apl_layers] if isinstance(apl_layers, AplData) else list(apl_layers)
    return merge_apl(layers).get(GP_KEY)


def priority_table_for_people(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked table with French headers and French numbers (decimal comma, %)."""
    columns = [c for c in PRIORITY_LABELS if c not in ("threshold", "source", "vintage")]
    return for_people(table, columns=columns, labels=PRIORITY_LABELS)


def priority_white_zones_csv(diag: Diagnosis, apl_layers: Sequence[AplData | None]) -> bytes:
    """The ranked white-zone groups as a CSV for spreadsheets (French headers, ``;``)."""
    gp = gp_apl(apl_layers)
    if gp is None:
        table = pd.DataFrame(columns=list(PRIORITY_LABELS))
    else:
        table = priority_white_zones(diag.white.units, gp)
    return people_csv(table, columns=list(PRIORITY_LABELS), labels=PRIORITY_LABELS)


def priority_title(status_min: str | None) -> str:
    """The title of the priority groups: white zones at emergence, uncovered communes above.

    >>> priority_title("emergence")
    'Zones blanches prioritaires'
    >>> priority_title("aci_signe")
    'Communes non couvertes au stade « ACI signé » prioritaires'
    """
    if uncovered_wording(status_min) == "zone blanche":
        return "Zones blanches prioritaires"
    wording = uncovered_communes(status_min).replace(" par une CPTS", "").replace(" ou au-delà", "")
    return f"Communes {wording} prioritaires"


def priority_white_zones_section(diag: Diagnosis, apl_layers: Sequence[AplData | None]) -> None:
    """Draw the white-zone groups ranked by inhabitants under the GP APL threshold."""
    st.markdown(f"#### {priority_title(diag.status_min)} (accès aux médecins généralistes)")
    gp = gp_apl(apl_layers)
    if gp is None:
        st.caption("APL aux médecins généralistes non chargée : classement indisponible.")
        return
    try:
        table = priority_white_zones(diag.white.units, gp)
    except AtlasError as exc:
        st.error(str(exc))
        return
    if table.empty:
        st.caption(f"Aucune commune {uncovered_communes(diag.status_min)}.")
        return
    threshold = fmt.number(table["threshold"].iloc[0], 1)
    st.caption(
        f"Groupes de communes {md_text(uncovered_communes(diag.status_min))} classés par nombre "
        "d'habitants vivant dans une "
        f"commune dont l'APL aux médecins généralistes est inférieure à {threshold} consultations "
        "par an et par habitant standardisé (seuil de la DREES), puis par APL moyenne croissante. "
        "Règles de la DREES : APL moyenne pondérée par la population standardisée ; habitants "
        "sous le seuil comptés en population totale (population légale du référentiel). "
        f"Source : {md_text(table['source'].iloc[0])}."
    )
    st.dataframe(priority_table_for_people(table), hide_index=True, width="stretch")


# --------------------------------------------------------------------------
# APL map layer
# --------------------------------------------------------------------------


def apl_layer(
    units_frame: gpd.GeoDataFrame, apl: AplData, *, simplify_deg: float | None = None
) -> maps.MapLayer:
    """A map layer of the communes coloured by their GP APL class (hidden when the map opens).

    Parameters
    ----------
    units_frame
        Communes with ``code``, ``name`` and a display geometry in WGS84
        (e.g. :func:`ui.data.unit_display`).
    apl
        The DREES APL to general practitioners.
    simplify_deg
        Display simplification in degrees (``None``: as given). At national
        scale every commune weighs about 30 MB of map HTML as given; 0.01
        (about 1 km, as the coverage map's white zones) keeps it lighter.
    """
    classes = apl_map_classes(apl, units_frame["code"].astype(str).tolist())
    frame = units_frame.assign(
        apl_fill=classes["colour"].to_numpy(),
        apl_class_fr=classes["label"].to_numpy(),
        apl_fr=[fmt.number(v, 2) if np.isfinite(v) else "non disponible" for v in classes["apl"]],
    )
    # Inhabitants in the tooltip, when the frame gives them (French number).
    people = maps.COMMUNE_TOOLTIP[2:] if "population" in frame else ()
    if people:
        frame = maps.with_population_fr(frame)
    return maps.MapLayer(
        name=APL_LAYER_NAME,
        frame=frame,
        color="#555555",
        fill_column="apl_fill",
        fill_opacity=0.7,
        weight=0.3,
        simplify_deg=simplify_deg,
        show=False,
        tooltip=(
            ("name", "Commune"),
            ("code", "Code INSEE"),
            *people,
            ("apl_fr", "APL (consultations par an et par habitant standardisé)"),
            ("apl_class_fr", "Classe"),
        ),
    )


def apl_legend_entries(apl: AplData) -> tuple[maps.LegendEntry, ...]:
    """Legend lines of :func:`apl_layer` ("APL : moins de 2,5 (sous le seuil)"…)."""
    threshold = apl.rules.threshold if apl.rules.threshold is not None else 2.5
    entries = [maps.LegendEntry(c.colour, f"APL : {c.label}") for c in apl_classes(threshold)]
    entries.append(maps.LegendEntry(NO_APL_COLOR, "APL non disponible"))
    return tuple(entries)


# --------------------------------------------------------------------------
# What-if (Mon territoire)
# --------------------------------------------------------------------------


def _supply_key(ref: Referential, care: CareData) -> str:
    """A key covering what changes the model: the scope, the GPs and the ages loaded."""
    parts = [repr(sorted(ref.scope.items())), str(len(ref.units))]
    for table, column in ((care.rpps, GP_KEY), (care.ages, None)):
        if table is None:
            parts.append("-")
            continue
        frame = table.by_unit if column is None else table.by_unit.get(column, pd.Series())
        parts.append(str(int(pd.util.hash_pandas_object(frame, index=True).sum())))
    return "|".join(parts)


def _warm_up(ref: Referential) -> None:
    try:
        project_gp_whatif_model(ref)
    except Exception:  # reported when the section computes it again
        logger.exception("what-if warm-up failed")


@st.cache_resource(show_spinner=False)
def _warm_up_thread(_ref: Referential, key: str) -> threading.Thread:
    """The background computation of ``_ref``'s shared what-if, started once (``key`` names it)."""
    thread = threading.Thread(
        target=_warm_up, args=(_ref,), name="atlas-whatif-warm-up", daemon=True
    )
    thread.start()
    return thread


def prepare_whatif(ref: Referential) -> None:
    """Start computing the shared what-if pieces in the background, once per referential.

    The travel pairs and the model from project data take about 0.8 s the
    first time (France, this machine): started when a user opens a workflow
    that shows the simulation, they are ready by the time a territory exists,
    instead of slowing its first diagnosis. A failure here is only logged: the
    section computes (and reports) it again when it is drawn. The thread is a
    Streamlit resource; the referential's cache holds the data only.
    """
    _warm_up_thread(ref, f"{ref.directory}|{sorted(ref.scope.items())}|{id(ref)}")


def whatif_model_for(ref: Referential, care: CareData) -> WhatIfModel:
    """The what-if model of a referential and care layers, computed once.

    Travel pairs depend on the referential only: they are kept with it (shared).
    A model built from a user's files stays in the browser session; the one
    built from project data only (no Annuaire santé, no ages) is kept with
    the referential.
    """
    if care.rpps is None and care.ages is None:
        return project_gp_whatif_model(ref)
    pairs = referential_whatif_pairs(ref)
    rpps, ages = care.rpps, care.ages
    return data.session_memo(
        "whatif-model",
        _supply_key(ref, care),
        lambda: gp_whatif_model(ref, rpps=rpps, ages=ages, pairs=pairs),
    )


def whatif_table_for_people(
    result: WhatIfResult, ref: Referential, *, limit: int = 200
) -> pd.DataFrame:
    """Touched communes (the territory first, then by largest change), French headers and numbers."""
    table = result.table.assign(name=ref.units["name"].reindex(result.table["code"]).to_numpy())
    table = table.sort_values(["in_territory", "change"], ascending=[False, False], kind="stable")
    columns = ["name", "code", "in_territory"]
    if result.has_baseline:
        columns += ["accessibility_before", "accessibility_after"]
    columns.append("change")
    head = table.head(limit)
    shown = head.assign(
        **{c: [fmt.number(v, 3) for v in head[c]] for c in columns[3:-1]},
        change=[signed(v, 3) for v in head["change"]],
    )
    return for_people(shown, columns=columns, labels=WHATIF_LABELS)


def _commune_label(ref: Referential, territory: set[str]) -> Callable[[str], str]:
    names = ref.units["name"]

    def label(code: str) -> str:
        where = "territoire" if code in territory else "à proximité"
        return f"{names.get(code, code)} ({code}) · {where}"

    return label


def _digits(change: float) -> int:
    """Decimals of a what-if figure: two, three when the change would round to zero."""
    return 3 if 0 < abs(change) < 0.005 else 2


def signed(value: float, digits: int = 2) -> str:
    """A change with its sign, the French way ("+0,36", "-1,20", "0,00"); "—" when missing."""
    text = fmt.number(value, digits)
    if text == fmt.MISSING or text.startswith("-"):
        return text
    return text if text.strip("0,") == "" else f"+{text}"


def whatif_figures(row: Mapping[Any, Any], *, known: bool) -> tuple[str, str | None]:
    """The metric of a what-if summary row: (value, delta), in the accessibility's unit.

    With the baseline known, the value reads before → after and the delta is
    the signed change ("2,41 → 2,77", "+0,36 ETP pour 10 000 hab."); without
    it, the value is the signed change alone, never a level.
    """
    change = float(row["change"])
    digits = _digits(change)
    delta = f"{signed(change, digits)} {ACCESS_UNIT}"
    if not known:
        return delta, None
    before = fmt.number(row["accessibility_before"], digits)
    after = fmt.number(row["accessibility_after"], digits)
    return f"{before} → {after}", delta


def _metric(
    column: st.delta_generator.DeltaGenerator, title: str, row: Mapping[Any, Any], known: bool
) -> None:
    value, delta = whatif_figures(row, known=known)
    if known:
        column.metric(
            title,
            value,
            delta=delta,
            help=f"Accessibilité aux médecins généralistes, en {ACCESS_UNIT} : avant → après.",
        )
    else:
        column.metric(
            f"{title} : variation",
            value,
            help="Variation seule : l'offre existante est inconnue (Annuaire santé non chargé).",
        )


#: Largest change of GP FTE the simulation accepts, either way.
FTE_LIMIT = 100.0


def parse_fte(text: str) -> float | None:
    """A number of FTE typed by a person ("2,5", "-1", "+0.5", "1 000"), or None if it is not one.

    The decimal comma and point are both read; the value must lie within
    ±:data:`FTE_LIMIT`.
    """
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", str(text)).replace(",", ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", cleaned):
        return None
    value = float(cleaned)
    return value if abs(value) <= FTE_LIMIT else None


def _change_inputs(
    ref: Referential, model: WhatIfModel, territory: list[str], *, key: str
) -> tuple[str, float] | None:
    """The commune where supply changes and the FTE typed; None (said) when not a number."""
    inside = set(territory)
    options = territory + [c for c in model.reach(territory) if c not in inside]
    c1, c2 = st.columns([3, 2])
    code = c1.selectbox(
        "Commune où l'offre change (du territoire ou à proximité)",
        options,
        format_func=_commune_label(ref, inside),
        key=f"{key}_commune",
    )
    typed = c2.text_input(
        "ETP de médecins généralistes (négatif pour retirer)",
        value="1",
        key=f"{key}_fte",
        max_chars=12,
        help=f"Un nombre entre -{FTE_LIMIT:g} et {FTE_LIMIT:g}, par exemple 2,5 ou -1.",
    )
    fte = parse_fte(typed)
    if fte is None:
        st.error(
            f"« {md_text(typed)} » n'est pas un nombre d'ETP : écrivez par exemple 2,5 ou -1 "
            f"(entre -{FTE_LIMIT:g} et {FTE_LIMIT:g})."
        )
        return None
    if model.supply is not None:
        current = float(model.supply[model.codes.get_loc(code)])
        st.caption(f"Offre actuelle de la commune : {fmt.number(current, 1)} ETP (Annuaire santé).")
    elif fte < 0:
        st.caption(
            f"Retrait supposé possible : la commune doit compter au moins {fmt.number(-fte, 1)} ETP "
            "(non vérifiable sans l'Annuaire santé)."
        )
    return str(code), float(fte)


def _whatif_result(result: WhatIfResult, ref: Referential) -> None:
    """The change for the territory and its touched neighbours, and the table of communes."""
    if result.unreached:
        st.warning("Aucune population à portée de cette commune : la variation ne change rien.")
    summary = {str(r["scope"]): r for r in result.summary().to_dict("records")}
    m1, m2 = st.columns(2)
    _metric(m1, "Territoire (moyenne pondérée)", summary["territory"], result.has_baseline)
    neighbours = summary["neighbours"]
    if neighbours["n_units"]:
        _metric(
            m2,
            f"Communes voisines touchées ({fmt.number(neighbours['n_units'])})",
            neighbours,
            result.has_baseline,
        )
    st.dataframe(whatif_table_for_people(result, ref), hide_index=True, width="stretch")
    st.caption(md_text(result.method))


def whatif_section(
    ref: Referential, territory_codes: Sequence[str], care: CareData, *, key: str = "whatif"
) -> None:
    """Draw the GP what-if of a territory: choose a commune, add or remove FTE, see the change."""
    st.markdown("#### Simulation : ajouter ou retirer des médecins généralistes")
    st.caption(
        f"{ESTIMATE_LABEL}. Accessibilité calculée par le projet (méthode à deux étapes de la "
        "DREES, temps de trajet estimés à vol d'oiseau) : utile pour comparer avant et après, "
        "pas pour citer une valeur d'APL."
    )
    try:
        with st.spinner("Préparation de la simulation…"):
            model = whatif_model_for(ref, care)
    except AtlasError as exc:
        st.error(str(exc))
        return
    territory = [c for c in territory_codes if c in model.codes]
    if not territory:
        st.info("Aucune commune du territoire n'a de mairie localisée : simulation impossible.")
        return
    if not model.has_baseline:
        st.info(
            "Annuaire santé non chargé : l'offre actuelle de médecins est inconnue. La simulation "
            "montre seulement la variation d'accessibilité due aux ETP ajoutés ou retirés (elle ne "
            "dépend pas de l'offre existante). Chargez l'Annuaire santé pour voir les niveaux."
        )
    change = _change_inputs(ref, model, territory, key=key)
    if change is None:
        return
    code, fte = change
    try:
        result = model.simulate({code: fte}, territory=territory)
    except AtlasError as exc:
        st.error(str(exc))
        return
    _whatif_result(result, ref)
